"""Reading the TOML files that configure DICOM nodes: printer profiles of both ends."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any


class ConfigFileError(ValueError):
    """A configuration file that cannot be read or parsed; the message names it."""


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """The parsed TOML document at ``path``, ``what`` naming it in errors.

    ConfigFileError says "PATH: cannot read WHAT: reason" or "PATH: not valid
    TOML: where and why".
    """
    try:
        with Path(path).open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigFileError(f"{path}: cannot read {what}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigFileError(f"{path}: not valid TOML: {exc}") from exc

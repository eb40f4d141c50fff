"""Profiles of real printers, for ``print-scp serve --emulate NAME``.

Each ``NAME.toml`` here describes one printer model from its published DICOM
conformance statement and, where that could not be read, from the other
sources its header names; a value no source gives says so in its comment.
``examples/printers/`` links to these files.
"""

from __future__ import annotations

from pathlib import Path

from print_scp.profile import PrinterProfile, ProfileError, load_profile

__all__ = ["emulated_printers", "emulated_profile"]

_DIRECTORY = Path(__file__).resolve().parent


def emulated_printers() -> dict[str, Path]:
    """Name -> profile file of every printer that can be emulated, by name."""
    return {path.stem: path for path in sorted(_DIRECTORY.glob("*.toml"))}


def emulated_profile(name: str) -> PrinterProfile:
    """The profile of printer ``name``; ProfileError naming the known ones otherwise."""
    path = emulated_printers().get(name)
    if path is None:
        known = ", ".join(emulated_printers())
        raise ProfileError(f"no emulated printer {name!r} (print-scp profiles lists them: {known})")
    return load_profile(path)

"""Printer profiles of the print client: where each DICOM printer is and what it supports.

Profiles live in a TOML file, one ``[printers.NAME]`` table per printer whose
keys are :class:`PrinterConfig` fields, with two optional sub-tables of
default attributes by DICOM keyword::

    [printers.dryview]
    host = "10.0.0.7"
    port = 104
    called_ae = "DRYVIEW"
    dpi = 320                                # printer pixels per inch, for --resample
    film_sizes = ["14INX17IN", "8INX10IN"]

    [printers.dryview.session_defaults]      # Film Session N-CREATE
    MediumType = "BLUE FILM"

    [printers.dryview.film_box_defaults]     # Film Box N-CREATE
    FilmSizeID = "14INX17IN"
    MinDensity = 20                          # hundredths of OD

    [printers.dryview.custom_formats]        # CUSTOM Image Display Formats: image boxes
    "CUSTOM\\1" = 3

DICOM over TLS: ``tls = true``, with ``tls_ca_certificates`` (PEM CA file
that signed the printer's certificate; default: the system's CAs) and, for
printers that require a client certificate, ``tls_certificate`` and
``tls_private_key``. Relative paths are relative to the profile file.

Times are in seconds. Errors name the file, the printer and the key.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import NoneType
from typing import Any, get_args, get_type_hints

from dicomnet.attribute_rules import ae_title_problem
from dicomnet.config_file import ConfigFileError, read_toml
from dicomnet.tls import TlsClientSettings
from film.display_format import DisplayFormatKind
from film.sizes import FilmSizeID
from print_scu.address import PrinterAddress
from print_scu.options import (
    FILM_BOX_DEFAULT_KEYWORDS,
    FILM_SESSION_DEFAULT_KEYWORDS,
    OptionError,
    check_attribute,
    parse_display_format,
)

__all__ = [
    "ConfigError", "PrinterConfig", "adhoc_printer", "default_config_path", "load_printers",
]

CONFIG_ENV = "FILMBOX_PRINTERS"
TLS_FILE_KEYS = ("tls_ca_certificates", "tls_certificate", "tls_private_key")
DEFAULT_CONFIG = Path("~/.config/filmbox/printers.toml")
P_VALUE_BITS = (8, 12)


class ConfigError(ValueError):
    """A printer profile that cannot be used; the message names file, printer and key."""


@dataclass(frozen=True, kw_only=True)
class PrinterConfig(PrinterAddress):
    """One DICOM printer: its address, what it supports, and the client's policy for it.

    The address fields are :class:`PrinterAddress`'s. Keep-open, poll and
    backoff times are in seconds. Capability flags say which optional SOP
    classes to propose and what to send: ``color`` uses Basic Color Print
    Management, ``bits`` is the grayscale P-Value depth (8 or 12). Empty
    ``film_sizes`` / ``display_formats`` (kinds such as "STANDARD") mean the
    printer is not restricted. With ``print_job`` a film counts as printed
    once its Print Job reports DONE (by N-EVENT-REPORT, else by an N-GET
    every ``print_job_poll_interval_s``); a job none of whose Print Jobs
    finishes for ``print_job_timeout_s`` is retried later. ``dpi`` is the printer's resolution in
    printer pixels per inch (None: unknown), needed to resample images to
    their image boxes and to compose sheets without Printer Configuration
    Retrieval. The defaults dicts hold Film Session and Film Box
    N-CREATE attributes by DICOM keyword (densities in hundredths of OD).
    ``custom_formats`` maps the printer's CUSTOM\\i Image Display Formats to
    their numbers of image boxes (the client cannot know them otherwise).
    In a profile, TLS is ``tls = true`` with the ``tls_*`` PEM files (see the
    module docstring), kept here as :class:`TlsClientSettings`.
    Invalid values raise :class:`ConfigError` naming the key.
    """

    name: str
    color: bool = False
    bits: int = 8
    presentation_lut: bool = False
    annotation: bool = False
    print_job: bool = True
    configuration_retrieval: bool = False
    film_sizes: tuple[str, ...] = ()
    display_formats: tuple[str, ...] = ()
    dpi: float | None = None
    annotation_format_id: str = "LABEL"
    annotation_boxes: int = 2
    custom_formats: dict[str, Any] = field(default_factory=dict)
    session_defaults: dict[str, Any] = field(default_factory=dict)
    film_box_defaults: dict[str, Any] = field(default_factory=dict)
    idle_keep_open_s: float = 60.0
    status_poll_interval_s: float = 300.0
    print_job_poll_interval_s: float = 5.0
    print_job_timeout_s: float = 600.0
    retry_backoff_s: float = 2.0
    retry_backoff_cap_s: float = 300.0
    max_attempts: int = 20

    def __post_init__(self) -> None:
        for key in _FIELD_TYPES:
            if key != "tls":
                object.__setattr__(self, key, _convert(key, getattr(self, key)))
        object.__setattr__(self, "session_defaults", _checked_defaults(
            self.session_defaults, "session_defaults", FILM_SESSION_DEFAULT_KEYWORDS))
        object.__setattr__(self, "film_box_defaults", _checked_defaults(
            self.film_box_defaults, "film_box_defaults", FILM_BOX_DEFAULT_KEYWORDS))
        object.__setattr__(self, "custom_formats", _checked_custom_formats(self.custom_formats))
        problem = _first_problem(self)
        if problem is not None:
            key, why = problem
            raise ConfigError(f"{key}: {why}")

    def address(self) -> PrinterAddress:
        """The network part, for :class:`print_scu.association.PrintAssociation`."""
        return PrinterAddress(**{f.name: getattr(self, f.name)
                                 for f in dataclasses.fields(PrinterAddress)})

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-compatible values (tuples as lists, TLS as its profile keys), for the
        job queue."""
        data = {key: list(value) if isinstance(value, tuple) else value
                for key, value in dataclasses.asdict(self).items() if key != "tls"}
        tls = self.tls or TlsClientSettings()
        paths = (tls.ca_certificates, tls.certificate, tls.private_key)
        data["tls"] = self.tls is not None
        data.update({key: None if path is None else str(path)
                     for key, path in zip(TLS_FILE_KEYS, paths, strict=True)})
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrinterConfig:
        """The inverse of :meth:`to_dict`, also for a printer profile's table.

        Unknown or missing keys raise ConfigError; the old spellings of
        renamed keys (:data:`RENAMED_KEYS`) are read with a FutureWarning.
        """
        data = _current_spelling(data)
        unknown = sorted(set(data) - _KEYS)
        if unknown:
            raise ConfigError(f"unknown key {unknown[0]!r} (known: {', '.join(sorted(_KEYS))})")
        missing = [key for key in _REQUIRED if key not in data]
        if missing:
            raise ConfigError(f"{missing[0]}: missing (required: {', '.join(_REQUIRED)})")
        config = cls(**{key: value for key, value in data.items()
                        if key != "tls" and key not in TLS_FILE_KEYS})
        tls = _tls_settings(data)
        return config if tls is None else dataclasses.replace(config, tls=tls)


_FIELD_TYPES: dict[str, Any] = get_type_hints(PrinterConfig)
#: Keys of a printer's table and of :meth:`PrinterConfig.to_dict`.
_KEYS = (set(_FIELD_TYPES) | set(TLS_FILE_KEYS))
_REQUIRED = tuple(f.name for f in dataclasses.fields(PrinterConfig)
                  if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
#: Keys renamed so that names in seconds end in ``_s``: old spelling -> current one.
RENAMED_KEYS = {"acse_timeout": "acse_timeout_s", "dimse_timeout": "dimse_timeout_s",
                "network_timeout": "network_timeout_s"}


def _current_spelling(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with renamed keys under their current names (a FutureWarning for each)."""
    current = dict(data)
    for old, new in RENAMED_KEYS.items():
        if old not in current:
            continue
        if new in current:
            raise ConfigError(f"{old}: an old spelling of {new}, which is set too; remove {old}")
        warnings.warn(f"printer profile key {old!r} is deprecated, use {new!r}", FutureWarning,
                      stacklevel=3)
        current[new] = current.pop(old)
    return current


def _tls_settings(data: dict[str, Any]) -> TlsClientSettings | None:
    """The TLS settings of a printer's table: ``tls = true`` and the ``tls_*`` files."""
    problem = _tls_problem(data)
    if problem is not None:
        key, why = problem
        raise ConfigError(f"{key}: {why}")
    if not data.get("tls"):
        return None
    paths = [_optional_path(data.get(key)) for key in TLS_FILE_KEYS]
    return TlsClientSettings(ca_certificates=paths[0], certificate=paths[1],
                             private_key=paths[2])


def _optional_path(value: str | None) -> Path | None:
    return None if value is None else Path(value)


def _convert(key: str, value: Any) -> Any:
    """``value`` as the field's type; TOML integers are accepted for float fields."""
    kind = _FIELD_TYPES[key]
    if NoneType in get_args(kind):  # an optional field: None, or a value of its other type
        if value is None:
            return None
        [kind] = [arg for arg in get_args(kind) if arg is not NoneType]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind == tuple[str, ...] and isinstance(value, list):
        value = tuple(value)
    if kind == tuple[str, ...]:
        if not (isinstance(value, tuple) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{key}: must be a list of strings, not {value!r}")
        return value
    if kind == dict[str, Any]:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: must be a table of DICOM keyword = value, not {value!r}")
        return dict(value)
    # bool is a subclass of int: refuse it where a number is expected, and vice versa
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(f"{key}: must be {_KIND_NAMES[kind]}, not {value!r}")
    return value


_KIND_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _first_problem(config: PrinterConfig) -> tuple[str, str] | None:
    """(key, why) of the first invalid value, None if all are valid."""
    for key in ("name", "host", "annotation_format_id"):
        if not getattr(config, key).strip():
            return key, "must not be empty"
    if not 1 <= config.port <= 65535:
        return "port", f"{config.port} is outside 1..65535"
    for key in ("called_ae", "calling_ae"):
        why = ae_title_problem(getattr(config, key))
        if why:
            return key, why
    if config.max_pdu < 0:
        return "max_pdu", f"{config.max_pdu} is negative (0 means unlimited)"
    for key in ("acse_timeout_s", "dimse_timeout_s", "network_timeout_s",
                "status_poll_interval_s", "print_job_poll_interval_s", "print_job_timeout_s",
                "retry_backoff_s"):
        if not getattr(config, key) > 0:
            return key, f"{getattr(config, key)} s must be positive"
    if config.idle_keep_open_s < 0:
        return "idle_keep_open_s", f"{config.idle_keep_open_s} s is negative"
    if config.retry_backoff_cap_s < config.retry_backoff_s:
        return "retry_backoff_cap_s", (f"{config.retry_backoff_cap_s} s is below "
                                       f"retry_backoff_s ({config.retry_backoff_s} s)")
    if config.max_attempts < 1:
        return "max_attempts", f"{config.max_attempts} must be at least 1"
    if config.bits not in P_VALUE_BITS:
        return "bits", f"{config.bits} is not 8 or 12"
    if config.dpi is not None and not config.dpi > 0:
        return "dpi", f"{config.dpi} printer pixels per inch must be positive"
    if config.annotation_boxes < 1:
        return "annotation_boxes", f"{config.annotation_boxes} must be at least 1"
    for size in config.film_sizes:
        if size not in _FILM_SIZES:
            return "film_sizes", f"{size!r} is not a Film Size ID ({', '.join(_FILM_SIZES)})"
    for kind in config.display_formats:
        if kind not in _DISPLAY_FORMAT_KINDS:
            return "display_formats", (f"{kind!r} is not an Image Display Format kind "
                                       f"({', '.join(_DISPLAY_FORMAT_KINDS)})")
    return None


def _tls_problem(data: dict[str, Any]) -> tuple[str, str] | None:
    """(key, why) of the first unusable TLS setting of a printer's table, None if usable."""
    if not isinstance(data.get("tls", False), bool):
        return "tls", f"must be true or false, not {data['tls']!r}"
    for key in TLS_FILE_KEYS:
        path = data.get(key)
        if path is None:
            continue
        if not isinstance(path, str):
            return key, f"must be a string, not {path!r}"
        if not data.get("tls"):
            return key, "is set but tls is false (set tls = true to connect with TLS)"
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            return key, f"cannot read {path}: {exc.strerror or exc}"
    if data.get("tls_private_key") is not None and data.get("tls_certificate") is None:
        return "tls_private_key", "needs tls_certificate (the client certificate it belongs to)"
    return None


_FILM_SIZES = tuple(size.value for size in FilmSizeID)
_DISPLAY_FORMAT_KINDS = tuple(kind.value for kind in DisplayFormatKind)


def _checked_custom_formats(formats: dict[str, Any]) -> dict[str, int]:
    """CUSTOM\\i Image Display Formats (normalised) and their numbers of image boxes."""
    checked = {}
    for text, boxes in formats.items():
        try:
            display_format = parse_display_format(text)
        except OptionError as exc:
            raise ConfigError(f"custom_formats.{text}: {exc}") from None
        if not display_format.startswith(DisplayFormatKind.CUSTOM.value):
            raise ConfigError(f"custom_formats.{text}: not a CUSTOM\\i format (the others "
                              "have the number of image boxes in their name)")
        if isinstance(boxes, bool) or not isinstance(boxes, int) or boxes < 1:
            raise ConfigError(f"custom_formats.{text}: its number of image boxes must be a "
                              f"positive integer, not {boxes!r}")
        checked[display_format] = boxes
    return checked


def _checked_defaults(defaults: dict[str, Any], key: str,
                      allowed: tuple[str, ...]) -> dict[str, Any]:
    """Default attributes with their values as sent; ConfigError names ``key.Keyword``."""
    checked = {}
    for keyword, value in defaults.items():
        if keyword not in allowed:
            raise ConfigError(f"{key}.{keyword}: not an attribute a profile may default here "
                              f"({', '.join(allowed)})")
        try:
            checked[keyword] = check_attribute(keyword, value)
        except OptionError as exc:
            raise ConfigError(f"{key}.{keyword}: {exc}") from None
    return checked


def default_config_path() -> Path:
    """$FILMBOX_PRINTERS if set, else ~/.config/filmbox/printers.toml."""
    configured = os.environ.get(CONFIG_ENV)
    return Path(configured) if configured else DEFAULT_CONFIG.expanduser()


def load_printers(path: Path | None = None) -> dict[str, PrinterConfig]:
    """The printers of a TOML profile file, by name (the NAME of ``[printers.NAME]``).

    ``path`` None reads :func:`default_config_path`, and a missing default
    file means no printers; a missing explicit file is an error. Raises
    :class:`ConfigError` naming the file, the printer and the key.
    """
    source = path if path is not None else default_config_path()
    if path is None and not source.exists():
        return {}
    try:
        data = read_toml(source, "printer profiles")
    except ConfigFileError as exc:
        raise ConfigError(str(exc)) from exc
    unknown = sorted(set(data) - {"printers"})
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key {unknown[0]!r} "
                          "(printers are [printers.NAME] tables)")
    tables = data.get("printers", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{source}: printers must be tables [printers.NAME]")
    printers = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: printer {name!r}: must be a table [printers.{name}]")
        if "name" in table:
            raise ConfigError(f"{source}: printer {name!r}: name: set by the table name "
                              f"[printers.{name}], remove the key")
        table = {key: str(source.parent / value)
                 if key in TLS_FILE_KEYS and isinstance(value, str) else value
                 for key, value in table.items()}
        try:
            printers[name] = PrinterConfig.from_dict({"name": name, **table})
        except ConfigError as exc:
            raise ConfigError(f"{source}: printer {name!r}: {exc}") from exc
    return printers


def adhoc_printer(host: str, port: int, called_ae: str, **overrides: Any) -> PrinterConfig:
    """A printer given on the command line, named "AE@host:port"; ``overrides`` are fields."""
    return PrinterConfig.from_dict({
        "name": f"{called_ae}@{host}:{port}", "host": host, "port": port,
        "called_ae": called_ae, **overrides,
    })

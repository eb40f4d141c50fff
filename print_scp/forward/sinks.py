"""Forward sinks: where printed films go besides the output directory (``[[forward]]``).

Each sink has a unique ``name``, a ``type`` and an optional ``match``: globs
over facts of the film (``calling_ae``, ``called_ae``, ``film_size``,
``medium``, ``display_format``); a film goes to every sink it matches.
:func:`parse_sinks` checks every key when the profile is loaded and raises
:class:`SinkError` naming the sink and the key, so a printer with a wrong
sink does not start.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from dicomnet.tls import TlsClientSettings
from print_scu.config import (
    TLS_FILE_KEYS,
    ConfigError,
    PrinterConfig,
    default_config_path,
    load_printers,
)

__all__ = [
    "Ack", "CommandSink", "FilmFacts", "Fit", "Match", "PaperSink", "PatientRules",
    "DROPPABLE", "PLACEHOLDERS", "PrinterSink",
    "RetryPolicy", "Sink", "SinkError", "StoreObject", "StoreSink", "parse_retry", "parse_sinks",
]

#: What a command sink's argv may name, each only as a whole argument.
PLACEHOLDERS = ("{pdf}", "{png}", "{density_png}", "{json}", "{job_pdf}", "{name}")
MATCH_KEYS = ("calling_ae", "called_ae", "film_size", "medium", "display_format")
FilmFacts = Mapping[str, str]


class SinkError(ValueError):
    """A ``[[forward]]`` entry that cannot be used; the message names it and the key."""


class StoreObject(str, Enum):
    """What a store sink makes of a film."""

    SECONDARY_CAPTURE = "secondary-capture"
    ENCAPSULATED_PDF = "encapsulated-pdf"


class Fit(str, Enum):
    """How a paper sink puts the film on the page."""

    PAGE = "page"
    TRUE_SIZE = "true-size"


@dataclass(frozen=True)
class Match:
    """Globs per fact; a film fits when, for every fact given, one glob matches it."""

    globs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def fits(self, facts: FilmFacts) -> bool:
        return all(any(fnmatchcase(facts.get(key, ""), glob) for glob in globs)
                   for key, globs in self.globs.items())


@dataclass(frozen=True)
class PatientRules:
    """Where the Patient and Study identity of a stored film comes from.

    Each regex's named groups (PatientName, PatientID, AccessionNumber,
    StudyDescription) fill those attributes: ``from_label`` over the Film
    Session Label, else ``from_annotation`` over each annotation text.
    """

    from_label: re.Pattern[str] | None = None
    from_annotation: re.Pattern[str] | None = None
    default_patient_id: str = "FILMBOX-UNIDENTIFIED"
    default_patient_name: str = ""


@dataclass(frozen=True)
class RetryPolicy:
    """``[forwarding]``: the delay before attempt n + 1 is retry_initial_s · 2^(n − 1), at
    most retry_max_s (seconds); a delivery fails for good after ``attempts``."""

    initial_s: float = 2.0
    max_s: float = 300.0
    attempts: int = 10

    def delay_s(self, attempts_made: int) -> float:
        return float(min(self.max_s, self.initial_s * 2 ** max(attempts_made - 1, 0)))


def parse_retry(content: Any) -> RetryPolicy:
    """The ``[forwarding]`` section; SinkError names a wrong key."""
    if not isinstance(content, dict):
        raise SinkError("forwarding must be a section [forwarding]")
    keys = {"retry_initial_s": "initial_s", "retry_max_s": "max_s", "attempts": "attempts"}
    unknown = set(content) - set(keys)
    if unknown:
        raise SinkError(f"forwarding: unknown keys {', '.join(sorted(unknown))}")
    values: dict[str, Any] = {}
    for key, field_name in keys.items():
        if key not in content:
            continue
        value = content[key]
        whole = key == "attempts"
        if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)) \
                or not value > 0:
            raise SinkError(f"forwarding: {key} must be {'an integer' if whole else 'a number'} > 0")
        values[field_name] = value
    return RetryPolicy(**values)


@dataclass(frozen=True)
class Sink:
    """What every sink has."""

    name: str
    match: Match


@dataclass(frozen=True)
class StoreSink(Sink):
    """C-STORE to a Storage SCP (a PACS)."""

    host: str
    port: int
    called_ae: str
    calling_ae: str
    objects: tuple[StoreObject, ...]
    patient: PatientRules
    timeout_s: float = 30.0
    tls: TlsClientSettings | None = None  # tls = true and the tls_* files, as for print-scu


@dataclass(frozen=True)
class PaperSink(Sink):
    """The film's PDF to a CUPS queue with ``lp`` (argv, never a shell)."""

    queue: str
    fit: Fit
    server: str | None = None  # lp -h host:port; None: the system's CUPS
    timeout_s: float = 60.0


class Ack(str, Enum):
    """When the modality's Print Job of a film forwarded to a film printer is DONE."""

    QUEUED = "queued"  # once the film is durably in print-scu's queue
    PRINTED = "printed"  # once the real printer printed it (FAILURE if every printer fails)


@dataclass(frozen=True)
class PrinterSink(Sink):
    """The film as the modality sent it, to real DICOM printers through print-scu's queue.

    ``printers`` are print-scu printer profiles, the first the primary. ``map_*``
    replace a Film Size ID, Image Display Format or Medium Type the target lacks.
    """

    printers: tuple[PrinterConfig, ...]
    ack: Ack = Ack.QUEUED
    failover_after_s: float | None = None
    map_film_size: Mapping[str, str] = field(default_factory=dict)
    map_display_format: Mapping[str, str] = field(default_factory=dict)
    map_medium: Mapping[str, str] = field(default_factory=dict)
    drop_attributes: tuple[str, ...] = ()  # keywords of DROPPABLE: not sent to these printers


#: Optional Film Session and Film Box attributes a printer sink may leave out (``drop_attributes``)
#: for printers that refuse them (0x0105), by DICOM keyword.
DROPPABLE = ("FilmSessionLabel", "MediumType", "FilmDestination", "FilmOrientation",
             "MagnificationType", "SmoothingType", "MinDensity", "MaxDensity", "BorderDensity",
             "EmptyImageDensity", "Trim", "Illumination", "ReflectedAmbientLight")


@dataclass(frozen=True)
class CommandSink(Sink):
    """A site's program, run without a shell; exit status 0 means delivered."""

    argv: tuple[str, ...]
    timeout_s: float = 60.0


_COMMON = {"name", "type", "match"}
_KEYS: dict[str, set[str]] = {
    "store": _COMMON | {"host", "port", "called_ae", "calling_ae", "objects", "patient",
                        "timeout_s", "tls", *TLS_FILE_KEYS},
    "paper": _COMMON | {"queue", "fit", "server", "timeout_s"},
    "command": _COMMON | {"argv", "timeout_s"},
    "printer": _COMMON | {"printers", "printers_config", "failover_after_s", "ack",
                          "map_film_size", "map_display_format", "map_medium",
                          "drop_attributes"},
}
_PATIENT_KEYS = {"from_label", "from_annotation", "default_patient_id", "default_patient_name"}
_IDENTITY_GROUPS = {"PatientName", "PatientID", "AccessionNumber", "StudyDescription"}


def parse_sinks(content: Any, printer_ae_title: str, base_dir: Path) -> tuple[Sink, ...]:
    """The ``[[forward]]`` array of a profile; SinkError names what is wrong."""
    if not isinstance(content, list) or not all(isinstance(item, dict) for item in content):
        raise SinkError("forward must be an array of tables [[forward]]")
    sinks: list[Sink] = []
    for number, item in enumerate(content, start=1):
        name = item.get("name")
        where = f"forward #{number}" if not isinstance(name, str) else f"forward {name!r}"
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,32}", name):
            raise SinkError(f"{where}: name must be 1 to 32 characters of A-Z a-z 0-9 _ -")
        if any(sink.name == name for sink in sinks):
            raise SinkError(f"{where}: name is used by another sink")
        kind = item.get("type")
        if kind not in _KEYS:
            raise SinkError(f"{where}: type must be one of {', '.join(_KEYS)}, not {kind!r}")
        unknown = set(item) - _KEYS[kind]
        if unknown:
            raise SinkError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        reader = _Reader(item, where)
        match = _match(item.get("match", {}), where)
        if kind == "store":
            sinks.append(StoreSink(
                name, match, host=reader.text("host"), port=reader.port("port"),
                called_ae=reader.ae_title("called_ae"),
                calling_ae=reader.ae_title("calling_ae", printer_ae_title),
                objects=_objects(item.get("objects", ["secondary-capture"]), where),
                patient=_patient(item.get("patient", {}), where),
                timeout_s=reader.seconds("timeout_s", 30.0), tls=_tls(item, where, base_dir)))
        elif kind == "paper":
            fit = reader.text("fit", Fit.PAGE.value)
            if fit not in {f.value for f in Fit}:
                raise SinkError(f"{where}: fit must be page or true-size, not {fit!r}")
            sinks.append(PaperSink(name, match, queue=reader.text("queue"), fit=Fit(fit),
                                   server=reader.text("server", "") or None,
                                   timeout_s=reader.seconds("timeout_s", 60.0)))
        elif kind == "printer":
            sinks.append(_printer_sink(item, reader, name, match, base_dir))
        else:
            sinks.append(CommandSink(name, match, argv=_argv(item.get("argv"), where, base_dir),
                                     timeout_s=reader.seconds("timeout_s", 60.0)))
    return tuple(sinks)


@dataclass
class _Reader:
    item: dict[str, Any]
    where: str

    def text(self, key: str, default: str | None = None) -> str:
        value = self.item.get(key, default)
        if not isinstance(value, str) or (default is None and not value):
            raise SinkError(f"{self.where}: {key} must be a non-empty string"
                            + (" (it is required)" if key not in self.item else ""))
        return value

    def port(self, key: str) -> int:
        value = self.item.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 65536:
            raise SinkError(f"{self.where}: {key} must be a TCP port (1 to 65535)"
                            + (" (it is required)" if key not in self.item else ""))
        return value

    def ae_title(self, key: str, default: str | None = None) -> str:
        value = self.text(key, default)
        if not 0 < len(value.strip()) <= 16 or "\\" in value or not value.isascii():
            raise SinkError(f"{self.where}: {key} {value!r} is not an AE title "
                            "(1 to 16 ASCII characters, no backslash)")
        return value

    def seconds(self, key: str, default: float) -> float:
        value = self.item.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise SinkError(f"{self.where}: {key} must be a number of seconds > 0")
        return float(value)


def _printer_sink(item: dict[str, Any], reader: _Reader, name: str, match: Match,
                  base_dir: Path) -> PrinterSink:
    where = reader.where
    names = item.get("printers")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise SinkError(f"{where}: printers must list print-scu printer names, the first "
                        "the primary (it is required)")
    given = item.get("printers_config")
    if given is not None and not isinstance(given, str):
        raise SinkError(f"{where}: printers_config must be the path of a print-scu printers file")
    path = base_dir / given if given is not None else default_config_path()
    try:
        known = load_printers(path)
    except ConfigError as exc:
        raise SinkError(f"{where}: printers_config: {exc}") from None
    missing = [n for n in names if n not in known]
    if missing:
        raise SinkError(f"{where}: printers: {', '.join(missing)} not in {path} "
                        f"(it has: {', '.join(known) or 'none'})")
    ack = reader.text("ack", Ack.QUEUED.value)
    if ack not in {a.value for a in Ack}:
        raise SinkError(f"{where}: ack must be queued or printed, not {ack!r}")
    failover = (reader.seconds("failover_after_s", 1.0) if "failover_after_s" in item
                else None)
    maps = {}
    for key in ("map_film_size", "map_display_format", "map_medium"):
        table = item.get(key, {})
        if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in table.items()):
            raise SinkError(f"{where}: {key} must be a table of \"sent\" = \"printed\"")
        maps[key] = dict(table)
    dropped = item.get("drop_attributes", [])
    if not isinstance(dropped, list) or any(k not in DROPPABLE for k in dropped):
        raise SinkError(f"{where}: drop_attributes must list keywords of "
                        f"{', '.join(DROPPABLE)}")
    return PrinterSink(name, match, printers=tuple(known[n] for n in names), ack=Ack(ack),
                       failover_after_s=failover, drop_attributes=tuple(dropped), **maps)


def _tls(item: dict[str, Any], where: str, base_dir: Path) -> TlsClientSettings | None:
    """``tls = true`` and the ``tls_*`` PEM files (relative to the profile), each existing."""
    enabled = item.get("tls", False)
    if not isinstance(enabled, bool):
        raise SinkError(f"{where}: tls must be true or false")
    given = {key: item[key] for key in TLS_FILE_KEYS if key in item}
    if given and not enabled:
        raise SinkError(f"{where}: {', '.join(given)} given but tls is not true")
    if not enabled:
        return None
    paths: dict[str, Path | None] = dict.fromkeys(TLS_FILE_KEYS)
    for key, value in given.items():
        if not isinstance(value, str) or not (base_dir / value).is_file():
            raise SinkError(f"{where}: {key} {value!r} is not a readable PEM file")
        paths[key] = base_dir / value
    return TlsClientSettings(ca_certificates=paths["tls_ca_certificates"],
                             certificate=paths["tls_certificate"],
                             private_key=paths["tls_private_key"])


def _match(content: Any, where: str) -> Match:
    if not isinstance(content, dict):
        raise SinkError(f"{where}: match must be a table of fact = [globs]")
    globs = {}
    for key, value in content.items():
        if key not in MATCH_KEYS:
            raise SinkError(f"{where}: match.{key} is not a fact (use {', '.join(MATCH_KEYS)})")
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise SinkError(f"{where}: match.{key} must be a glob or a list of globs")
        globs[key] = tuple(values)
    return Match(globs)


def _objects(value: Any, where: str) -> tuple[StoreObject, ...]:
    known = [o.value for o in StoreObject]
    if not isinstance(value, list) or not value or any(v not in known for v in value):
        raise SinkError(f"{where}: objects must list one or both of {', '.join(known)}")
    return tuple(dict.fromkeys(StoreObject(v) for v in value))


def _patient(content: Any, where: str) -> PatientRules:
    if not isinstance(content, dict):
        raise SinkError(f"{where}: patient must be a table [forward.patient]")
    unknown = set(content) - _PATIENT_KEYS
    if unknown:
        raise SinkError(f"{where}: unknown keys patient.{', patient.'.join(sorted(unknown))}")
    patterns = {}
    for key in ("from_label", "from_annotation"):
        text = content.get(key)
        if text is None:
            continue
        try:
            pattern = re.compile(text)
        except (re.error, TypeError) as exc:
            raise SinkError(f"{where}: patient.{key} is not a regular expression: {exc}") from None
        if not set(pattern.groupindex) & _IDENTITY_GROUPS:
            raise SinkError(f"{where}: patient.{key} names none of the groups "
                            f"{', '.join(sorted(_IDENTITY_GROUPS))}")
        patterns[key] = pattern
    defaults = {key: content.get(key, default) for key, default in
                (("default_patient_id", "FILMBOX-UNIDENTIFIED"), ("default_patient_name", ""))}
    for key, value in defaults.items():
        if not isinstance(value, str):
            raise SinkError(f"{where}: patient.{key} must be a string")
    return PatientRules(patterns.get("from_label"), patterns.get("from_annotation"),
                        defaults["default_patient_id"], defaults["default_patient_name"])


def _argv(value: Any, where: str, base_dir: Path) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise SinkError(f"{where}: argv must be a non-empty list of strings (it is required)")
    for argument in value:
        if ("{" in argument or "}" in argument) and argument not in PLACEHOLDERS:
            raise SinkError(f"{where}: argv {argument!r}: placeholders stand alone as whole "
                            f"arguments ({', '.join(PLACEHOLDERS)})")
    program = value[0]
    path = base_dir / program if os.sep in program else None
    found = str(path) if path is not None and path.is_file() else shutil.which(program)
    if found is None or not os.access(found, os.X_OK):
        raise SinkError(f"{where}: argv[0] {program!r} is not an executable program")
    return (found, *value[1:])

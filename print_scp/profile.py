"""Printer profiles: what the virtual printer supports and how it behaves.

A profile is a TOML file (see ``examples/printers/*.toml``); every key is
optional and the defaults describe a permissive "virtual" printer. Densities
are in OD (not hundredths), luminances in cd/m², resolutions in dpi,
retention in days, timeouts in seconds, sizes in bytes. Relative paths (the
``[tls]`` files) are relative to the profile file's directory.

``[network]`` timeouts, as pynetdicom 3.0.4 and this printer apply them:

* ``acse_timeout_s``: from the TCP connection to the A-ASSOCIATE-RQ. A peer
  that connects and sends nothing is disconnected when it expires (the
  DUL's ARTIM timer, and the association thread's wait for the request);
  with TLS the handshake must also finish within it.
* ``network_timeout_s``: a peer that stops sending part-way through a PDU
  is disconnected when no byte of it has arrived for this long (a socket
  timeout on every read). An established association that receives no
  PDU for this long is aborted (A-ABORT): an idle SCU must release.
* ``dimse_timeout_s``: how long the printer waits for the SCU's response
  to an N-EVENT-REPORT it sent (Print Job and Printer events).

``[network] max_pdu_bytes`` is the Maximum Length Received the printer
announces in its A-ASSOCIATE-AC (PS3.8 D.1): no PDU an SCU sends it may be
longer. The default, 1 MiB, is also the largest allowed (the memory budget
counts each connection's PDU at that size); the least is 4096, as DCMTK's
(a printer announcing 16 KiB, as many film printers do, makes a modality cut
each image into small PDUs, as it would for them).

``[limits]`` bound memory: an image box holds at most ``max_image_bytes``
of pixels (Rows x Columns x Samples per Pixel x Bits Allocated / 8), an
association at most ``max_session_bytes`` in all its image boxes (C605 on
the Image Box N-SET that would pass either), and a DIMSE message being
received at most ``max_image_bytes`` + 1 MiB (``dicomnet.input_guard``).
Without a printer-wide bound that would be ``max_associations x
(max_session_bytes + 3 x max_image_bytes)`` (during an N-SET: the message
received, its decoded data set, and the image it replaces). ``max_memory_bytes``
bounds it for the whole printer (``dicomnet.memory_budget``): messages being
received (2.125 x their bytes: assembled, with the buffer's growth, and
decoded; one carrying an image claims that for the largest message as soon as
it passes 1 MiB), images stored
in image boxes, and films queued for rendering until rendered. When it is
full an Image Box N-SET gets C605, and while it could not take one more
image message a new association gets A-ASSOCIATE-RJ (rejected-transient,
service-provider presentation, local-limit-exceeded). Its default is
:func:`default_max_memory_bytes`, its least :func:`smallest_memory_budget`.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field, fields
from enum import Enum
from pathlib import Path
from typing import Any

from pydicom.datadict import tag_for_keyword

from dicomnet.attribute_rules import AE_TITLE_MAX, DENSITY_HUNDREDTHS, ae_title_problem
from dicomnet.config_file import ConfigFileError, read_toml
from dicomnet.memory_budget import MAX_PDU_BYTES, MESSAGE_OVERHEAD, message_claim
from dicomnet.terms import DensityTerm, PrinterStatus, PrintPriority
from dicomnet.tls import TlsSettings, server_context
from film.annotation_format import AnnotationFormat
from film.display_format import DisplayFormatError, DisplayFormatKind, parse_display_format
from film.layout import DEFAULT_MARGIN_MM
from film.model import MagnificationType, MediumType
from film.sizes import FilmOrientation, FilmSizeID, film_size_mm
from film.smoothing import UnsharpMask
from print_scp.forward.sinks import RetryPolicy, Sink, SinkError, parse_retry, parse_sinks

_MIB = 1024 * 1024
#: The least ``max_pdu_bytes``: DCMTK's least Maximum Length.
MIN_PDU_BYTES = 4096


def max_pdu_problem(value: int) -> str | None:
    """Why ``value`` cannot be ``max_pdu_bytes`` (a Maximum Length, bytes), or None."""
    if MIN_PDU_BYTES <= value <= MAX_PDU_BYTES:
        return None
    return f"{value} is not from {MIN_PDU_BYTES} to {MAX_PDU_BYTES} bytes"


def smallest_memory_budget(max_image_bytes: int) -> int:
    """The least ``max_memory_bytes`` (bytes) with which an image of ``max_image_bytes``
    can be received (its message's claim, ``dicomnet.input_guard``) and then stored."""
    return message_claim(max_image_bytes + MESSAGE_OVERHEAD) + max_image_bytes


def default_max_memory_bytes() -> int:
    """``[limits] max_memory_bytes`` when the profile gives none: a quarter of the
    machine's physical memory, at least 256 MiB and at most 16 GiB (1 GiB where the
    system does not tell its memory); a profile file's default is raised to
    :func:`smallest_memory_budget` of its ``max_image_bytes`` if that is more."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return 1024 * _MIB
    return min(max(physical // 4, 256 * _MIB), 16 * 1024 * _MIB)


ALL_FILM_SIZES = tuple(size.value for size in FilmSizeID)
ALL_MEDIA = tuple(medium.value for medium in MediumType)
ALL_DISPLAY_FORMATS = tuple(kind.value for kind in DisplayFormatKind)
ALL_MAGNIFICATION_TYPES = tuple(kind.value for kind in MagnificationType)
PRINTER_STATUSES = tuple(status.value for status in PrinterStatus)
INFO_MAX = 64  # characters of Printer Status Info and Execution Status Info (LO)
MM_PER_INCH = 25.4


class ProfileError(ValueError):
    """A printer profile that cannot be used; the message names the key."""


class EventScope(str, Enum):
    """Which N-EVENT-REPORTs the printer sends an SCU ([events] in the profile)."""

    ALL = "all"
    PRINTER = "printer"  # Printer status events only
    JOB = "job"  # Print Job events only
    NONE = "none"  # for SCUs that cannot receive events during a print session

    def sends(self, printer_event: bool) -> bool:
        """True if Printer events (``printer_event``), or else Print Job events, are sent."""
        return self is EventScope.ALL or self is (
            EventScope.PRINTER if printer_event else EventScope.JOB)


@dataclass(frozen=True)
class EventPolicy:
    """The events every SCU gets (``send``), and exceptions by calling AE title."""

    send: EventScope = EventScope.ALL
    per_calling_ae: dict[str, EventScope] = field(default_factory=dict)

    def for_calling_ae(self, calling_ae: str) -> EventScope:
        return self.per_calling_ae.get(calling_ae.strip(), self.send)


@dataclass(frozen=True)
class ScriptedEvent:
    """A scripted printer state change or Print Job failure, for testing a modality's
    error handling.

    Fires once, after ``after_films`` films have been printed since start-up
    or ``after_s`` seconds after start-up, whichever is given. With
    ``status`` the printer's status changes (``info``: its Printer Status
    Info); with ``job_failure`` (an Execution Status Info such as "OUT OF
    FILM") the next ``jobs`` Print Jobs to be printed end FAILURE with it
    instead, their films neither written nor counted.
    """

    status: str = ""
    info: str = ""
    after_films: int | None = None
    after_s: float | None = None
    job_failure: str = ""
    jobs: int = 1


@dataclass(frozen=True)
class PrinterProfile:
    """Everything the printer supports and every default it applies."""

    # [printer]: identity and behaviour
    ae_title: str = "FILMBOX"
    port: int = 10400
    printer_name: str = "FILMBOX VIRTUAL"
    manufacturer: str = "filmbox"
    model_name: str = "Virtual Dry Imager"
    serial_number: str = "FB-0001"
    software_versions: str = "filmbox 0.1"
    strict: bool = False
    # [capabilities]
    color: bool = True
    bits_12: bool = True
    presentation_lut: bool = True
    annotation: bool = True
    session_print: bool = True  # film session N-ACTION (collation)
    film_sizes: tuple[str, ...] = ALL_FILM_SIZES
    media: tuple[str, ...] = ALL_MEDIA
    destinations: tuple[str, ...] = ("MAGAZINE", "PROCESSOR")
    display_formats: tuple[str, ...] = ALL_DISPLAY_FORMATS
    max_standard_columns: int = 10
    max_standard_rows: int = 10
    # Image Display Formats published by Printer Configuration Retrieval, each with
    # the pixel matrix of its image boxes for every film size, orientation and
    # resolution; empty: those of DEFAULT_CONFIGURATION_FORMATS this profile allows
    configuration_formats: tuple[str, ...] = ()
    magnification_types: tuple[str, ...] = ALL_MAGNIFICATION_TYPES
    smoothing_types: tuple[str, ...] = ("SMOOTH", "MEDIUM", "SHARP")
    # Optional attributes (DICOM keywords) this printer does not support: ignored, with the
    # warning 0x0107 (Attribute list error), wherever an SCU sends them
    unsupported_attributes: tuple[str, ...] = ()
    # [configuration_information.VALUE]: the Configuration Information values accepted, each
    # with the contrast curve it applies (gamma, film.render.contrast_curve); none declared:
    # any text is accepted, without effect
    configuration_values: dict[str, float] = field(default_factory=dict)
    # [smoothing.TYPE]: the unsharp mask each Smoothing Type applies at magnification
    # (film.smoothing); a profile's tables add to or replace these; a type without one
    # prints as magnified
    smoothing_filters: dict[str, UnsharpMask] = field(default_factory=lambda: {
        "SMOOTH": UnsharpMask(radius_mm=0.25, amount=-0.5),
        "MEDIUM": UnsharpMask(radius_mm=0.25, amount=0.0),
        "SHARP": UnsharpMask(radius_mm=0.25, amount=0.8),
    })
    # Annotation Display Format ID -> its boxes: a number (that many boxes on one line at the
    # bottom) or a table of boxes with their geometry (film.annotation_format)
    annotation_formats: dict[str, AnnotationFormat] = field(
        default_factory=lambda: {"ANNOTATION": AnnotationFormat.strip(1),
                                 "LABEL": AnnotationFormat.strip(2),
                                 "PATIENT": AnnotationFormat.strip(4)}
    )
    # TrueType fonts (paths, relative to the profile) tried before the system's
    annotation_fonts: tuple[str, ...] = ()
    custom_layouts: dict[int, list[tuple[float, float, float, float]]] = field(
        default_factory=lambda: {1: [(0.0, 0.0, 1.0, 0.5), (0.0, 0.5, 0.5, 0.5),
                                     (0.5, 0.5, 0.5, 0.5)]}
    )
    # [density], OD and cd/m²
    density_range: tuple[float, float] = (0.10, 3.60)
    default_min_density: float = 0.20
    default_max_density: float = 3.00
    default_border_density: str = "WHITE"
    default_empty_image_density: str = "WHITE"
    illumination: float = 2000.0
    reflected_ambient_light: float = 10.0
    paper_illumination: float = 150.0
    # [resolution], dpi
    standard_dpi: int = 150
    high_dpi: int = 300
    # [resolution.printable_area]: Film Size ID -> the printable area, portrait (width, height)
    # in mm, centred on the sheet (given in the TOML as [columns, rows] at standard_dpi, as
    # conformance statements publish it); a size without one keeps 5 mm margins
    printable_areas_mm: dict[str, tuple[float, float]] = field(default_factory=dict)
    # [defaults] for attributes the SCU leaves out (defined terms, given as their values)
    default_film_size: FilmSizeID = FilmSizeID.IN_14X17
    default_orientation: FilmOrientation = FilmOrientation.PORTRAIT
    default_medium: MediumType = MediumType.BLUE_FILM
    default_destination: str = "PROCESSOR"
    default_magnification: MagnificationType = MagnificationType.BILINEAR
    default_priority: PrintPriority = PrintPriority.MED
    # [limits]
    queue_capacity: int = 100  # films accepted but not yet rendered
    max_copies: int = 99
    max_film_boxes_per_session: int = 100
    max_image_rows: int = 8192
    max_image_columns: int = 8192
    max_image_bytes: int = 64 * 1024 * 1024  # pixel data of one image box
    max_session_bytes: int = 512 * 1024 * 1024  # pixel data of all image boxes of an association
    # image bytes held by the whole printer: associations, messages, films queued to render
    max_memory_bytes: int = field(default_factory=default_max_memory_bytes)
    max_associations: int = 32
    # [network], seconds
    acse_timeout_s: float = 30.0
    dimse_timeout_s: float = 60.0
    network_timeout_s: float = 120.0
    max_pdu_bytes: int = MAX_PDU_BYTES  # Maximum Length Received, announced to every SCU
    # [access]
    allowed_calling_aes: tuple[str, ...] = ()  # empty: any calling AE title
    require_called_ae: bool = False  # True: the called AE title must be ae_title
    # [output]
    retention_days: float = 0.0  # rendered films are deleted after this; 0: kept forever
    job_report: bool = True  # the job document <job>.pdf ends with the job report page
    # [tls]: None serves plain TCP
    tls: TlsSettings | None = None
    # [events]
    events: EventPolicy = field(default_factory=EventPolicy)
    # [[forward]]: where printed films also go (print_scp.forward.sinks); [forwarding]: retries
    forward: tuple[Sink, ...] = ()
    forward_retry: RetryPolicy = field(default_factory=RetryPolicy)
    # [web]: the console's token (empty: generated, kept in the output directory) and
    # whether every request needs it even on a loopback bind
    web_token: str = ""
    web_require_token: bool = False
    # [[script]]
    script: tuple[ScriptedEvent, ...] = ()

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            terms = _TERM_FIELDS.get(name)
            if terms is None or isinstance(value, terms):
                continue
            try:
                object.__setattr__(self, name, terms(value))
            except ValueError:
                raise ProfileError(f"{name} {value!r} is not one of "
                                   f"{', '.join(term.value for term in terms)}") from None

    @property
    def published_formats(self) -> tuple[str, ...]:
        """The Image Display Formats Printer Configuration Retrieval describes."""
        if self.configuration_formats:
            return self.configuration_formats
        return tuple(text for text in DEFAULT_CONFIGURATION_FORMATS
                     if _format_problem(self, text) is None)

    @property
    def density_range_hundredths(self) -> tuple[int, int]:
        return round(self.density_range[0] * 100), round(self.density_range[1] * 100)

    def margins_mm(self, film_size_id: FilmSizeID | str,
                   orientation: FilmOrientation | str) -> tuple[float, float]:
        """(left and right, top and bottom) margins in mm of a film as it lies."""
        area = self.printable_areas_mm.get(FilmSizeID.parse(film_size_id).value)
        if area is None:
            return DEFAULT_MARGIN_MM, DEFAULT_MARGIN_MM
        width, height = film_size_mm(film_size_id, orientation)
        portrait_width, portrait_height = film_size_mm(film_size_id, FilmOrientation.PORTRAIT)
        area_width, area_height = area if width == portrait_width else (area[1], area[0])
        return (width - area_width) / 2, (height - area_height) / 2

    def dpi_for(self, requested_resolution_id: str | None) -> int:
        """Printer resolution for Requested Resolution ID (2020,0050)."""
        return self.high_dpi if requested_resolution_id == "HIGH" else self.standard_dpi


#: Profile fields that hold a defined term, and its enum.
_TERM_FIELDS: dict[str, type[Enum]] = {
    "default_film_size": FilmSizeID, "default_orientation": FilmOrientation,
    "default_medium": MediumType, "default_magnification": MagnificationType,
    "default_priority": PrintPriority,
}

#: The formats Printer Configuration Retrieval describes unless a profile names its own.
DEFAULT_CONFIGURATION_FORMATS = (
    "STANDARD\\1,1", "STANDARD\\1,2", "STANDARD\\2,1", "STANDARD\\2,2", "STANDARD\\2,3",
    "STANDARD\\3,3", "STANDARD\\3,4", "STANDARD\\4,4", "STANDARD\\4,5", "STANDARD\\5,5",
)

# TOML section -> the profile fields it may hold.
_SECTIONS: dict[str, tuple[str, ...]] = {
    "printer": ("ae_title", "port", "printer_name", "manufacturer", "model_name",
                "serial_number", "software_versions", "strict"),
    "capabilities": ("color", "bits_12", "presentation_lut", "annotation", "session_print",
                     "film_sizes", "media", "destinations", "display_formats",
                     "max_standard_columns", "max_standard_rows", "configuration_formats",
                     "magnification_types", "unsupported_attributes",
                     "smoothing_types", "annotation_formats", "annotation_fonts",
                     "custom_layouts"),
    "density": ("density_range", "default_min_density", "default_max_density",
                "default_border_density", "default_empty_image_density", "illumination",
                "reflected_ambient_light", "paper_illumination"),
    "resolution": ("standard_dpi", "high_dpi"),
    "defaults": ("default_film_size", "default_orientation", "default_medium",
                 "default_destination", "default_magnification", "default_priority"),
    "limits": ("queue_capacity", "max_copies", "max_film_boxes_per_session",
               "max_image_rows", "max_image_columns", "max_image_bytes", "max_session_bytes",
               "max_memory_bytes", "max_associations"),
    "network": ("acse_timeout_s", "dimse_timeout_s", "network_timeout_s", "max_pdu_bytes"),
    "access": ("allowed_calling_aes", "require_called_ae"),
    "output": ("retention_days", "job_report"),
}
_DEFAULTS = PrinterProfile()
# Python type of a default -> (what a value must be, what list items must be).
_KINDS = {bool: ("true or false", "booleans"), int: ("an integer", "integers"),
          float: ("a number", "numbers"), str: ("a string", "strings")}


def describe_profile(profile: PrinterProfile) -> str:
    """The profile in effect, one ``key = value`` line per field (the web console shows it)."""
    return "\n".join(f"{f.name} = {getattr(profile, f.name)!r}" for f in fields(profile)
                     if f.name != "web_token")


def load_profile(path: Path | str | None) -> PrinterProfile:
    """Read a profile; ``None`` gives the built-in virtual printer."""
    if path is None:
        return PrinterProfile()
    path = Path(path)
    try:
        data = read_toml(path, "printer profile")
    except ConfigFileError as exc:
        raise ProfileError(str(exc)) from exc
    return profile_from_dict(data, source=str(path), base_dir=path.parent)


def profile_from_dict(data: dict[str, Any], source: str = "profile",
                      base_dir: Path | None = None) -> PrinterProfile:
    """Build and validate a profile from parsed TOML.

    Relative paths resolve against ``base_dir`` (None: the working directory).
    """
    values: dict[str, Any] = {}
    given_filters: dict[str, UnsharpMask] = {}
    printable_area: Any = None
    forward_sections: dict[str, Any] = {}
    for section, content in data.items():
        if section == "script":
            if not isinstance(content, list):
                raise ProfileError(f"{source}: script must be an array of tables [[script]]")
            values["script"] = tuple(_scripted_event(item, source) for item in content)
            continue
        if section == "events":
            values["events"] = _event_policy(content, source)
            continue
        if section in ("forward", "forwarding"):
            forward_sections[section] = content
            continue
        if section == "web":
            values.update(_web(content, source))
            continue
        if section == "configuration_information":
            values["configuration_values"] = _configuration_values(content, source)
            continue
        if section == "smoothing":
            given_filters = _smoothing_filters(content, source)
            values["smoothing_filters"] = {**_DEFAULTS.smoothing_filters, **given_filters}
            continue
        if section == "tls":
            if not isinstance(content, dict):
                raise ProfileError(f"{source}: tls must be a section [tls], not {content!r}")
            values["tls"] = _tls_settings(content, source, base_dir or Path.cwd())
            continue
        if section == "resolution" and isinstance(content, dict) and "printable_area" in content:
            content = dict(content)
            printable_area = content.pop("printable_area")
        allowed = _SECTIONS.get(section)
        if allowed is None:
            raise ProfileError(f"{source}: unknown section [{section}]")
        if not isinstance(content, dict):
            raise ProfileError(f"{source}: {section} must be a section [{section}], "
                               f"not {content!r}")
        for key, value in content.items():
            if key not in allowed:
                raise ProfileError(f"{source}: unknown key {key!r} in [{section}]")
            values[key] = _convert(key, value, source)
    try:
        if "forward" in forward_sections:
            values["forward"] = parse_sinks(forward_sections["forward"],
                                            values.get("ae_title", _DEFAULTS.ae_title),
                                            base_dir or Path.cwd())
        if "forwarding" in forward_sections:
            values["forward_retry"] = parse_retry(forward_sections["forwarding"])
    except SinkError as exc:
        raise ProfileError(f"{source}: {exc}") from None
    if printable_area is not None:
        dpi = values.get("standard_dpi", _DEFAULTS.standard_dpi)
        values["printable_areas_mm"] = _printable_areas(printable_area, source, dpi)
    if "annotation_fonts" in values:
        values["annotation_fonts"] = _font_paths(values["annotation_fonts"], source,
                                                 base_dir or Path.cwd())
    if "max_memory_bytes" not in values:  # the default, enough for the largest image
        values["max_memory_bytes"] = max(default_max_memory_bytes(), smallest_memory_budget(
            values.get("max_image_bytes", _DEFAULTS.max_image_bytes)))
    try:
        profile = PrinterProfile(**values)
    except ProfileError as exc:
        raise ProfileError(f"{source}: {exc}") from None
    _validate(profile, source)
    for name in given_filters:  # the built-in ones serve any profile
        if name not in profile.smoothing_types:
            raise ProfileError(f"{source}: [smoothing.{name}]: {name!r} is not in "
                               f"smoothing_types ({', '.join(profile.smoothing_types)})")
    return profile


def _convert(key: str, value: Any, source: str) -> Any:
    if key == "custom_layouts":
        try:
            return {int(k): [tuple(float(v) for v in cell) for cell in cells]
                    for k, cells in value.items()}
        except (AttributeError, TypeError, ValueError) as exc:
            raise ProfileError(
                f"{source}: custom_layouts must map an integer id to a list of "
                f"[x, y, width, height] fractions: {exc}") from exc
    if key == "annotation_formats":
        return _annotation_formats(value, source)
    default = getattr(_DEFAULTS, key)
    if isinstance(default, tuple):
        sample = default[0] if default else ""  # the lists empty by default hold strings
        if not isinstance(value, list) or not all(_fits(v, sample) for v in value):
            raise ProfileError(f"{source}: {key} must be a list of "
                               f"{_KINDS[type(sample)][1]}, not {value!r}")
        return tuple(value)
    if not _fits(value, default):
        kind = str if isinstance(default, Enum) else type(default)
        raise ProfileError(f"{source}: {key} must be {_KINDS[kind][0]}, not {value!r}")
    return value


def _web(content: Any, source: str) -> dict[str, Any]:
    """[web] token = "...", require_token = true."""
    if not isinstance(content, dict) or set(content) - {"token", "require_token"}:
        raise ProfileError(f"{source}: [web] takes token and require_token only")
    token = content.get("token", "")
    if not isinstance(token, str) or (token and len(token) < 16):
        raise ProfileError(f"{source}: [web] token must be a string of at least 16 characters")
    require = content.get("require_token", False)
    if not isinstance(require, bool):
        raise ProfileError(f"{source}: [web] require_token must be true or false")
    return {"web_token": token, "web_require_token": require}


def _printable_areas(content: Any, source: str, dpi: Any) -> dict[str, tuple[float, float]]:
    """[resolution.printable_area] "SIZE" = [columns, rows] at ``dpi`` -> portrait mm."""
    if not isinstance(content, dict) or not isinstance(dpi, int) or dpi <= 0:
        raise ProfileError(f"{source}: printable_area must be a table [resolution.printable_area] "
                           "of \"FILM SIZE ID\" = [columns, rows] at a positive standard_dpi")
    areas = {}
    for size, matrix in content.items():
        if (not isinstance(matrix, list) or len(matrix) != 2
                or not all(isinstance(v, int) and v > 0 for v in matrix)):
            raise ProfileError(f"{source}: printable_area.{size} must be [columns, rows] "
                               f"in pixels, not {matrix!r}")
        areas[size] = (matrix[0] * MM_PER_INCH / dpi, matrix[1] * MM_PER_INCH / dpi)
    return areas


def _font_paths(names: tuple[str, ...], source: str, base_dir: Path) -> tuple[str, ...]:
    """annotation_fonts as absolute paths, each a usable TrueType font."""
    # Imported only here: the printer's own process never sets text (its render processes
    # do), and the font machinery (ReportLab, Pillow's FreeType) is 4 MiB it need not hold.
    from film.annotation_text import font_chain

    paths = tuple(str(base_dir / name) for name in names)
    try:
        font_chain(paths)
    except ValueError as exc:
        raise ProfileError(f"{source}: annotation_fonts: {exc}") from None
    return paths


def _annotation_formats(content: Any, source: str) -> dict[str, AnnotationFormat]:
    """[capabilities.annotation_formats]: ID = box count, or ID = {line_height_mm, boxes}."""
    if not isinstance(content, dict):
        raise ProfileError(f"{source}: annotation_formats must be a table of format IDs")
    formats = {}
    for name, value in content.items():
        where = f"{source}: annotation_formats.{name}"
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ProfileError(f"{where}: a box count must be >= 0, not {value}")
            formats[name] = AnnotationFormat.strip(value)
            continue
        if not isinstance(value, dict) or not isinstance(value.get("boxes"), list):
            raise ProfileError(f"{where} must be a number of boxes or a table with a list "
                               f"'boxes' of {{edge, line, x, width, align}}, not {value!r}")
        unknown = set(value) - {"boxes", "line_height_mm"}
        if unknown:
            raise ProfileError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        try:
            formats[name] = AnnotationFormat.from_json(value)
        except (TypeError, ValueError) as exc:
            raise ProfileError(f"{where}: {exc}") from exc
    return formats


def _fits(value: Any, default: Any) -> bool:
    """True if a TOML value has the type of a field's default (an integer fits a float,
    a string a defined term)."""
    if isinstance(default, Enum):
        return isinstance(value, str)
    if isinstance(value, bool) or isinstance(default, bool):
        return type(value) is type(default)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    return isinstance(value, type(default))


def _tls_settings(content: dict[str, Any], source: str, base_dir: Path) -> TlsSettings:
    """[tls]: readable PEM files that make a working TLS server context."""
    known = [f.name for f in fields(TlsSettings)]
    for key, value in content.items():
        if key not in known:
            raise ProfileError(f"{source}: unknown key {key!r} in [tls] "
                               f"(known: {', '.join(known)})")
        if key == "verify_client" and not isinstance(value, bool):
            raise ProfileError(f"{source}: [tls] verify_client must be true or false, "
                               f"not {value!r}")
        if key != "verify_client" and not (isinstance(value, str) and value):
            raise ProfileError(f"{source}: [tls] {key} must be a path (a string), not {value!r}")
    for key in ("certificate", "private_key"):
        if key not in content:
            raise ProfileError(f"{source}: [tls] needs {key} (a PEM file)")
    if content.get("verify_client") and "ca_certificates" not in content:
        raise ProfileError(f"{source}: [tls] verify_client = true needs ca_certificates "
                           "(the CA that signs client certificates)")
    paths = {key: base_dir / value for key, value in content.items() if key != "verify_client"}
    for key, path in paths.items():
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise ProfileError(f"{source}: [tls] {key}: cannot read {path}: "
                               f"{exc.strerror or exc}") from exc
    settings = TlsSettings(**paths, verify_client=content.get("verify_client", False))
    try:
        server_context(settings)
    except OSError as exc:  # ssl.SSLError included
        raise ProfileError(f"{source}: [tls] certificate, private_key and ca_certificates "
                           f"must be PEM files of a matching certificate and key (and "
                           f"CA certificates): {exc}") from exc
    return settings


def _named_tables(content: Any, source: str, section: str, name: str,
                  keys: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The tables ``[section.NAME]`` of ``content``, each holding only ``keys``."""
    if not isinstance(content, dict) or not all(isinstance(t, dict) for t in content.values()):
        raise ProfileError(f"{source}: {section} must be tables [{section}.{name}] of "
                           f"{' and '.join(keys)}")
    for title, table in content.items():
        unknown = sorted(set(table) - set(keys))
        if unknown:
            raise ProfileError(f"{source}: unknown key {unknown[0]!r} in [{section}.{title}] "
                               f"(known: {', '.join(keys)})")
    return content


def _configuration_values(content: Any, source: str) -> dict[str, float]:
    """[configuration_information.VALUE] tables: the gamma of each value's contrast curve."""
    gammas = {}
    for value, table in _named_tables(content, source, "configuration_information", "VALUE",
                                      ("gamma",)).items():
        gamma = table.get("gamma", 1.0)
        if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) \
                or not 0.1 <= gamma <= 10:
            raise ProfileError(f"{source}: [configuration_information.{value}] gamma "
                               f"{gamma!r} must be a number from 0.1 to 10")
        gammas[value] = float(gamma)
    return gammas


def _smoothing_filters(content: Any, source: str) -> dict[str, UnsharpMask]:
    """[smoothing.TYPE] tables: radius_mm and amount of each type's unsharp mask."""
    filters = {}
    for name, table in _named_tables(content, source, "smoothing", "TYPE",
                                     ("radius_mm", "amount")).items():
        try:
            filters[name] = UnsharpMask(float(table.get("radius_mm", 0.25)),
                                        float(table.get("amount", 0.0)))
        except (TypeError, ValueError) as exc:
            raise ProfileError(f"{source}: [smoothing.{name}] {exc}") from None
    return filters


def _event_policy(content: Any, source: str) -> EventPolicy:
    """[events]: send = scope, and [events.per_calling_ae] AE title = scope."""
    if not isinstance(content, dict):
        raise ProfileError(f"{source}: events must be a section [events], not {content!r}")
    unknown = sorted(set(content) - {"send", "per_calling_ae"})
    if unknown:
        raise ProfileError(f"{source}: unknown key {unknown[0]!r} in [events] "
                           "(known: send, per_calling_ae)")
    scopes = ", ".join(scope.value for scope in EventScope)

    def scope(value: Any, key: str) -> EventScope:
        try:
            return EventScope(value)
        except ValueError:
            raise ProfileError(f"{source}: [events] {key} {value!r} is not one of "
                               f"{scopes}") from None

    per_ae = content.get("per_calling_ae", {})
    if not isinstance(per_ae, dict):
        raise ProfileError(f"{source}: [events.per_calling_ae] must be a table of "
                           "AE title = scope")
    for title in per_ae:
        if ae_title_problem(title) is not None:
            raise ProfileError(f"{source}: [events.per_calling_ae] {title!r} is not an "
                               f"AE title ({ae_title_problem(title)})")
    return EventPolicy(scope(content.get("send", "all"), "send"),
                       {title: scope(value, f"per_calling_ae.{title}")
                        for title, value in per_ae.items()})


def _scripted_event(item: dict[str, Any], source: str) -> ScriptedEvent:
    if "after_seconds" in item:  # the old spelling
        if "after_s" in item:
            raise ProfileError(f"{source}: [[script]] after_seconds is the old spelling of "
                               "after_s, which is set too: remove after_seconds")
        warnings.warn(f"{source}: [[script]] after_seconds is deprecated, use after_s",
                      FutureWarning, stacklevel=2)
        item = {("after_s" if key == "after_seconds" else key): value
                for key, value in item.items()}
    try:
        event = ScriptedEvent(**item)
    except TypeError as exc:
        raise ProfileError(f"{source}: [[script]] {exc}") from exc
    if bool(event.status) == bool(event.job_failure):
        raise ProfileError(f"{source}: [[script]] needs exactly one of status (a printer "
                           "status change), job_failure (failing Print Jobs)")
    if event.status and event.status not in PRINTER_STATUSES:
        raise ProfileError(f"{source}: [[script]] status {event.status!r} is not one of "
                           f"{', '.join(PRINTER_STATUSES)}")
    if event.job_failure and not (isinstance(event.job_failure, str)
                                  and 0 < len(event.job_failure.strip()) <= INFO_MAX):
        raise ProfileError(f"{source}: [[script]] job_failure must be an Execution Status "
                           f"Info of 1 to {INFO_MAX} characters, not {event.job_failure!r}")
    if event.job_failure and event.info:
        raise ProfileError(f"{source}: [[script]] info goes with status; a job_failure is "
                           "its own Execution Status Info")
    if not (_fits(event.jobs, 0) and event.jobs >= 1) or (
            event.jobs != 1 and not event.job_failure):
        raise ProfileError(f"{source}: [[script]] jobs must be an integer >= 1, given with "
                           f"job_failure, not {event.jobs!r}")
    if (event.after_films is None) == (event.after_s is None):
        raise ProfileError(f"{source}: [[script]] needs exactly one of after_films, after_s")
    for key, default in (("after_films", 0), ("after_s", 0.0)):
        value = getattr(event, key)
        if value is not None and (not _fits(value, default) or value < 0):
            raise ProfileError(f"{source}: [[script]] {key} must be {_KINDS[type(default)][0]} "
                               f">= 0, not {value!r}")
    return event


def _format_problem(p: PrinterProfile, text: str) -> str | None:
    """Why the profile cannot print Image Display Format ``text``, None if it can."""
    try:
        fmt = parse_display_format(text, p.custom_layouts)
    except DisplayFormatError as exc:
        return str(exc)
    if fmt.kind.value not in p.display_formats:
        return f"{text!r}: {fmt.kind.value} is not in display_formats"
    if fmt.kind is DisplayFormatKind.STANDARD and (
            fmt.values[0] > p.max_standard_columns or fmt.values[1] > p.max_standard_rows):
        return f"{text!r} exceeds max_standard_columns x max_standard_rows"
    return None


def _validate(p: PrinterProfile, source: str) -> None:
    def fail(key: str, why: str) -> None:
        raise ProfileError(f"{source}: {key} {why}")

    if not 0 < len(p.ae_title.strip()) <= AE_TITLE_MAX:
        fail("ae_title", f"{p.ae_title!r} must be 1 to {AE_TITLE_MAX} characters")
    if not 0 < p.port < 65536:
        fail("port", f"{p.port} is not a TCP port")
    for key, known in (("film_sizes", ALL_FILM_SIZES), ("media", ALL_MEDIA),
                       ("display_formats", ALL_DISPLAY_FORMATS),
                       ("magnification_types", ALL_MAGNIFICATION_TYPES)):
        unknown = [value for value in getattr(p, key) if value not in known]
        if unknown:
            fail(key, f"has unknown values {unknown} (known: {', '.join(known)})")
    if len(p.density_range) != 2:
        fail("density_range", f"{list(p.density_range)} must be [min, max] OD")
    low, high = p.density_range
    if not 0.0 <= low < high <= 5.0:
        fail("density_range",
             f"{list(p.density_range)} must be [min, max] OD with 0 <= min < max <= 5")
    if not low <= p.default_min_density < p.default_max_density <= high:
        fail("default_min_density/default_max_density",
             "must lie inside density_range with min < max")
    for key in ("illumination", "paper_illumination"):
        if not getattr(p, key) > 0:  # L0 = 0 would print every P-Value alike (PS3.14)
            fail(key, "must be > 0 cd/m²")
    if not p.reflected_ambient_light >= 0:
        fail("reflected_ambient_light", "must be >= 0 cd/m²")
    if not 0 < p.standard_dpi <= p.high_dpi <= 1200:
        fail("standard_dpi/high_dpi", "must satisfy 0 < standard_dpi <= high_dpi <= 1200")
    if p.default_film_size not in p.film_sizes:
        fail("default_film_size", f"{p.default_film_size!r} is not in film_sizes")
    if p.default_medium not in p.media:
        fail("default_medium", f"{p.default_medium!r} is not in media")
    if p.default_magnification not in p.magnification_types:
        fail("default_magnification", f"{p.default_magnification!r} is not in magnification_types")
    if p.default_destination not in p.destinations:
        fail("default_destination", f"{p.default_destination!r} is not in destinations")
    for key in ("default_border_density", "default_empty_image_density"):
        value = getattr(p, key)
        number = int(value) if value.isdigit() else -1
        if value not in tuple(DensityTerm) and not (
                DENSITY_HUNDREDTHS.low <= number <= DENSITY_HUNDREDTHS.high):
            fail(key, f"{value!r} is not BLACK, WHITE or hundredths of OD "
                 f"(\"0\" to \"{DENSITY_HUNDREDTHS.high:.0f}\")")
    for key in ("queue_capacity", "max_copies", "max_film_boxes_per_session",
                "max_image_rows", "max_image_columns", "max_image_bytes", "max_session_bytes",
                "max_memory_bytes", "max_associations"):
        if getattr(p, key) < 1:
            fail(key, "must be at least 1")
    if p.max_session_bytes < p.max_image_bytes:
        fail("max_session_bytes", f"{p.max_session_bytes} is less than max_image_bytes "
             f"{p.max_image_bytes}: no image of the largest size could be stored")
    needed = smallest_memory_budget(p.max_image_bytes)
    if p.max_memory_bytes < needed:
        fail("max_memory_bytes", f"{p.max_memory_bytes} is less than {needed}, what one image "
             f"of max_image_bytes {p.max_image_bytes} needs while it is received and stored")
    for key in ("acse_timeout_s", "dimse_timeout_s", "network_timeout_s"):
        value = getattr(p, key)
        if not (math.isfinite(value) and value > 0):
            fail(key, f"{value} must be a number of seconds > 0")
    pdu_problem = max_pdu_problem(p.max_pdu_bytes)
    if pdu_problem is not None:
        fail("max_pdu_bytes", pdu_problem)
    for title in p.allowed_calling_aes:
        if ae_title_problem(title) is not None:
            fail("allowed_calling_aes", f"{title!r} is not an AE title (1 to {AE_TITLE_MAX} "
                 "printable ASCII characters, no backslash)")
    if not (math.isfinite(p.retention_days) and p.retention_days >= 0):
        fail("retention_days", f"{p.retention_days} must be a number of days >= 0 "
             "(0: keep films forever)")
    for text in p.configuration_formats:
        problem = _format_problem(p, text)
        if problem is not None:
            fail("configuration_formats", problem)
    for size, (area_width, area_height) in p.printable_areas_mm.items():
        if size not in p.film_sizes:
            fail("printable_area", f"names {size!r}, which is not in film_sizes")
        width, height = film_size_mm(size, FilmOrientation.PORTRAIT)
        if area_width > width or area_height > height:
            fail("printable_area", f"of {size} ({area_width:.1f} x {area_height:.1f} mm) is "
                 f"larger than the film ({width:g} x {height:g} mm)")
    for keyword in p.unsupported_attributes:
        if tag_for_keyword(keyword) is None:
            fail("unsupported_attributes", f"{keyword!r} is not a DICOM attribute keyword")
    for layout_id in p.custom_layouts:
        try:
            parse_display_format(f"CUSTOM\\{layout_id}", p.custom_layouts)
        except DisplayFormatError as exc:
            fail("custom_layouts", str(exc))

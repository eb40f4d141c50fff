"""Print options of one job and the Film Session, Film Box and Image Box attributes they give.

:class:`PrintOptions` holds one field per ``print-scu`` option, checked when
built; ``None`` means "the printer's default". Densities are in hundredths
of OD as DICOM carries them, luminances in cd/m². The ``*_attributes``
functions merge a printer's configured defaults with the options (options
win) into N-CREATE attribute lists, refusing what the printer was configured
not to support.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from pydicom.datadict import dictionary_description, tag_for_keyword

from dicomnet.attribute_rules import (
    DENSITY_HUNDREDTHS,
    FILM_DESTINATION,
    AttributeValueError,
    number_rule,
    text_rule,
)
from dicomnet.terms import DensityTerm, PrintPriority, RequestedResolution, Trim
from film.display_format import DisplayFormatError, DisplayFormatKind
from film.display_format import parse_display_format as parse_image_display_format
from film.model import DecimateCropBehavior, MagnificationType, MediumType
from film.sizes import FilmOrientation, FilmSizeID
from lut.polarity import Polarity
from lut.presentation import PresentationLUTShape
from lut.windowing import WINDOW_PRESETS, AutoWindow
from print_scu.annotation_template import TemplateError, check_template
from print_scu.input_files import InputOrder

__all__ = [
    "FILM_BOX_DEFAULT_KEYWORDS", "FILM_SESSION_DEFAULT_KEYWORDS", "OptionError", "PLUT_SHAPES",
    "PRESENTATION_LUT_KEYWORDS", "PrintOptions", "attribute_name", "check_attribute",
    "frame_indices", "parse_display_format",
]


class OptionError(ValueError):
    """A print option or attribute value that cannot be used; the message says which and why."""


#: Film Session attributes a printer profile may default (Number of Copies
#: and Print Priority always come from the job's options).
FILM_SESSION_DEFAULT_KEYWORDS = (
    "MediumType", "FilmDestination", "FilmSessionLabel", "MemoryAllocation", "OwnerID",
)
#: Film Box attributes a printer profile may default (Image Display Format
#: comes from the job, Annotation Display Format ID from ``annotation_format_id``).
FILM_BOX_DEFAULT_KEYWORDS = (
    "FilmOrientation", "FilmSizeID", "MagnificationType", "SmoothingType", "BorderDensity",
    "EmptyImageDensity", "MinDensity", "MaxDensity", "Trim", "ConfigurationInformation",
    "Illumination", "ReflectedAmbientLight", "RequestedResolutionID",
)
#: Film Box attributes only a printer supporting the Presentation LUT SOP Class
#: takes (PS3.4 H.4.2.2.1, introduced with it by Supplement 22).
PRESENTATION_LUT_KEYWORDS = ("Illumination", "ReflectedAmbientLight")

#: Presentation LUT Shape values ``plut`` may name instead of a LUT file.
PLUT_SHAPES = frozenset(shape.value for shape in PresentationLUTShape)
_CODE_STRING = re.compile(r"[A-Z0-9_ ]{1,16}")  # CS VR, PS3.5 Table 6.2-1
_GRID = re.compile(r"\s*([0-9]+)\s*[xX]\s*([0-9]+)\s*")
_FRAME_RANGE = re.compile(r"\s*([0-9]+)\s*(?:-\s*([0-9]+)\s*)?")
ALL_FRAMES = "all"


def attribute_name(keyword: str) -> str:
    """ "Medium Type (2000,0030)" for "MediumType": how messages name an attribute."""
    tag = tag_for_keyword(keyword)
    assert tag is not None, keyword
    return f"{dictionary_description(tag)} ({tag >> 16:04X},{tag & 0xFFFF:04X})"


def _term(enum_type: type[Enum]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        try:
            return enum_type(value.strip().upper() if isinstance(value, str) else value).value
        except ValueError:
            allowed = ", ".join(member.value for member in enum_type)
            raise ValueError(f"is not one of {allowed}") from None
    return check


def _integer(keyword: str) -> Callable[[Any], int]:
    """A whole number inside the attribute's rule (dicomnet.attribute_rules)."""
    rule = number_rule(keyword)

    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("is not an integer")
        try:
            rule.check(value)
        except AttributeValueError as exc:
            raise ValueError(f"is {exc}") from None
        return value
    return check


def _text(keyword: str) -> Callable[[Any], str]:
    """One line of text no longer than the attribute's rule allows."""
    max_length = text_rule(keyword).max_length

    def check(value: Any) -> str:
        if not isinstance(value, str) or "\\" in value or not value.isprintable():
            raise ValueError("is not a single line of text without backslashes")
        if len(value) > max_length:
            raise ValueError(f"is longer than {max_length} characters")
        return value
    return check


def _code_string(value: Any) -> str:
    if not isinstance(value, str) or not _CODE_STRING.fullmatch(value.strip().upper()):
        raise ValueError("is not a code string (1 to 16 of A-Z, 0-9, space, underscore)")
    return value.strip().upper()


def _destination(value: Any) -> str:
    if not isinstance(value, str) or not FILM_DESTINATION.fullmatch(value.strip().upper()):
        raise ValueError("is not MAGAZINE, PROCESSOR or BIN_i (i = 1..99)")
    return value.strip().upper()


def _density(value: Any) -> str:
    """BLACK, WHITE or a density in hundredths of OD, as the wire's CS string."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        try:
            DENSITY_HUNDREDTHS.check(value)
        except AttributeValueError as exc:
            raise ValueError(f"is {exc}") from None
        return str(value)
    return _term(DensityTerm)(value)


def _trim(value: Any) -> str:
    if isinstance(value, bool):
        return Trim.of(value).value
    return _term(Trim)(value)


def _display_format(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("is not a string")
    return parse_display_format(value)


_CHECKS: dict[str, Callable[[Any], Any]] = {
    "NumberOfCopies": _integer("NumberOfCopies"),
    "PrintPriority": _term(PrintPriority),
    "MediumType": _term(MediumType),
    "FilmDestination": _destination,
    "FilmSessionLabel": _text("FilmSessionLabel"),
    "MemoryAllocation": _integer("MemoryAllocation"),
    "OwnerID": _text("OwnerID"),
    "ImageDisplayFormat": _display_format,
    "FilmOrientation": _term(FilmOrientation),
    "FilmSizeID": _term(FilmSizeID),
    "MagnificationType": _term(MagnificationType),
    "SmoothingType": _code_string,
    "BorderDensity": _density,
    "EmptyImageDensity": _density,
    "MinDensity": _integer("MinDensity"),
    "MaxDensity": _integer("MaxDensity"),
    "Trim": _trim,
    "ConfigurationInformation": _text("ConfigurationInformation"),
    "Illumination": _integer("Illumination"),
    "ReflectedAmbientLight": _integer("ReflectedAmbientLight"),
    "RequestedResolutionID": _term(RequestedResolution),
    "Polarity": _term(Polarity),
    "RequestedDecimateCropBehavior": _term(DecimateCropBehavior),
}


def check_attribute(keyword: str, value: Any) -> Any:
    """``value`` as sent for the print attribute ``keyword``; OptionError if it is invalid.

    Code strings are accepted in any case and sent upper case. The message
    names the attribute and its tag, the value and why, e.g. "Medium Type
    (2000,0030) 'GREEN FILM' is not one of PAPER, ...".
    """
    check = _CHECKS.get(keyword)
    if check is None:
        raise OptionError(f"{keyword!r} is not a print attribute this client sets "
                          f"({', '.join(_CHECKS)})")
    try:
        return check(value)
    except OptionError:
        raise  # already names the attribute
    except ValueError as exc:
        raise OptionError(f"{attribute_name(keyword)} {value!r} {exc}") from None


def parse_display_format(text: str) -> str:
    """Image Display Format (2010,0010) for ``text``: "2x3" is "STANDARD\\2,3" (columns x rows).

    Other values are STANDARD\\C,R, ROW\\..., COL\\..., SLIDE or SUPERSLIDE
    (case and spaces ignored), validated by :mod:`film.display_format`.
    CUSTOM\\i only has its form checked here: whether the printer has layout
    i, and its number of image boxes, are in the printer's profile
    (``custom_formats``, :func:`print_scu.layout.boxes_per_film`).
    """
    grid = _GRID.fullmatch(text)
    candidate = f"STANDARD\\{grid[1]},{grid[2]}" if grid else text.strip().upper()
    kind, _, layout_id = candidate.partition("\\")
    if kind.strip() == DisplayFormatKind.CUSTOM.value:
        if not re.fullmatch(r"[0-9]+", layout_id.strip()):
            raise OptionError(f"Image Display Format (2010,0010) {text!r}: CUSTOM\\i needs "
                              "the printer's layout number i (e.g. CUSTOM\\1)")
        return f"{DisplayFormatKind.CUSTOM.value}\\{int(layout_id)}"
    try:
        return str(parse_image_display_format(candidate))
    except DisplayFormatError as exc:
        raise OptionError(f"{exc} (or give columns x rows, e.g. 2x3)") from None


def frame_indices(spec: str | None, frame_count: int) -> list[int]:
    """0-based frame indices selected by ``spec``, in the order given.

    ``spec`` is None or "all" (every frame) or 1-based numbers and ranges,
    e.g. "1,3-5". A number above ``frame_count`` raises OptionError.
    """
    if spec is None or spec.strip().lower() == ALL_FRAMES:
        return list(range(frame_count))
    indices: list[int] = []
    for first, last in _frame_ranges(spec):
        if last > frame_count:
            raise OptionError(f"frames {spec!r}: frame {last} does not exist, "
                              f"the image has {frame_count} frame(s)")
        indices.extend(range(first - 1, last))
    return indices


def _frame_ranges(spec: str) -> list[tuple[int, int]]:
    """(first, last) 1-based ranges of a frame selection such as "1,3-5"."""
    ranges = []
    for part in spec.split(","):
        match = _FRAME_RANGE.fullmatch(part)
        if not match:
            raise OptionError(f"frames {spec!r}: {part.strip()!r} is not a frame number "
                              "or range (e.g. 1,3-5, 1-based) and the selection is not 'all'")
        first = int(match[1])
        last = int(match[2]) if match[2] else first
        if not 1 <= first <= last:
            raise OptionError(f"frames {spec!r}: {part.strip()!r} is not an increasing "
                              "range of frame numbers starting at 1")
        ranges.append((first, last))
    return ranges


@dataclass
class PrintOptions:
    """What the user asked for one print job; ``None`` fields take the printer's default.

    ``min_density``/``max_density`` are hundredths of OD, ``border_density``
    and ``empty_density`` BLACK, WHITE or hundredths of OD, ``illumination``
    and ``reflected_ambient_light`` cd/m². ``window`` is (center, width) in
    the units of the image's modality output (HU for CT). ``frames`` picks
    frames of multi-frame images ("all" or e.g. "1,3-5", 1-based).
    ``window_auto`` (series, job, frame) is what the window of an image
    without one is computed over (:class:`lut.windowing.AutoWindow`).
    ``force``, ``skip_invalid`` and ``order`` (series, files) say how input
    files are read and ordered (:mod:`print_scu.input_files`); ``overlays``
    burns in their overlay planes.
    ``resample`` resizes each image to its image box at the printer's dpi
    (:mod:`print_scu.resample`) instead of leaving magnification to the
    printer. ``annotations`` are templates (:mod:`print_scu.annotation_template`).
    ``true_size`` sends each image's Requested Image Size from its pixel
    spacing, ``requested_image_size`` one width in mm for every image, and
    ``decimate_crop`` Requested Decimate/Crop Behavior (:mod:`print_scu.true_size`).
    ``compose`` builds each film on the client as one sheet, with a scale bar
    per image if ``scale_bar`` (:mod:`print_scu.compose`). ``copies_as_jobs``
    submits ``copies`` jobs of Number of Copies 1 instead of one job, for
    printers that ignore Number of Copies. Values are checked and normalised
    when built; OptionError names the option.
    """

    film_size: str | None = None
    display_format: str = "STANDARD\\1,1"
    orientation: str | None = None
    copies: int = 1
    priority: str = "MED"
    medium: str | None = None
    destination: str | None = None
    label: str | None = None
    magnification: str | None = None
    smoothing: str | None = None
    min_density: int | None = None
    max_density: int | None = None
    border_density: str | None = None
    empty_density: str | None = None
    trim: bool | None = None
    polarity: str = "NORMAL"
    window: tuple[float, float] | None = None
    window_preset: str | None = None
    plut: str | None = None
    illumination: int | None = None
    reflected_ambient_light: int | None = None
    bits: int | None = None
    color: bool | None = None
    annotations: list[str] = field(default_factory=list)
    session_print: bool = False
    copies_as_jobs: bool = False
    implicit_only: bool = False
    frames: str | None = None
    keep_monochrome1: bool = False
    resample: bool = False
    window_auto: str = AutoWindow.SERIES.value
    force: bool = False
    skip_invalid: bool = False
    order: str = InputOrder.SERIES.value
    overlays: bool = False
    true_size: bool = False
    requested_image_size: float | None = None
    decimate_crop: str | None = None
    compose: bool = False
    scale_bar: bool = False

    def __post_init__(self) -> None:
        for option, keyword in _OPTION_ATTRIBUTES.items():
            value = getattr(self, option)
            if value is not None:
                try:
                    setattr(self, option, check_attribute(keyword, value))
                except OptionError as exc:
                    raise OptionError(f"{option}: {exc}") from None
        for option in ("trim", "color", "session_print", "copies_as_jobs", "implicit_only",
                       "keep_monochrome1", "resample", "true_size", "compose", "scale_bar"):
            value = getattr(self, option)
            if value is not None and not isinstance(value, bool):
                raise OptionError(f"{option}: must be true or false, not {value!r}")
        self._check_window()
        self._check_input()
        self._check_plut()
        if self.bits is not None and self.bits not in (8, 12):
            raise OptionError(f"bits: P-Values are 8 or 12 bits, not {self.bits!r}")
        self.annotations = list(self.annotations)
        for text in self.annotations:
            try:
                _text("TextString")(text)
            except ValueError as exc:
                raise OptionError(f"annotations: Text String (2030,0020) {text!r} {exc}") from None
            try:
                check_template(text)
            except TemplateError as exc:
                raise OptionError(f"annotations: {exc}") from None
        self._check_sizes()
        if self.frames is not None and self.frames.strip().lower() != ALL_FRAMES:
            _frame_ranges(self.frames)

    def _check_sizes(self) -> None:
        size = self.requested_image_size
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, (int, float)) or not (
                    0 < size < math.inf):
                raise OptionError(f"requested_image_size: Requested Image Size (2020,0030) "
                                  f"{size!r} is not a positive width in mm")
            self.requested_image_size = float(size)
            if self.true_size:
                raise OptionError("true_size and requested_image_size exclude each other: "
                                  "true size computes the width from the pixel spacing")
        if self.compose and self.resample:
            raise OptionError("compose and resample exclude each other: composing resizes "
                              "every image into its place on the sheet")
        if self.scale_bar and not self.compose:
            raise OptionError("scale_bar: the scale bar is drawn into sheets the client "
                              "composes (compose)")

    def _check_input(self) -> None:
        for option in ("force", "skip_invalid", "overlays"):
            if not isinstance(getattr(self, option), bool):
                raise OptionError(f"{option}: must be true or false, not "
                                  f"{getattr(self, option)!r}")
        for option, terms in (("window_auto", AutoWindow), ("order", InputOrder)):
            value = getattr(self, option)
            try:
                setattr(self, option, terms(str(value).strip().lower()).value)
            except ValueError:
                raise OptionError(f"{option}: {value!r} is not one of "
                                  f"{', '.join(term.value for term in terms)}") from None

    def _check_window(self) -> None:
        if self.window is not None and self.window_preset is not None:
            raise OptionError("window and window_preset exclude each other: give one")
        if self.window is not None:
            try:
                center, width = (float(v) for v in self.window)
            except (TypeError, ValueError):
                raise OptionError(f"window: {self.window!r} is not (center, width)") from None
            if not width >= 1:  # PS3.3 C.11.2.1.2.1: Window Width >= 1
                raise OptionError(f"window: width {width} must be at least 1")
            self.window = (center, width)
        if self.window_preset is not None:
            preset = self.window_preset.strip().lower()
            if preset not in WINDOW_PRESETS:
                raise OptionError(f"window_preset: {self.window_preset!r} is not one of "
                                  f"{', '.join(WINDOW_PRESETS)}")
            self.window_preset = preset

    def _check_plut(self) -> None:
        if self.plut is None:
            return
        shape = self.plut.strip().upper()
        if shape in PLUT_SHAPES:
            self.plut = shape
        elif not self.plut.strip():
            raise OptionError("plut: empty (give IDENTITY, LIN OD or a LUT file path)")

    @property
    def plut_file(self) -> Path | None:
        """The LUT file named by ``plut``, None for a shape or no Presentation LUT."""
        if self.plut is None or self.plut in PLUT_SHAPES:
            return None
        return Path(self.plut)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible values (the window as a list), for the job queue."""
        data = dataclasses.asdict(self)
        if self.window is not None:
            data["window"] = list(self.window)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PrintOptions:
        """The inverse of :meth:`to_dict`; unknown keys raise OptionError."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise OptionError(f"unknown print option {unknown[0]!r}")
        values = dict(data)
        if values.get("window") is not None:
            values["window"] = tuple(values["window"])
        return cls(**values)


#: Options that are one DICOM attribute each, checked by :func:`check_attribute`.
_OPTION_ATTRIBUTES = {
    "film_size": "FilmSizeID",
    "display_format": "ImageDisplayFormat",
    "orientation": "FilmOrientation",
    "copies": "NumberOfCopies",
    "priority": "PrintPriority",
    "medium": "MediumType",
    "destination": "FilmDestination",
    "label": "FilmSessionLabel",
    "magnification": "MagnificationType",
    "smoothing": "SmoothingType",
    "min_density": "MinDensity",
    "max_density": "MaxDensity",
    "border_density": "BorderDensity",
    "empty_density": "EmptyImageDensity",
    "polarity": "Polarity",
    "decimate_crop": "RequestedDecimateCropBehavior",
    "illumination": "Illumination",
    "reflected_ambient_light": "ReflectedAmbientLight",
}

"""The SOP instances an SCU creates on one association, and their state.

Film Session -> Film Boxes -> Image Boxes + Annotation Boxes; Presentation
LUTs stand beside them. Instances live as long as the association (PS3.4
H.4.1): a released or aborted association drops its unprinted films, while
what was printed already sits in the output spool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from pydicom.dataset import Dataset

from dicomnet.terms import DensityTerm, PrintPriority, RequestedResolution, Trim
from film.model import AnnotationContent, ImageBoxContent, MagnificationType, MediumType
from film.sizes import FilmOrientation, FilmSizeID
from lut.presentation import PresentationLUT
from print_scp.service.outcome import StatusWarning


@dataclass
class PresentationLUTInstance:
    uid: str
    lut: PresentationLUT
    received: dict[str, Any]


@dataclass
class ImageBox:
    uid: str
    sop_class_uid: str  # Basic Grayscale or Color Image Box
    content: ImageBoxContent
    received: dict[str, Any] = field(default_factory=dict)
    presentation_lut_uid: str | None = None  # the LUT object is in content
    held_bytes: int = 0  # of the printer's memory budget, for the image in content

    @property
    def position(self) -> int:
        return self.content.position


@dataclass
class AnnotationBox:
    uid: str
    content: AnnotationContent
    received: dict[str, Any] = field(default_factory=dict)


class SettingsError(ValueError):
    """Settings that cannot hold together; ``keyword`` names the attribute at fault."""

    def __init__(self, keyword: str, message: str):
        super().__init__(message)
        self.keyword = keyword


def hundredths(od: float) -> int:
    """A density in hundredths of OD, as DICOM carries it."""
    return round(od * 100)


def od_of(hundredths_of_od: int) -> float:
    """A density in OD from hundredths of OD."""
    return hundredths_of_od / 100.0


def density_setting(value: str | int) -> DensityTerm | float:
    """Border/Empty Image Density as sent (BLACK, WHITE or hundredths of OD) as a setting."""
    return DensityTerm(value) if value in tuple(DensityTerm) else od_of(int(value))


def _wire_density(value: DensityTerm | float) -> str:
    """Border/Empty Image Density as DICOM carries it (CS): BLACK, WHITE or hundredths of OD."""
    return value.value if isinstance(value, DensityTerm) else str(hundredths(value))


def _wire(value: Any) -> Any:
    """A setting as DICOM carries it: a defined term by its value, anything else as is."""
    return value.value if isinstance(value, Enum) else value


def settings_dataset(wire: dict[str, Any], attributes: dict[str, str]) -> Dataset:
    """A data set of the settings ``attributes`` names (keyword -> field) that have a value."""
    ds = Dataset()
    for keyword, name in attributes.items():
        if wire[name] is not None and wire[name] != "":
            setattr(ds, keyword, wire[name])
    return ds


@dataclass(frozen=True)
class FilmBoxSettings:
    """The Film Box attributes in force (received or the printer's defaults).

    Densities are in OD; Border and Empty Image Density are BLACK, WHITE or a
    density in OD. Illumination and Reflected Ambient Light are in cd/m².
    They take their DICOM form (hundredths of OD, code strings) only in
    :meth:`wire_values`. Min Density must be below Max Density.
    """

    image_display_format: str
    film_size_id: FilmSizeID
    film_orientation: FilmOrientation
    magnification_type: MagnificationType
    annotation_display_format_id: str | None = None
    smoothing_type: str | None = None
    border_density: DensityTerm | float = DensityTerm.WHITE
    empty_image_density: DensityTerm | float = DensityTerm.WHITE
    min_density: float = 0.20
    max_density: float = 3.00
    trim: Trim = Trim.NO
    configuration_information: str | None = None
    illumination: int = 2000
    reflected_ambient_light: int = 10
    requested_resolution_id: RequestedResolution = RequestedResolution.STANDARD
    presentation_lut_uid: str | None = None
    presentation_lut: PresentationLUT | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.min_density >= self.max_density:
            raise SettingsError("MinDensity", f"MinDensity {hundredths(self.min_density)} must "
                                f"be below MaxDensity {hundredths(self.max_density)}")

    def wire_values(self) -> dict[str, Any]:
        """Every setting by field name, in its DICOM form (the LUT object left out)."""
        values = {name: _wire(value) for name, value in vars(self).items()
                  if name != "presentation_lut"}
        values["border_density"] = _wire_density(self.border_density)
        values["empty_image_density"] = _wire_density(self.empty_image_density)
        values["min_density"] = hundredths(self.min_density)
        values["max_density"] = hundredths(self.max_density)
        return values


@dataclass
class FilmBox:
    uid: str
    session_uid: str
    settings: FilmBoxSettings
    image_boxes: dict[int, ImageBox]
    annotation_boxes: dict[int, AnnotationBox]
    received: dict[str, Any] = field(default_factory=dict)
    warnings: list[StatusWarning] = field(default_factory=list)
    printed: bool = False

    def has_images(self) -> bool:
        return any(box.content.image is not None for box in self.image_boxes.values())


@dataclass(frozen=True)
class FilmSessionSettings:
    """The Film Session attributes in force (received or the printer's defaults)."""

    number_of_copies: int = 1
    print_priority: PrintPriority = PrintPriority.MED
    medium_type: MediumType = MediumType.BLUE_FILM
    film_destination: str = "PROCESSOR"
    film_session_label: str | None = None
    memory_allocation: int | None = None
    owner_id: str | None = None
    # Deviations that lenient mode accepts in the Film Session (PS3.4 puts
    # them in the Film Box): applied as defaults to the session's film boxes.
    illumination: int | None = None  # cd/m²
    reflected_ambient_light: int | None = None  # cd/m²
    presentation_lut_uid: str | None = None
    presentation_lut: PresentationLUT | None = field(default=None, compare=False)

    def wire_values(self) -> dict[str, Any]:
        """Every setting by field name, in its DICOM form (the LUT object left out)."""
        return {name: _wire(value) for name, value in vars(self).items()
                if name != "presentation_lut"}


@dataclass
class FilmSession:
    uid: str
    settings: FilmSessionSettings
    film_boxes: list[FilmBox] = field(default_factory=list)
    received: dict[str, Any] = field(default_factory=dict)
    warnings: list[StatusWarning] = field(default_factory=list)

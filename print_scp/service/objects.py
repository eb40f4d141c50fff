"""The SOP instances an SCU creates on one association, and their state.

Film Session -> Film Boxes -> Image Boxes + Annotation Boxes; Presentation
LUTs stand beside them. Instances live as long as the association (PS3.4
H.4.1): a released or aborted association drops its unprinted films, while
what was printed already sits in the output spool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from film.model import AnnotationContent, ImageBoxContent
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

    @property
    def position(self) -> int:
        return self.content.position


@dataclass
class AnnotationBox:
    uid: str
    content: AnnotationContent
    received: dict[str, Any] = field(default_factory=dict)


@dataclass
class FilmBoxSettings:
    """The Film Box attributes in force (received or the printer's defaults).

    Densities are hundredths of OD as on the wire, or BLACK/WHITE.
    """

    image_display_format: str
    film_size_id: str
    film_orientation: str
    magnification_type: str
    annotation_display_format_id: str | None = None
    smoothing_type: str | None = None
    border_density: str | int = "WHITE"
    empty_image_density: str | int = "WHITE"
    min_density: int = 20
    max_density: int = 300
    trim: str = "NO"
    configuration_information: str | None = None
    illumination: int = 2000  # cd/m²
    reflected_ambient_light: int = 10  # cd/m²
    requested_resolution_id: str = "STANDARD"
    presentation_lut_uid: str | None = None
    presentation_lut: PresentationLUT | None = None  # resolved when referenced


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


@dataclass
class FilmSessionSettings:
    number_of_copies: int = 1
    print_priority: str = "MED"
    medium_type: str = "BLUE FILM"
    film_destination: str = "PROCESSOR"
    film_session_label: str | None = None
    memory_allocation: int | None = None
    owner_id: str | None = None
    # Deviations that lenient mode accepts in the Film Session (PS3.4 puts
    # them in the Film Box): applied as defaults to the session's film boxes.
    illumination: int | None = None
    reflected_ambient_light: int | None = None
    presentation_lut_uid: str | None = None
    presentation_lut: PresentationLUT | None = None


@dataclass
class FilmSession:
    uid: str
    settings: FilmSessionSettings
    film_boxes: list[FilmBox] = field(default_factory=list)
    received: dict[str, Any] = field(default_factory=dict)
    warnings: list[StatusWarning] = field(default_factory=list)

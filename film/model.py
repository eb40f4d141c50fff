"""The film model: what a printer has been asked to print, free of any networking.

These value objects are the contract between the print SCP (which fills them
from DIMSE requests) and the renderer (which turns them into a density
canvas). Densities are in optical density (OD, float), not the hundredths of
OD that DICOM carries on the wire; lengths are in millimetres.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

import numpy as np

from film.annotation_format import AnnotationFormat
from film.smoothing import UnsharpMask
from lut.density import ViewingConditions
from lut.polarity import Polarity
from lut.presentation import PresentationLUT

if TYPE_CHECKING:
    from film.annotation_text import PlacedText

__all__ = [
    "AnnotationContent", "DecimateCropBehavior", "FilmSpec", "ImageBoxContent",
    "ImagePixels", "MagnificationType", "MediumType", "Polarity", "RenderedFilm",
]


class MagnificationType(str, Enum):
    """Magnification Type (2010,0060): how an image is interpolated to its box."""

    REPLICATE = "REPLICATE"
    BILINEAR = "BILINEAR"
    CUBIC = "CUBIC"
    NONE = "NONE"


class DecimateCropBehavior(str, Enum):
    """Requested Decimate/Crop Behavior (2020,0040)."""

    DECIMATE = "DECIMATE"
    CROP = "CROP"
    FAIL = "FAIL"


class MediumType(str, Enum):
    """Medium Type (2000,0030). PAPER is reflective; every film is transmissive."""

    PAPER = "PAPER"
    CLEAR_FILM = "CLEAR FILM"
    BLUE_FILM = "BLUE FILM"
    MAMMO_CLEAR_FILM = "MAMMO CLEAR FILM"
    MAMMO_BLUE_FILM = "MAMMO BLUE FILM"

    @property
    def is_reflective(self) -> bool:
        return self is MediumType.PAPER


@dataclass(frozen=True)
class ImagePixels:
    """Preformatted pixels of one image box (Basic Grayscale/Color Image Sequence).

    ``pixels`` is (rows, columns) of uint8/uint16 for grayscale, already masked
    to ``bits_stored``; (rows, columns, 3) uint8 RGB for color, whatever
    Planar Configuration it arrived in.
    """

    pixels: np.ndarray
    photometric: str  # "MONOCHROME1", "MONOCHROME2" or "RGB"
    bits_stored: int  # 8 or 12 (8 for color)
    pixel_aspect_ratio: tuple[int, int] = (1, 1)  # (vertical, horizontal)

    @property
    def rows(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def columns(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def is_color(self) -> bool:
        return self.pixels.ndim == 3


@dataclass
class ImageBoxContent:
    """One image box: position (1-based) and what was N-SET into it."""

    position: int
    image: ImagePixels | None = None
    polarity: Polarity = Polarity.NORMAL
    magnification_type: MagnificationType | None = None  # None: the film box's
    smoothing_type: str | None = None
    requested_image_size_mm: float | None = None  # width of the printed image
    decimate_crop: DecimateCropBehavior | None = None
    presentation_lut: PresentationLUT | None = None  # None: the film box's


@dataclass
class AnnotationContent:
    """One annotation box: position (1-based) and its text."""

    position: int
    text: str = ""


@dataclass
class FilmSpec:
    """Everything needed to render one film (one Film Box and its children).

    Densities are in OD (already converted from hundredths of OD and from
    BLACK/WHITE, and already clipped to the printer's range).
    """

    film_size_id: str  # e.g. "14INX17IN"
    orientation: str  # "PORTRAIT" or "LANDSCAPE"
    image_display_format: str  # e.g. "STANDARD\\2,2"
    image_boxes: list[ImageBoxContent]
    annotations: list[AnnotationContent] = field(default_factory=list)
    annotation_display_format_id: str | None = None
    # The boxes of that format; None: one line of as many boxes as ``annotations`` at the bottom
    annotation_format: AnnotationFormat | None = None
    # TrueType fonts (paths) tried before the system's (film.annotation_text)
    annotation_fonts: tuple[str, ...] = ()
    # (left and right, top and bottom) margins in mm around the printable area
    margins_mm: tuple[float, float] = (5.0, 5.0)
    magnification_type: MagnificationType = MagnificationType.BILINEAR
    smoothing_type: str | None = None
    border_density: float = 0.10  # OD, between and around image boxes
    empty_image_density: float = 0.10  # OD, of image boxes without an image
    min_density: float = 0.10  # OD
    max_density: float = 3.00  # OD
    trim: bool = False  # a thin frame of max density around each image
    illumination: float = 2000.0  # cd/m², L0 (light box or diffuse reflection)
    reflected_ambient_light: float = 10.0  # cd/m², La
    medium_type: MediumType = MediumType.BLUE_FILM
    resolution_dpi: int = 150
    presentation_lut: PresentationLUT | None = None  # None: IDENTITY
    # CUSTOM\i layouts of the printer configuration: i -> list of
    # (x, y, width, height) fractions of the printable area, in position order.
    custom_layouts: dict[int, list[tuple[float, float, float, float]]] = field(
        default_factory=dict
    )
    # The printer's Smoothing Types: each one's filter at magnification (film.smoothing)
    smoothing_filters: dict[str, UnsharpMask] = field(default_factory=dict)
    # Contrast curve of the film's Configuration Information: each image's density, as a
    # fraction f of the way from Min to Max Density, is printed at f ** contrast_gamma
    contrast_gamma: float = 1.0


@dataclass
class RenderedFilm:
    """A rendered film: the density every point of the sheet carries.

    ``density`` is the whole sheet at ``dpi`` in OD (float32, rows = height).
    Color images are kept in ``rgb`` (uint8, H×W×3) with ``color_mask`` marking
    their pixels; ``density`` there holds their visual density. Rectangles are
    (x, y, width, height) in pixels from the top-left corner.
    """

    density: np.ndarray
    dpi: int
    width_mm: float
    height_mm: float
    viewing: ViewingConditions
    reflective: bool = False
    rgb: np.ndarray | None = None
    color_mask: np.ndarray | None = None
    image_box_rects_px: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    annotation_rects_px: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)
    annotation_texts: list[PlacedText] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

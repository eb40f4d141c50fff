"""Physical layout of a film in mm, origin at the top-left corner of the sheet.

The sheet keeps a margin (default 5 mm) on every side. Inside it, image boxes
fill the printable area with a gap (default 2 mm) between neighbours; outer
boxes touch the edge of the printable area. When the film box has annotation
boxes, a strip (default 10 mm high) along the bottom margin holds them, left
to right in Annotation Position order with the same gap between them, and the
same gap separates the strip from the image area above it.

Cells of the display format are fractions of the printable area widened by
half a gap on every side; each box is its cell shrunk by half a gap on every
side. For a C-column grid of printable width W this gives boxes of
(W − (C − 1)·gap) / C, exactly ``gap`` apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from film.display_format import Cell, ImageDisplayFormat, grid_cells

__all__ = [
    "DEFAULT_ANNOTATION_HEIGHT_MM", "DEFAULT_GAP_MM", "DEFAULT_MARGIN_MM",
    "FilmLayout", "RectMM", "annotation_box_count", "layout_film", "mm_to_px",
]

DEFAULT_MARGIN_MM = 5.0
DEFAULT_GAP_MM = 2.0
DEFAULT_ANNOTATION_HEIGHT_MM = 10.0

_MM_PER_INCH = 25.4


def mm_to_px(mm: float, dpi: float) -> int:
    """Pixel index of the edge at ``mm`` from the origin (half rounds up)."""
    return math.floor(mm * dpi / _MM_PER_INCH + 0.5)


@dataclass(frozen=True)
class RectMM:
    """A rectangle on the sheet: top-left corner and size, all in mm."""

    x: float
    y: float
    width: float
    height: float

    def to_pixels(self, dpi: float) -> tuple[int, int, int, int]:
        """(x, y, width, height) in pixels at ``dpi``.

        Each edge is rounded on its own, so rectangles that share an edge in
        mm share it in pixels: no overlap and no gap between them.
        """
        left, top = mm_to_px(self.x, dpi), mm_to_px(self.y, dpi)
        right = mm_to_px(self.x + self.width, dpi)
        bottom = mm_to_px(self.y + self.height, dpi)
        return left, top, right - left, bottom - top


@dataclass(frozen=True)
class FilmLayout:
    """Where every box of one film lies, in mm; keys are 1-based positions."""

    width_mm: float
    height_mm: float
    image_boxes: dict[int, RectMM]
    annotation_boxes: dict[int, RectMM]


def _place(area: RectMM, cell: Cell, gap_mm: float, what: str) -> RectMM:
    """The box of ``cell`` (fractions of ``area``), half a gap in from its edges."""
    cx, cy, cw, ch = cell
    pitch_w, pitch_h = area.width + gap_mm, area.height + gap_mm
    box = RectMM(
        x=area.x - gap_mm / 2 + cx * pitch_w + gap_mm / 2,
        y=area.y - gap_mm / 2 + cy * pitch_h + gap_mm / 2,
        width=cw * pitch_w - gap_mm,
        height=ch * pitch_h - gap_mm,
    )
    if box.width <= 0 or box.height <= 0:
        raise ValueError(
            f"{what} is {box.width:.2f} × {box.height:.2f} mm: too many boxes for "
            f"a {area.width:.1f} × {area.height:.1f} mm area with {gap_mm} mm gaps"
        )
    return box


def layout_film(
    film_width_mm: float,
    film_height_mm: float,
    fmt: ImageDisplayFormat,
    annotation_count: int = 0,
    margin_mm: float = DEFAULT_MARGIN_MM,
    gap_mm: float = DEFAULT_GAP_MM,
    annotation_height_mm: float = DEFAULT_ANNOTATION_HEIGHT_MM,
) -> FilmLayout:
    """Image and annotation box rectangles of a film of the given size (mm).

    The annotation strip is reserved only when ``annotation_count`` > 0.
    Raises ValueError when the boxes do not fit the sheet.
    """
    if margin_mm < 0 or gap_mm < 0 or annotation_height_mm <= 0:
        raise ValueError(
            f"layout needs margin >= 0, gap >= 0 and annotation height > 0 mm, got "
            f"{margin_mm}, {gap_mm} and {annotation_height_mm}"
        )
    if annotation_count < 0:
        raise ValueError(f"annotation box count {annotation_count} is negative")
    strip_mm = annotation_height_mm + gap_mm if annotation_count else 0.0
    image_area = RectMM(
        margin_mm,
        margin_mm,
        film_width_mm - 2 * margin_mm,
        film_height_mm - 2 * margin_mm - strip_mm,
    )
    if image_area.width <= 0 or image_area.height <= 0:
        raise ValueError(
            f"a {film_width_mm} × {film_height_mm} mm film leaves no printable area "
            f"inside {margin_mm} mm margins"
        )
    image_boxes = {
        position: _place(image_area, cell, gap_mm, f"image box {position} of {fmt}")
        for position, cell in enumerate(fmt.cells(), start=1)
    }
    strip = RectMM(
        margin_mm,
        film_height_mm - margin_mm - annotation_height_mm,
        image_area.width,
        annotation_height_mm,
    )
    annotation_boxes = {
        position: _place(strip, cell, gap_mm, f"annotation box {position}")
        for position, cell in enumerate(grid_cells(annotation_count, 1), start=1)
    }
    return FilmLayout(film_width_mm, film_height_mm, image_boxes, annotation_boxes)


def annotation_box_count(
    annotation_display_format_id: str | None, formats: Mapping[str, int]
) -> int:
    """Number of annotation boxes for an Annotation Display Format ID (2010,0030).

    ``formats`` is the printer profile's mapping of IDs to box counts. No ID
    (None or blank) means no annotation boxes. Raises ValueError for an ID
    the printer does not know.
    """
    if annotation_display_format_id is None or not annotation_display_format_id.strip():
        return 0
    key = annotation_display_format_id.strip()
    if key not in formats:
        known = ", ".join(sorted(formats)) or "none"
        raise ValueError(
            f"Annotation Display Format ID (2010,0030) {annotation_display_format_id!r} "
            f"is not configured on this printer (configured: {known})"
        )
    return formats[key]

"""Physical layout of a film in mm, origin at the top-left corner of the sheet.

The sheet keeps margins (default 5 mm; a printer's printable area may set
them, left = right and top = bottom) on every side. Inside it, image boxes
fill the printable area with a gap (default 2 mm) between neighbours; outer
boxes touch the edge of the printable area. When the film box has annotation
boxes, their :class:`~film.annotation_format.AnnotationFormat` places them on
lines along the top and bottom margins: each edge with boxes gets a strip of
its lines (``line_height_mm`` each, the gap between them), the same gap
separates a strip from the image area, and boxes on one line keep the gap
between them.

Cells of the display format are fractions of the printable area widened by
half a gap on every side; each box is its cell shrunk by half a gap on every
side. For a C-column grid of printable width W this gives boxes of
(W − (C − 1)·gap) / C, exactly ``gap`` apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from film.annotation_format import AnnotationFormat, Edge
from film.display_format import Cell, ImageDisplayFormat

__all__ = [
    "DEFAULT_GAP_MM", "DEFAULT_MARGIN_MM",
    "FilmLayout", "RectMM", "annotation_format_of", "layout_film", "mm_to_px",
]

DEFAULT_MARGIN_MM = 5.0
DEFAULT_GAP_MM = 2.0

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
    annotation_format: AnnotationFormat | None = None,
    margins_mm: tuple[float, float] = (DEFAULT_MARGIN_MM, DEFAULT_MARGIN_MM),
    gap_mm: float = DEFAULT_GAP_MM,
) -> FilmLayout:
    """Image and annotation box rectangles of a film of the given size (mm).

    Annotation strips are reserved only for the edges ``annotation_format``
    puts boxes on. ``margins_mm`` are (left and right, top and bottom).
    Raises ValueError when the boxes do not fit the sheet.
    """
    margin_x, margin_y = margins_mm
    if margin_x < 0 or margin_y < 0 or gap_mm < 0:
        raise ValueError(f"layout needs margins >= 0 and gap >= 0 mm, got {margins_mm} and "
                         f"{gap_mm}")
    annotations = annotation_format or AnnotationFormat(())
    line_mm = annotations.line_height_mm
    strips = {edge: _strip_height(annotations.lines(edge), line_mm, gap_mm) for edge in Edge}
    image_area = RectMM(
        margin_x,
        margin_y + _with_gap(strips[Edge.TOP], gap_mm),
        film_width_mm - 2 * margin_x,
        film_height_mm - 2 * margin_y - sum(_with_gap(h, gap_mm) for h in strips.values()),
    )
    if image_area.width <= 0 or image_area.height <= 0:
        raise ValueError(
            f"a {film_width_mm} × {film_height_mm} mm film leaves no printable area "
            f"inside {margin_x:g} × {margin_y:g} mm margins and its annotation lines"
        )
    image_boxes = {
        position: _place(image_area, cell, gap_mm, f"image box {position} of {fmt}")
        for position, cell in enumerate(fmt.cells(), start=1)
    }
    strip_areas = {
        Edge.TOP: RectMM(margin_x, margin_y, image_area.width, strips[Edge.TOP]),
        Edge.BOTTOM: RectMM(margin_x, film_height_mm - margin_y - strips[Edge.BOTTOM],
                            image_area.width, strips[Edge.BOTTOM]),
    }
    annotation_boxes = {}
    for position, box in enumerate(annotations.boxes, start=1):
        lines = annotations.lines(box.edge)
        row = box.line if box.edge is Edge.TOP else lines - 1 - box.line
        cell = (box.x, row / lines, box.width, 1 / lines)
        annotation_boxes[position] = _place(strip_areas[box.edge], cell, gap_mm,
                                            f"annotation box {position}")
    return FilmLayout(film_width_mm, film_height_mm, image_boxes, annotation_boxes)


def _strip_height(lines: int, line_mm: float, gap_mm: float) -> float:
    """Height (mm) of ``lines`` annotation lines with ``gap_mm`` between them."""
    return lines * line_mm + max(lines - 1, 0) * gap_mm


def _with_gap(strip_mm: float, gap_mm: float) -> float:
    """What a strip takes from the image area: itself and the gap that separates them."""
    return strip_mm + gap_mm if strip_mm else 0.0


def annotation_format_of(
    annotation_display_format_id: str | None, formats: Mapping[str, AnnotationFormat]
) -> AnnotationFormat:
    """The format an Annotation Display Format ID names (no ID: one without boxes).

    Raises ValueError for an ID the printer does not know.
    """
    if annotation_display_format_id is None or not annotation_display_format_id.strip():
        return AnnotationFormat(())
    key = annotation_display_format_id.strip()
    if key not in formats:
        known = ", ".join(sorted(formats)) or "none"
        raise ValueError(
            f"Annotation Display Format ID (2010,0030) {annotation_display_format_id!r} "
            f"is not configured on this printer (configured: {known})"
        )
    return formats[key]

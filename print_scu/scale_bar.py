"""A scale bar burned into an image on a composed sheet: a length of anatomy and its label.

The bar is the longest of :data:`BAR_LENGTHS_MM` (mm at the anatomy) that
takes at most :data:`MAX_WIDTH_FRACTION` of the image's printed width. It
lies in the image's bottom left corner, :data:`INSET_MM` in from both edges,
:data:`THICKNESS_MM` thick, with its length ("50 mm") on a line of
:data:`LABEL_HEIGHT_MM` above it; sizes on the sheet are mm of film.
"""

from __future__ import annotations

import numpy as np

from film.annotation_format import TextAlign
from print_scu.burned_text import burn_text

__all__ = ["BAR_LENGTHS_MM", "draw_scale_bar", "scale_bar_length_mm"]

BAR_LENGTHS_MM = (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
MAX_WIDTH_FRACTION = 0.4
INSET_MM = 3.0
THICKNESS_MM = 0.5
LABEL_HEIGHT_MM = 4.0


def scale_bar_length_mm(image_width_px: int, mm_per_pixel: float) -> float | None:
    """The bar's length in mm of anatomy for an image ``image_width_px`` sheet pixels wide
    whose pixels show ``mm_per_pixel`` mm of anatomy; None if even the shortest is too long."""
    fitting = [length for length in BAR_LENGTHS_MM
               if length / mm_per_pixel <= MAX_WIDTH_FRACTION * image_width_px]
    return fitting[-1] if fitting else None


def draw_scale_bar(pixels: np.ndarray, image_rect: tuple[int, int, int, int],
                   mm_per_pixel: float, sheet_pixel_mm: float, value: int) -> None:
    """Draw the bar and its label at ``value`` into the image at ``image_rect``
    (x, y, width, height in sheet pixels) of ``pixels``.

    ``mm_per_pixel`` is mm of anatomy per sheet pixel, ``sheet_pixel_mm`` mm
    of film per sheet pixel. Nothing is drawn on an image too small for it.
    """
    x, y, width, height = image_rect
    length_mm = scale_bar_length_mm(width, mm_per_pixel)
    inset, thickness, label = (max(1, round(mm / sheet_pixel_mm))
                               for mm in (INSET_MM, THICKNESS_MM, LABEL_HEIGHT_MM))
    if length_mm is None:
        return
    length_px = round(length_mm / mm_per_pixel)
    if inset + thickness + label > height or inset + length_px > width:
        return
    bottom = y + height - inset
    pixels[bottom - thickness:bottom, x + inset:x + inset + length_px] = value
    burn_text(pixels, f"{length_mm:g} mm", (x + inset, bottom - thickness - label,
                                            min(width - inset, max(length_px, 4 * label)),
                                            label), TextAlign.LEFT, value)

"""Text burned into pixels: annotation text set in the fonts of :mod:`film.annotation_text`."""

from __future__ import annotations

import numpy as np

from film.annotation_format import TextAlign
from film.annotation_text import draw_text, font_chain, set_text

__all__ = ["burn_text"]


def burn_text(pixels: np.ndarray, text: str, box: tuple[int, int, int, int], align: TextAlign,
              value: int) -> None:
    """``text`` set on one line of ``box`` (x, y, width, height in pixels), blended into
    ``pixels`` (grayscale or RGB) at ``value``, antialiased edges in between.

    The font size is 70 % of the box height, less if the text is wider than
    the box (:func:`film.annotation_text.set_text`); a character no font has
    prints as the missing-glyph box.
    """
    x, y, width, height = box
    placed, _missing = set_text(1, text, (0, 0, width, height), align, font_chain())
    if placed is None:
        return
    coverage = np.zeros((height, width), dtype=np.float32)
    draw_text(coverage, placed, (0, 0, width, height), 1.0)
    region = pixels[y:y + height, x:x + width]
    weight = coverage[..., None] if region.ndim == 3 else coverage
    blended = region + (np.float32(value) - region) * weight
    region[...] = np.rint(blended).astype(region.dtype)

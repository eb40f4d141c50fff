"""The virtual densitometer: read optical density (OD) back from a printed film.

Works on the ``<stem>.density.png`` written by ``film.writers`` (16-bit gray,
one unit = 0.001 OD, resolution in dpi in the pHYs chunk) or directly on a
density array. Rectangles are (x, y, width, height) in pixels from the
top-left corner, as in ``RenderedFilm``.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import numpy as np
from PIL import Image

from film.writers import DENSITY_UNITS_PER_OD

__all__ = ["WedgeDirection", "measure", "measure_wedge", "read_density_map"]

_SIXTEEN_BIT_GRAY_MODES = frozenset({"I;16", "I;16B", "I;16L", "I"})
_METRES_PER_INCH = 0.0254
# pHYs holds whole pixels per metre, so a whole dpi reads back up to
# 0.5 /m = 0.0127 dpi off (50 dpi reads 50.0126, 300 dpi 299.9994).
_DPI_TOLERANCE = 0.02

Rect = tuple[int, int, int, int]


class WedgeDirection(str, Enum):
    """Which way the steps of a wedge follow each other."""

    HORIZONTAL = "horizontal"  # step 0 at the left
    VERTICAL = "vertical"  # step 0 at the top


def read_density_map(path: Path) -> tuple[np.ndarray, int]:
    """Read a density PNG: (H×W float32 OD, resolution in dpi).

    Raises ValueError if the file is not 16-bit grayscale or carries no
    square, whole-number resolution.
    """
    with Image.open(path) as image:
        if image.mode not in _SIXTEEN_BIT_GRAY_MODES:
            raise ValueError(f"{path}: density map must be 16-bit grayscale, got mode {image.mode}")
        dpi = image.info.get("dpi")
        units = np.asarray(image)
    if dpi is None:
        raise ValueError(f"{path}: density map has no resolution (pHYs chunk)")
    x_dpi, y_dpi = (float(value) for value in dpi)
    if abs(x_dpi - y_dpi) > _DPI_TOLERANCE or abs(x_dpi - round(x_dpi)) > _DPI_TOLERANCE:
        raise ValueError(f"{path}: resolution {x_dpi} x {y_dpi} dpi is not square whole dpi")
    # Division (not multiplication by 0.001) is correctly rounded, so n units
    # read back as exactly float32(n / 1000), the value that was written.
    density = units.astype(np.float32) / np.float32(DENSITY_UNITS_PER_OD)
    return density, round(x_dpi)


def measure(density: np.ndarray, rect_px: Rect, margin_px: int = 0) -> float:
    """Mean OD over ``rect_px`` shrunk by ``margin_px`` pixels on every side."""
    x, y, width, height = _checked_rect(density, rect_px)
    if margin_px < 0 or 2 * margin_px >= min(width, height):
        raise ValueError(
            f"margin of {margin_px} px leaves nothing of the {width} x {height} px rectangle"
        )
    window = density[y + margin_px:y + height - margin_px, x + margin_px:x + width - margin_px]
    return float(window.mean(dtype=np.float64))


def measure_wedge(
    density: np.ndarray,
    rect_px: Rect,
    steps: int,
    direction: WedgeDirection | str = WedgeDirection.HORIZONTAL,
    sample_fraction: float = 0.5,
) -> np.ndarray:
    """Mean OD of each of ``steps`` equal steps across ``rect_px`` (float64, OD).

    The rectangle is cut into ``steps`` equal parts along ``direction`` (edges
    rounded to whole pixels); each is sampled over the whole rectangle across
    and, along, over its central ``sample_fraction``: the same whole number of
    pixels is trimmed from both ends, at least one pixel is kept. This keeps
    away from the step edges that interpolation blurs.
    """
    x, y, width, height = _checked_rect(density, rect_px)
    direction = WedgeDirection(direction)
    length = width if direction is WedgeDirection.HORIZONTAL else height
    if steps < 1 or steps > length:
        raise ValueError(f"cannot cut {length} px into {steps} steps")
    if not 0.0 < sample_fraction <= 1.0:
        raise ValueError(f"sample_fraction must be in (0, 1], got {sample_fraction}")
    edges = np.floor(np.arange(steps + 1) * (length / steps) + 0.5).astype(np.intp)
    step_pixels = np.diff(edges)
    trim = np.minimum(
        np.floor(step_pixels * (1.0 - sample_fraction) / 2.0).astype(np.intp),
        (step_pixels - 1) // 2,
    )
    starts, stops = edges[:-1] + trim, edges[1:] - trim
    region = density[y:y + height, x:x + width]
    profile = region.mean(axis=0 if direction is WedgeDirection.HORIZONTAL else 1, dtype=np.float64)
    cumulative = np.concatenate(([0.0], np.cumsum(profile)))
    return (cumulative[stops] - cumulative[starts]) / (stops - starts)


def _checked_rect(density: np.ndarray, rect_px: Rect) -> Rect:
    """``rect_px`` as ints, or ValueError if it is empty or leaves ``density``."""
    if density.ndim != 2:
        raise ValueError(f"density must be a 2-D array, got shape {density.shape}")
    x, y, width, height = (int(value) for value in rect_px)
    rows, columns = density.shape
    if width <= 0 or height <= 0 or x < 0 or y < 0 or x + width > columns or y + height > rows:
        raise ValueError(
            f"rectangle (x={x}, y={y}, width={width}, height={height}) px is empty or "
            f"outside the {columns} x {rows} px density map"
        )
    return x, y, width, height

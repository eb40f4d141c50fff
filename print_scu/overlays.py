"""Overlay planes (60xx groups, PS3.3 C.9.2) burnt into prepared pixels.

pydicom decodes each plane (:meth:`pydicom.dataset.Dataset.overlay_array`).
A plane of Overlay Rows x Overlay Columns is placed at Overlay Origin (row,
column; 1-based, may lie outside the image, the part inside is drawn). A
multi-frame plane (Number of Frames in Overlay) covers the image frames
from Image Frame Origin on, one overlay frame each; a plane without them
covers frame 1. Overlay bits set become the brightest value.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

__all__ = ["OVERLAY_GROUPS", "burn_in_overlays", "overlay_groups"]

#: The repeating group numbers of overlay planes: 6000, 6002, ..., 601E.
OVERLAY_GROUPS = tuple(range(0x6000, 0x6020, 2))


def overlay_groups(ds: Dataset) -> list[int]:
    """The overlay groups of ``ds`` that hold Overlay Data (60xx,3000)."""
    return [group for group in OVERLAY_GROUPS if (group, 0x3000) in ds]


def burn_in_overlays(pixels: np.ndarray, ds: Dataset, frame_index: int,
                     brightest: int | tuple[int, ...]) -> np.ndarray:
    """``pixels`` (rows, columns[, 3]) of frame ``frame_index`` (0-based) with the overlay
    planes of ``ds`` set to ``brightest`` (a P-Value, or an RGB triple)."""
    burnt = pixels.copy()
    for group in overlay_groups(ds):
        plane = _plane_for_frame(ds, group, frame_index)
        if plane is None:
            continue
        origin = ds.get((group, 0x0050))
        top, left = ((int(origin.value[0]) - 1, int(origin.value[1]) - 1)
                     if origin is not None and origin.VM == 2 else (0, 0))
        _draw(burnt, plane.astype(bool), top, left, brightest)
    return burnt


def _plane_for_frame(ds: Dataset, group: int, frame_index: int) -> np.ndarray | None:
    """The (rows, columns) overlay bits over image frame ``frame_index``, None if none."""
    frames = _integer(ds, group, 0x0015)  # Number of Frames in Overlay
    first = _integer(ds, group, 0x0051) - 1  # Image Frame Origin, 1-based
    overlay_frame = frame_index - first
    if not 0 <= overlay_frame < frames:
        return None
    planes = np.asarray(ds.overlay_array(group))
    return planes[overlay_frame] if planes.ndim == 3 else planes


def _integer(ds: Dataset, group: int, element: int) -> int:
    """An integer overlay attribute, 1 if absent or empty."""
    found = ds.get((group, element))
    return 1 if found is None or found.value in (None, "") else int(found.value)


def _draw(pixels: np.ndarray, plane: np.ndarray, top: int, left: int,
          value: int | tuple[int, ...]) -> None:
    """Set ``pixels`` where ``plane`` (placed at row ``top``, column ``left``) is set."""
    rows, columns = pixels.shape[:2]
    row_from, column_from = max(top, 0), max(left, 0)
    row_to = min(top + plane.shape[0], rows)
    column_to = min(left + plane.shape[1], columns)
    if row_from >= row_to or column_from >= column_to:
        return
    inside = plane[row_from - top:row_to - top, column_from - left:column_to - left]
    pixels[row_from:row_to, column_from:column_to][inside] = value

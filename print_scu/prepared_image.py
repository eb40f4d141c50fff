"""An image ready for an image box: what preparation gives and the queue stores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class PreparedImage:
    """One frame ready for an image box.

    ``pixels`` is (rows, columns) of grayscale P-Values, uint8 for 8 bits or
    uint16 holding 0..4095 for 12 bits, or (rows, columns, 3) uint8 RGB.
    ``photometric`` is MONOCHROME2, MONOCHROME1 (kept on request) or RGB;
    ``source`` names it as "path#frame" (frame numbers from 1).
    """

    pixels: np.ndarray
    photometric: str
    bits: int
    source: str

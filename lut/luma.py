"""Colour to gray: the luma of RGB pixels, for printing colour images on gray film."""

from __future__ import annotations

import numpy as np

__all__ = ["rgb_to_gray"]

_BT601 = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma weights of R, G, B


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B of RGB values 0..255, as uint8.

    ``rgb`` has the colour samples in its last axis.
    """
    if rgb.shape[-1:] != (3,):
        raise ValueError(f"RGB pixels need 3 samples in the last axis, shape is {rgb.shape}")
    return np.clip(np.rint(rgb @ _BT601), 0, 255).astype(np.uint8)

"""Smoothing Type (2010,0080) as a printer applies it: an unsharp mask at magnification.

A printer's Smoothing Types are its own (PS3.3 C.13.3: "the values are
defined in the Conformance Statement"). Each one this printer offers is an
:class:`UnsharpMask` applied to the image after it has been magnified to its
box: ``out = image + amount × (image − gaussian(image, radius))``. A positive
``amount`` sharpens edges, a negative one softens them (−1 leaves the blurred
image), 0 leaves the image as magnified.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_MM_PER_INCH = 25.4
_TRUNCATE_SIGMAS = 3.0  # the Gaussian kernel reaches this many standard deviations out


@dataclass(frozen=True)
class UnsharpMask:
    """``radius_mm``: the Gaussian's standard deviation on the film, mm (> 0);
    ``amount``: how much of the detail to add (> 0) or take away (< 0, down to −1)."""

    radius_mm: float
    amount: float

    def __post_init__(self) -> None:
        if not self.radius_mm > 0:
            raise ValueError(f"unsharp mask radius {self.radius_mm} mm must be > 0")
        if not -1.0 <= self.amount <= 5.0:
            raise ValueError(f"unsharp mask amount {self.amount} is outside -1..5")

    def apply(self, image: np.ndarray, dpi: float) -> np.ndarray:
        """``image`` (rows, columns[, samples]) filtered at ``dpi``; float32, same shape."""
        values = image.astype(np.float32, copy=False)
        if self.amount == 0:
            return values
        sigma_px = self.radius_mm * dpi / _MM_PER_INCH
        blurred = gaussian_blur(values, sigma_px)
        return values + np.float32(self.amount) * (values - blurred)


def gaussian_blur(image: np.ndarray, sigma_px: float) -> np.ndarray:
    """``image`` blurred over its first two axes by a Gaussian of ``sigma_px`` pixels.

    Separable, with the edge pixels repeated beyond the border; float32.
    """
    reach = max(1, int(np.ceil(_TRUNCATE_SIGMAS * sigma_px)))
    offsets = np.arange(-reach, reach + 1, dtype=np.float32)
    weights = np.exp(-0.5 * (offsets / np.float32(sigma_px)) ** 2)
    weights /= weights.sum()
    blurred = image.astype(np.float32)
    for axis in (0, 1):
        blurred = _convolve_axis(blurred, weights, reach, axis)
    return blurred


def _convolve_axis(image: np.ndarray, weights: np.ndarray, reach: int, axis: int) -> np.ndarray:
    pad = [(0, 0)] * image.ndim
    pad[axis] = (reach, reach)
    padded = np.pad(image, pad, mode="edge")
    length = image.shape[axis]
    out = np.zeros_like(image)
    for tap, weight in enumerate(weights):
        window = [slice(None)] * image.ndim
        window[axis] = slice(tap, tap + length)
        out += weight * padded[tuple(window)]
    return out

"""Stored pixels of an image file to P-Values for printing (the print client's side).

The modality side of the grayscale pipeline (PS3.4 N.2.1, PS3.3 C.11.1 and
C.11.2): Modality LUT, then VOI LUT or window, giving P-Values of 8 or 12
bits for a Basic Grayscale Image Box. Window centers and widths are in the
units of the Modality LUT output (HU for CT).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum

import numpy as np
from pydicom.dataset import Dataset
from pydicom.pixels import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi,
    apply_windowing,
    pixel_array,
)
from pydicom.valuerep import DSfloat

from lut.luma import rgb_to_gray

__all__ = [
    "WINDOW_PRESETS", "AutoWindow", "file_voi_p_values", "gray_p_values", "has_voi",
    "modality_values",
    "range_p_values", "rgb_to_gray", "to_p_values", "value_extent", "window_p_values",
]

# VOI presets: (center, width) in HU, for CT.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "abdomen": (40.0, 400.0),
}

P_VALUE_BITS = (8, 12)
_GRAYSCALE = ("MONOCHROME1", "MONOCHROME2")


class AutoWindow(Enum):
    """Over which pixels the window of an image without a VOI of its own is computed."""

    SERIES = "series"  # all frames of all images of its series: relative intensities kept
    JOB = "job"  # all frames of all images of the job
    FRAME = "frame"  # each frame on its own


def to_p_values(ds: Dataset, frame: int | None = None,
                window: tuple[float, float] | None = None, bits: int = 8,
                keep_monochrome1: bool = False,
                value_range: tuple[float, float] | None = None) -> tuple[np.ndarray, str]:
    """P-Values of one frame of ``ds`` and the Photometric Interpretation they follow.

    Grayscale images go through the Modality LUT (Rescale Slope/Intercept or
    Modality LUT Sequence, :func:`modality_values`), then
    :func:`gray_p_values` with the file's own VOI (:func:`file_voi_p_values`).
    Colour images (RGB, YBR_*, PALETTE COLOR) become BT.601 luma,
    MONOCHROME2; ``window`` does not apply to them.

    ``frame`` is the 0-based frame index of a multi-frame image (None: the
    first or only frame). The result is uint8 for ``bits`` = 8 and uint16
    with values 0..4095 for ``bits`` = 12.
    """
    _check_bits(bits)
    photometric = str(ds.PhotometricInterpretation).strip()
    if photometric == "PALETTE COLOR" or int(ds.get("SamplesPerPixel", 1)) == 3:
        pixels = pixel_array(ds, index=_frame_index(ds, frame))
        gray = _color_to_gray(pixels, ds, photometric).astype(np.float64)
        return np.rint(gray * ((2**bits - 1) / 255.0)).astype(_dtype(bits)), "MONOCHROME2"
    return gray_p_values(modality_values(ds, frame), photometric, bits, keep_monochrome1,
                         window, lambda values: file_voi_p_values(values, ds, bits),
                         value_range)


def modality_values(ds: Dataset, frame: int | None = None) -> np.ndarray:
    """Modality LUT output (float) of one grayscale frame: HU for CT, stored values if none."""
    pixels = pixel_array(ds, index=_frame_index(ds, frame))
    return np.asarray(apply_modality_lut(pixels, ds), dtype=np.float64)


def gray_p_values(values: np.ndarray, photometric: str, bits: int, keep_monochrome1: bool,
                  window: tuple[float, float] | None,
                  file_voi: Callable[[np.ndarray], np.ndarray | None],
                  value_range: tuple[float, float] | None) -> tuple[np.ndarray, str]:
    """P-Values of grayscale ``values`` (Modality LUT output) by the first VOI that applies.

    The VOI is ``window`` (center, width; PS3.3 C.11.2.1.2.1 linear
    function), else what ``file_voi`` gives (the file's own window or VOI
    LUT as P-Values 0..2^bits − 1, None without one), else a linear ramp
    over ``value_range`` (low, high) or, without it, over the values' own
    min..max (:func:`range_p_values`). MONOCHROME1 is inverted to
    MONOCHROME2 unless ``keep_monochrome1``.
    """
    _check_bits(bits)
    if photometric not in _GRAYSCALE:
        raise ValueError(f"Photometric Interpretation '{photometric}' is neither grayscale "
                         "(MONOCHROME1/2) nor a colour model that can be converted to gray")
    if window is not None:
        p_float = window_p_values(values, *window, bits)
    else:
        from_file = file_voi(values)
        p_float = (from_file if from_file is not None
                   else range_p_values(values, value_range or value_extent(values), bits))
    p_values = np.rint(p_float).astype(_dtype(bits))
    if photometric == "MONOCHROME1" and not keep_monochrome1:
        return (2**bits - 1) - p_values, "MONOCHROME2"
    return p_values, photometric


def value_extent(values: np.ndarray) -> tuple[float, float]:
    """(min, max) of ``values``, the span an automatic window covers."""
    return float(np.min(values)), float(np.max(values))


def range_p_values(values: np.ndarray, value_range: tuple[float, float],
                   bits: int) -> np.ndarray:
    """``values`` from ``value_range`` (low, high) onto 0..2^bits − 1 (float), linearly.

    PS3.3 C.11.2.1.3.2 LINEAR_EXACT with center (low + high) / 2 and width
    high − low: low gives 0, high 2^bits − 1. An empty range (a flat image)
    prints mid-gray.
    """
    low, high = value_range
    return window_p_values(values, (low + high) / 2, (high - low) or 1.0, bits,
                           "LINEAR_EXACT")


def window_p_values(values: np.ndarray, center: float, width: float, bits: int,
                    function: str = "LINEAR") -> np.ndarray:
    """``values`` through a window (PS3.3 C.11.2.1.2/C.11.2.1.3) onto 0..2^bits − 1 (float).

    pydicom's windowing; ``function`` is the VOI LUT Function (LINEAR,
    LINEAR_EXACT, SIGMOID).
    """
    voi = Dataset()
    voi.PhotometricInterpretation = "MONOCHROME2"
    voi.BitsStored = bits
    voi.PixelRepresentation = 0
    voi.WindowCenter = DSfloat(center, auto_format=True)
    voi.WindowWidth = DSfloat(width, auto_format=True)
    voi.VOILUTFunction = function.strip().upper()
    return np.asarray(apply_windowing(values, voi), dtype=np.float64)


def file_voi_p_values(values: np.ndarray, ds: Dataset, bits: int) -> np.ndarray | None:
    """P-Values (float, 0..2^bits − 1) by the file's first Window Center/Width (with its
    VOI LUT Function) or first VOI LUT Sequence item; None if it has neither."""
    if not has_voi(ds):
        return None
    if "WindowCenter" in ds and "WindowWidth" in ds:
        return window_p_values(values, _first(ds.WindowCenter), _first(ds.WindowWidth), bits,
                               str(ds.get("VOILUTFunction") or "LINEAR"))
    lut_bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
    out = apply_voi(np.rint(values).astype(np.int64), ds)
    return np.asarray(out * ((2**bits - 1) / (2**lut_bits - 1)), dtype=np.float64)


def has_voi(ds: Dataset) -> bool:
    """Whether ``ds`` has a window (Window Center and Width) or a VOI LUT Sequence item."""
    return ("WindowCenter" in ds and "WindowWidth" in ds) or bool(ds.get("VOILUTSequence"))


def _check_bits(bits: int) -> None:
    if bits not in P_VALUE_BITS:
        raise ValueError(f"P-Values are printed with 8 or 12 bits, not {bits}")


def _dtype(bits: int) -> type[np.unsignedinteger]:
    return np.uint8 if bits == 8 else np.uint16


def _frame_index(ds: Dataset, frame: int | None) -> int:
    """The 0-based frame to decode, checked against Number of Frames (0028,0008)."""
    frames = int(ds.get("NumberOfFrames") or 1)
    index = 0 if frame is None else frame
    if not 0 <= index < frames:
        raise ValueError(f"frame {index} is outside 0..{frames - 1}: "
                         f"Number of Frames (0028,0008) is {frames}")
    return index


def _color_to_gray(pixels: np.ndarray, ds: Dataset, photometric: str) -> np.ndarray:
    """BT.601 luma (uint8) of a colour frame; pydicom has already decoded YBR to RGB."""
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(pixels, ds)
        top = np.iinfo(rgb.dtype).max
    else:
        rgb = pixels
        top = 2 ** int(ds.BitsStored) - 1
    return rgb_to_gray(rgb * (255.0 / top))


def _first(value: object) -> float:
    """The first of a possibly multi-valued DS element."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        return float(value)  # type: ignore[arg-type]
    return float(value[0])  # type: ignore[index]

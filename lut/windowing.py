"""Stored pixels of an image file to P-Values for printing (the print client's side).

The modality side of the grayscale pipeline (PS3.4 N.2.1, PS3.3 C.11.1 and
C.11.2): Modality LUT, then VOI LUT or window, giving P-Values of 8 or 12
bits for a Basic Grayscale Image Box. Window centers and widths are in the
units of the Modality LUT output (HU for CT).
"""

from __future__ import annotations

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

__all__ = ["WINDOW_PRESETS", "rgb_to_gray", "to_p_values"]

# VOI presets: (center, width) in HU, for CT.
WINDOW_PRESETS: dict[str, tuple[float, float]] = {
    "lung": (-600.0, 1500.0),
    "mediastinum": (50.0, 350.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "abdomen": (40.0, 400.0),
}

P_VALUE_BITS = (8, 12)
_BT601 = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601 luma weights of R, G, B
_GRAYSCALE = ("MONOCHROME1", "MONOCHROME2")


def rgb_to_gray(rgb: np.ndarray) -> np.ndarray:
    """ITU-R BT.601 luma Y = 0.299 R + 0.587 G + 0.114 B of RGB values 0..255, as uint8.

    ``rgb`` has the colour samples in its last axis.
    """
    if rgb.shape[-1:] != (3,):
        raise ValueError(f"RGB pixels need 3 samples in the last axis, shape is {rgb.shape}")
    return np.clip(np.rint(rgb @ _BT601), 0, 255).astype(np.uint8)


def to_p_values(ds: Dataset, frame: int | None = None,
                window: tuple[float, float] | None = None, bits: int = 8,
                keep_monochrome1: bool = False) -> tuple[np.ndarray, str]:
    """P-Values of one frame of ``ds`` and the Photometric Interpretation they follow.

    Grayscale images go through the Modality LUT (Rescale Slope/Intercept or
    Modality LUT Sequence), then the first VOI found of: ``window`` (center,
    width; PS3.3 C.11.2.1.2.1 linear function), the file's first Window
    Center/Width (with its VOI LUT Function), its first VOI LUT Sequence
    item, else a linear ramp over the frame's own min..max of modality
    output (a flat frame prints mid-gray). MONOCHROME1 is inverted to
    MONOCHROME2 unless ``keep_monochrome1``. Colour images (RGB, YBR_*,
    PALETTE COLOR) become BT.601 luma, MONOCHROME2; ``window`` does not apply
    to them.

    ``frame`` is the 0-based frame index of a multi-frame image (None: the
    first or only frame). The result is uint8 for ``bits`` = 8 and uint16
    with values 0..4095 for ``bits`` = 12.
    """
    if bits not in P_VALUE_BITS:
        raise ValueError(f"P-Values are printed with 8 or 12 bits, not {bits}")
    p_max = 2**bits - 1
    dtype = np.uint8 if bits == 8 else np.uint16
    pixels = pixel_array(ds, index=_frame_index(ds, frame))
    photometric = str(ds.PhotometricInterpretation).strip()
    if photometric == "PALETTE COLOR" or int(ds.get("SamplesPerPixel", 1)) == 3:
        gray = _color_to_gray(pixels, ds, photometric).astype(np.float64)
        return np.rint(gray * (p_max / 255.0)).astype(dtype), "MONOCHROME2"
    if photometric not in _GRAYSCALE:
        raise ValueError(f"Photometric Interpretation '{photometric}' is neither grayscale "
                         "(MONOCHROME1/2) nor a colour model that can be converted to gray")
    p_values = np.rint(_voi(apply_modality_lut(pixels, ds), ds, window, bits)).astype(dtype)
    if photometric == "MONOCHROME1" and not keep_monochrome1:
        return p_max - p_values, "MONOCHROME2"
    return p_values, photometric


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


def _voi(values: np.ndarray, ds: Dataset, window: tuple[float, float] | None,
         bits: int) -> np.ndarray:
    """Modality output to P-Values 0..2^bits − 1 (float) by the first VOI that applies."""
    if window is not None:
        return _window(values, *window, "LINEAR", bits)
    if "WindowCenter" in ds and "WindowWidth" in ds:
        return _window(values, _first(ds.WindowCenter), _first(ds.WindowWidth),
                       str(ds.get("VOILUTFunction") or "LINEAR"), bits)
    if ds.get("VOILUTSequence"):
        lut_bits = int(ds.VOILUTSequence[0].LUTDescriptor[2])
        out = apply_voi(np.rint(values).astype(np.int64), ds)
        return out * ((2**bits - 1) / (2**lut_bits - 1))
    low, high = float(np.min(values)), float(np.max(values))
    return _window(values, (low + high) / 2, (high - low) or 1.0, "LINEAR_EXACT", bits)


def _window(values: np.ndarray, center: float, width: float, function: str,
            bits: int) -> np.ndarray:
    """pydicom's windowing (PS3.3 C.11.2.1.2/C.11.2.1.3) onto 0..2^bits − 1."""
    voi = Dataset()
    voi.PhotometricInterpretation = "MONOCHROME2"
    voi.BitsStored = bits
    voi.PixelRepresentation = 0
    voi.WindowCenter = DSfloat(center, auto_format=True)
    voi.WindowWidth = DSfloat(width, auto_format=True)
    voi.VOILUTFunction = function.strip().upper()
    return apply_windowing(values, voi)


def _first(value: object) -> float:
    """The first of a possibly multi-valued DS element."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        return float(value)  # type: ignore[arg-type]
    return float(value[0])  # type: ignore[index]

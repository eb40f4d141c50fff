"""The frames of one image as values to window and as P-Values, classic or Enhanced multi-frame.

A classic image keeps its Modality LUT (Rescale Slope/Intercept, Modality
LUT Sequence) and VOI (Window Center/Width, VOI LUT Sequence) at the top
level: :mod:`lut.windowing` applies them. An Enhanced multi-frame image
(Enhanced CT, MR, PET, and any grayscale data set with Shared or Per-frame
Functional Groups) keeps them per frame in the Pixel Value Transformation
and Frame VOI LUT functional groups; highdicom reads those.

Real World Value Mapping applies where the image has no modality
transform (Enhanced MR and PET often map stored values to a quantity only
so): the values to window are then the real-world values, so that a
window given by the user is in their units. The file's own Frame VOI LUT
is always applied to the modality output, as PS3.3 C.11.2 defines it.
highdicom reads little endian data sets only: one in the retired Explicit VR
Big Endian transfer syntax is taken as a classic image.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian

from lut.windowing import gray_p_values, modality_values, to_p_values

__all__ = ["FramePixels", "has_functional_groups", "is_color"]

_FUNCTIONAL_GROUPS = ("SharedFunctionalGroupsSequence", "PerFrameFunctionalGroupsSequence")


def has_functional_groups(ds: Dataset) -> bool:
    """Whether ``ds`` is a multi-frame image with Shared or Per-frame Functional Groups."""
    return any(ds.get(keyword) for keyword in _FUNCTIONAL_GROUPS)


def is_color(ds: Dataset) -> bool:
    """Whether ``ds`` holds colour pixels (3 samples per pixel, or a palette)."""
    return (int(ds.get("SamplesPerPixel", 1)) == 3
            or str(ds.get("PhotometricInterpretation", "")).strip() == "PALETTE COLOR")


class FramePixels:
    """The frames of one image (frame indices 0-based): values for windowing, and P-Values."""

    def __init__(self, ds: Dataset) -> None:
        self._ds = ds
        enhanced = (has_functional_groups(ds) and not is_color(ds)
                    and ds.file_meta.TransferSyntaxUID != ExplicitVRBigEndian)
        self._enhanced = None
        if enhanced:
            import highdicom  # 0.1 s of imports, for Enhanced images only

            self._enhanced = highdicom.Image.from_dataset(ds, copy=False)

    def values(self, index: int) -> np.ndarray:
        """Frame ``index`` (grayscale) as Modality LUT output, or real-world values where the
        image has no modality transform but a Real World Value Mapping (float)."""
        if self._enhanced is None:
            return modality_values(self._ds, index)
        try:
            return self._enhanced_frame(index, real_world=False, modality=True)
        except RuntimeError:  # highdicom: "A modality LUT transform is required but not found"
            return self._enhanced_frame(index, real_world=None, modality=False)

    def p_values(self, index: int, window: tuple[float, float] | None, bits: int,
                 keep_monochrome1: bool,
                 value_range: tuple[float, float] | None) -> tuple[np.ndarray, str]:
        """P-Values of frame ``index`` and their Photometric Interpretation.

        As :func:`lut.windowing.gray_p_values` (colour images as
        :func:`lut.windowing.to_p_values`): ``window`` (center, width) in the
        units of :meth:`values`, else the file's VOI for this frame, else a
        linear ramp over ``value_range`` (low, high), else over the frame's
        own min..max.
        """
        if self._enhanced is None:
            return to_p_values(self._ds, index, window, bits, keep_monochrome1, value_range)
        photometric = str(self._ds.PhotometricInterpretation).strip()
        return gray_p_values(self.values(index), photometric, bits, keep_monochrome1, window,
                             lambda _values: self._frame_voi(index, bits), value_range)

    def _frame_voi(self, index: int, bits: int) -> np.ndarray | None:
        """The frame's own VOI (Frame VOI LUT, else the top level's) onto 0..2^bits − 1."""
        try:
            return self._enhanced_frame(index, real_world=False, modality=None,
                                        voi_bits=bits)
        except RuntimeError:  # highdicom: "A VOI transform is required but not found"
            return None

    def _enhanced_frame(self, index: int, real_world: bool | None, modality: bool | None,
                        voi_bits: int | None = None) -> np.ndarray:
        """highdicom's frame ``index`` (float): the transforms True requires (RuntimeError
        if absent), False leaves out, None applies if present; the VOI onto
        0..2^voi_bits − 1 if ``voi_bits``. Never the Presentation LUT (MONOCHROME1 is
        inverted by :func:`lut.windowing.gray_p_values`)."""
        assert self._enhanced is not None
        output_range = (0.0, float(2**voi_bits - 1)) if voi_bits else (0.0, 1.0)
        return np.asarray(self._enhanced.get_frame(
            index + 1, dtype=np.float64, apply_real_world_transform=real_world,
            apply_modality_transform=modality, apply_voi_transform=voi_bits is not None,
            voi_output_range=output_range, apply_presentation_lut=False))

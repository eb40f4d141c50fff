"""N-SET modification lists of Basic Grayscale and Basic Color Image Boxes (PS3.3 C.13.5).

Pure dataset builders: pixels and attributes in, a pydicom Dataset out,
checked against what the standard allows for an image box.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from dicomnet.terms import GrayscalePhotometric
from lut.polarity import Polarity

__all__ = ["color_image_box", "grayscale_image_box"]


def grayscale_image_box(
    position: int,
    pixels: np.ndarray,
    bits_stored: int,
    photometric: GrayscalePhotometric | str = GrayscalePhotometric.MONOCHROME2,
    polarity: Polarity | str | None = None,
    pixel_aspect_ratio: tuple[int, int] = (1, 1),
    **attrs: Any,
) -> Dataset:
    """N-SET modification list of a Basic Grayscale Image Box (PS3.3 C.13.5).

    ``pixels`` is (rows, columns) of unsigned values below 2**bits_stored;
    ``bits_stored`` 8 is sent as Bits Allocated 8 (Pixel Data OB), 12 as
    Bits Allocated 16 (OW, little endian as both proposed transfer syntaxes
    are). ``pixel_aspect_ratio`` is (vertical, horizontal). Further image box
    attributes (e.g. ``MagnificationType="NONE"``,
    ``RequestedImageSize=200.0`` in mm) go in ``attrs`` by DICOM keyword.
    """
    if bits_stored not in (8, 12):
        raise ValueError(
            f"Bits Stored (0028,0101) of a grayscale image box is 8 or 12, got {bits_stored}"
        )
    values = _checked_pixels(pixels, ndim=2, bits=bits_stored, what="grayscale image box")
    item = _image_item(values.shape[0], values.shape[1], pixel_aspect_ratio)
    item.SamplesPerPixel = 1
    item.PhotometricInterpretation = GrayscalePhotometric(photometric).value
    if bits_stored == 8:
        _set_pixels(item, bits_allocated=8, bits_stored=8, data=values.astype(np.uint8).tobytes())
    else:
        _set_pixels(item, bits_allocated=16, bits_stored=12, data=values.astype("<u2").tobytes())
    dataset = _image_box(position, polarity, attrs)
    dataset.BasicGrayscaleImageSequence = [item]
    return dataset


def color_image_box(
    position: int,
    rgb: np.ndarray,
    planar_configuration: int = 1,
    polarity: Polarity | str | None = None,
    pixel_aspect_ratio: tuple[int, int] = (1, 1),
    **attrs: Any,
) -> Dataset:
    """N-SET modification list of a Basic Color Image Box (PS3.3 C.13.5).

    ``rgb`` is (rows, columns, 3) of 0..255. Planar Configuration 1 (what
    the standard requires) sends the red, green and blue planes one after
    the other; 0 interleaves R, G, B per pixel, as many SCUs do.
    """
    if planar_configuration not in (0, 1):
        raise ValueError(f"Planar Configuration (0028,0006) is 0 or 1, got {planar_configuration}")
    values = _checked_pixels(rgb, ndim=3, bits=8, what="color image box").astype(np.uint8)
    if values.shape[2] != 3:
        raise ValueError(
            f"color image box pixels must be (rows, columns, 3), got shape {values.shape}"
        )
    item = _image_item(values.shape[0], values.shape[1], pixel_aspect_ratio)
    item.SamplesPerPixel = 3
    item.PhotometricInterpretation = "RGB"
    item.PlanarConfiguration = planar_configuration
    ordered = np.moveaxis(values, 2, 0) if planar_configuration == 1 else values
    _set_pixels(item, bits_allocated=8, bits_stored=8, data=np.ascontiguousarray(ordered).tobytes())
    dataset = _image_box(position, polarity, attrs)
    dataset.BasicColorImageSequence = [item]
    return dataset


def _checked_pixels(pixels: np.ndarray, *, ndim: int, bits: int, what: str) -> np.ndarray:
    values = np.asarray(pixels)
    if values.ndim != ndim or 0 in values.shape[:2]:
        raise ValueError(
            f"{what} pixels must be a non-empty {ndim}-D array, got shape {values.shape}"
        )
    if max(values.shape[:2]) > 65535:
        raise ValueError(
            f"{what}: Rows and Columns (US) are at most 65535, got shape {values.shape}"
        )
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{what} pixels must be integers, got dtype {values.dtype}")
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= 1 << bits:
        raise ValueError(
            f"{what} pixels must lie in 0..{(1 << bits) - 1} for {bits} bits, got {low}..{high}"
        )
    return values


def _image_item(rows: int, columns: int, pixel_aspect_ratio: tuple[int, int]) -> Dataset:
    item = Dataset()
    item.Rows = rows
    item.Columns = columns
    item.PixelAspectRatio = list(pixel_aspect_ratio)
    item.PixelRepresentation = 0
    return item


def _set_pixels(item: Dataset, *, bits_allocated: int, bits_stored: int, data: bytes) -> None:
    """Bits Allocated/Stored, High Bit and Pixel Data: OB for 8-bit words, OW for 16-bit."""
    item.BitsAllocated = bits_allocated
    item.BitsStored = bits_stored
    item.HighBit = bits_stored - 1
    item.add_new("PixelData", "OB" if bits_allocated == 8 else "OW", data)


def _image_box(position: int, polarity: Polarity | str | None, attrs: dict[str, Any]) -> Dataset:
    if position < 1:
        raise ValueError(f"Image Box Position (2020,0010) starts at 1, got {position}")
    dataset = Dataset()
    dataset.ImageBoxPosition = position
    if polarity is not None:
        dataset.Polarity = Polarity(polarity).value
    for keyword, value in attrs.items():
        if tag_for_keyword(keyword) is None:
            raise ValueError(f"{keyword!r} is not a DICOM attribute keyword")
        setattr(dataset, keyword, value)
    return dataset

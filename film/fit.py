"""Where an image goes inside its image box, and how it met the box.

Decided at N-SET time (the printer answers with the status the outcome
earns) and again at render time, by the same function. Sizes are in printer
pixels. The outcome is a reason, not a DIMSE status: the printer maps it.

The standard (PS3.3 C.13.3, C.13.5; PS3.4 H.4) gives these rules:

- Magnification Type (2010,0060) is the interpolation "by which the printer
  magnifies or decimates the image in order to fit the image in the image
  box". REPLICATE, BILINEAR and CUBIC therefore scale the image to the size
  "that corresponds with optimal filling of the Image Box": the largest size
  that fits, keeping the image's shape. The standard ties REPLICATE to no
  particular factor, so it fills the box like the others, by nearest-neighbour
  replication at whatever factor that takes (integer or not).
- NONE interpolates nothing: one image pixel per printer pixel, centred.
  Pixel Aspect Ratio is then ignored, as honouring it would need resampling.
- Requested Image Size (2020,0030) is the "width (x-dimension) in mm of the
  image to be printed" and "overrides the size that corresponds with optimal
  filling of the Image Box"; it applies to every Magnification Type (NONE
  then scales by pixel replication, the least interpolating choice).
- Requested Decimate/Crop Behavior (2020,0040) applies "if the image rows or
  columns is greater than the available printable pixels in an Image Box",
  i.e. when the image at its requested size, or at one printer pixel per
  image column when no size is requested, does not fit the box:
  DECIMATE demagnifies it to fit, CROP keeps the centre and deletes the rows
  and columns outside the box, FAIL refuses. Unspecified, this printer
  demagnifies (PS3.4 H.4 has a warning for each: "image size is larger than
  image box size, the image has been demagnified", and so on).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from film.model import DecimateCropBehavior, MagnificationType

__all__ = ["Fit", "FitOutcome", "fit_image"]

_MM_PER_INCH = 25.4


class FitOutcome(str, Enum):
    """How an image met its box."""

    FITS = "FITS"
    DEMAGNIFIED = "DEMAGNIFIED"
    CROPPED = "CROPPED"
    DECIMATED = "DECIMATED"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Fit:
    """The printed image within its box, in printer pixels.

    ``width`` × ``height`` is the printed size, placed ``offset_x``,
    ``offset_y`` from the box's top-left corner (centred). ``crop`` is the
    (x, y, width, height) window of the source image, in image pixels, that
    is printed; None means the whole image. A FAIL fit prints nothing
    (size 0).
    """

    outcome: FitOutcome
    width: int
    height: int
    offset_x: int
    offset_y: int
    crop: tuple[int, int, int, int] | None = None


def _largest_inside(box_w: int, box_h: int, aspect: float) -> tuple[int, int]:
    """Largest size of shape ``aspect`` (width / height) inside the box."""
    if box_w <= box_h * aspect:
        width, height = box_w, round(box_w / aspect)
    else:
        width, height = round(box_h * aspect), box_h
    return max(1, min(width, box_w)), max(1, min(height, box_h))


def _centred_window(full: int, shown: int, scaled: int) -> tuple[int, int]:
    """(start, length) of the centre of ``full`` source pixels showing
    ``shown`` of ``scaled`` printed pixels."""
    length = max(1, min(full, round(full * shown / scaled)))
    return (full - length) // 2, length


def _placed(
    outcome: FitOutcome, box_w: int, box_h: int, size: tuple[int, int],
    crop: tuple[int, int, int, int] | None = None,
) -> Fit:
    width, height = size
    return Fit(outcome, width, height, (box_w - width) // 2, (box_h - height) // 2, crop)


def fit_image(
    box_w_px: int,
    box_h_px: int,
    rows: int,
    columns: int,
    dpi: float,
    magnification: MagnificationType,
    requested_image_size_mm: float | None = None,
    decimate_crop: DecimateCropBehavior | None = None,
    pixel_aspect_ratio: tuple[int, int] = (1, 1),
) -> Fit:
    """Fit an image of ``rows`` × ``columns`` into a box of the given pixels.

    ``dpi`` converts Requested Image Size (mm of printed width) to pixels;
    ``pixel_aspect_ratio`` is (vertical, horizontal) spacing of the image's
    pixels. Raises ValueError for sizes that cannot describe an image.
    """
    if box_w_px < 1 or box_h_px < 1:
        raise ValueError(f"image box of {box_w_px} × {box_h_px} pixels is too small to print in")
    if rows < 1 or columns < 1:
        raise ValueError(f"image of {rows} rows × {columns} columns has no pixels")
    vertical, horizontal = pixel_aspect_ratio
    if vertical <= 0 or horizontal <= 0:
        raise ValueError(f"Pixel Aspect Ratio (0028,0034) {vertical}\\{horizontal} is not positive")
    if requested_image_size_mm is not None and not requested_image_size_mm > 0:
        raise ValueError(
            f"Requested Image Size (2020,0030) {requested_image_size_mm} mm is not positive"
        )

    interpolating = magnification is not MagnificationType.NONE
    shape_h = rows * vertical / horizontal if interpolating else rows
    aspect = columns / shape_h
    if requested_image_size_mm is not None:
        natural_w = requested_image_size_mm * dpi / _MM_PER_INCH
        natural = (max(1, round(natural_w)), max(1, round(natural_w / aspect)))
    else:
        natural = (columns, max(1, round(shape_h)))

    if natural[0] <= box_w_px and natural[1] <= box_h_px:
        fills_box = interpolating and requested_image_size_mm is None
        size = _largest_inside(box_w_px, box_h_px, aspect) if fills_box else natural
        return _placed(FitOutcome.FITS, box_w_px, box_h_px, size)

    if decimate_crop is DecimateCropBehavior.FAIL:
        return Fit(FitOutcome.FAIL, 0, 0, 0, 0)
    if decimate_crop is DecimateCropBehavior.CROP:
        shown = (min(natural[0], box_w_px), min(natural[1], box_h_px))
        x, width = _centred_window(columns, shown[0], natural[0])
        y, height = _centred_window(rows, shown[1], natural[1])
        return _placed(FitOutcome.CROPPED, box_w_px, box_h_px, shown, (x, y, width, height))
    outcome = (
        FitOutcome.DECIMATED if decimate_crop is DecimateCropBehavior.DECIMATE
        else FitOutcome.DEMAGNIFIED
    )
    return _placed(outcome, box_w_px, box_h_px, _largest_inside(box_w_px, box_h_px, aspect))

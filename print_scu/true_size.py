"""True size and Requested Image Size: the printed width of each image, in mm.

Requested Image Size (2020,0030) is "the width (x-dimension) in mm of the
image to be printed" (PS3.3 C.13.5.1); the printer derives the height from
the image's shape. At true size one mm of anatomy prints as one mm: the
width is the image's columns times its column spacing (Pixel Spacing, or
Imager Pixel Spacing corrected by the Estimated Radiographic Magnification
Factor, as :class:`~print_scu.prepared_image.PreparedImage` carries it). An
image whose rows and columns are spaced differently is first resampled to
square pixels of its column spacing, so that the printer's 1:1 Pixel Aspect
Ratio keeps it true in both directions.

An image that does not fit its image box at the requested size is refused,
unless Requested Decimate/Crop Behavior DECIMATE or CROP lets the printer
shrink or cut it.
"""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from film.layout import FilmLayout, RectMM
from film.model import DecimateCropBehavior
from print_scu.options import OptionError, PrintOptions
from print_scu.resample import resample_pixels

if TYPE_CHECKING:
    from print_scu.prepared_image import PreparedImage

__all__ = ["printed_size_mm", "size_images", "square_pixels", "true_width_mm"]

#: Relative difference of row and column spacing below which pixels count as square.
SQUARE_TOLERANCE = 1e-3
#: How far (mm) a printed image may exceed its box before it is refused: rounding only.
FIT_TOLERANCE_MM = 1e-6


def size_images(images: list[PreparedImage], options: PrintOptions, layout: FilmLayout,
                per_film: int, where: str) -> list[PreparedImage]:
    """``images`` with the Requested Image Size the options ask for.

    ``options.true_size`` gives each its :func:`true_width_mm`,
    ``options.requested_image_size`` every one that width; without either the
    images are returned as they are. Image i goes to Image Box Position
    i mod ``per_film`` + 1 of ``layout``; ``where`` names the film for
    messages (e.g. "8INX10IN PORTRAIT STANDARD\\1,1"). OptionError names an
    image without pixel spacing (true size) or one that does not fit its box.
    """
    requested = options.requested_image_size
    if not options.true_size and requested is None:
        return images
    sized = []
    for index, image in enumerate(images):
        if requested is not None:
            width_mm, how = requested, f"at Requested Image Size {requested:g} mm"
        else:
            image = square_pixels(image)
            width_mm = true_width_mm(image)
            how = f"at true size ({_spacing_text(image)} mm/pixel)"
        _check_fits(image, width_mm, layout.image_boxes[index % per_film + 1], options, how,
                    where)
        sized.append(dataclasses.replace(image, requested_size_mm=width_mm))
    return sized


def true_width_mm(image: PreparedImage) -> float:
    """Columns × column spacing (mm): the image's width at true size.

    OptionError if the image has no pixel spacing.
    """
    if image.pixel_spacing_mm is None:
        raise OptionError(f"{image.source}: true size needs its pixel spacing, but the image "
                          "has neither Pixel Spacing (0028,0030) nor Imager Pixel Spacing "
                          "(0018,1164)")
    return image.pixels.shape[1] * image.pixel_spacing_mm[1]


def square_pixels(image: PreparedImage) -> PreparedImage:
    """``image`` with square pixels of its column spacing: its rows resampled if the row
    spacing differs; unchanged otherwise (or without spacing)."""
    spacing = image.pixel_spacing_mm
    if spacing is None or math.isclose(spacing[0], spacing[1], rel_tol=SQUARE_TOLERANCE):
        return image
    rows, columns = image.pixels.shape[:2]
    new_rows = max(1, round(rows * spacing[0] / spacing[1]))
    pixels = resample_pixels(image.pixels, columns, new_rows, image.bits)
    return dataclasses.replace(image, pixels=pixels,
                               pixel_spacing_mm=(rows * spacing[0] / new_rows, spacing[1]))


def printed_size_mm(image: PreparedImage, width_mm: float) -> tuple[float, float]:
    """(width, height) in mm of ``image`` printed ``width_mm`` wide with square pixels."""
    rows, columns = image.pixels.shape[:2]
    return width_mm, width_mm * rows / columns


def _check_fits(image: PreparedImage, width_mm: float, box: RectMM, options: PrintOptions,
                how: str, where: str) -> None:
    width, height = printed_size_mm(image, width_mm)
    fits = width <= box.width + FIT_TOLERANCE_MM and height <= box.height + FIT_TOLERANCE_MM
    allowed = {DecimateCropBehavior.DECIMATE.value, DecimateCropBehavior.CROP.value}
    if fits or options.decimate_crop in allowed:
        return
    raise OptionError(f"{image.source}: {how} the image is {width:.1f} × {height:.1f} mm, "
                      f"its image box on {where} is {box.width:.0f} × {box.height:.0f} mm: "
                      "choose a larger film, fewer images per film, or --decimate-crop "
                      "DECIMATE or CROP to let the printer shrink or cut it")


def _spacing_text(image: PreparedImage) -> str:
    assert image.pixel_spacing_mm is not None  # true_width_mm refused it otherwise
    return f"{image.pixel_spacing_mm[1]:g}"

"""Resampling prepared images to their image boxes, so that the printer need not magnify.

The client cannot see where a printer puts its image boxes: it estimates
them with filmbox's own film geometry (:func:`film.layout.layout_film`: 5 mm
margins, 2 mm gaps, an annotation strip when the job has annotations) at the
printer's ``dpi``. Each image is resized to the largest size of its shape
inside its box (:func:`film.fit.fit_image`, as a magnifying printer would),
with Pillow: LANCZOS when shrinking, BICUBIC when enlarging. A printer whose
boxes are smaller than the estimate demagnifies or crops the image itself.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from film.fit import fit_image
from film.model import MagnificationType
from print_scu.box_estimate import estimated_layout
from print_scu.config import PrinterConfig
from print_scu.layout import boxes_per_film
from print_scu.options import OptionError, PrintOptions

if TYPE_CHECKING:
    from print_scu.prepared_image import PreparedImage

__all__ = ["box_size_px", "printer_dpi", "resample_images", "resample_pixels"]


def box_size_px(options: PrintOptions, printer: PrinterConfig, position: int) -> tuple[int, int]:
    """(width, height) in printer pixels of Image Box Position ``position`` (1-based).

    The estimate of filmbox's geometry (:func:`print_scu.box_estimate.estimated_layout`)
    at the printer's dpi. OptionError if the printer's dpi is unknown.
    """
    dpi = printer_dpi(printer)
    try:
        layout = estimated_layout(options, printer)
    except OptionError as exc:
        raise OptionError(f"resample: {exc}") from None
    _, _, width, height = layout.image_boxes[position].to_pixels(dpi)
    return width, height


def printer_dpi(printer: PrinterConfig) -> float:
    """The printer's resolution in printer pixels per inch; OptionError if it is unknown."""
    if printer.dpi is None:
        raise OptionError(f"resample: the resolution of printer {printer.name!r} is unknown: "
                          "set dpi in its profile (or --dpi for a printer not in --config)")
    return printer.dpi


def resample_pixels(pixels: np.ndarray, width: int, height: int, bits: int) -> np.ndarray:
    """``pixels`` resized to ``width`` × ``height``, same dtype and value range.

    (rows, columns) grayscale of ``bits`` bits or (rows, columns, 3) RGB,
    each channel resized by Pillow as floats (Pillow's 8-bit path rounds
    between its two passes), then rounded and clipped to 0..2**bits - 1.
    """
    rows, columns = pixels.shape[:2]
    shrinking = width < columns or height < rows
    method = Image.Resampling.LANCZOS if shrinking else Image.Resampling.BICUBIC
    channels = pixels.reshape(rows, columns, -1).astype(np.float32)
    resized = np.stack([np.asarray(Image.fromarray(channels[..., c]).resize((width, height),
                                                                           method))
                        for c in range(channels.shape[2])], axis=-1)
    clipped = np.clip(np.rint(resized), 0, 2**bits - 1).astype(pixels.dtype)
    return clipped.reshape(height, width, *pixels.shape[2:])


def resample_images(images: list[PreparedImage], options: PrintOptions,
                    printer: PrinterConfig) -> list[PreparedImage]:
    """Each image resized to fit its image box; the i-th goes to position i mod boxes + 1.

    The fit keeps the image's shape: the largest size inside the box. The
    pixel spacing (mm) is scaled by the same ratio, so it stays the spacing
    at the anatomy. OptionError if the printer's dpi is unknown.
    """
    dpi = printer_dpi(printer)
    per_film = boxes_per_film(options.display_format, printer.custom_formats)
    resized = []
    for index, image in enumerate(images):
        box_w, box_h = box_size_px(options, printer, index % per_film + 1)
        rows, columns = image.pixels.shape[:2]
        fit = fit_image(box_w, box_h, rows, columns, dpi, MagnificationType.BILINEAR)
        pixels = resample_pixels(image.pixels, fit.width, fit.height, image.bits)
        spacing = image.pixel_spacing_mm
        if spacing is not None:
            spacing = (spacing[0] * rows / fit.height, spacing[1] * columns / fit.width)
        resized.append(dataclasses.replace(image, pixels=pixels, pixel_spacing_mm=spacing))
    return resized

"""Whole-page printing: each film composed on the client as one sheet at the printer's matrix.

Modalities that compose their films send the whole sheet as the one image of
a STANDARD\\1,1 film, at the printer's pixel matrix, so that the printer
prints it one pixel per printer pixel. The sheet here is that image box: its
matrix and printer pixel spacing come from the printer's Printer
Configuration (the Rows and Columns of its STANDARD\\1,1 item for the film
size, orientation and resolution, PS3.3 C.13.13) or from the printer's dpi
and the client's estimate of the box (:mod:`print_scu.box_estimate`).

On the sheet, images are laid out with :func:`film.layout.layout_film`
(no margins, the printer keeps its own; 2 mm gaps), each resized into its
box as a magnifying printer would (:func:`film.fit.fit_image`; at its
Requested Image Size if it has one), the annotation texts are drawn on a
line along the bottom, white on the black sheet, in the fonts of
:mod:`film.annotation_text`, and, if asked for, a scale bar on each image
of known pixel spacing (:mod:`print_scu.scale_bar`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset

from film.annotation_format import AnnotationFormat, TextAlign
from film.display_format import DisplayFormatKind, parse_display_format
from film.fit import FitOutcome, fit_image
from film.layout import FilmLayout, RectMM, layout_film
from film.model import DecimateCropBehavior, MagnificationType
from print_scu.burned_text import burn_text
from print_scu.options import OptionError, PrintOptions
from print_scu.prepared_image import PreparedImage
from print_scu.resample import resample_pixels
from print_scu.scale_bar import draw_scale_bar

__all__ = ["Sheet", "compose_sheet", "sheet_from_configuration", "sheet_layout"]

MM_PER_INCH = 25.4
WHOLE_SHEET = "STANDARD\\1,1"


@dataclass(frozen=True)
class Sheet:
    """The matrix a composed film is built at: ``columns`` × ``rows`` printer pixels of
    ``pixel_spacing_mm`` (square), and where that came from (for messages)."""

    columns: int
    rows: int
    pixel_spacing_mm: float
    source: str

    @property
    def dpi(self) -> float:
        """Printer pixels per inch."""
        return MM_PER_INCH / self.pixel_spacing_mm

    @property
    def size_mm(self) -> tuple[float, float]:
        """(width, height) of the sheet in mm."""
        return self.columns * self.pixel_spacing_mm, self.rows * self.pixel_spacing_mm


def sheet_from_configuration(configuration: Dataset | None, film_size: str, orientation: str,
                             resolution: str) -> Sheet | None:
    """The STANDARD\\1,1 matrix a Printer Configuration Retrieval reply gives for the film.

    From the Supported Image Display Formats Sequence (2000,00A8) item of
    Image Display Format STANDARD\\1,1, the film size, orientation and
    Printer Resolution ID (an item without the latter two matches any) that
    has Rows, Columns and Printer Pixel Spacing; None if there is none.
    """
    if configuration is None:
        return None
    for item in configuration.get("PrinterConfigurationSequence", []):
        for supported in item.get("SupportedImageDisplayFormatsSequence", []):
            if not _describes(supported, film_size, orientation, resolution):
                continue
            rows, columns = supported.get("Rows"), supported.get("Columns")
            spacing = supported.get("PrinterPixelSpacing")
            if not rows or not columns or not spacing:
                continue
            return Sheet(int(columns), int(rows), float(spacing[1]),
                         f"Printer Configuration ({film_size} {orientation} {resolution})")
    return None


def _describes(item: Dataset, film_size: str, orientation: str, resolution: str) -> bool:
    fmt = str(item.get("ImageDisplayFormat", "")).replace(" ", "")
    return (fmt == WHOLE_SHEET and str(item.get("FilmSizeID", "")) == film_size
            and str(item.get("FilmOrientation", "") or orientation) == orientation
            and str(item.get("PrinterResolutionID", "") or resolution) == resolution)


def sheet_layout(sheet: Sheet, display_format: str, annotation_count: int) -> FilmLayout:
    """Where the images and annotation lines go on ``sheet``, in mm of the sheet.

    OptionError for a CUSTOM format (its geometry is the printer's) or boxes
    that do not fit.
    """
    if display_format.startswith(DisplayFormatKind.CUSTOM.value):
        raise OptionError(f"compose: Image Display Format (2010,0010) {display_format} is "
                          "laid out by the printer; compose a STANDARD, ROW or COL format")
    try:
        return layout_film(*sheet.size_mm, parse_display_format(display_format),
                           AnnotationFormat.strip(annotation_count), margins_mm=(0.0, 0.0))
    except ValueError as exc:
        raise OptionError(f"compose: {display_format} on the {sheet.columns} × {sheet.rows} "
                          f"sheet: {exc}") from None


def compose_sheet(images: list[PreparedImage], texts: list[str], sheet: Sheet,
                  layout: FilmLayout, options: PrintOptions, name: str) -> PreparedImage:
    """One film's ``images`` (in box order) and ``texts`` (annotation box order) as a sheet.

    The sheet is black (P-Value 0); images are MONOCHROME2 (MONOCHROME1 is
    inverted) or RGB, all of one kind and depth, as preparation gives them.
    ``name`` (e.g. "film 2 of 3 (a.dcm#1, ...)") is the sheet's source. OptionError if an
    image cannot be placed (Requested Decimate/Crop Behavior FAIL).
    """
    first = images[0]
    white = 2**first.bits - 1
    channels = (3,) if first.photometric == "RGB" else ()
    pixels = np.zeros((sheet.rows, sheet.columns, *channels), dtype=first.pixels.dtype)
    for position, image in enumerate(images, start=1):
        _place_image(pixels, image, _clipped(layout.image_boxes[position], sheet), sheet,
                     options)
    for position, text in enumerate(texts, start=1):
        burn_text(pixels, text, _clipped(layout.annotation_boxes[position], sheet),
                  TextAlign.LEFT, white)
    return PreparedImage(pixels=pixels, photometric="RGB" if channels else "MONOCHROME2",
                         bits=first.bits, source=name, fields=dict(first.fields))


def _clipped(rect: RectMM, sheet: Sheet) -> tuple[int, int, int, int]:
    """``rect`` in pixels of ``sheet``, cut to the sheet (rounding may pass its edge)."""
    x, y, width, height = rect.to_pixels(sheet.dpi)
    return x, y, min(width, sheet.columns - x), min(height, sheet.rows - y)


def _place_image(pixels: np.ndarray, image: PreparedImage, box: tuple[int, int, int, int],
                 sheet: Sheet, options: PrintOptions) -> None:
    x, y, width, height = box
    rows, columns = image.pixels.shape[:2]
    behavior = None if options.decimate_crop is None else DecimateCropBehavior(
        options.decimate_crop)
    fit = fit_image(width, height, rows, columns, sheet.dpi, MagnificationType.BILINEAR,
                    image.requested_size_mm, behavior)
    if fit.outcome is FitOutcome.FAIL:
        raise OptionError(f"{image.source}: does not fit its image box on the composed sheet "
                          "(Requested Decimate/Crop Behavior FAIL)")
    left, top, shown_w, shown_h = fit.crop or (0, 0, columns, rows)
    source = image.pixels[top:top + shown_h, left:left + shown_w]
    if image.photometric == "MONOCHROME1":
        source = 2**image.bits - 1 - source
    resized = resample_pixels(source, fit.width, fit.height, image.bits)
    at_x, at_y = x + fit.offset_x, y + fit.offset_y
    pixels[at_y:at_y + fit.height, at_x:at_x + fit.width] = resized
    if options.scale_bar and image.pixel_spacing_mm is not None:
        mm_per_pixel = image.pixel_spacing_mm[1] * shown_w / fit.width
        draw_scale_bar(pixels, (at_x, at_y, fit.width, fit.height), mm_per_pixel,
                       sheet.pixel_spacing_mm, 2**image.bits - 1)

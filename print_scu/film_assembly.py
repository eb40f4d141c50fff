"""From a job's prepared images to the films it queues: sizes, pages, annotation texts, sheets.

:func:`assemble_films` runs at submit time, after preparation: it sets each
image's Requested Image Size (:mod:`print_scu.true_size`), cuts the images
into films (:mod:`print_scu.layout`), fills in the annotation templates per
film (:mod:`print_scu.annotation_template`) and, with ``compose``, turns
each film into one sheet (:mod:`print_scu.compose`), so that the queue holds
exactly what is sent.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from pydicom.dataset import Dataset

from print_scu.annotation_template import render_template
from print_scu.box_estimate import estimated_layout
from print_scu.compose import (
    MM_PER_INCH,
    WHOLE_SHEET,
    Sheet,
    compose_sheet,
    sheet_from_configuration,
    sheet_layout,
)
from print_scu.config import PrinterConfig
from print_scu.layout import boxes_per_film, paginate
from print_scu.options import OptionError, PrintOptions
from print_scu.prepared_image import PreparedImage
from print_scu.request_attributes import film_geometry
from print_scu.session import PrintError, PrinterSession
from print_scu.true_size import size_images

__all__ = ["AssembledJob", "annotation_texts", "assemble_films", "composition_sheet"]


@dataclass
class AssembledJob:
    """What a submission queues: the options as sent, the films (images in box order)
    and each film's Annotation Box texts (in box order)."""

    options: PrintOptions
    films: list[list[PreparedImage]]
    annotations: list[list[str]]


def assemble_films(images: list[PreparedImage], options: PrintOptions, printer: PrinterConfig,
                   submitted: datetime) -> AssembledJob:
    """The films of ``images`` for ``printer``; ``submitted`` fills in {date} and {time}.

    With ``options.compose`` each film becomes one STANDARD\\1,1 sheet with
    its annotation texts drawn in, and the options are those of such a job
    (no annotation boxes). OptionError for sizes that do not fit, a matrix
    that cannot be known, or a printer that cannot be asked for it.
    """
    per_film = boxes_per_film(options.display_format, printer.custom_formats)
    if options.compose:
        return _composed(images, options, printer, per_film, submitted)
    if options.true_size or options.requested_image_size is not None:
        size, orientation = film_geometry(options, printer)
        images = size_images(images, options, estimated_layout(options, printer), per_film,
                             f"{size} {orientation} {options.display_format}")
    films = paginate(images, options.display_format, printer.custom_formats)
    return AssembledJob(options, films, annotation_texts(options.annotations, films, submitted))


def _composed(images: list[PreparedImage], options: PrintOptions, printer: PrinterConfig,
              per_film: int, submitted: datetime) -> AssembledJob:
    sheet = composition_sheet(options, printer)
    layout = sheet_layout(sheet, options.display_format, len(options.annotations))
    images = size_images(images, options, layout, per_film,
                         f"the composed {options.display_format} sheet ({sheet.source})")
    films = paginate(images, options.display_format, printer.custom_formats)
    texts = annotation_texts(options.annotations, films, submitted)
    sheets = [[compose_sheet(film, film_texts, sheet, layout, options,
                             f"film {page} of {len(films)} ({film[0].source}, ...)")]
              for page, (film, film_texts) in enumerate(zip(films, texts, strict=True), start=1)]
    sent = dataclasses.replace(options, display_format=WHOLE_SHEET, annotations=[],
                               true_size=False, requested_image_size=None,
                               decimate_crop=None)
    return AssembledJob(sent, sheets, [[] for _ in sheets])


def annotation_texts(templates: list[str], films: list[list[PreparedImage]],
                     submitted: datetime) -> list[list[str]]:
    """Per film, ``templates`` filled in from its first image, page i of len(films)."""
    return [[render_template(template, film[0].fields, page, len(films), submitted)
             for template in templates]
            for page, film in enumerate(films, start=1)]


def composition_sheet(options: PrintOptions, printer: PrinterConfig) -> Sheet:
    """The matrix to compose the job's films at.

    The printer's Printer Configuration (asked over the network) if its
    profile has ``configuration_retrieval`` and the reply gives the
    STANDARD\\1,1 matrix of the film, else the client's estimate of that box
    at the printer's dpi. OptionError if neither is known.
    """
    size, orientation = film_geometry(options, printer)
    if printer.configuration_retrieval:
        resolution = str(printer.film_box_defaults.get("RequestedResolutionID", "STANDARD"))
        sheet = sheet_from_configuration(_configuration(printer), size, orientation,
                                         resolution)
        if sheet is not None:
            return sheet
    if printer.dpi is None:
        asked = (f"its Printer Configuration gives no STANDARD\\1,1 matrix for {size} "
                 f"{orientation}" if printer.configuration_retrieval
                 else "set configuration_retrieval = true in its profile")
        raise OptionError(f"compose: the pixel matrix of printer {printer.name!r} is unknown: "
                          f"{asked}; set dpi in its profile (or --dpi for a printer not in "
                          "--config)")
    whole = dataclasses.replace(options, display_format=WHOLE_SHEET, annotations=[])
    _, _, columns, rows = estimated_layout(whole, printer).image_boxes[1].to_pixels(printer.dpi)
    return Sheet(columns, rows, MM_PER_INCH / printer.dpi,
                 f"{printer.dpi:g} dpi on {size} {orientation}")


def _configuration(printer: PrinterConfig) -> Dataset | None:
    session = PrinterSession(printer)
    try:
        return session.printer_configuration()
    except PrintError as exc:
        raise OptionError(f"compose: cannot ask printer {printer.name!r} for its Printer "
                          f"Configuration (for the pixel matrix): {exc}") from None
    finally:
        session.close()

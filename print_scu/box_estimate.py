"""The client's estimate of where a printer puts a film's image boxes, in mm.

The client cannot see where a printer puts its image boxes: it estimates
them with filmbox's own film geometry (:func:`film.layout.layout_film`: 5 mm
margins, 2 mm gaps, an annotation strip when the job has annotations).
"""

from __future__ import annotations

from film.annotation_format import AnnotationFormat
from film.display_format import DisplayFormatKind, parse_display_format
from film.layout import FilmLayout, layout_film
from film.sizes import film_size_mm
from print_scu.config import PrinterConfig
from print_scu.options import OptionError, PrintOptions
from print_scu.request_attributes import film_geometry

__all__ = ["estimated_layout"]


def estimated_layout(options: PrintOptions, printer: PrinterConfig) -> FilmLayout:
    """The client's estimate of the job's film layout, in mm.

    For the job's film size and orientation
    (:func:`print_scu.request_attributes.film_geometry`), with an annotation
    strip of the printer's ``annotation_boxes`` if the job sends annotations.
    OptionError for a CUSTOM format, whose boxes only the printer knows, or
    boxes that do not fit the film.
    """
    if options.display_format.startswith(DisplayFormatKind.CUSTOM.value):
        raise OptionError(f"Image Display Format (2010,0010) {options.display_format}: where "
                          "its image boxes lie is known to the printer only, so the client "
                          "cannot size images for them")
    size, orientation = film_geometry(options, printer)
    annotations = AnnotationFormat.strip(printer.annotation_boxes if options.annotations else 0)
    try:
        return layout_film(*film_size_mm(size, orientation),
                           parse_display_format(options.display_format), annotations)
    except ValueError as exc:
        raise OptionError(f"{options.display_format} on {size} {orientation}: {exc}") from None

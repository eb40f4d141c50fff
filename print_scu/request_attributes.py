"""The attribute lists of a job's requests: a printer's defaults merged with the options.

Film Session and Film Box N-CREATE and Image Box N-SET attributes, by DICOM
keyword, as sent (densities in hundredths of OD). The options win over the
printer profile's defaults; what the printer was configured not to support
raises :class:`~print_scu.options.OptionError`.
"""

from __future__ import annotations

from typing import Any

from pydicom.dataset import Dataset

from film.model import MagnificationType
from film.sizes import FilmOrientation, FilmSizeID
from print_scu.config import PrinterConfig
from print_scu.layout import boxes_per_film
from print_scu.options import (
    PRESENTATION_LUT_KEYWORDS,
    OptionError,
    PrintOptions,
    attribute_name,
    check_attribute,
)


def prints_color(options: PrintOptions, printer: PrinterConfig) -> bool:
    """True if the job is printed in color (Basic Color Print Management).

    ``options.color`` decides, else the printer's ``color``; asking for
    color on a printer configured without it raises OptionError.
    """
    if options.color and not printer.color:
        raise OptionError(f"color: printer {printer.name!r} is not configured for color "
                          "(Basic Color Print Management; set color = true in its profile)")
    return printer.color if options.color is None else options.color


def p_value_bits(options: PrintOptions, printer: PrinterConfig) -> int:
    """Bits of the grayscale P-Values sent: ``options.bits``, else the printer's ``bits``.

    12 bits on a printer configured for 8 raises OptionError.
    """
    bits = printer.bits if options.bits is None else options.bits
    if bits > printer.bits:
        raise OptionError(f"bits: printer {printer.name!r} takes {printer.bits}-bit images, "
                          f"not {bits}")
    return bits


def film_geometry(options: PrintOptions, printer: PrinterConfig) -> tuple[str, str]:
    """(Film Size ID, Film Orientation) the job's films are taken to have.

    The option, else the printer's film box default, else 14INX17IN and
    PORTRAIT (the defaults the client assumes for a printer that says nothing).
    """
    size = options.film_size or printer.film_box_defaults.get("FilmSizeID",
                                                              FilmSizeID.IN_14X17.value)
    orientation = options.orientation or printer.film_box_defaults.get(
        "FilmOrientation", FilmOrientation.PORTRAIT.value)
    return size, orientation


def session_attributes(options: PrintOptions, printer: PrinterConfig) -> Dataset:
    """Film Session N-CREATE attributes: the printer's session defaults, then the options."""
    values: dict[str, Any] = dict(printer.session_defaults)
    values["NumberOfCopies"] = options.copies
    values["PrintPriority"] = options.priority
    _override(values, {"MediumType": options.medium, "FilmDestination": options.destination,
                       "FilmSessionLabel": options.label})
    return _dataset(values)


def film_box_attributes(options: PrintOptions, printer: PrinterConfig) -> Dataset:
    """Film Box N-CREATE attributes (without Referenced Film Session Sequence).

    The printer's film box defaults, then the options. Raises OptionError
    for a film size or display format outside the printer's configured
    lists, annotations on a printer without Basic Annotation Box or beyond
    its ``annotation_boxes``, a Presentation LUT, Illumination or Reflected
    Ambient Light on a printer without the Presentation LUT SOP Class, and
    Min Density not below Max Density, and a CUSTOM format the printer's
    profile does not declare. With ``options.resample`` or ``options.compose``
    the film size and orientation the images were made for are always sent,
    and Magnification Type NONE unless the options choose one.
    """
    values: dict[str, Any] = {"ImageDisplayFormat": options.display_format,
                              **printer.film_box_defaults}
    _override(values, {
        "FilmOrientation": options.orientation, "FilmSizeID": options.film_size,
        "MagnificationType": options.magnification, "SmoothingType": options.smoothing,
        "BorderDensity": options.border_density, "EmptyImageDensity": options.empty_density,
        "MinDensity": options.min_density, "MaxDensity": options.max_density,
        "Trim": options.trim, "Illumination": options.illumination,
        "ReflectedAmbientLight": options.reflected_ambient_light,
    })
    if options.resample or options.compose:
        values["FilmSizeID"], values["FilmOrientation"] = film_geometry(options, printer)
        values["MagnificationType"] = options.magnification or MagnificationType.NONE.value
    if options.annotations and not options.compose:
        values["AnnotationDisplayFormatID"] = printer.annotation_format_id
    _check_film_box(values, options, printer)
    return _dataset(values)


def _check_film_box(values: dict[str, Any], options: PrintOptions,
                    printer: PrinterConfig) -> None:
    """Refuse film box values the printer's profile says it does not support."""
    size = values.get("FilmSizeID")
    if size is not None and printer.film_sizes and size not in printer.film_sizes:
        raise OptionError(f"film_size: {size} is not among the film sizes of printer "
                          f"{printer.name!r} ({', '.join(printer.film_sizes)})")
    kind = options.display_format.split("\\")[0]
    if printer.display_formats and kind not in printer.display_formats:
        raise OptionError(f"display_format: {kind} formats are not supported by printer "
                          f"{printer.name!r} ({', '.join(printer.display_formats)})")
    boxes_per_film(options.display_format, printer.custom_formats)
    sent = [] if options.compose else options.annotations  # composed: drawn into the sheet
    if sent and not printer.annotation:
        raise OptionError(f"annotations: printer {printer.name!r} is not configured for "
                          "Basic Annotation Box (annotation = true)")
    if len(sent) > printer.annotation_boxes:
        raise OptionError(f"annotations: {len(sent)} texts, but annotation "
                          f"format {printer.annotation_format_id!r} of printer "
                          f"{printer.name!r} has {printer.annotation_boxes} boxes")
    if not printer.presentation_lut:
        if options.plut is not None:
            raise OptionError(f"plut: printer {printer.name!r} is configured without the "
                              "Presentation LUT SOP Class (presentation_lut = false)")
        for keyword in PRESENTATION_LUT_KEYWORDS:
            if keyword in values:
                raise OptionError(f"{attribute_name(keyword)} is only sent to printers "
                                  "supporting the Presentation LUT SOP Class; printer "
                                  f"{printer.name!r} "
                                  "is configured without it (presentation_lut = false)")
    low, high = values.get("MinDensity"), values.get("MaxDensity")
    if low is not None and high is not None and low >= high:
        raise OptionError(f"Min Density (2010,0120) {low} must be below Max Density "
                          f"(2010,0130) {high} (hundredths of OD)")


def image_box_attributes(options: PrintOptions,
                         requested_size_mm: float | None = None) -> dict[str, Any]:
    """Image Box N-SET attributes besides position and pixels, by DICOM keyword.

    Polarity always; Magnification Type and Smoothing Type when the options
    set them (they then override the film box's for each image); Requested
    Decimate/Crop Behavior when the options set it; Requested Image Size
    (2020,0030), the printed width in mm, when ``requested_size_mm`` is given.
    """
    values: dict[str, Any] = {"Polarity": options.polarity}
    _override(values, {"MagnificationType": options.magnification,
                       "SmoothingType": options.smoothing,
                       "RequestedDecimateCropBehavior": options.decimate_crop})
    if requested_size_mm is not None:
        values["RequestedImageSize"] = decimal_string(requested_size_mm)
    return values


def decimal_string(value: float) -> str:
    """``value`` as a DS (Decimal String) of at most 16 characters: six decimals at most,
    trailing zeros dropped."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text[:16].rstrip(".")


def _override(values: dict[str, Any], options: dict[str, Any]) -> None:
    """Set the entries of ``options`` that are not None, checked and as sent."""
    values.update({keyword: check_attribute(keyword, value)
                   for keyword, value in options.items() if value is not None})


def _dataset(values: dict[str, Any]) -> Dataset:
    ds = Dataset()
    for keyword, value in values.items():
        setattr(ds, keyword, value)
    return ds

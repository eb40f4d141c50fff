"""Printer Configuration Retrieval SOP Class (PS3.4 H.4.11): what this printer supports."""

from __future__ import annotations

from collections.abc import Callable

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicomnet.status import Status
from dicomnet.terms import RequestedResolution
from dicomnet.uids import (
    BASIC_ANNOTATION_BOX,
    BASIC_COLOR_PRINT_META,
    BASIC_GRAYSCALE_PRINT_META,
    PRESENTATION_LUT,
    PRINT_JOB,
    PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE,
)
from film.display_format import DisplayFormatKind, parse_display_format
from film.layout import layout_film
from film.sizes import FilmOrientation, film_size_mm
from print_scp.profile import PrinterProfile
from print_scp.service.outcome import DicomStatusError
from print_scp.service.request import Request

MM_PER_INCH = 25.4


def get(request: Request) -> Dataset:
    """The configuration; 0x0112 for any instance but the well-known one."""
    if request.instance_uid != PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE:
        raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE,
                               f"no Printer Configuration {request.instance_uid}")
    return request.services.configuration()


def configuration(profile: PrinterProfile, offers: Callable[[str], bool]) -> Dataset:
    """Printer Configuration Sequence (2000,001E) of a printer with ``profile`` (PS3.3 C.13.13).

    ``offers(uid)`` tells whether the printer accepts a context for a SOP class.
    One item: this printer is one physical printer for each meta SOP class.
    """
    p = profile
    item = Dataset()
    item.SOPClassesSupported = [uid for uid in (BASIC_GRAYSCALE_PRINT_META,
                                                BASIC_COLOR_PRINT_META, PRESENTATION_LUT,
                                                BASIC_ANNOTATION_BOX, PRINT_JOB)
                                if offers(uid)]
    item.MaximumMemoryAllocation = 0  # Memory Allocation (2000,0060) is not supported
    item.MemoryBitDepth = 16 if p.bits_12 else 8
    item.PrintingBitDepth = 12 if p.bits_12 else 8
    item.MediaInstalledSequence = Sequence(_media(p))
    item.OtherMediaAvailableSequence = Sequence([])
    item.SupportedImageDisplayFormatsSequence = Sequence(
        [_display_format(p, text, size, orientation, resolution)
         for text in p.published_formats for size in p.film_sizes
         for orientation in FilmOrientation for resolution in RequestedResolution])
    item.DefaultPrinterResolutionID = RequestedResolution.STANDARD.value
    item.DefaultMagnificationType = p.default_magnification.value
    item.OtherMagnificationTypesAvailable = [m for m in p.magnification_types
                                             if m != p.default_magnification]
    if p.smoothing_types:
        item.DefaultSmoothingType = p.smoothing_types[0]
        item.OtherSmoothingTypesAvailable = list(p.smoothing_types[1:])
    item.ConfigurationInformationDescription = (
        f"Image Display Formats: {', '.join(p.display_formats)}; "
        f"Annotation Display Format IDs: {', '.join(p.annotation_formats) or 'none'}")
    item.MaximumCollatedFilms = p.max_film_boxes_per_session if p.session_print else 1
    # Also here, as earlier versions of this printer sent them: the density range in
    # hundredths of OD (the standard's place is each Media Installed Sequence item).
    item.MinDensity, item.MaxDensity = p.density_range_hundredths
    ds = Dataset()
    ds.PrinterConfigurationSequence = Sequence([item])
    return ds


def _media(p: PrinterProfile) -> list[Dataset]:
    """One item per medium and film size, the printer's defaults first (Item Number 1)."""
    media = sorted(p.media, key=lambda medium: medium != p.default_medium)
    sizes = sorted(p.film_sizes, key=lambda size: size != p.default_film_size)
    low, high = p.density_range_hundredths
    items = []
    for number, (medium, size) in enumerate(
            ((medium, size) for medium in media for size in sizes), start=1):
        item = Dataset()
        item.ItemNumber = number
        item.MediumType = medium
        item.FilmSizeID = size
        item.MinDensity, item.MaxDensity = low, high
        items.append(item)
    return items


def _display_format(p: PrinterProfile, text: str, size: str, orientation: FilmOrientation,
                    resolution: RequestedResolution) -> Dataset:
    """A Supported Image Display Formats Sequence item.

    Rows and Columns are the pixel matrix of an image box at that resolution,
    for films without annotation boxes: the smallest box where rounding makes
    them differ by a pixel, so an image of that matrix fits every box. Formats
    whose boxes differ by design (ROW, COL, CUSTOM) give none (PS3.4 H.4-26).
    """
    dpi = p.dpi_for(resolution.value)
    fmt = parse_display_format(text, p.custom_layouts)
    item = Dataset()
    if fmt.kind in (DisplayFormatKind.STANDARD, DisplayFormatKind.SLIDE,
                    DisplayFormatKind.SUPERSLIDE):
        layout = layout_film(*film_size_mm(size, orientation), fmt,
                             margins_mm=p.margins_mm(size, orientation))
        boxes = [rect.to_pixels(dpi) for rect in layout.image_boxes.values()]
        item.Rows = min(height for _, _, _, height in boxes)
        item.Columns = min(width for _, _, width, _ in boxes)
    item.ImageDisplayFormat = text
    item.FilmOrientation = orientation.value
    item.FilmSizeID = size
    item.PrinterResolutionID = resolution.value
    spacing = f"{MM_PER_INCH / dpi:.6f}".rstrip("0")  # mm; DS holds at most 16 characters
    item.PrinterPixelSpacing = [spacing, spacing]
    item.RequestedImageSizeFlag = "YES"
    return item

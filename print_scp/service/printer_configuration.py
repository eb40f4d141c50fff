"""Printer Configuration Retrieval SOP Class (PS3.4 H.4.11): what this printer supports."""

from __future__ import annotations

from collections.abc import Callable

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicomnet.status import Status
from dicomnet.uids import (
    BASIC_ANNOTATION_BOX,
    BASIC_COLOR_PRINT_META,
    BASIC_GRAYSCALE_PRINT_META,
    PRESENTATION_LUT,
    PRINT_JOB,
    PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE,
)
from film.sizes import FilmOrientation
from print_scp.profile import PrinterProfile
from print_scp.service.outcome import DicomStatusError
from print_scp.service.request import Request


def get(request: Request) -> Dataset:
    """The configuration; 0x0112 for any instance but the well-known one."""
    if request.instance_uid != PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE:
        raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE,
                               f"no Printer Configuration {request.instance_uid}")
    return request.services.configuration()


def configuration(profile: PrinterProfile, offers: Callable[[str], bool]) -> Dataset:
    """Printer Configuration Sequence (2000,001E) of a printer with ``profile``.

    ``offers(uid)`` tells whether the printer accepts a context for a SOP class.
    """
    p = profile
    item = Dataset()
    item.SOPClassesSupported = [uid for uid in (BASIC_GRAYSCALE_PRINT_META,
                                                BASIC_COLOR_PRINT_META, PRESENTATION_LUT,
                                                BASIC_ANNOTATION_BOX, PRINT_JOB)
                                if offers(uid)]
    item.MaximumMemoryAllocation = 0
    item.MemoryBitDepth = 16 if p.bits_12 else 8
    item.PrintingBitDepth = 12 if p.bits_12 else 8
    media = []
    for medium in p.media:
        m = Dataset()
        m.MediumType = medium
        media.append(m)
    item.MediaInstalledSequence = Sequence(media)
    formats = []
    for size in p.film_sizes:
        for orientation in FilmOrientation:
            f = Dataset()
            f.FilmSizeID = size
            f.FilmOrientation = orientation.value
            f.Rows = p.max_standard_rows
            f.Columns = p.max_standard_columns
            f.ImageDisplayFormat = f"STANDARD\\{p.max_standard_columns},{p.max_standard_rows}"
            f.PrinterResolutionID = "STANDARD"
            f.PrinterPixelSpacing = [25.4 / p.standard_dpi, 25.4 / p.standard_dpi]
            f.RequestedImageSizeFlag = "YES"
            formats.append(f)
    item.SupportedImageDisplayFormatsSequence = Sequence(formats)
    item.DefaultMagnificationType = p.default_magnification.value
    item.OtherMagnificationTypesAvailable = [m for m in p.magnification_types
                                             if m != p.default_magnification]
    if p.smoothing_types:
        item.DefaultSmoothingType = p.smoothing_types[0]
        item.OtherSmoothingTypesAvailable = list(p.smoothing_types[1:])
    item.DefaultPrinterResolutionID = "STANDARD"
    item.MinDensity, item.MaxDensity = p.density_range_hundredths
    item.ConfigurationInformationDescription = (
        f"Image Display Formats: {', '.join(p.display_formats)}; "
        f"Annotation Display Format IDs: {', '.join(p.annotation_formats) or 'none'}")
    ds = Dataset()
    ds.PrinterConfigurationSequence = Sequence([item])
    return ds

"""UIDs of the Print Management Service Class (PS3.4 H, PS3.6 Annex A), as plain strings.

The values are pynetdicom's (``pynetdicom.sop_class``); this module only
gives them the names the print code uses and groups them.
"""

# pynetdicom creates these SOP classes at import time, so its typing does not declare them
from pynetdicom.sop_class import (  # type: ignore[attr-defined]
    BasicAnnotationBox,
    BasicColorImageBox,
    BasicColorPrintManagementMeta,
    BasicFilmBox,
    BasicFilmSession,
    BasicGrayscaleImageBox,
    BasicGrayscalePrintManagementMeta,
    PresentationLUT,
    Printer,
    PrinterConfigurationRetrieval,
    PrinterConfigurationRetrievalInstance,
    PrinterInstance,
    PrintJob,
    Verification,
)

BASIC_GRAYSCALE_PRINT_META = str(BasicGrayscalePrintManagementMeta)
BASIC_COLOR_PRINT_META = str(BasicColorPrintManagementMeta)
BASIC_FILM_SESSION = str(BasicFilmSession)
BASIC_FILM_BOX = str(BasicFilmBox)
BASIC_GRAYSCALE_IMAGE_BOX = str(BasicGrayscaleImageBox)
BASIC_COLOR_IMAGE_BOX = str(BasicColorImageBox)
BASIC_ANNOTATION_BOX = str(BasicAnnotationBox)
PRINTER = str(Printer)
PRINTER_INSTANCE = str(PrinterInstance)
PRINT_JOB = str(PrintJob)
PRESENTATION_LUT = str(PresentationLUT)
PRINTER_CONFIGURATION_RETRIEVAL = str(PrinterConfigurationRetrieval)
PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE = str(PrinterConfigurationRetrievalInstance)
VERIFICATION = str(Verification)

#: The SOP classes each meta SOP class groups (PS3.4 H.3).
META_MEMBERS = {
    BASIC_GRAYSCALE_PRINT_META: (BASIC_FILM_SESSION, BASIC_FILM_BOX,
                                 BASIC_GRAYSCALE_IMAGE_BOX, PRINTER),
    BASIC_COLOR_PRINT_META: (BASIC_FILM_SESSION, BASIC_FILM_BOX,
                             BASIC_COLOR_IMAGE_BOX, PRINTER),
}
#: Meta SOP class members that some SCUs propose as contexts of their own.
INDIVIDUAL_META_MEMBERS = (BASIC_FILM_SESSION, BASIC_FILM_BOX,
                           BASIC_GRAYSCALE_IMAGE_BOX, BASIC_COLOR_IMAGE_BOX)

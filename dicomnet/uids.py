"""UIDs of the Print Management Service Class (PS3.4 H, PS3.6 Annex A), as plain strings.

The values are pynetdicom's (``pynetdicom.sop_class``); this module only
gives them the names the print code uses and groups them.
"""

from pynetdicom import sop_class

BASIC_GRAYSCALE_PRINT_META = str(sop_class.BasicGrayscalePrintManagementMeta)
BASIC_COLOR_PRINT_META = str(sop_class.BasicColorPrintManagementMeta)
BASIC_FILM_SESSION = str(sop_class.BasicFilmSession)
BASIC_FILM_BOX = str(sop_class.BasicFilmBox)
BASIC_GRAYSCALE_IMAGE_BOX = str(sop_class.BasicGrayscaleImageBox)
BASIC_COLOR_IMAGE_BOX = str(sop_class.BasicColorImageBox)
BASIC_ANNOTATION_BOX = str(sop_class.BasicAnnotationBox)
PRINTER = str(sop_class.Printer)
PRINTER_INSTANCE = str(sop_class.PrinterInstance)
PRINT_JOB = str(sop_class.PrintJob)
PRESENTATION_LUT = str(sop_class.PresentationLUT)
PRINTER_CONFIGURATION_RETRIEVAL = str(sop_class.PrinterConfigurationRetrieval)
PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE = str(sop_class.PrinterConfigurationRetrievalInstance)
VERIFICATION = str(sop_class.Verification)

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

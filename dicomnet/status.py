"""DIMSE status codes of the Print Management Service Class (PS3.4 H.4, PS3.7 C).

:class:`Status` names the codes the print code answers with or looks for;
their meanings and categories are pynetdicom's tables
(``pynetdicom.status``), read through :func:`meaning` and :func:`category`,
which import pynetdicom when first called: code that needs only the codes
(print-scp's render processes) does not load it.
"""

from __future__ import annotations

from enum import IntEnum


class Status(IntEnum):
    """Status codes of print management, named after their PS3.4/PS3.7 meaning."""

    SUCCESS = 0x0000
    # General warnings (PS3.7 C)
    ATTRIBUTE_LIST_ERROR = 0x0107
    ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116
    # Print Management warnings (PS3.4 H.4)
    MEMORY_ALLOCATION_NOT_SUPPORTED = 0xB600
    SESSION_PRINTING_NOT_SUPPORTED = 0xB601
    SESSION_EMPTY_PAGE = 0xB602
    FILM_BOX_EMPTY_PAGE = 0xB603
    IMAGE_DEMAGNIFIED = 0xB604
    DENSITY_OUTSIDE_PRINTER_RANGE = 0xB605
    IMAGE_CROPPED = 0xB609
    IMAGE_DECIMATED = 0xB60A
    # Print Management failures (PS3.4 H.4)
    SESSION_HAS_NO_FILM_BOX = 0xC600
    PRINT_QUEUE_FULL = 0xC601
    PRINT_QUEUE_FULL_ALT = 0xC602
    IMAGE_LARGER_THAN_BOX = 0xC603
    INSUFFICIENT_MEMORY = 0xC605
    COMBINED_IMAGE_LARGER_THAN_BOX = 0xC613
    UNPRINTED_FILM_BOX_EXISTS = 0xC616
    # General failures (PS3.7 C)
    NO_SUCH_ATTRIBUTE = 0x0105
    INVALID_ATTRIBUTE_VALUE = 0x0106
    PROCESSING_FAILURE = 0x0110
    DUPLICATE_SOP_INSTANCE = 0x0111
    NO_SUCH_SOP_INSTANCE = 0x0112
    INVALID_OBJECT_INSTANCE = 0x0117
    NO_SUCH_SOP_CLASS = 0x0118
    CLASS_INSTANCE_CONFLICT = 0x0119
    MISSING_ATTRIBUTE = 0x0120
    MISSING_ATTRIBUTE_VALUE = 0x0121
    SOP_CLASS_NOT_SUPPORTED = 0x0122
    NO_SUCH_ACTION = 0x0123
    UNRECOGNIZED_OPERATION = 0x0211
    RESOURCE_LIMITATION = 0x0213


def meaning(code: int) -> str:
    """The standard's meaning of a status code (pynetdicom's table), "" if unknown."""
    from pynetdicom.status import GENERAL_STATUS, PRINT_JOB_MANAGEMENT_SERVICE_CLASS_STATUS

    # print management statuses by code: (category, meaning), PS3.7 C and PS3.4 H
    meanings = {**GENERAL_STATUS, **PRINT_JOB_MANAGEMENT_SERVICE_CLASS_STATUS}
    return meanings.get(code, ("", ""))[1]


def category(code: int) -> str:
    """pynetdicom's category of a code: "Success", "Warning", "Failure", "Cancel", "Pending"."""
    from pynetdicom.status import code_to_category

    return str(code_to_category(code))

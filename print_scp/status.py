"""DIMSE status codes of the Print Management Service Class (PS3.4 H.4, PS3.7 C).

A handler that finds a problem raises :class:`DicomStatusError`; the handler
layer turns it into a status dataset with an Error Comment naming the
attribute. Warnings that do not stop the operation are collected as
:class:`StatusWarning` values and the most significant one is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag


class Status(IntEnum):
    """Status codes this printer answers with, with their PS3.4/PS3.7 meaning."""

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

    @property
    def is_warning(self) -> bool:
        return self in _WARNINGS

    @property
    def is_failure(self) -> bool:
        return self is not Status.SUCCESS and not self.is_warning


_WARNINGS = {
    Status.ATTRIBUTE_LIST_ERROR,
    Status.ATTRIBUTE_VALUE_OUT_OF_RANGE,
    Status.MEMORY_ALLOCATION_NOT_SUPPORTED,
    Status.SESSION_PRINTING_NOT_SUPPORTED,
    Status.SESSION_EMPTY_PAGE,
    Status.FILM_BOX_EMPTY_PAGE,
    Status.IMAGE_DEMAGNIFIED,
    Status.DENSITY_OUTSIDE_PRINTER_RANGE,
    Status.IMAGE_CROPPED,
    Status.IMAGE_DECIMATED,
}


def _tag_of(attribute: str | None) -> BaseTag | None:
    """The tag of a DICOM keyword, or None for no or an unknown keyword."""
    if attribute is None:
        return None
    try:
        return Tag(attribute)
    except ValueError:
        return None


@dataclass(frozen=True)
class StatusWarning:
    """A warning the printer noticed: returned as a status and kept in the JSON."""

    status: Status
    message: str
    attribute: str | None = None  # DICOM keyword, e.g. "MaxDensity"

    def describe(self) -> str:
        return f"0x{self.status:04X} {self.status.name}: {self.message}"


class DicomStatusError(Exception):
    """A request that fails with a DIMSE status; ``attribute`` is the keyword at fault."""

    def __init__(self, status: Status, message: str, attribute: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.attribute = attribute

    def describe(self) -> str:
        return f"0x{self.status:04X} {self.status.name}: {self.message}"


def status_dataset(
    status: Status, comment: str = "", attribute: str | None = None,
    *, identifier_list: bool = False,
) -> Dataset:
    """A status dataset for a pynetdicom handler's return value.

    Error Comment (0000,0902) is limited to 64 characters by its VR (LO): the
    full message goes to the log. It starts with ``attribute`` unless its
    first 64 characters name it already. Only N-SET and N-GET responses may
    carry Attribute Identifier List (0000,1005); pass ``identifier_list=True``
    for those and the offending attribute's tag is listed there.
    """
    ds = Dataset()
    ds.Status = int(status)
    if attribute and comment and attribute not in comment[:64]:
        comment = f"{attribute}: {comment}"
    if comment:
        ds.ErrorComment = comment[:64]
    tag = _tag_of(attribute)
    if identifier_list and tag is not None:
        ds.AttributeIdentifierList = [tag]
    return ds


@dataclass
class Outcome:
    """What an operation did: the reply dataset and the warnings it raised."""

    dataset: Dataset | None = None
    warnings: list[StatusWarning] = field(default_factory=list)
    instance_uid: str | None = None  # of an instance the printer created

    def warn(self, status: Status, message: str, attribute: str | None = None) -> None:
        self.warnings.append(StatusWarning(status, message, attribute))

    @property
    def status(self) -> Status:
        """The first warning's status (the most relevant), or Success."""
        return self.warnings[0].status if self.warnings else Status.SUCCESS

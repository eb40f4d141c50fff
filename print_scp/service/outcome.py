"""What a print operation did, and how it is answered: statuses, warnings, failures.

A service that finds a problem raises :class:`DicomStatusError`; the
dispatcher turns it into a status dataset with an Error Comment naming the
attribute. Warnings that do not stop the operation are collected as
:class:`StatusWarning` values and the most significant one is returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag

from dicomnet.status import Status


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

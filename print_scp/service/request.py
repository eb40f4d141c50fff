"""One DIMSE-N request as the services see it, and what they may ask of the printer.

The dispatcher (:mod:`print_scp.service.dispatch`) turns each pynetdicom
event into a :class:`Request`; a service operation takes one and returns
an :class:`~print_scp.service.outcome.Outcome`. :class:`PrinterServices`
is all a service may use of the running printer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pydicom.dataset import Dataset
from pydicom.tag import BaseTag
from pynetdicom.association import Association

from print_scp.print_jobs import PrintJob
from print_scp.service.context import AssociationContext
from print_scp.service.printing import PrintQueue


class PrinterServices(Protocol):
    """The narrow view of the printer that request handling needs."""

    @property
    def print_queue(self) -> PrintQueue:
        """Where N-ACTION puts the films it accepts."""

    def printer_attributes(self) -> Dataset:
        """Every Printer attribute (PS3.3 C.13.9), as of now."""

    def print_job(self, uid: str) -> PrintJob | None:
        """A Print Job this printer knows, by SOP Instance UID."""

    def configuration(self) -> Dataset:
        """Printer Configuration Sequence (2000,001E), PS3.4 H.4.11."""

    def job_created(self, assoc: Association, job: PrintJob) -> None:
        """A new Print Job of ``assoc``, made by the request being served: the job's
        events go to that association, after the response to that request."""


@dataclass(frozen=True)
class Request:
    """One DIMSE-N request on an established association.

    ``class_uid`` and ``instance_uid`` are the Affected or Requested SOP
    Class and Instance UIDs; ``context_uid`` the abstract syntax of the
    presentation context it came on; ``dataset`` the Attribute or
    Modification List (empty when none was sent).
    """

    ctx: AssociationContext
    services: PrinterServices
    association: Association
    class_uid: str
    instance_uid: str | None
    context_uid: str
    dataset: Dataset = field(default_factory=Dataset)
    action_type_id: int = 0
    attribute_identifiers: tuple[BaseTag, ...] = ()

"""DIMSE event handlers: from pynetdicom events to the print operations and back.

Every handler has the same shape: find the association's context, check the
SOP class against the presentation context, run the operation, and turn the
:class:`Outcome` or :class:`DicomStatusError` into ``(status, dataset)``.
No exception ever escapes to pynetdicom (it would answer 0x0110 without a
comment); unexpected ones are logged with their traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydicom.dataset import Dataset
from pynetdicom.dimse_primitives import (
    C_ECHO,
    N_ACTION,
    N_CREATE,
    N_DELETE,
    N_EVENT_REPORT,
    N_GET,
    N_SET,
)
from pynetdicom.events import Event

from dicomnet.character_set import declare_character_set
from dicomnet.status import Status
from dicomnet.uids import (
    BASIC_ANNOTATION_BOX,
    BASIC_COLOR_IMAGE_BOX,
    BASIC_FILM_BOX,
    BASIC_FILM_SESSION,
    BASIC_GRAYSCALE_IMAGE_BOX,
    META_MEMBERS,
    PRESENTATION_LUT,
    PRINT_JOB,
    PRINTER,
    PRINTER_CONFIGURATION_RETRIEVAL,
    PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE,
    PRINTER_INSTANCE,
    VERIFICATION,
)
from print_scp.service import (
    annotation_box,
    film_box,
    film_session,
    image_box,
    presentation_lut,
)
from print_scp.service.context import AssociationContext
from print_scp.service.outcome import DicomStatusError, Outcome, status_dataset
from print_scp.service.printing import print_film_box, print_film_session

if TYPE_CHECKING:
    from print_scp.server import PrintServer

LOG = logging.getLogger("print_scp.dimse")

HandlerResult = tuple[Dataset | int, Dataset | None]


class Handlers:
    """The pynetdicom handlers of one :class:`PrintServer`."""

    def __init__(self, server: "PrintServer"):
        self.server = server

    # -- plumbing ---------------------------------------------------------------------------
    def _run(self, event: Event, name: str, class_uid: str, instance_uid: str | None,
             operation: Callable[[AssociationContext], Outcome], *,
             identifier_list: bool = False) -> HandlerResult:
        ctx = self.server.context_of(event.assoc)
        try:
            if ctx is None:
                raise DicomStatusError(Status.PROCESSING_FAILURE, "association not established")
            self._check_context(ctx, event, class_uid)
            outcome = operation(ctx)
        except DicomStatusError as exc:
            LOG.warning("%s %s %s -> %s", _peer(event), name, instance_uid or "", exc.describe())
            return status_dataset(exc.status, exc.message, exc.attribute,
                                  identifier_list=identifier_list), None
        except Exception as exc:
            LOG.exception("%s %s %s: unexpected error", _peer(event), name, instance_uid or "")
            return status_dataset(Status.PROCESSING_FAILURE,
                                  f"processing failure: {type(exc).__name__}"), None
        status = outcome.status
        for warning in outcome.warnings:
            LOG.warning("%s %s %s: %s", _peer(event), name, instance_uid or "", warning.describe())
        LOG.info("%s %s %s -> 0x%04X", _peer(event), name,
                 outcome.instance_uid or instance_uid or "", status)
        reply = status_dataset(status, outcome.warnings[0].message if outcome.warnings else "",
                               outcome.warnings[0].attribute if outcome.warnings else None,
                               identifier_list=identifier_list and bool(outcome.warnings))
        if outcome.instance_uid and outcome.instance_uid != instance_uid:
            reply.AffectedSOPInstanceUID = outcome.instance_uid
            if outcome.dataset is not None and status is Status.SUCCESS:
                outcome.dataset.AffectedSOPInstanceUID = outcome.instance_uid
        declare_character_set(outcome.dataset)
        return reply, outcome.dataset

    def _check_context(self, ctx: AssociationContext, event: Event, class_uid: str) -> None:
        """The message's SOP class must belong to its presentation context."""
        abstract = event.context.abstract_syntax
        if class_uid == abstract or class_uid in META_MEMBERS.get(abstract, ()):
            return
        if class_uid == PRINT_JOB and abstract in META_MEMBERS:
            return  # checked by the Print Job N-GET handler (ISG-style printer N-GET)
        raise DicomStatusError(Status.SOP_CLASS_NOT_SUPPORTED,
                               f"SOP class {class_uid} not in the context of {abstract}")

    # -- DIMSE-N ----------------------------------------------------------------------------
    def n_create(self, event: Event) -> HandlerResult:
        req = event.request
        class_uid = str(req.AffectedSOPClassUID)
        uid = str(req.AffectedSOPInstanceUID) if req.AffectedSOPInstanceUID else None
        ds = _dataset(event, "attribute_list")
        meta = event.context.abstract_syntax
        operations: dict[str, Callable[[AssociationContext], Outcome]] = {
            BASIC_FILM_SESSION: lambda ctx: film_session.create(ctx, uid, ds),
            BASIC_FILM_BOX: lambda ctx: film_box.create(ctx, uid, ds, meta),
            PRESENTATION_LUT: lambda ctx: presentation_lut.create(ctx, uid, ds),
        }
        return self._run(event, f"N-CREATE {_name(class_uid)}", class_uid, uid,
                         _operation(operations, class_uid, "N-CREATE"))

    def n_set(self, event: Event) -> HandlerResult:
        req = event.request
        class_uid = str(req.RequestedSOPClassUID)
        uid = str(req.RequestedSOPInstanceUID)
        ds = _dataset(event, "modification_list")
        operations: dict[str, Callable[[AssociationContext], Outcome]] = {
            BASIC_FILM_SESSION: lambda ctx: film_session.update(ctx, uid, ds),
            BASIC_FILM_BOX: lambda ctx: film_box.update(ctx, uid, ds),
            BASIC_GRAYSCALE_IMAGE_BOX: lambda ctx: image_box.update(ctx, uid, ds, class_uid),
            BASIC_COLOR_IMAGE_BOX: lambda ctx: image_box.update(ctx, uid, ds, class_uid),
            BASIC_ANNOTATION_BOX: lambda ctx: annotation_box.update(ctx, uid, ds),
        }
        return self._run(event, f"N-SET {_name(class_uid)}", class_uid, uid,
                         _operation(operations, class_uid, "N-SET"), identifier_list=True)

    def n_action(self, event: Event) -> HandlerResult:
        req = event.request
        class_uid = str(req.RequestedSOPClassUID)
        uid = str(req.RequestedSOPInstanceUID)
        action = int(req.ActionTypeID or 0)
        queue = self.server.print_queue

        def act(printer: Callable) -> Callable[[AssociationContext], Outcome]:
            def operation(ctx: AssociationContext) -> Outcome:
                outcome, job = printer(ctx, queue, uid, action)
                self.server.job_created(event.assoc, job)
                return outcome
            return operation

        operations = {
            BASIC_FILM_SESSION: act(print_film_session),
            BASIC_FILM_BOX: act(print_film_box),
        }
        return self._run(event, f"N-ACTION {_name(class_uid)}", class_uid, uid,
                         _operation(operations, class_uid, "N-ACTION"))

    def n_delete(self, event: Event) -> Dataset | int:
        req = event.request
        class_uid = str(req.RequestedSOPClassUID)
        uid = str(req.RequestedSOPInstanceUID)
        operations: dict[str, Callable[[AssociationContext], Outcome]] = {
            BASIC_FILM_SESSION: lambda ctx: film_session.delete(ctx, uid),
            BASIC_FILM_BOX: lambda ctx: film_box.delete(ctx, uid),
            PRESENTATION_LUT: lambda ctx: presentation_lut.delete(ctx, uid),
        }
        status, _ = self._run(event, f"N-DELETE {_name(class_uid)}", class_uid, uid,
                              _operation(operations, class_uid, "N-DELETE"))
        return status

    def n_event_report(self, event: Event) -> HandlerResult:
        """An SCU's N-EVENT-REPORT: the printer only reports events (PS3.4 H.4.4, H.4.5)."""
        name = f"N-EVENT-REPORT {_name(str(event.request.AffectedSOPClassUID))}"
        LOG.warning("%s %s -> 0x%04X: the printer sends events, it does not receive them",
                    _peer(event), name, Status.UNRECOGNIZED_OPERATION)
        return status_dataset(Status.UNRECOGNIZED_OPERATION,
                              "N-EVENT-REPORT is sent by the printer, not to it"), None

    def n_get(self, event: Event) -> HandlerResult:
        req = event.request
        class_uid = str(req.RequestedSOPClassUID)
        uid = str(req.RequestedSOPInstanceUID)
        wanted = list(event.attribute_identifiers or [])
        server = self.server

        def get(attributes: Callable[[AssociationContext], Dataset]):
            def operation(ctx: AssociationContext) -> Outcome:
                return _selected(attributes(ctx), wanted)
            return operation

        def printer(ctx: AssociationContext) -> Dataset:
            if uid != PRINTER_INSTANCE:
                raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE, f"no Printer {uid} "
                                       f"(the Printer is {PRINTER_INSTANCE})")
            return server.printer.attributes()

        def print_job(ctx: AssociationContext) -> Dataset:
            if uid == PRINTER_INSTANCE:
                ctx.deviation("Printer N-GET sent with the Print Job SOP Class UID",
                              Status.CLASS_INSTANCE_CONFLICT)
                return server.printer.attributes()
            if event.context.abstract_syntax != PRINT_JOB:
                raise DicomStatusError(Status.SOP_CLASS_NOT_SUPPORTED,
                                       "Print Job N-GET needs the Print Job context")
            job = server.jobs.get(uid)
            if job is None:
                raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE, f"no Print Job {uid}")
            return job.attributes()

        def configuration(ctx: AssociationContext) -> Dataset:
            if uid != PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE:
                raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE,
                                       f"no Printer Configuration {uid}")
            return server.configuration()

        operations = {
            PRINTER: get(printer),
            PRINT_JOB: get(print_job),
            PRINTER_CONFIGURATION_RETRIEVAL: get(configuration),
        }
        return self._run(event, f"N-GET {_name(class_uid)}", class_uid, uid,
                         _operation(operations, class_uid, "N-GET"), identifier_list=True)


def _operation(operations: dict[str, Callable[[AssociationContext], Outcome]],
               class_uid: str, service: str) -> Callable[[AssociationContext], Outcome]:
    operation = operations.get(class_uid)
    if operation is not None:
        return operation

    def unsupported(ctx: AssociationContext) -> Outcome:
        raise DicomStatusError(Status.UNRECOGNIZED_OPERATION,
                               f"{service} is not defined for SOP class {class_uid}")
    return unsupported


def _selected(attributes: Dataset, wanted: list) -> Outcome:
    """N-GET: all attributes, or the requested ones (0x0107 if some are unknown)."""
    outcome = Outcome(dataset=attributes)
    if not wanted:
        return outcome
    selected = Dataset()
    missing = []
    for tag in wanted:
        if tag in attributes:
            selected[tag] = attributes[tag]
        else:
            missing.append(tag)
    if missing:
        outcome.warn(Status.ATTRIBUTE_LIST_ERROR,
                     "not supported: " + ", ".join(str(t) for t in missing))
    outcome.dataset = selected
    return outcome


def _dataset(event: Event, attribute: str) -> Dataset:
    """The request's dataset; one that cannot be decoded is an invalid value."""
    try:
        ds = getattr(event, attribute)
    except Exception as exc:
        raise_later = DicomStatusError(Status.INVALID_ATTRIBUTE_VALUE,
                                       f"dataset cannot be decoded: {exc}")
        LOG.warning("%s: %s", _peer(event), raise_later.message)
        ds = _Undecodable(raise_later)
    return ds if ds is not None else Dataset()


class _Undecodable(Dataset):
    """Stands for a dataset pydicom could not decode; any read fails with 0x0106."""

    def __init__(self, error: DicomStatusError):
        super().__init__()
        self._error = error

    def __contains__(self, name) -> bool:
        raise self._error

    def keys(self):
        raise self._error


_N_SERVICES = (N_ACTION, N_CREATE, N_DELETE, N_EVENT_REPORT, N_GET, N_SET)
_NAMES = {
    BASIC_FILM_SESSION: "Film Session", BASIC_FILM_BOX: "Film Box",
    BASIC_GRAYSCALE_IMAGE_BOX: "Grayscale Image Box", BASIC_COLOR_IMAGE_BOX: "Color Image Box",
    BASIC_ANNOTATION_BOX: "Annotation Box", PRESENTATION_LUT: "Presentation LUT",
    PRINTER: "Printer", PRINT_JOB: "Print Job",
    PRINTER_CONFIGURATION_RETRIEVAL: "Printer Configuration",
}


def serves(request: Any) -> bool:
    """True for the requests these handlers answer: DIMSE-N on a print SOP class, C-ECHO.

    The association's :class:`~dicomnet.acceptor_router.DimseRouter` answers
    any other request with 0x0122 SOP Class Not Supported itself.
    """
    if isinstance(request, C_ECHO):
        return str(request.AffectedSOPClassUID) == VERIFICATION
    class_uid = getattr(request, "AffectedSOPClassUID", None) or getattr(
        request, "RequestedSOPClassUID", None)
    return isinstance(request, _N_SERVICES) and str(class_uid) in _NAMES


def _name(class_uid: str) -> str:
    return _NAMES.get(class_uid, class_uid)


def _peer(event: Event) -> str:
    try:
        return event.assoc.requestor.ae_title.strip() or "?"
    except Exception:
        return "?"

"""From pynetdicom events to the print services and back, through one dispatch table.

Every DIMSE-N handler does the same: find the association's context, check
the SOP class against the presentation context, look up the operation in
:data:`OPERATIONS` by (service, SOP class), run it on a :class:`Request`,
and turn the :class:`Outcome` or :class:`DicomStatusError` into
``(status, dataset)``. No exception ever escapes to pynetdicom (it would
answer 0x0110 without a comment); unexpected ones are logged with their
traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from io import BytesIO
from typing import Any, cast

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
from dicomnet.data_sets import decode_received
from dicomnet.input_guard import dropped_data_set
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
    VERIFICATION,
)
from print_scp.service import (
    annotation_box,
    film_box,
    film_session,
    image_box,
    presentation_lut,
    print_job,
    printer,
    printer_configuration,
)
from print_scp.service.context import AssociationContext, TranscriptEntry
from print_scp.service.outcome import DicomStatusError, Outcome, status_dataset
from print_scp.service.printing import print_film_box, print_film_session
from print_scp.service.request import PrinterServices, Request

LOG = logging.getLogger("print_scp.dimse")

HandlerResult = tuple[Dataset | int, Dataset | None]
Operation = Callable[[Request], Outcome]


def _printing(action: Callable[..., tuple[Outcome, Any]]) -> Operation:
    """N-ACTION print: queue the films, then tell the printer whose job it is."""
    def operation(r: Request) -> Outcome:
        outcome, job = action(r.ctx, r.services.print_queue, r.instance_uid, r.action_type_id)
        r.services.job_created(r.association, job)
        return outcome
    return operation


def _getting(attributes: Callable[[Request], Dataset]) -> Operation:
    """N-GET: all attributes, or the requested ones (0x0107 if some are unknown)."""
    def operation(r: Request) -> Outcome:
        return _selected(attributes(r), r.attribute_identifiers)
    return operation


#: (DIMSE service, SOP Class UID) -> the operation that serves it.
OPERATIONS: dict[tuple[str, str], Operation] = {
    ("N-CREATE", BASIC_FILM_SESSION):
        lambda r: film_session.create(r.ctx, r.instance_uid, r.dataset),
    ("N-CREATE", BASIC_FILM_BOX):
        lambda r: film_box.create(r.ctx, r.instance_uid, r.dataset, r.context_uid),
    ("N-CREATE", PRESENTATION_LUT):
        lambda r: presentation_lut.create(r.ctx, r.instance_uid, r.dataset),
    ("N-SET", BASIC_FILM_SESSION):
        lambda r: film_session.update(r.ctx, str(r.instance_uid), r.dataset),
    ("N-SET", BASIC_FILM_BOX):
        lambda r: film_box.update(r.ctx, str(r.instance_uid), r.dataset),
    ("N-SET", BASIC_GRAYSCALE_IMAGE_BOX):
        lambda r: image_box.update(r.ctx, str(r.instance_uid), r.dataset, r.class_uid),
    ("N-SET", BASIC_COLOR_IMAGE_BOX):
        lambda r: image_box.update(r.ctx, str(r.instance_uid), r.dataset, r.class_uid),
    ("N-SET", BASIC_ANNOTATION_BOX):
        lambda r: annotation_box.update(r.ctx, str(r.instance_uid), r.dataset),
    ("N-ACTION", BASIC_FILM_SESSION): _printing(print_film_session),
    ("N-ACTION", BASIC_FILM_BOX): _printing(print_film_box),
    ("N-DELETE", BASIC_FILM_SESSION):
        lambda r: film_session.delete(r.ctx, str(r.instance_uid)),
    ("N-DELETE", BASIC_FILM_BOX):
        lambda r: film_box.delete(r.ctx, str(r.instance_uid)),
    ("N-DELETE", PRESENTATION_LUT):
        lambda r: presentation_lut.delete(r.ctx, str(r.instance_uid)),
    ("N-GET", PRINTER): _getting(printer.get),
    ("N-GET", PRINT_JOB): _getting(print_job.get),
    ("N-GET", PRINTER_CONFIGURATION_RETRIEVAL): _getting(printer_configuration.get),
}


class Handlers:
    """The pynetdicom handlers of a printer, given the narrow view of it they need."""

    def __init__(self, services: PrinterServices,
                 context_of: Callable[[Any], AssociationContext | None]):
        self.services = services
        self.context_of = context_of
        self.requests_by_status: Counter[str] = Counter()  # answered requests, by status
        self._counting = threading.Lock()

    def n_create(self, event: Event) -> HandlerResult:
        req = cast(N_CREATE, event.request)
        class_uid = str(req.AffectedSOPClassUID)
        uid = str(req.AffectedSOPInstanceUID) if req.AffectedSOPInstanceUID else None
        return self._dispatch(event, "N-CREATE", class_uid, uid,
                              dataset=_dataset(event, req.AttributeList))

    def n_set(self, event: Event) -> HandlerResult:
        req = cast(N_SET, event.request)
        return self._dispatch(event, "N-SET", str(req.RequestedSOPClassUID),
                              str(req.RequestedSOPInstanceUID),
                              dataset=_dataset(event, req.ModificationList),
                              identifier_list=True)

    def n_action(self, event: Event) -> HandlerResult:
        req = cast(N_ACTION, event.request)
        return self._dispatch(event, "N-ACTION", str(req.RequestedSOPClassUID),
                              str(req.RequestedSOPInstanceUID),
                              action_type_id=int(req.ActionTypeID or 0))

    def n_delete(self, event: Event) -> Dataset | int:
        req = cast(N_DELETE, event.request)
        status, _ = self._dispatch(event, "N-DELETE", str(req.RequestedSOPClassUID),
                                   str(req.RequestedSOPInstanceUID))
        return status

    def n_get(self, event: Event) -> HandlerResult:
        req = cast(N_GET, event.request)
        return self._dispatch(event, "N-GET", str(req.RequestedSOPClassUID),
                              str(req.RequestedSOPInstanceUID),
                              attribute_identifiers=tuple(event.attribute_identifiers or ()),
                              identifier_list=True)

    def n_event_report(self, event: Event) -> HandlerResult:
        """An SCU's N-EVENT-REPORT: the printer only reports events (PS3.4 H.4.4, H.4.5)."""
        name = f"N-EVENT-REPORT {_name(str(event.request.AffectedSOPClassUID))}"
        LOG.warning("%s %s -> 0x%04X: the printer sends events, it does not receive them",
                    _peer(event), name, Status.UNRECOGNIZED_OPERATION)
        return status_dataset(Status.UNRECOGNIZED_OPERATION,
                              "N-EVENT-REPORT is sent by the printer, not to it"), None

    def _dispatch(self, event: Event, service: str, class_uid: str, instance_uid: str | None,
                  *, identifier_list: bool = False, **fields: Any) -> HandlerResult:
        name = f"{service} {_name(class_uid)}"
        ctx = self.context_of(event.assoc)
        arrived, started = datetime.now(), time.perf_counter()
        reply, dataset = self._answer(event, ctx, name, service, class_uid, instance_uid,
                                      identifier_list, fields)
        if isinstance(reply, Dataset) and "Status" in reply:
            with self._counting:
                self.requests_by_status[f"0x{int(reply.Status):04X}"] += 1
        if ctx is not None and isinstance(reply, Dataset):
            comment = reply.get("ErrorComment")
            created = reply.get("AffectedSOPInstanceUID")  # of an instance the printer made
            ctx.record(TranscriptEntry(
                arrived, name, class_uid, instance_uid or (str(created) if created else None),
                int(reply.Status), str(comment) if comment else None,
                (time.perf_counter() - started) * 1000))
        return reply, dataset

    def _answer(self, event: Event, ctx: AssociationContext | None, name: str, service: str,
                class_uid: str, instance_uid: str | None, identifier_list: bool,
                fields: dict[str, Any]) -> HandlerResult:
        """Run the operation; its status dataset and reply data set."""
        try:
            if ctx is None:
                raise DicomStatusError(Status.PROCESSING_FAILURE, "association not established")
            _check_context(event.context.abstract_syntax, class_uid)
            operation = OPERATIONS.get((service, class_uid))
            if operation is None:
                raise DicomStatusError(Status.UNRECOGNIZED_OPERATION,
                                       f"{service} is not defined for SOP class {class_uid}")
            outcome = operation(Request(ctx, self.services, event.assoc, class_uid,
                                        instance_uid, event.context.abstract_syntax,
                                        **fields))
        except DicomStatusError as exc:
            LOG.warning("%s %s %s -> %s", _peer(event), name, instance_uid or "", exc.describe())
            return status_dataset(exc.status, exc.message, exc.attribute,
                                  identifier_list=identifier_list), None
        except Exception as exc:
            LOG.exception("%s %s %s: unexpected error", _peer(event), name, instance_uid or "")
            return status_dataset(Status.PROCESSING_FAILURE,
                                  f"processing failure: {type(exc).__name__}"), None
        return _reply(event, name, instance_uid, outcome, identifier_list), outcome.dataset


def _reply(event: Event, name: str, instance_uid: str | None, outcome: Outcome,
           identifier_list: bool) -> Dataset:
    """The response's status dataset; logs the outcome and its warnings."""
    status = outcome.status
    for warning in outcome.warnings:
        LOG.warning("%s %s %s: %s", _peer(event), name, instance_uid or "", warning.describe())
    LOG.info("%s %s %s -> 0x%04X", _peer(event), name,
             outcome.instance_uid or instance_uid or "", status)
    first = outcome.warnings[0] if outcome.warnings else None
    reply = status_dataset(status, first.message if first else "",
                           first.attribute if first else None,
                           identifier_list=identifier_list and first is not None)
    if outcome.instance_uid and outcome.instance_uid != instance_uid:
        reply.AffectedSOPInstanceUID = outcome.instance_uid
        if outcome.dataset is not None and status is Status.SUCCESS:
            outcome.dataset.AffectedSOPInstanceUID = outcome.instance_uid
    declare_character_set(outcome.dataset)
    return reply


def _check_context(abstract_syntax: str, class_uid: str) -> None:
    """The message's SOP class must belong to its presentation context."""
    if class_uid == abstract_syntax or class_uid in META_MEMBERS.get(abstract_syntax, ()):
        return
    if class_uid == PRINT_JOB and abstract_syntax in META_MEMBERS:
        return  # checked by the Print Job N-GET (ISG-style printer N-GET)
    raise DicomStatusError(Status.SOP_CLASS_NOT_SUPPORTED,
                           f"SOP class {class_uid} not in the context of {abstract_syntax}")


def _selected(attributes: Dataset, wanted: tuple[Any, ...]) -> Outcome:
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
def _dataset(event: Event, encoded: BytesIO | None) -> Dataset:
    """The request's dataset (``encoded``, its data set as received; Pixel Data left in
    the message, :mod:`dicomnet.data_sets`); one that cannot be decoded is an invalid
    value; one dropped as it arrived, the printer's memory being full, is a lack of
    memory."""
    dropped = dropped_data_set(event.request)
    if dropped is not None:
        class_uid = str(getattr(event.request, "RequestedSOPClassUID", ""))
        # C605 is the Image Box N-SET's (PS3.4 H.4.3.1.2.1.2); 0213 any other request's
        status = (Status.INSUFFICIENT_MEMORY
                  if class_uid in (BASIC_GRAYSCALE_IMAGE_BOX, BASIC_COLOR_IMAGE_BOX)
                  else Status.RESOURCE_LIMITATION)
        return _Undecodable(DicomStatusError(
            status, f"data set dropped, printer memory full (max_memory_bytes): "
            f"{dropped.received} B"))
    try:
        ds = decode_received(encoded, event.context.transfer_syntax)
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

"""DIMSE driver for one print association (DICOM PS3.4 Annex H, SCU side).

:class:`PrintAssociation` opens one association to a print SCP, proposes the
Basic Grayscale (or Color) Print Management Meta SOP Class and the optional
SOP classes asked for, and offers one typed method per DIMSE operation of
the print hierarchy. It owns no policy: callers decide what to create, what
a status means for them, and when to retry.

pynetdicom facts this module relies on (pynetdicom 3.0):

* Film Session, Film Box, Image Box and Printer messages must name the meta
  SOP class (``meta_uid``) to find their presentation context; Print Job,
  Presentation LUT, Annotation Box and Printer Configuration Retrieval have
  contexts of their own.
* ``send_n_create`` does not return an SCP-generated instance UID, so this
  driver always supplies the UIDs the standard lets the SCU choose (Film
  Session, Film Box, Presentation LUT).
* Incoming N-EVENT-REPORTs are served on a thread of their own; the handler
  only records them and answers Success, it never sends anything.
* pynetdicom never sets TCP_NODELAY; without it every message carrying a
  dataset stalls ~40 ms (Nagle and delayed ACK).
"""

from __future__ import annotations

import copy
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from types import TracebackType
from typing import Any

import numpy as np
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (
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
from pynetdicom.status import (
    GENERAL_STATUS,
    PRINT_JOB_MANAGEMENT_SERVICE_CLASS_STATUS,
    code_to_category,
)

from lut.polarity import Polarity
from print_scp.idle_wait import IDLE_WAIT_S, notify_reactor_on_input, wait_in_select
from print_scu.tls import RecordingContext, TlsClientSettings

__all__ = [
    "DimseResult", "EventLog", "FilmBoxRefs", "GrayscalePhotometric",
    "PrintAssociation", "PrintAssociationError", "PrinterAddress", "ReceivedEvent",
    "color_image_box", "grayscale_image_box",
]

#: Action Type ID of N-ACTION "print" on Film Session and Film Box (PS3.4 H.4.1.2.4, H.4.2.2.4).
PRINT_ACTION = 1

#: Print management statuses by code: (category, description), PS3.7 C and PS3.4 H.
_STATUS_DESCRIPTIONS = {**GENERAL_STATUS, **PRINT_JOB_MANAGEMENT_SERVICE_CLASS_STATUS}


class PrintAssociationError(Exception):
    """The association could not be set up, was lost, or lacks a needed context."""


@dataclass
class PrinterAddress:
    """Where a print SCP listens and how to talk to it.

    ``max_pdu`` is the largest PDU we accept, in bytes (0: unlimited); the
    timeouts are in seconds. ``implicit_only`` proposes Implicit VR Little
    Endian alone, for SCPs that mishandle Explicit VR. ``tls`` set connects
    with TLS, checking the printer's certificate against ``host``.
    """

    host: str
    port: int
    called_ae: str
    calling_ae: str = "FILMBOX_SCU"
    max_pdu: int = 1048576
    implicit_only: bool = False
    acse_timeout: float = 30
    dimse_timeout: float = 60
    network_timeout: float = 60
    tls: TlsClientSettings | None = None


@dataclass(frozen=True)
class ReceivedEvent:
    """One N-EVENT-REPORT the SCP sent us (Printer or Print Job status)."""

    sop_class_uid: str
    sop_instance_uid: str
    event_type_id: int
    event_information: Dataset | None
    received_at: float  # seconds since the epoch (time.time())


class EventLog:
    """Thread-safe, append-only list of received N-EVENT-REPORTs."""

    def __init__(self) -> None:
        self._events: list[ReceivedEvent] = []
        self._changed = threading.Condition()

    def append(self, event: ReceivedEvent) -> None:
        with self._changed:
            self._events.append(event)
            self._changed.notify_all()

    def snapshot(self) -> list[ReceivedEvent]:
        """A copy of the events received so far, oldest first."""
        with self._changed:
            return list(self._events)

    def wait_for(
        self, predicate: Callable[[ReceivedEvent], bool], timeout_s: float
    ) -> ReceivedEvent | None:
        """The first event matching ``predicate``, waiting up to ``timeout_s`` seconds."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while True:
                match = next((event for event in self._events if predicate(event)), None)
                remaining = deadline - time.monotonic()
                if match is not None or remaining <= 0:
                    return match
                self._changed.wait(remaining)

    def __len__(self) -> int:
        with self._changed:
            return len(self._events)

    def __iter__(self) -> Iterator[ReceivedEvent]:
        return iter(self.snapshot())


@dataclass(frozen=True)
class DimseResult:
    """Status of the last DIMSE response: code, category and any Error Comment."""

    operation: str  # e.g. "N-CREATE Basic Film Box"
    status: int
    error_comment: str | None = None

    @property
    def category(self) -> str:
        """pynetdicom's category: "Success", "Warning", "Failure", "Cancel", "Pending"."""
        return code_to_category(self.status)

    @property
    def description(self) -> str:
        """The standard's meaning of the status code, "" if unknown."""
        return _STATUS_DESCRIPTIONS.get(self.status, ("", ""))[1]

    @property
    def ok(self) -> bool:
        """True for Success and Warning."""
        return self.category in ("Success", "Warning")

    def __str__(self) -> str:
        text = f"{self.operation}: 0x{self.status:04X} {self.category}"
        if self.description:
            text += f" ({self.description})"
        if self.error_comment:
            text += f": {self.error_comment}"
        return text


@dataclass(frozen=True)
class FilmBoxRefs:
    """What Film Box N-CREATE returned: its UID and its children's UIDs.

    ``image_boxes`` holds (SOP Class UID, SOP Instance UID) pairs in image
    position order, as the SCP lists them in Referenced Image Box Sequence.
    """

    film_box_uid: str
    image_boxes: list[tuple[str, str]]
    annotation_boxes: list[str] = field(default_factory=list)
    attributes: Dataset = field(default_factory=Dataset)  # the full N-CREATE reply

    @property
    def image_box_uids(self) -> list[str]:
        return [instance_uid for _class_uid, instance_uid in self.image_boxes]


class PrintAssociation:
    """One association with a print SCP; a context manager that releases it.

    The association is requested in ``__init__``; a rejection, an abort, no
    answer within ``acse_timeout``, or a meta SOP class the SCP does not
    accept raise :class:`PrintAssociationError`. Optional SOP classes that
    were proposed but refused raise it only when used.

    Methods return the DIMSE status code (and the reply dataset where the
    operation has one); :attr:`last_result` keeps the status with its Error
    Comment. A lost association (abort, DIMSE timeout) raises
    :class:`PrintAssociationError`.

    ``on_event`` is called on pynetdicom's event thread for each received
    N-EVENT-REPORT, after it was added to :attr:`events`; it must not send
    anything on this association (hand the work to the owning thread). If it
    raises, pynetdicom answers the report with 0x0110 Processing Failure.
    """

    def __init__(
        self,
        address: PrinterAddress,
        *,
        color: bool = False,
        print_job: bool = True,
        presentation_lut: bool = True,
        annotation: bool = True,
        configuration_retrieval: bool = False,
        on_event: Callable[[ReceivedEvent], None] | None = None,
    ) -> None:
        self.address = address
        self.meta_uid = UID(
            BasicColorPrintManagementMeta if color else BasicGrayscalePrintManagementMeta
        )
        self.image_box_class_uid = UID(BasicColorImageBox if color else BasicGrayscaleImageBox)
        self.events = EventLog()
        self.last_result: DimseResult | None = None
        self._on_event = on_event
        self._message_id = 0
        self._association_response: Any = None  # the A-ASSOCIATE-AC/RJ primitive
        self._connected = False  # set once the TCP connection is open
        self._tls_context: RecordingContext | None = None
        if address.tls is not None:
            try:
                self._tls_context = address.tls.context()
            except OSError as exc:
                raise PrintAssociationError(
                    f"TLS settings for {self.peer} cannot be used: {exc}") from exc

        proposed = [self.meta_uid, Printer, Verification]
        optional = {
            PrintJob: print_job,
            PresentationLUT: presentation_lut,
            BasicAnnotationBox: annotation,
            PrinterConfigurationRetrieval: configuration_retrieval,
        }
        proposed += [uid for uid, wanted in optional.items() if wanted]
        syntaxes = (
            [ImplicitVRLittleEndian] if address.implicit_only
            else [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
        )
        ae = AE(ae_title=address.calling_ae)
        ae.acse_timeout = address.acse_timeout
        ae.dimse_timeout = address.dimse_timeout
        ae.network_timeout = address.network_timeout
        ae.connection_timeout = address.network_timeout
        for uid in proposed:
            ae.add_requested_context(uid, syntaxes)
        self._assoc = ae.associate(
            address.host,
            address.port,
            ae_title=address.called_ae,
            max_pdu=address.max_pdu,
            tls_args=None if self._tls_context is None else (self._tls_context, address.host),
            evt_handlers=[
                (evt.EVT_CONN_OPEN, self._on_connection_open),
                (evt.EVT_ACSE_RECV, self._record_association_response),
                (evt.EVT_N_EVENT_REPORT, self._record_event),
            ],
        )
        self._check_established()

    # -- association ------------------------------------------------------

    def __enter__(self) -> PrintAssociation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    @property
    def peer(self) -> str:
        """The SCP as "AE@host:port", for messages."""
        return f"{self.address.called_ae}@{self.address.host}:{self.address.port}"

    @property
    def is_established(self) -> bool:
        return bool(self._assoc.is_established)

    def accepts(self, sop_class_uid: str) -> bool:
        """True if the SCP accepted a presentation context for ``sop_class_uid``."""
        return any(cx.abstract_syntax == sop_class_uid for cx in self._assoc.accepted_contexts)

    def transfer_syntax(self, sop_class_uid: str) -> UID:
        """The transfer syntax accepted for ``sop_class_uid``'s context."""
        for cx in self._assoc.accepted_contexts:
            if cx.abstract_syntax == sop_class_uid:
                return UID(cx.transfer_syntax[0])
        raise PrintAssociationError(self._refused(sop_class_uid))

    def release(self) -> None:
        """Release the association if it is still established."""
        if self._assoc.is_established:
            self._assoc.release()

    def abort(self) -> None:
        """Abort the association (A-ABORT) if it is still established."""
        if self._assoc.is_established:
            self._assoc.abort()

    def verify(self) -> int:
        """C-ECHO; the status code."""
        self._require(Verification)
        return self._finish("C-ECHO", self._assoc.send_c_echo(msg_id=self._next_message_id()))

    # -- Printer and Printer Configuration Retrieval -----------------------

    def get_printer(self, attributes: list[int] | None = None) -> tuple[int, Dataset | None]:
        """N-GET of the well-known Printer instance; ``None`` or [] asks for all attributes."""
        status, reply = self._assoc.send_n_get(
            [Tag(tag) for tag in attributes or []], Printer, PrinterInstance,
            msg_id=self._next_message_id(), meta_uid=self.meta_uid,
        )
        return self._finish("N-GET Printer", status), reply

    def get_printer_configuration(self) -> tuple[int, Dataset | None]:
        """N-GET of the well-known Printer Configuration Retrieval instance."""
        self._require(PrinterConfigurationRetrieval)
        status, reply = self._assoc.send_n_get(
            [], PrinterConfigurationRetrieval, PrinterConfigurationRetrievalInstance,
            msg_id=self._next_message_id(),
        )
        return self._finish("N-GET Printer Configuration Retrieval", status), reply

    # -- Presentation LUT --------------------------------------------------

    def create_presentation_lut(self, plut_dataset: Dataset) -> tuple[int, str]:
        """N-CREATE a Presentation LUT; the status and the UID we gave it."""
        self._require(PresentationLUT)
        uid = generate_uid()
        status, _reply = self._assoc.send_n_create(
            _attribute_list(plut_dataset), PresentationLUT, uid, msg_id=self._next_message_id()
        )
        return self._finish("N-CREATE Presentation LUT", status), uid

    def delete_presentation_lut(self, uid: str) -> int:
        self._require(PresentationLUT)
        status = self._assoc.send_n_delete(PresentationLUT, uid, msg_id=self._next_message_id())
        return self._finish("N-DELETE Presentation LUT", status)

    # -- Film Session ------------------------------------------------------

    def create_film_session(self, attrs: Dataset) -> tuple[int, str]:
        """N-CREATE a Basic Film Session; the status and the UID we gave it."""
        uid = generate_uid()
        status, _reply = self._assoc.send_n_create(
            _attribute_list(attrs), BasicFilmSession, uid,
            msg_id=self._next_message_id(), meta_uid=self.meta_uid,
        )
        return self._finish("N-CREATE Basic Film Session", status), uid

    def print_film_session(self, session_uid: str) -> tuple[int, Dataset | None]:
        """N-ACTION print on the Film Session; the reply may hold Referenced Print Job Sequence."""
        status, reply = self._assoc.send_n_action(
            None, PRINT_ACTION, BasicFilmSession, session_uid,
            msg_id=self._next_message_id(), meta_uid=self.meta_uid,
        )
        return self._finish("N-ACTION Basic Film Session", status), reply

    def delete_film_session(self, uid: str) -> int:
        status = self._assoc.send_n_delete(
            BasicFilmSession, uid, msg_id=self._next_message_id(), meta_uid=self.meta_uid
        )
        return self._finish("N-DELETE Basic Film Session", status)

    # -- Film Box ----------------------------------------------------------

    def create_film_box(
        self, attrs: Dataset, *, film_session_uid: str | None = None
    ) -> tuple[int, FilmBoxRefs | None]:
        """N-CREATE a Basic Film Box; the status and, on Success/Warning, its references.

        ``attrs`` must carry Referenced Film Session Sequence (2010,0500)
        unless ``film_session_uid`` is given, which then sets it on a copy.
        """
        if film_session_uid is not None:
            attrs = copy.deepcopy(attrs)
            session_ref = Dataset()
            session_ref.ReferencedSOPClassUID = BasicFilmSession
            session_ref.ReferencedSOPInstanceUID = film_session_uid
            attrs.ReferencedFilmSessionSequence = [session_ref]
        elif "ReferencedFilmSessionSequence" not in attrs:
            raise ValueError(
                "Film Box N-CREATE needs Referenced Film Session Sequence (2010,0500): "
                "put it in attrs or pass film_session_uid"
            )
        uid = generate_uid()
        status, reply = self._assoc.send_n_create(
            attrs, BasicFilmBox, uid, msg_id=self._next_message_id(), meta_uid=self.meta_uid
        )
        code = self._finish("N-CREATE Basic Film Box", status)
        if reply is None:
            return code, None
        return code, FilmBoxRefs(
            film_box_uid=uid,
            image_boxes=[
                (str(item.ReferencedSOPClassUID), str(item.ReferencedSOPInstanceUID))
                for item in reply.get("ReferencedImageBoxSequence", [])
            ],
            annotation_boxes=[
                str(item.ReferencedSOPInstanceUID)
                for item in reply.get("ReferencedBasicAnnotationBoxSequence", [])
            ],
            attributes=reply,
        )

    def print_film_box(self, film_box_uid: str) -> tuple[int, Dataset | None]:
        """N-ACTION print on the Film Box; the reply may hold Referenced Print Job Sequence."""
        status, reply = self._assoc.send_n_action(
            None, PRINT_ACTION, BasicFilmBox, film_box_uid,
            msg_id=self._next_message_id(), meta_uid=self.meta_uid,
        )
        return self._finish("N-ACTION Basic Film Box", status), reply

    def delete_film_box(self, uid: str) -> int:
        status = self._assoc.send_n_delete(
            BasicFilmBox, uid, msg_id=self._next_message_id(), meta_uid=self.meta_uid
        )
        return self._finish("N-DELETE Basic Film Box", status)

    # -- Image Box and Annotation Box --------------------------------------

    def set_image_box(self, image_box_uid: str, attrs: Dataset) -> int:
        """N-SET a Basic Grayscale (or Color) Image Box, see :func:`grayscale_image_box`."""
        status, _reply = self._assoc.send_n_set(
            attrs, self.image_box_class_uid, image_box_uid,
            msg_id=self._next_message_id(), meta_uid=self.meta_uid,
        )
        box_name = self.image_box_class_uid.name.removesuffix(" SOP Class")
        return self._finish(f"N-SET {box_name}", status)

    def set_annotation_box(self, annotation_uid: str, attrs: Dataset) -> int:
        """N-SET a Basic Annotation Box (Annotation Position, Text String)."""
        self._require(BasicAnnotationBox)
        status, _reply = self._assoc.send_n_set(
            attrs, BasicAnnotationBox, annotation_uid, msg_id=self._next_message_id()
        )
        return self._finish("N-SET Basic Annotation Box", status)

    # -- Print Job ---------------------------------------------------------

    def get_print_job(self, uid: str) -> tuple[int, Dataset | None]:
        """N-GET of a Print Job (Execution Status, Execution Status Info, ...)."""
        self._require(PrintJob)
        status, reply = self._assoc.send_n_get([], PrintJob, uid, msg_id=self._next_message_id())
        return self._finish("N-GET Print Job", status), reply

    # -- internals ---------------------------------------------------------

    def _next_message_id(self) -> int:
        self._message_id = self._message_id % 65535 + 1
        return self._message_id

    def _finish(self, operation: str, status: Dataset) -> int:
        """Record a response's status; raise if there was no response."""
        if "Status" not in status:
            state = "aborted" if self._assoc.is_aborted else (
                "still established" if self._assoc.is_established else "closed"
            )
            raise PrintAssociationError(
                f"{operation}: no valid response from {self.peer} within "
                f"{self.address.dimse_timeout} s (association {state})"
            )
        comment = status.get("ErrorComment")
        self.last_result = DimseResult(
            operation, int(status.Status), str(comment) if comment else None
        )
        return self.last_result.status

    def _require(self, sop_class_uid: str) -> None:
        if not self.accepts(sop_class_uid):
            raise PrintAssociationError(self._refused(sop_class_uid))

    def _refused(self, sop_class_uid: str) -> str:
        return (
            f"{UID(sop_class_uid).name} ({sop_class_uid}) has no accepted presentation "
            f"context on the association with {self.peer} (not proposed or refused)"
        )

    def _check_established(self) -> None:
        assoc = self._assoc
        if assoc.is_established:
            if not self.accepts(self.meta_uid):
                assoc.release()
                raise PrintAssociationError(
                    f"{self.peer} did not accept the {self.meta_uid.name} "
                    f"({self.meta_uid}); {self._context_results()}"
                )
            return
        if assoc.is_rejected:
            response = self._association_response
            raise PrintAssociationError(
                f"{self.peer} rejected the association from {self.address.calling_ae}: "
                f"{response.result_str}, source: {response.source_str}, "
                f"reason: {response.reason_str}"
            )
        tls_error = self._tls_context and self._tls_context.handshake_error
        if tls_error:
            raise PrintAssociationError(f"no TLS connection with {self.peer}: {tls_error}")
        if not self._connected:
            raise PrintAssociationError(
                f"no association with {self.peer}: could not open a TCP connection "
                f"(refused, unreachable, or no answer within {self.address.network_timeout} s)"
            )
        if assoc.is_aborted and assoc.rejected_contexts and not assoc.accepted_contexts:
            raise PrintAssociationError(
                f"{self.peer} accepted none of the proposed presentation contexts; "
                f"{self._context_results()}"
            )
        if assoc.is_aborted:
            hint = "" if self._tls_context is None else (
                " (over TLS this is how a printer refuses a missing or unknown client "
                "certificate)")
            raise PrintAssociationError(
                f"{self.peer} aborted the association during negotiation{hint}")
        raise PrintAssociationError(
            f"no association with {self.peer}: no A-ASSOCIATE answer within "
            f"{self.address.acse_timeout} s"
        )

    def _context_results(self) -> str:
        refused = ", ".join(
            f"{UID(cx.abstract_syntax).name} ({cx.status})" for cx in self._assoc.rejected_contexts
        )
        return f"refused contexts: {refused or 'none'}"

    def _on_connection_open(self, event: evt.Event) -> None:
        """EVT_CONN_OPEN: note the connection, set TCP_NODELAY, send whole messages only."""
        self._connected = True
        event.assoc.dul.socket.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _send_whole_messages(event.assoc)
        wait_in_select(event.assoc)  # an idle DUL sleeps instead of polling every 1 ms
        _keep_responses_from_the_reactor(event.assoc)
        _guard_pause_flag(event.assoc)  # before the reactor loop first writes the flag

    def _record_association_response(self, event: evt.Event) -> None:
        """EVT_ACSE_RECV: keep the A-ASSOCIATE response to explain a rejection."""
        primitive = event.primitive  # type: ignore[attr-defined]
        if hasattr(primitive, "result_str"):
            self._association_response = primitive

    def _record_event(self, event: evt.Event) -> tuple[int, None]:
        """EVT_N_EVENT_REPORT (own thread): record, notify, answer Success."""
        request = event.request
        received = ReceivedEvent(
            sop_class_uid=str(request.AffectedSOPClassUID),
            sop_instance_uid=str(request.AffectedSOPInstanceUID),
            event_type_id=int(request.EventTypeID),
            event_information=event.event_information or None,
            received_at=time.time(),
        )
        self.events.append(received)
        if self._on_event is not None:
            self._on_event(received)
        return 0x0000, None


class _ReactorOwnsPauseFlag(Association):
    """An Association whose ``_is_paused`` flag only its reactor thread may change.

    Works around a pynetdicom 3.0 requestor race that hangs the SCU: each
    incoming N-EVENT-REPORT is served on a thread of its own, and
    ``Association._serve_request`` sets ``_is_paused`` to True and then False
    around the handler. If that happens while the reactor is parked at its
    checkpoint for a ``send_*`` call, the flag reads False for good, and the
    next ``send_*`` or ``release()`` spins forever in ``while not
    self._is_paused``. Writes from other threads (other than ``kill()``'s)
    are ignored, so the flag always tells where the reactor really is; once
    the reactor thread has ended it reads True, so a late ``send_*`` fails
    on the dead association instead of spinning.
    """

    @property
    def _is_paused(self) -> bool:
        if self._kill or (self._started.is_set() and not self.is_alive()):
            return True
        return self.__dict__.get("_reactor_paused", False)

    @_is_paused.setter
    def _is_paused(self, value: bool) -> None:
        if threading.current_thread() is self or (value and self._kill):
            self.__dict__["_reactor_paused"] = value


def _guard_pause_flag(assoc: Association) -> None:
    """Make ``assoc`` a :class:`_ReactorOwnsPauseFlag`, keeping the flag's value."""
    assoc.__dict__["_reactor_paused"] = assoc.__dict__.pop("_is_paused", False)
    assoc.__class__ = _ReactorOwnsPauseFlag


def _keep_responses_from_the_reactor(assoc: Any) -> None:
    """Let only the waiting ``send_*`` call take responses off the queue.

    Works around a pynetdicom 3.0 requestor race that loses responses: right
    after one ``send_*`` sets the reactor's checkpoint, ``_is_paused`` still
    reads True until the woken reactor runs, so a quick next ``send_*`` goes
    ahead while the reactor is about to poll the message queue; the reactor
    then takes that call's response and drops it ("Received unexpected ...
    service message") and the call waits out the DIMSE timeout. A requestor's
    reactor has nothing to serve from the queue (incoming N-EVENT-REPORTs are
    served on threads of their own), so its non-blocking polls get nothing.

    Instead of polling every 1 ms, the idle reactor waits here (at most
    IDLE_WAIT_S) until a ``send_*`` call asks it to pause (its checkpoint is
    cleared) or the peer sends an A-RELEASE or A-ABORT.
    """
    blocking_get = assoc.dimse.get_msg
    wake = threading.Event()
    checkpoint = assoc._reactor_checkpoint
    clear_checkpoint = checkpoint.clear

    def clear_and_wake() -> None:
        clear_checkpoint()
        wake.set()

    checkpoint.clear = clear_and_wake
    notify_reactor_on_input(assoc, wake.set)

    def get_msg(block: bool = False) -> Any:
        if block:
            return blocking_get(block=True)
        wake.clear()  # then look: a request to pause or a peer's PDU after this wakes the wait
        if checkpoint.is_set() and assoc.dul.to_user_queue.empty() and not assoc._kill:
            wake.wait(IDLE_WAIT_S)
        return None, None

    assoc.dimse.get_msg = get_msg


def _send_whole_messages(assoc: Any) -> None:
    """Serialise ``assoc``'s outgoing DIMSE messages.

    pynetdicom answers an incoming N-EVENT-REPORT on a thread of its own. If
    that answer were sent while this thread is still sending the fragments of
    a large N-SET, the two messages' P-DATA would interleave, which PS3.8
    forbids and which corrupts the message the printer is reassembling. One
    lock around ``dimse.send_msg`` makes each message go out whole.
    """
    send = assoc.dimse.send_msg
    lock = threading.Lock()

    def send_whole(primitive: Any, context_id: int) -> None:
        with lock:
            send(primitive, context_id)

    assoc.dimse.send_msg = send_whole


def _attribute_list(dataset: Dataset) -> Dataset | None:
    """An N-CREATE Attribute List, None when empty.

    pynetdicom would send an empty dataset as a present but zero-length data
    set, on which DCMTK's dcmprscp waits until the DIMSE timeout.
    """
    return dataset if len(dataset) else None


# --------------------------------------------------------------------------
# Image Box N-SET modification lists
# --------------------------------------------------------------------------


class GrayscalePhotometric(str, Enum):
    """Photometric Interpretation (0028,0004) allowed in a Basic Grayscale Image Box."""

    MONOCHROME1 = "MONOCHROME1"  # higher value = darker
    MONOCHROME2 = "MONOCHROME2"  # higher value = brighter


def grayscale_image_box(
    position: int,
    pixels: np.ndarray,
    bits_stored: int,
    photometric: GrayscalePhotometric | str = GrayscalePhotometric.MONOCHROME2,
    polarity: Polarity | str | None = None,
    pixel_aspect_ratio: tuple[int, int] = (1, 1),
    **attrs: Any,
) -> Dataset:
    """N-SET modification list of a Basic Grayscale Image Box (PS3.3 C.13.5).

    ``pixels`` is (rows, columns) of unsigned values below 2**bits_stored;
    ``bits_stored`` 8 is sent as Bits Allocated 8 (Pixel Data OB), 12 as
    Bits Allocated 16 (OW, little endian as both proposed transfer syntaxes
    are). ``pixel_aspect_ratio`` is (vertical, horizontal). Further image box
    attributes (e.g. ``MagnificationType="NONE"``,
    ``RequestedImageSize=200.0`` in mm) go in ``attrs`` by DICOM keyword.
    """
    if bits_stored not in (8, 12):
        raise ValueError(
            f"Bits Stored (0028,0101) of a grayscale image box is 8 or 12, got {bits_stored}"
        )
    values = _checked_pixels(pixels, ndim=2, bits=bits_stored, what="grayscale image box")
    item = _image_item(values.shape[0], values.shape[1], pixel_aspect_ratio)
    item.SamplesPerPixel = 1
    item.PhotometricInterpretation = GrayscalePhotometric(photometric).value
    if bits_stored == 8:
        _set_pixels(item, bits_allocated=8, bits_stored=8, data=values.astype(np.uint8).tobytes())
    else:
        _set_pixels(item, bits_allocated=16, bits_stored=12, data=values.astype("<u2").tobytes())
    dataset = _image_box(position, polarity, attrs)
    dataset.BasicGrayscaleImageSequence = [item]
    return dataset


def color_image_box(
    position: int,
    rgb: np.ndarray,
    planar_configuration: int = 1,
    polarity: Polarity | str | None = None,
    pixel_aspect_ratio: tuple[int, int] = (1, 1),
    **attrs: Any,
) -> Dataset:
    """N-SET modification list of a Basic Color Image Box (PS3.3 C.13.5).

    ``rgb`` is (rows, columns, 3) of 0..255. Planar Configuration 1 (what
    the standard requires) sends the red, green and blue planes one after
    the other; 0 interleaves R, G, B per pixel, as many SCUs do.
    """
    if planar_configuration not in (0, 1):
        raise ValueError(f"Planar Configuration (0028,0006) is 0 or 1, got {planar_configuration}")
    values = _checked_pixels(rgb, ndim=3, bits=8, what="color image box").astype(np.uint8)
    if values.shape[2] != 3:
        raise ValueError(
            f"color image box pixels must be (rows, columns, 3), got shape {values.shape}"
        )
    item = _image_item(values.shape[0], values.shape[1], pixel_aspect_ratio)
    item.SamplesPerPixel = 3
    item.PhotometricInterpretation = "RGB"
    item.PlanarConfiguration = planar_configuration
    ordered = np.moveaxis(values, 2, 0) if planar_configuration == 1 else values
    _set_pixels(item, bits_allocated=8, bits_stored=8, data=np.ascontiguousarray(ordered).tobytes())
    dataset = _image_box(position, polarity, attrs)
    dataset.BasicColorImageSequence = [item]
    return dataset


def _checked_pixels(pixels: np.ndarray, *, ndim: int, bits: int, what: str) -> np.ndarray:
    values = np.asarray(pixels)
    if values.ndim != ndim or 0 in values.shape[:2]:
        raise ValueError(
            f"{what} pixels must be a non-empty {ndim}-D array, got shape {values.shape}"
        )
    if max(values.shape[:2]) > 65535:
        raise ValueError(
            f"{what}: Rows and Columns (US) are at most 65535, got shape {values.shape}"
        )
    if not np.issubdtype(values.dtype, np.integer):
        raise ValueError(f"{what} pixels must be integers, got dtype {values.dtype}")
    low, high = int(values.min()), int(values.max())
    if low < 0 or high >= 1 << bits:
        raise ValueError(
            f"{what} pixels must lie in 0..{(1 << bits) - 1} for {bits} bits, got {low}..{high}"
        )
    return values


def _image_item(rows: int, columns: int, pixel_aspect_ratio: tuple[int, int]) -> Dataset:
    item = Dataset()
    item.Rows = rows
    item.Columns = columns
    item.PixelAspectRatio = list(pixel_aspect_ratio)
    item.PixelRepresentation = 0
    return item


def _set_pixels(item: Dataset, *, bits_allocated: int, bits_stored: int, data: bytes) -> None:
    """Bits Allocated/Stored, High Bit and Pixel Data: OB for 8-bit words, OW for 16-bit."""
    item.BitsAllocated = bits_allocated
    item.BitsStored = bits_stored
    item.HighBit = bits_stored - 1
    item.add_new("PixelData", "OB" if bits_allocated == 8 else "OW", data)


def _image_box(position: int, polarity: Polarity | str | None, attrs: dict[str, Any]) -> Dataset:
    if position < 1:
        raise ValueError(f"Image Box Position (2020,0010) starts at 1, got {position}")
    dataset = Dataset()
    dataset.ImageBoxPosition = position
    if polarity is not None:
        dataset.Polarity = Polarity(polarity).value
    for keyword, value in attrs.items():
        if tag_for_keyword(keyword) is None:
            raise ValueError(f"{keyword!r} is not a DICOM attribute keyword")
        setattr(dataset, keyword, value)
    return dataset

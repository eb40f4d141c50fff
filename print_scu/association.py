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
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, cast

from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from pynetdicom.dimse_primitives import N_EVENT_REPORT

from dicomnet.hardening import harden_requestor
from dicomnet.status import category, meaning
from dicomnet.tls import RecordingContext
from dicomnet.uids import (
    BASIC_ANNOTATION_BOX,
    BASIC_COLOR_IMAGE_BOX,
    BASIC_COLOR_PRINT_META,
    BASIC_FILM_BOX,
    BASIC_FILM_SESSION,
    BASIC_GRAYSCALE_IMAGE_BOX,
    BASIC_GRAYSCALE_PRINT_META,
    PRESENTATION_LUT,
    PRINT_JOB,
    PRINTER,
    PRINTER_CONFIGURATION_RETRIEVAL,
    PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE,
    PRINTER_INSTANCE,
    VERIFICATION,
)
from print_scu.address import PrinterAddress

__all__ = [
    "DimseResult", "EventLog", "FilmBoxRefs", "PrintAssociation", "PrintAssociationError",
    "ReceivedEvent",
]

#: Action Type ID of N-ACTION "print" on Film Session and Film Box (PS3.4 H.4.1.2.4, H.4.2.2.4).
PRINT_ACTION = 1



class PrintAssociationError(Exception):
    """The association could not be set up, was lost, or lacks a needed context."""


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
        return category(self.status)

    @property
    def description(self) -> str:
        """The standard's meaning of the status code, "" if unknown."""
        return meaning(self.status)

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
    answer within ``acse_timeout_s``, or a meta SOP class the SCP does not
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
            BASIC_COLOR_PRINT_META if color else BASIC_GRAYSCALE_PRINT_META
        )
        self.image_box_class_uid = UID(
            BASIC_COLOR_IMAGE_BOX if color else BASIC_GRAYSCALE_IMAGE_BOX
        )
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

        proposed = [self.meta_uid, PRINTER, VERIFICATION]
        optional = {
            PRINT_JOB: print_job,
            PRESENTATION_LUT: presentation_lut,
            BASIC_ANNOTATION_BOX: annotation,
            PRINTER_CONFIGURATION_RETRIEVAL: configuration_retrieval,
        }
        proposed += [uid for uid, wanted in optional.items() if wanted]
        syntaxes = (
            [ImplicitVRLittleEndian] if address.implicit_only
            else [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
        )
        ae = AE(ae_title=address.calling_ae)
        ae.acse_timeout = address.acse_timeout_s
        ae.dimse_timeout = address.dimse_timeout_s
        ae.network_timeout = address.network_timeout_s
        ae.connection_timeout = address.network_timeout_s
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
        self._require(VERIFICATION)
        return self._finish("C-ECHO", self._assoc.send_c_echo(msg_id=self._next_message_id()))

    # -- PRINTER and PRINTER Configuration Retrieval -----------------------

    def get_printer(self, attributes: list[int] | None = None) -> tuple[int, Dataset | None]:
        """N-GET of the well-known Printer instance; ``None`` or [] asks for all attributes."""
        status, reply = self._assoc.send_n_get(
            [Tag(tag) for tag in attributes or []], PRINTER, PRINTER_INSTANCE,
            msg_id=self._next_message_id(), meta_uid=self.meta_uid,
        )
        return self._finish("N-GET Printer", status), reply

    def get_printer_configuration(self) -> tuple[int, Dataset | None]:
        """N-GET of the well-known Printer Configuration Retrieval instance."""
        self._require(PRINTER_CONFIGURATION_RETRIEVAL)
        status, reply = self._assoc.send_n_get(
            [], PRINTER_CONFIGURATION_RETRIEVAL, PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE,
            msg_id=self._next_message_id(),
        )
        return self._finish("N-GET Printer Configuration Retrieval", status), reply

    # -- Presentation LUT --------------------------------------------------

    def create_presentation_lut(self, plut_dataset: Dataset) -> tuple[int, str]:
        """N-CREATE a Presentation LUT; the status and the UID we gave it."""
        self._require(PRESENTATION_LUT)
        uid = generate_uid()
        status, _reply = self._assoc.send_n_create(
            _attribute_list(plut_dataset), PRESENTATION_LUT, uid, msg_id=self._next_message_id()
        )
        return self._finish("N-CREATE Presentation LUT", status), uid

    def delete_presentation_lut(self, uid: str) -> int:
        self._require(PRESENTATION_LUT)
        status = self._assoc.send_n_delete(PRESENTATION_LUT, uid, msg_id=self._next_message_id())
        return self._finish("N-DELETE Presentation LUT", status)

    # -- Film Session ------------------------------------------------------

    def create_film_session(self, attrs: Dataset) -> tuple[int, str]:
        """N-CREATE a Basic Film Session; the status and the UID we gave it."""
        uid = generate_uid()
        status, _reply = self._assoc.send_n_create(
            _attribute_list(attrs), BASIC_FILM_SESSION, uid,
            msg_id=self._next_message_id(), meta_uid=self.meta_uid,
        )
        return self._finish("N-CREATE Basic Film Session", status), uid

    def print_film_session(self, session_uid: str) -> tuple[int, Dataset | None]:
        """N-ACTION print on the Film Session; the reply may hold Referenced Print Job Sequence."""
        return self._print(BASIC_FILM_SESSION, session_uid, "Basic Film Session")

    def delete_film_session(self, uid: str) -> int:
        return self._delete(BASIC_FILM_SESSION, uid, "Basic Film Session")

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
            session_ref.ReferencedSOPClassUID = BASIC_FILM_SESSION
            session_ref.ReferencedSOPInstanceUID = film_session_uid
            attrs.ReferencedFilmSessionSequence = [session_ref]
        elif "ReferencedFilmSessionSequence" not in attrs:
            raise ValueError(
                "Film Box N-CREATE needs Referenced Film Session Sequence (2010,0500): "
                "put it in attrs or pass film_session_uid"
            )
        uid = generate_uid()
        status, reply = self._assoc.send_n_create(
            attrs, BASIC_FILM_BOX, uid, msg_id=self._next_message_id(), meta_uid=self.meta_uid
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
        return self._print(BASIC_FILM_BOX, film_box_uid, "Basic Film Box")

    def delete_film_box(self, uid: str) -> int:
        return self._delete(BASIC_FILM_BOX, uid, "Basic Film Box")

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
        self._require(BASIC_ANNOTATION_BOX)
        status, _reply = self._assoc.send_n_set(
            attrs, BASIC_ANNOTATION_BOX, annotation_uid, msg_id=self._next_message_id()
        )
        return self._finish("N-SET Basic Annotation Box", status)

    # -- Print Job ---------------------------------------------------------

    def get_print_job(self, uid: str) -> tuple[int, Dataset | None]:
        """N-GET of a Print Job (Execution Status, Execution Status Info, ...)."""
        self._require(PRINT_JOB)
        status, reply = self._assoc.send_n_get([], PRINT_JOB, uid, msg_id=self._next_message_id())
        return self._finish("N-GET Print Job", status), reply

    # -- internals ---------------------------------------------------------

    def _print(self, class_uid: str, uid: str, name: str) -> tuple[int, Dataset | None]:
        """N-ACTION print (a meta SOP class member); the status and the reply."""
        status, reply = self._assoc.send_n_action(
            None, PRINT_ACTION, class_uid, uid,
            msg_id=self._next_message_id(), meta_uid=self.meta_uid,
        )
        return self._finish(f"N-ACTION {name}", status), reply

    def _delete(self, class_uid: str, uid: str, name: str) -> int:
        """N-DELETE of a meta SOP class member; the status."""
        status = self._assoc.send_n_delete(
            class_uid, uid, msg_id=self._next_message_id(), meta_uid=self.meta_uid
        )
        return self._finish(f"N-DELETE {name}", status)

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
                f"{self.address.dimse_timeout_s} s (association {state})"
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
                f"(refused, unreachable, or no answer within {self.address.network_timeout_s} s)"
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
            f"{self.address.acse_timeout_s} s"
        )

    def _context_results(self) -> str:
        # a refused context still has the abstract syntax this SCU proposed
        refused = ", ".join(
            f"{cast(UID, cx.abstract_syntax).name} ({cx.status})"
            for cx in self._assoc.rejected_contexts
        )
        return f"refused contexts: {refused or 'none'}"

    def _on_connection_open(self, event: evt.Event) -> None:
        """EVT_CONN_OPEN: note the connection and harden it (dicomnet.hardening)."""
        self._connected = True
        harden_requestor(event.assoc)

    def _record_association_response(self, event: evt.Event) -> None:
        """EVT_ACSE_RECV: keep the A-ASSOCIATE response to explain a rejection."""
        primitive = event.primitive  # type: ignore[attr-defined]
        if hasattr(primitive, "result_str"):
            self._association_response = primitive

    def _record_event(self, event: evt.Event) -> tuple[int, None]:
        """EVT_N_EVENT_REPORT (own thread): record, notify, answer Success."""
        request = cast(N_EVENT_REPORT, event.request)
        # pynetdicom serves only a valid request, and Event Type ID is required in one
        assert request.EventTypeID is not None
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


def _attribute_list(dataset: Dataset) -> Dataset | None:
    """An N-CREATE Attribute List, None when empty.

    pynetdicom would send an empty dataset as a present but zero-length data
    set, on which DCMTK's dcmprscp waits until the DIMSE timeout.
    """
    return dataset if len(dataset) else None

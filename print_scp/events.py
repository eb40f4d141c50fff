"""N-EVENT-REPORTs from the printer to its SCUs: Printer and Print Job events.

Each association gets an :class:`EventChannel`, a thread that delivers that
association's events one at a time, in the order they were posted, once the
peer has sent its first request (before that it may not have processed the
A-ASSOCIATE-AC, and pynetdicom aborts on P-DATA that comes first), through
:class:`DimseRouter`, which lets it wait for the response while the reactor
goes on serving the peer's requests. Any
thread may post: a DIMSE handler, the render worker, the printer's state
machine. A slow or dead peer delays only its own channel.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from dataclasses import dataclass
from io import BytesIO

from pydicom.dataset import Dataset
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import N_EVENT_REPORT
from pynetdicom.dsutils import encode

from dicomnet.acceptor_router import DimseRouter
from dicomnet.uids import (
    BASIC_COLOR_PRINT_META,
    BASIC_GRAYSCALE_PRINT_META,
    PRINTER,
)
from print_scp.profile import EventScope

LOG = logging.getLogger("print_scp.events")

_READY_POLL_S = 0.1  # how often a channel waiting for the peer's first request looks up


@dataclass(frozen=True)
class OutboundEvent:
    """One N-EVENT-REPORT request: which instance, which event, what information."""

    sop_class_uid: str
    sop_instance_uid: str
    event_type_id: int
    information: Dataset | None
    description: str  # for the log, e.g. "Printer FAILURE (FILM JAM)"


def event_context_uid(assoc: Association, sop_class_uid: str) -> str | None:
    """The abstract syntax of an accepted context that can carry this event.

    Print Job events need the Print Job context; Printer events go on the
    Printer context if the SCU proposed one, else on a print meta context.
    """
    accepted = {cx.abstract_syntax for cx in assoc.accepted_contexts}
    if sop_class_uid in accepted:
        return sop_class_uid
    if sop_class_uid == PRINTER:
        for meta in (BASIC_GRAYSCALE_PRINT_META, BASIC_COLOR_PRINT_META):
            if meta in accepted:
                return meta
    return None


class EventChannel:
    """Delivers N-EVENT-REPORTs to one association from a thread of its own."""

    def __init__(self, assoc: Association, scope: EventScope = EventScope.ALL):
        self._scope = scope
        self._router = DimseRouter.install(assoc)
        self._assoc = assoc
        # to wait for the peer's N-EVENT-REPORT response: the DIMSE timeout
        timeout = assoc.dimse_timeout
        assert timeout is not None  # the printer's AE always has one (the profile's)
        self.response_timeout_s: float = timeout
        # (event, how many responses must have been sent before it)
        self._queue: queue.Queue[tuple[OutboundEvent, int] | None] = queue.Queue()
        self._message_ids = itertools.count(1)
        self._thread = threading.Thread(
            target=self._run, name=f"events-{assoc.name}", daemon=True
        )
        self._thread.start()

    def can_carry(self, sop_class_uid: str) -> bool:
        """True if the SCU gets such events: its scope, and a context to carry them."""
        return (self._scope.sends(printer_event=sop_class_uid == PRINTER)
                and event_context_uid(self._assoc, sop_class_uid) is not None)

    def post(self, event: OutboundEvent, after_current_response: bool = False) -> None:
        """Queue an event for delivery; returns at once.

        ``after_current_response``, from a DIMSE handler: the event is sent only
        once the response to the request being served is (Print Job PENDING
        follows the N-ACTION response that names the job).
        """
        after = self._router.responses_sent + 1 if after_current_response else 0
        self._queue.put((event, after))

    def close(self) -> None:
        """Stop after the events already posted (or at once if the peer is gone)."""
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            posted = self._queue.get()
            if posted is None:
                return
            event, responses = posted
            while not self._router.peer_ready.wait(_READY_POLL_S):
                if not self._assoc.is_established:
                    break
            if not self._router.wait_responses(responses, self.response_timeout_s):
                LOG.info("%s: the request before event %s was not answered: not delivered",
                         self._assoc.name, event.description)
                continue
            if not self._assoc.is_established:
                LOG.info("%s: association gone, event %s not delivered",
                         self._assoc.name, event.description)
                continue
            self._deliver(event)

    def _deliver(self, event: OutboundEvent) -> None:
        context_uid = event_context_uid(self._assoc, event.sop_class_uid)
        if context_uid is None:
            LOG.debug("%s: no context for %s, not sent", self._assoc.name, event.description)
            return
        context = next(cx for cx in self._assoc.accepted_contexts
                       if cx.abstract_syntax == context_uid)
        assert context.context_id is not None  # an accepted context has its ID
        request = N_EVENT_REPORT()
        request.MessageID = next(self._message_ids) % 65536
        request.AffectedSOPClassUID = event.sop_class_uid
        request.AffectedSOPInstanceUID = event.sop_instance_uid
        request.EventTypeID = event.event_type_id
        try:
            if event.information is not None:
                syntax = context.transfer_syntax[0]
                encoded = encode(event.information, syntax.is_implicit_VR,
                                 syntax.is_little_endian, syntax.is_deflated)
                # encode() gives None for a dataset it cannot encode: an empty buffer,
                # as BytesIO(None) is
                request.EventInformation = BytesIO(encoded or b"")
            response = self._router.send_request(request, context.context_id,
                                                 self.response_timeout_s)
        except Exception as exc:  # a peer that vanished mid-send must not kill the channel
            LOG.warning("%s: N-EVENT-REPORT %s failed: %s",
                        self._assoc.name, event.description, exc)
            return
        code = getattr(response, "Status", None)
        if code is None:
            if self._router.peer_gone():
                LOG.info("%s: N-EVENT-REPORT %s: peer left before answering",
                         self._assoc.name, event.description)
            else:
                LOG.warning("%s: N-EVENT-REPORT %s: no response within %.0f s",
                            self._assoc.name, event.description, self.response_timeout_s)
        else:
            LOG.info("%s: N-EVENT-REPORT %s -> 0x%04X", self._assoc.name, event.description, code)


class EventHub:
    """Every live association's channel: post to one, or broadcast printer events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: dict[Association, EventChannel] = {}

    def open(self, assoc: Association, scope: EventScope = EventScope.ALL) -> EventChannel:
        """The association's channel, sending the events of ``scope``."""
        with self._lock:
            channel = self._channels.get(assoc)
            if channel is None:
                channel = self._channels[assoc] = EventChannel(assoc, scope)
            return channel

    def close(self, assoc: Association) -> None:
        with self._lock:
            channel = self._channels.pop(assoc, None)
        if channel is not None:
            channel.close()

    def post(self, assoc: Association, event: OutboundEvent, *,
             after_current_response: bool = False) -> bool:
        """Post to one association (see :meth:`EventChannel.post`).

        False if the association is gone or cannot carry the event.
        """
        with self._lock:
            channel = self._channels.get(assoc)
        if channel is None or not channel.can_carry(event.sop_class_uid):
            return False
        channel.post(event, after_current_response)
        return True

    def broadcast(self, event: OutboundEvent) -> int:
        """Post to every association that can carry the event; returns how many."""
        with self._lock:
            channels = list(self._channels.values())
        count = 0
        for channel in channels:
            if channel.can_carry(event.sop_class_uid):
                channel.post(event)
                count += 1
        return count

    @property
    def associations(self) -> int:
        with self._lock:
            return len(self._channels)

"""N-EVENT-REPORTs from the printer to its SCUs: Printer and Print Job events.

Each association gets an :class:`EventChannel`, a thread that delivers that
association's events one at a time, in the order they were posted, through
pynetdicom's ``send_n_event_report`` made safe by :class:`DimseRouter`. Any
thread may post: a DIMSE handler, the render worker, the printer's state
machine. A slow or dead peer delays only its own channel.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pynetdicom.association import Association

from print_scp.dimse_router import DimseRouter
from print_scp.uids import (
    BASIC_COLOR_PRINT_META,
    BASIC_GRAYSCALE_PRINT_META,
    PRINT_JOB,
    PRINTER,
)

LOG = logging.getLogger("print_scp.events")


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

    def __init__(self, assoc: Association):
        DimseRouter.install(assoc)
        self._assoc = assoc
        self._queue: queue.Queue[OutboundEvent | None] = queue.Queue()
        self._message_ids = itertools.count(1)
        self.delivered = 0
        self.failed = 0
        self._thread = threading.Thread(
            target=self._run, name=f"events-{assoc.name}", daemon=True
        )
        self._thread.start()

    def can_carry(self, sop_class_uid: str) -> bool:
        return event_context_uid(self._assoc, sop_class_uid) is not None

    def post(self, event: OutboundEvent) -> None:
        """Queue an event for delivery; returns at once."""
        self._queue.put(event)

    def close(self) -> None:
        """Stop after the events already posted (or at once if the peer is gone)."""
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            if event is None:
                return
            if not self._assoc.is_established:
                LOG.info("%s: association gone, event %s not delivered",
                         self._assoc.name, event.description)
                self.failed += 1
                continue
            self._deliver(event)

    def _deliver(self, event: OutboundEvent) -> None:
        context_uid = event_context_uid(self._assoc, event.sop_class_uid)
        if context_uid is None:
            LOG.debug("%s: no context for %s, not sent", self._assoc.name, event.description)
            return
        meta_uid = context_uid if context_uid != event.sop_class_uid else None
        try:
            status, _reply = self._assoc.send_n_event_report(
                event.information,
                event.event_type_id,
                event.sop_class_uid,
                event.sop_instance_uid,
                msg_id=next(self._message_ids) % 65536,
                meta_uid=meta_uid,
            )
        except Exception as exc:  # a peer that vanished mid-send must not kill the channel
            self.failed += 1
            LOG.warning("%s: N-EVENT-REPORT %s failed: %s",
                        self._assoc.name, event.description, exc)
            return
        code = getattr(status, "Status", None)
        if code is None:
            self.failed += 1
            LOG.warning("%s: N-EVENT-REPORT %s: no response", self._assoc.name, event.description)
        else:
            self.delivered += 1
            LOG.info("%s: N-EVENT-REPORT %s -> 0x%04X", self._assoc.name, event.description, code)


class EventHub:
    """Every live association's channel: post to one, or broadcast printer events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: dict[Association, EventChannel] = {}

    def open(self, assoc: Association) -> EventChannel:
        with self._lock:
            channel = self._channels.get(assoc)
            if channel is None:
                channel = self._channels[assoc] = EventChannel(assoc)
            return channel

    def close(self, assoc: Association) -> None:
        with self._lock:
            channel = self._channels.pop(assoc, None)
        if channel is not None:
            channel.close()

    def post(self, assoc: Association, event: OutboundEvent) -> bool:
        """Post to one association; False if it is gone or cannot carry the event."""
        with self._lock:
            channel = self._channels.get(assoc)
        if channel is None or not channel.can_carry(event.sop_class_uid):
            return False
        channel.post(event)
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


def print_job_event(job_uid: str, event_type_id: int, status: str, info: str,
                    printer_name: str, film_session_label: str | None = None) -> OutboundEvent:
    """A Print Job N-EVENT-REPORT (PS3.4 H.4.5.1.1): 1 PENDING … 4 FAILURE."""
    ds = Dataset()
    ds.ExecutionStatusInfo = info
    ds.PrinterName = printer_name
    if film_session_label is not None:
        ds.FilmSessionLabel = film_session_label
    return OutboundEvent(PRINT_JOB, job_uid, event_type_id, ds, f"Print Job {status} ({info})")


PRINT_JOB_EVENT_TYPES = {"PENDING": 1, "PRINTING": 2, "DONE": 3, "FAILURE": 4}

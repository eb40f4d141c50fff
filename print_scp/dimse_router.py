"""Safe DIMSE requests from the acceptor side of a pynetdicom association.

pynetdicom's acceptor has one incoming message queue. Its reactor thread takes
requests off it and serves them; each ``send_*`` call takes "the next message"
off the same queue as its response, without checking Message ID Being
Responded To. An N-EVENT-REPORT sent from any thread other than a handler
therefore races the peer's next request: the request is taken as the event's
response, the event's response is served as a request, and the association
is aborted.

:class:`DimseRouter` replaces the association's ``dimse.get_msg`` and
``dimse.send_msg`` with versions that route by message kind:

* the reactor (non-blocking ``get_msg``) only ever receives *requests*;
* a ``send_*`` call (blocking ``get_msg``) only ever receives the *response*
  whose Message ID Being Responded To matches the request its own thread
  sent; requests met while looking are set aside, in arrival order, for the
  reactor;
* whole messages are sent under one lock, so the P-DATA fragments of an
  event request never interleave with those of a response the reactor is
  sending at the same time (PS3.8 forbids interleaving messages).

With the router installed, any thread may send a request with
:meth:`DimseRouter.send_request` at any time, while the peer keeps sending
requests and the reactor keeps serving them. (pynetdicom's own
``send_n_event_report`` would still pause the reactor while it waits, so a
peer that releases instead of answering would stall its release.)
"""

from __future__ import annotations

import queue
import threading
import time
from collections import deque
from typing import Any, Callable

from pynetdicom.association import Association
from pynetdicom.pdu_primitives import A_RELEASE

_POLL_INTERVAL = 0.0005  # s, while a sender waits for its response


def _is_response(msg: Any) -> bool:
    return getattr(msg, "MessageIDBeingRespondedTo", None) is not None


class DimseRouter:
    """Routes an acceptor's incoming DIMSE messages to the thread that awaits them."""

    def __init__(self, assoc: Association):
        self._assoc = assoc
        self._dimse = assoc.dimse
        self._queue = assoc.dimse.msg_queue
        self._original_send = assoc.dimse.send_msg
        self._lock = threading.Lock()  # guards the queue + set-aside pair
        self._send_lock = threading.Lock()  # one whole message on the wire at a time
        self._set_aside: deque[tuple[int, Any]] = deque()
        self._awaiting = threading.local()  # Message ID this thread's send_* awaits

    @classmethod
    def install(cls, assoc: Association) -> "DimseRouter":
        """Route ``assoc``'s messages; idempotent."""
        existing = getattr(assoc, "_filmbox_router", None)
        if existing is not None:
            return existing
        router = cls(assoc)
        assoc.dimse.get_msg = router.get_msg  # type: ignore[method-assign]
        assoc.dimse.send_msg = router.send_msg  # type: ignore[method-assign]
        assoc._filmbox_router = router  # type: ignore[attr-defined]
        return router

    def send_request(self, primitive: Any, context_id: int, timeout: float) -> Any | None:
        """Send a request and wait up to ``timeout`` s for its response.

        Returns None if no response came: timeout, or the peer released or
        aborted the association meanwhile (its release is not held up).
        """
        self.send_msg(primitive, context_id)
        message_id = primitive.MessageID
        deadline = time.monotonic() + timeout
        while True:
            _, msg = self._take(lambda m: _is_response(m)
                                and m.MessageIDBeingRespondedTo == message_id)
            if msg is not None:
                return msg
            if self.peer_gone() or time.monotonic() >= deadline:
                return None
            time.sleep(_POLL_INTERVAL)

    def peer_gone(self) -> bool:
        """True once the peer aborted, or asked to release, the association."""
        assoc = self._assoc
        if assoc.is_aborted or assoc.is_released or not assoc.dul.is_alive():
            return True
        pending = assoc.dul.peek_next_pdu()
        return isinstance(pending, A_RELEASE) and pending.result is None

    def send_msg(self, primitive: Any, context_id: int) -> None:
        """Send one DIMSE message whole; remember the Message ID of a request."""
        if not _is_response(primitive):
            self._awaiting.message_id = primitive.MessageID
        with self._send_lock:
            self._original_send(primitive, context_id)

    def get_msg(self, block: bool = False) -> tuple[int | None, Any]:
        """Non-blocking: the next request (the reactor). Blocking: this thread's response."""
        if not block:
            return self._take(lambda msg: not _is_response(msg))
        message_id = getattr(self._awaiting, "message_id", None)

        def wanted(msg: Any) -> bool:
            return _is_response(msg) and (
                message_id is None or msg.MessageIDBeingRespondedTo == message_id)

        timeout = self._dimse.dimse_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            context_id, msg = self._take(wanted)
            if msg is not None:
                self._awaiting.message_id = None
                return context_id, msg
            if self.peer_gone():
                return None, None
            if deadline is not None and time.monotonic() >= deadline:
                return None, None
            time.sleep(_POLL_INTERVAL)

    def _take(self, wanted: Callable[[Any], bool]) -> tuple[int | None, Any]:
        """The first message ``wanted`` accepts: set-aside ones first, then the queue.

        Messages read from the queue that are not wanted are set aside in
        arrival order for whoever wants them.
        """
        with self._lock:
            for index, (context_id, msg) in enumerate(self._set_aside):
                if wanted(msg):
                    del self._set_aside[index]
                    return context_id, msg
            while True:
                try:
                    context_id, msg = self._queue.get_nowait()
                except queue.Empty:
                    return None, None
                if wanted(msg):
                    return context_id, msg
                self._set_aside.append((context_id, msg))

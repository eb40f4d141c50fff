"""Safe DIMSE requests from the acceptor side of a pynetdicom association.

pynetdicom's acceptor has one incoming message queue. Its reactor thread takes
requests off it and serves them; each ``send_*`` call takes "the next message"
off the same queue as its response, without checking Message ID Being
Responded To. An N-EVENT-REPORT sent from any thread other than a handler
therefore races the peer's next request: the request is taken as the event's
response, the event's response is served as a request, and the association
is aborted.

:class:`DimseRouter` replaces the association's ``dimse.get_msg`` and
``dimse.send_msg`` (and wraps its ``acse.is_release_requested``) with
versions that route by message kind:

* the reactor (non-blocking ``get_msg``) only ever receives *requests*;
* :meth:`DimseRouter.send_request` only ever receives the *response* whose
  Message ID Being Responded To matches its request; requests met while
  looking are set aside, in arrival order, for the reactor;
* whole messages are sent under one lock, so the P-DATA fragments of an
  event request never interleave with those of a response the reactor is
  sending at the same time (PS3.8 forbids interleaving messages);
* no request is queued after the reactor has answered the peer's A-RELEASE
  (pynetdicom's DUL would raise in its own thread).

With the router installed, any thread may send a request with
:meth:`DimseRouter.send_request` at any time, while the peer keeps sending
requests and the reactor keeps serving them. (pynetdicom's own
``send_n_event_report`` pauses the reactor while it waits, so a peer that
releases instead of answering would stall its own release.)
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
        self._original_release_check = assoc.acse.is_release_requested
        self._lock = threading.Lock()  # guards the queue + set-aside pair
        self._send_lock = threading.Lock()  # one whole message on the wire at a time
        self._set_aside: deque[tuple[int, Any]] = deque()
        self._closing = False  # the reactor took the peer's A-RELEASE request
        # Set once the peer's first request arrived: it has surely processed our
        # A-ASSOCIATE-AC by then (pynetdicom aborts on P-DATA that comes first).
        self.peer_ready = threading.Event()

    @classmethod
    def install(cls, assoc: Association) -> "DimseRouter":
        """Route ``assoc``'s messages; idempotent."""
        existing = getattr(assoc, "_filmbox_router", None)
        if existing is not None:
            return existing
        router = cls(assoc)
        assoc.dimse.get_msg = router.get_msg  # type: ignore[method-assign]
        assoc.dimse.send_msg = router.send_msg  # type: ignore[method-assign]
        assoc.acse.is_release_requested = router._release_requested  # type: ignore[method-assign]
        assoc._filmbox_router = router  # type: ignore[attr-defined]
        return router

    def send_request(self, primitive: Any, context_id: int, timeout: float) -> Any | None:
        """Send a request and wait up to ``timeout`` s for its response.

        Returns None if it was not sent (the association is closing) or no
        response came: timeout, or the peer released or aborted meanwhile
        (its release is not held up).
        """
        with self._send_lock:
            if self._closing or not self._assoc.is_established:
                return None
            self._original_send(primitive, context_id)
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
        if self._closing or assoc.is_aborted or assoc.is_released or not assoc.dul.is_alive():
            return True
        pending = assoc.dul.peek_next_pdu()
        return isinstance(pending, A_RELEASE) and pending.result is None

    def send_msg(self, primitive: Any, context_id: int) -> None:
        """Send one DIMSE message whole (the reactor's responses)."""
        with self._send_lock:
            self._original_send(primitive, context_id)

    def _release_requested(self) -> bool:
        """The reactor's release check, taken under the send lock.

        Once the reactor has the peer's A-RELEASE request it answers with
        A-RELEASE-RP, after which the DUL refuses P-DATA (pynetdicom raises in
        its DUL thread). Marking the association closing under the send lock
        guarantees that every event request is queued before the release
        response or not at all.
        """
        with self._send_lock:
            requested = self._original_release_check()
            if requested:
                self._closing = True
            return requested

    def get_msg(self, block: bool = False) -> tuple[int | None, Any]:
        """Non-blocking: the next request (the reactor). Blocking: the next response."""
        if not block:
            context_id, msg = self._take(lambda msg: not _is_response(msg))
            if msg is not None:
                self.peer_ready.set()
            return context_id, msg
        timeout = self._dimse.dimse_timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            context_id, msg = self._take(_is_response)
            if msg is not None:
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

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

import logging
import queue
import threading
import time
from collections import deque
from typing import Any, Callable

from pynetdicom.association import Association
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT, A_RELEASE

from dicomnet.idle_wait import IDLE_WAIT_S, notify_reactor_on_input
from dicomnet.status import Status

LOG = logging.getLogger("dicomnet.acceptor_router")

_POLL_INTERVAL_S = 0.0005  # while a sender waits for its response


def _is_response(msg: Any) -> bool:
    return getattr(msg, "MessageIDBeingRespondedTo", None) is not None


class DimseRouter:
    """Routes an acceptor's incoming DIMSE messages to the thread that awaits them."""

    def __init__(self, assoc: Association, serves: Callable[[Any], bool] | None = None):
        self._assoc = assoc
        self._serves = serves
        self._dimse = assoc.dimse
        self._queue = assoc.dimse.msg_queue
        self._original_send = assoc.dimse.send_msg
        self._original_release_check = assoc.acse.is_release_requested
        self._lock = threading.Lock()  # guards the queue + set-aside pair
        self._send_lock = threading.Lock()  # one whole message on the wire at a time
        self._set_aside: deque[tuple[int | None, Any]] = deque()
        # Responses the reactor has sent (for events that must follow one)
        self._responded = threading.Condition()
        self.responses_sent = 0
        self._closing = False  # the reactor took the peer's A-RELEASE request
        # Set once the peer's first request arrived: it has surely processed our
        # A-ASSOCIATE-AC by then (pynetdicom aborts on P-DATA that comes first).
        self.peer_ready = threading.Event()
        # Set when a DIMSE message or an ACSE primitive arrives: the idle reactor
        # waits on it instead of polling (dicomnet.idle_wait).
        self._input = threading.Event()
        notify_reactor_on_input(assoc, self._input.set)

    @classmethod
    def install(cls, assoc: Association,
                serves: Callable[[Any], bool] | None = None) -> "DimseRouter":
        """Route ``assoc``'s messages; idempotent (the first ``serves`` stays).

        ``serves(request)`` says whether the reactor may serve a request;
        any other is answered here with 0x0122 SOP Class Not Supported (see
        :meth:`_admit`). None serves all.
        """
        existing = getattr(assoc, "_filmbox_router", None)
        if existing is not None:
            return existing
        router = cls(assoc, serves)
        # returns (None, None) or (context ID, message), as pynetdicom's get_msg
        assoc.dimse.get_msg = router.get_msg  # type: ignore[method-assign, assignment]
        assoc.dimse.send_msg = router.send_msg  # type: ignore[method-assign]
        assoc.acse.is_release_requested = router._release_requested  # type: ignore[method-assign]
        assoc._filmbox_router = router  # type: ignore[attr-defined]
        return router

    def send_request(self, primitive: Any, context_id: int, timeout_s: float) -> Any | None:
        """Send a request and wait up to ``timeout_s`` seconds for its response.

        Returns None if it was not sent (the association is closing) or no
        response came: timeout, or the peer released or aborted meanwhile
        (its release is not held up).
        """
        with self._send_lock:
            if self._closing or not self._assoc.is_established:
                return None
            self._original_send(primitive, context_id)
        message_id = primitive.MessageID
        deadline = time.monotonic() + timeout_s
        while True:
            _, msg = self._take(lambda m: _is_response(m)
                                and m.MessageIDBeingRespondedTo == message_id)
            if msg is not None:
                return msg
            if self.peer_gone() or time.monotonic() >= deadline:
                return None
            time.sleep(_POLL_INTERVAL_S)

    def peer_gone(self) -> bool:
        """True once the peer aborted, or asked to release, the association."""
        assoc = self._assoc
        return (self._closing or assoc.is_aborted or assoc.is_released
                or not assoc.dul.is_alive() or self._acse_pending())

    def send_msg(self, primitive: Any, context_id: int) -> None:
        """Send one DIMSE message whole (the reactor's responses)."""
        with self._send_lock:
            self._original_send(primitive, context_id)
        if getattr(primitive, "MessageIDBeingRespondedTo", None) is not None:
            with self._responded:
                self.responses_sent += 1
                self._responded.notify_all()

    def wait_responses(self, count: int, timeout_s: float) -> bool:
        """Wait until the reactor has sent ``count`` responses in all.

        A handler that reads :attr:`responses_sent` while it serves a request
        waits, with that number plus one, for its own response to be sent (the
        reactor answers one request at a time). False if that did not happen
        within ``timeout_s`` seconds or the peer left.
        """
        deadline = time.monotonic() + timeout_s
        with self._responded:
            while self.responses_sent < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.peer_gone():
                    return False
                self._responded.wait(min(remaining, IDLE_WAIT_S))
            return True

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
        """The reactor's call (``block`` False): the next request, waiting up to
        IDLE_WAIT_S for one (or for a release or abort to look at). Blocking: the
        next response."""
        if not block:
            self._input.clear()  # cleared before looking: an arrival after it wakes the wait
            context_id, msg = self._next_request()
            if msg is None and not self._acse_pending():
                self._input.wait(IDLE_WAIT_S)
                context_id, msg = self._next_request()
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
            time.sleep(_POLL_INTERVAL_S)

    def _acse_pending(self) -> bool:
        """True if the peer's A-RELEASE request, or an abort, waits for the reactor.

        It may have arrived, and woken the idle wait, before this look cleared the
        wake-up: the reactor, which acts on it once ``get_msg`` returns, must not
        then wait IDLE_WAIT_S for it (seen: a release answered 50 ms late).
        """
        pending = self._assoc.dul.peek_next_pdu()
        return (isinstance(pending, A_RELEASE) and pending.result is None) \
            or isinstance(pending, (A_ABORT, A_P_ABORT))

    def _next_request(self) -> tuple[int | None, Any]:
        """The next request for the reactor, if one is queued (those not admitted are
        answered on the spot)."""
        while True:
            context_id, msg = self._take(lambda msg: not _is_response(msg))
            if msg is None:
                return None, None
            assert context_id is not None  # a queued message comes with its context ID
            self.peer_ready.set()
            if self._admit(context_id, msg):
                return context_id, msg

    def _admit(self, context_id: int, request: Any) -> bool:
        """True to hand a request to the reactor; otherwise it is dealt with here.

        pynetdicom 3.0.4 silently drops a request whose command set lacks a
        required element (the peer would wait for ever), and picks the service
        class from the message's SOP Class UID, not from its context (an
        N-ACTION naming a storage class is answered with a C-STORE-RSP, one
        naming no known class is not answered at all). So:

        * an invalid request (PS3.7 10.3: a required command element missing)
          aborts the association, as any PDU that cannot be understood;
        * a request ``serves`` refuses is answered 0x0122 SOP Class Not
          Supported (PS3.7 C.5.x) on its context.

        Requests on a context that was not accepted are left to pynetdicom,
        which aborts the association.
        """
        if not request.is_valid_request:
            LOG.warning("%s: %s request without a required command element: aborting",
                        self._assoc.name, request.msg_type)
            self._assoc.abort()
            return False
        if (self._serves is None or self._serves(request)
                or context_id not in self._assoc._accepted_cx):
            return True
        class_uid = (getattr(request, "AffectedSOPClassUID", None)
                     or getattr(request, "RequestedSOPClassUID", None))
        LOG.warning("%s: %s for SOP class %s -> 0x0122 (not served)", self._assoc.name,
                    request.msg_type, class_uid)
        response = type(request)()
        response.MessageIDBeingRespondedTo = request.MessageID
        response.Status = int(Status.SOP_CLASS_NOT_SUPPORTED)
        try:
            response.AffectedSOPClassUID = class_uid
        except (TypeError, ValueError):  # not a UID pynetdicom can encode: leave it out
            pass
        self.send_msg(response, context_id)
        return False

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

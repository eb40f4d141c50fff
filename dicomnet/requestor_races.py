"""Workarounds for pynetdicom 3.0 requestor races that hang or lose messages.

A print client receives N-EVENT-REPORTs while it sends its own requests.
pynetdicom serves each incoming report on a thread of its own, and four
races follow; each function here closes one of them on a new association
(call at EVT_CONN_OPEN, before the reactor loop starts):

* :func:`send_whole_messages`: a report's answer could interleave with the
  P-DATA fragments of a large N-SET being sent;
* :func:`keep_responses_from_the_reactor`: the reactor could take the
  response of a quick second ``send_*`` and drop it;
* :func:`guard_pause_flag`: the reactor's pause flag could read False for
  good, and the next ``send_*`` or ``release()`` would spin forever;
* :func:`drop_data_after_release_request`: the answer to a report that
  arrives after the release request would end the DUL thread.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pynetdicom.association import Association

from dicomnet.idle_wait import IDLE_WAIT_S, notify_reactor_on_input

LOG = logging.getLogger("dicomnet.requestor_races")


class _ReactorOwnsPauseFlag(Association):
    """An Association whose ``_is_paused`` flag only its reactor thread may change.

    Each incoming N-EVENT-REPORT is served on a thread of its own, and
    ``Association._serve_request`` sets ``_is_paused`` to True and then False
    around the handler. If that happens while the reactor is parked at its
    checkpoint for a ``send_*`` call, the flag reads False for good, and the
    next ``send_*`` or ``release()`` spins forever in ``while not
    self._is_paused``. Writes from other threads (other than ``kill()``'s)
    are ignored, so the flag always tells where the reactor really is; once
    the reactor thread has ended it reads True, so a late ``send_*`` fails
    on the dead association instead of spinning.
    """

    _started: threading.Event  # threading.Thread's, set once the thread runs

    @property
    def _is_paused(self) -> bool:
        if self._kill or (self._started.is_set() and not self.is_alive()):
            return True
        return bool(self.__dict__.get("_reactor_paused", False))

    @_is_paused.setter
    def _is_paused(self, value: bool) -> None:
        if threading.current_thread() is self or (value and self._kill):
            self.__dict__["_reactor_paused"] = value


def guard_pause_flag(assoc: Association) -> None:
    """Make ``assoc`` a :class:`_ReactorOwnsPauseFlag`, keeping the flag's value."""
    assoc.__dict__["_reactor_paused"] = assoc.__dict__.pop("_is_paused", False)
    assoc.__class__ = _ReactorOwnsPauseFlag


def keep_responses_from_the_reactor(assoc: Association) -> None:
    """Let only the waiting ``send_*`` call take responses off the queue.

    Right after one ``send_*`` sets the reactor's checkpoint, ``_is_paused``
    still reads True until the woken reactor runs, so a quick next ``send_*``
    goes ahead while the reactor is about to poll the message queue; the
    reactor then takes that call's response and drops it ("Received
    unexpected ... service message") and the call waits out the DIMSE
    timeout. A requestor's reactor has nothing to serve from the queue
    (incoming N-EVENT-REPORTs are served on threads of their own), so its
    non-blocking polls get nothing.

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

    checkpoint.clear = clear_and_wake  # type: ignore[method-assign]
    notify_reactor_on_input(assoc, wake.set)

    def get_msg(block: bool = False) -> Any:
        if block:
            return blocking_get(block=True)
        wake.clear()  # then look: a request to pause or a peer's PDU after this wakes the wait
        if checkpoint.is_set() and assoc.dul.to_user_queue.empty() and not assoc._kill:
            wake.wait(IDLE_WAIT_S)
        return None, None

    assoc.dimse.get_msg = get_msg  # type: ignore[method-assign]


def send_whole_messages(assoc: Association) -> None:
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

    assoc.dimse.send_msg = send_whole  # type: ignore[method-assign]


def drop_data_after_release_request(assoc: Association) -> None:
    """Drop, instead of dying on, a message queued after ``assoc`` asked to release.

    A report that arrives just after the A-RELEASE-RQ is still served (PS3.8:
    Sta7 takes P-DATA in), and its answer is queued for sending. But Sta7
    sends no P-DATA: pynetdicom's state machine raises InvalidEventError in
    the DUL thread, which ends it (a traceback in the log) while the release
    is under way. Here the answer is taken off the queue and dropped, with a
    log line; the peer, which has the release request, expects nothing more.
    """
    dul = assoc.dul
    machine = dul.state_machine
    do_action = machine.do_action

    def act(event: str) -> None:
        if event == "Evt9" and machine.current_state == "Sta7":  # P-DATA request
            dul.to_provider_queue.get(False)  # the primitive that raised the event
            LOG.info("%s: a message sent after the release request is dropped",
                     assoc.name)
            return
        do_action(event)

    machine.do_action = act  # type: ignore[method-assign]

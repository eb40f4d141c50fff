"""Idle associations that sleep until there is work, instead of polling every millisecond.

pynetdicom 3.0.4 runs two polling loops per association: the DUL thread
checks its socket and its outgoing queue, then sleeps 1 ms; the reactor
thread looks for a request, a release or an abort, then sleeps 1 ms.
Measured here, each idle association costs about 9 % of a core on each end,
so 16 idle associations burn 70 % of a core and contend for the GIL with
the ones at work.

:func:`wait_in_select` (installed at connection open, before the
association's threads start) and :func:`notify_reactor_on_input` turn both
loops into waits that end as soon as there is something to do:

* the DUL waits in ``select`` on its socket *and* on a wake-up pipe that is
  written whenever a primitive is queued for it to send (or it is told to
  stop), for at most :data:`IDLE_WAIT_S`;
* the reactor waits on an event set whenever a DIMSE message or an
  A-RELEASE/A-ABORT primitive arrives for it, for at most
  :data:`IDLE_WAIT_S` (the acceptor's ``DimseRouter.get_msg``; the
  requestor's reactor, which serves nothing from the queue, also wakes when a
  ``send_*`` call asks it to pause: see :mod:`dicomnet.requestor_races`).
  Its loop still begins with pynetdicom's 1 ms sleep
  (``Association._run_reactor``), which then only adds latency: a request
  that arrives during it waits for it to end, and so does every ``send_*``
  call and the release, which wait for the reactor to pause. On such an
  association the sleep lasts :data:`_LOOP_DELAY_S` instead (see
  :class:`_ReactorClock`). Measured with print-scu and print-scp on
  loopback, 1 ms sleeps cost about 1 ms per request on each end and about
  8 ms per release.

Timers (ARTIM, network idle timeout) are still checked at least every
:data:`IDLE_WAIT_S`, which is far below their resolution in seconds.
"""

from __future__ import annotations

import os
import queue
import select
import socket
import ssl
import threading
import time
import weakref
from typing import Any

import pynetdicom.association
from pynetdicom.dul import DULServiceProvider
from pynetdicom.transport import AssociationSocket

IDLE_WAIT_S = 0.05  # longest sleep of an idle DUL or reactor loop
_LOOP_DELAY_S = 0.0001  # the DUL's and reactor's pause between loops (pynetdicom's is 1 ms)
_REACTOR_SLEEP_S = 0.001  # pynetdicom's reactor pause (association.py:714)
_KILL_PAUSE_S = 0.01  # pynetdicom's pause while kill() waits for its DUL (association.py:542)
_KILL_POLL_S = 0.0002  # that pause here


class _WakeablePipe:
    """A pipe whose read end a ``select`` can wait on; ``wake()`` from any thread."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)

    def wake(self) -> None:
        try:
            os.write(self.write_fd, b"\0")
        except (BlockingIOError, OSError):
            pass  # already full of wake-ups, or closing: the reader wakes anyway

    def drain(self) -> None:
        try:
            while os.read(self.read_fd, 4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def close(self) -> None:
        for descriptor in (self.read_fd, self.write_fd):
            try:
                os.close(descriptor)
            except OSError:
                pass


class _WaitingSocket(AssociationSocket):
    """An AssociationSocket whose ``ready`` waits for data or a wake-up (the DUL's sleep)."""

    _filmbox_wake: _WakeablePipe

    @property
    def ready(self) -> bool:
        if self.socket is None or self._is_connected is False:
            return False
        if isinstance(self.socket, ssl.SSLSocket) and self.socket.pending():
            return True  # decrypted bytes that select cannot see
        pipe = self._filmbox_wake
        # Events already queued (e.g. the PDU read in this loop) are handled before any wait.
        wait = 0 if not self.event_queue.empty() else IDLE_WAIT_S
        watched: list[socket.socket | int] = [self.socket, pipe.read_fd]
        try:
            readable, _, _ = select.select(watched, [], [], wait)
        except (OSError, TimeoutError, ValueError):
            self.event_queue.put("Evt17")  # transport connection closed, as pynetdicom does
            return False
        if pipe.read_fd in readable:
            pipe.drain()
        return self.socket in readable


def wait_in_select(assoc: Any) -> None:
    """Make ``assoc``'s DUL thread wait for data or work instead of polling every 1 ms.

    Call before the association's threads start (at EVT_CONN_OPEN).
    """
    dul, transport = assoc.dul, assoc.dul.socket
    pipe = _WakeablePipe()
    weakref.finalize(transport, pipe.close)  # the DUL thread holds the transport while it runs
    transport._filmbox_wake = pipe
    transport.__class__ = _WaitingSocket
    dul.__dict__["_filmbox_kill"] = dul.__dict__.pop("_kill_thread", False)
    dul._filmbox_wake = pipe
    dul.__class__ = _WakeOnStopDUL
    dul._run_loop_delay = _LOOP_DELAY_S  # the idle wait is in ``ready`` now
    _notify_on_put(dul.to_provider_queue, pipe.wake)


class _WakeOnStopDUL(DULServiceProvider):
    """A DUL whose stop flag (``_kill_thread``) wakes its idle wait when set.

    pynetdicom stops a DUL by setting the flag and waiting for the thread to
    end (``kill_dul``, ``stop_dul``, called by every release and abort):
    without the wake-up that wait would last up to IDLE_WAIT_S.
    """

    _filmbox_wake: _WakeablePipe

    @property
    def _kill_thread(self) -> bool:
        return self.__dict__.get("_filmbox_kill", False)

    @_kill_thread.setter
    def _kill_thread(self, value: bool) -> None:
        self.__dict__["_filmbox_kill"] = value
        if value:
            self._filmbox_wake.wake()


def _notify_on_put(target: queue.Queue, notify: Any) -> None:
    """Call ``notify()`` after every ``target.put``."""
    put = target.put

    def put_and_notify(item: Any, block: bool = True, timeout: float | None = None) -> None:
        put(item, block, timeout)
        notify()

    target.put = put_and_notify  # type: ignore[method-assign]


def notify_reactor_on_input(assoc: Any, notify: Any) -> None:
    """Call ``notify()`` whenever a DIMSE message or an ACSE primitive arrives for ``assoc``.

    The caller's ``get_msg`` must wait for that notification when idle: the
    reactor's own 1 ms sleep is shortened to :data:`_LOOP_DELAY_S` here.
    """
    _notify_on_put(assoc.dimse.msg_queue, notify)
    _notify_on_put(assoc.dul.to_user_queue, notify)
    assoc._filmbox_reactor_waits = True
    _ReactorClock.install()


class _ReactorClock:
    """pynetdicom.association's ``time``: ``sleep`` shortens the reactor's loop pause, and
    the pause of ``Association.kill`` while it waits for the DUL to stop.

    On the thread of an association whose reactor waits for input (marked by
    :func:`notify_reactor_on_input`), a sleep of :data:`_REACTOR_SLEEP_S`
    lasts :data:`_LOOP_DELAY_S`; other associations' reactors are not
    affected. ``kill`` (every release and abort) looks every
    :data:`_KILL_PAUSE_S` whether the DUL has reached Sta1 and stopped, on
    any thread: released by print-scu, an association ended 1.5 or 11.5 ms
    later, as its DUL had got there at the first look or not. Here it looks
    every :data:`_KILL_POLL_S`. Every other call goes to :mod:`time`.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        if (seconds == _REACTOR_SLEEP_S
                and getattr(threading.current_thread(), "_filmbox_reactor_waits", False)):
            seconds = _LOOP_DELAY_S
        elif seconds == _KILL_PAUSE_S:
            seconds = _KILL_POLL_S
        time.sleep(seconds)

    @classmethod
    def install(cls) -> None:
        """Give pynetdicom.association this clock (once per process)."""
        if not isinstance(pynetdicom.association.time, cls):
            pynetdicom.association.time = cls()  # type: ignore[assignment]

"""Both roles are hardened by one call each, step by step in the documented order;
their reactors wait for input instead of polling.

A real print-scu association to a real printer on loopback: each hardening
step is wrapped with a recorder that still runs it, and the steps recorded
on each end must be :data:`ACCEPTOR_STEPS` and :data:`REQUESTOR_STEPS` in
that order (TLS's handshake step only runs when the printer serves TLS).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pynetdicom.association
import pytest
from pynetdicom import AE
from pynetdicom._globals import MODE_ACCEPTOR
from pynetdicom.association import Association
from pynetdicom.pdu_primitives import A_ABORT, A_P_ABORT, A_RELEASE, P_DATA
from scp_harness import running_printer
from test_scp_bad_input import association_of, connect
from test_scp_feat_support import wait_until

from dicomnet import hardening, idle_wait
from dicomnet.acceptor_router import DimseRouter
from dicomnet.hardening import ACCEPTOR_STEPS, REQUESTOR_STEPS
from dicomnet.idle_wait import IDLE_WAIT_S


def record_steps(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Wrap every hardening step; the names run, by role ("acceptor", "requestor")."""
    calls: dict[str, list[str]] = {"acceptor": [], "requestor": []}
    lock = threading.Lock()

    def spy(name: str, step: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(target: Any, *args: Any, **kwargs: Any) -> Any:
            assoc = getattr(target, "assoc", target)  # a step takes the association or its socket
            with lock:
                calls["requestor" if assoc.is_requestor else "acceptor"].append(name)
            return step(target, *args, **kwargs)
        return recorded

    for name in {*ACCEPTOR_STEPS, *REQUESTOR_STEPS}:
        monkeypatch.setattr(hardening, name, spy(name, getattr(hardening, name)))
    return calls


def test_each_role_applies_its_steps_in_order(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    calls = record_steps(monkeypatch)
    with running_printer(tmp_path) as server:
        with connect(server) as scu:
            assert scu.verify() == 0x0000
    assert calls["requestor"] == list(REQUESTOR_STEPS)
    assert calls["acceptor"] == [step for step in ACCEPTOR_STEPS if step != "accept_tls"]


def test_the_steps_are_the_module_s_documented_order() -> None:
    doc = hardening.__doc__ or ""
    positions = [doc.index(f"``{step}``") for step in ACCEPTOR_STEPS]
    assert positions == sorted(positions)


# -- the reactor's loop pause -----------------------------------------------------------

def test_only_a_waiting_reactor_s_1_ms_pause_and_every_kill_pause_are_shortened(
        monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[tuple[str, float]] = []
    monkeypatch.setattr(idle_wait.time, "sleep",
                        lambda s: slept.append((threading.current_thread().name, s)))
    clock = idle_wait._ReactorClock()

    def reactor(marked: bool) -> None:
        if marked:
            threading.current_thread()._filmbox_reactor_waits = True  # type: ignore[attr-defined]
        clock.sleep(0.001)
        clock.sleep(0.01)  # Association.kill waiting for its DUL
        clock.sleep(0.1)  # Association.abort

    for marked in (True, False):
        thread = threading.Thread(target=reactor, args=(marked,), name=f"marked={marked}")
        thread.start()
        thread.join(timeout=5)
    assert slept == [("marked=True", 0.0001), ("marked=True", 0.0002), ("marked=True", 0.1),
                     ("marked=False", 0.001), ("marked=False", 0.0002), ("marked=False", 0.1)]
    assert clock.monotonic is time.monotonic  # everything else is the time module's


def test_idle_reactors_wait_instead_of_spinning_on_both_ends(tmp_path: Path) -> None:
    """Over 0.5 s of an idle association, each reactor loops about once per IDLE_WAIT_S."""
    idle_s = 0.5
    with running_printer(tmp_path) as server:
        with connect(server) as scu:
            assert scu.verify() == 0x0000
            requestor = association_of(scu)
            acceptor = server.ae.active_associations[0]
            assert isinstance(pynetdicom.association.time, idle_wait._ReactorClock)
            assert requestor._filmbox_reactor_waits and acceptor._filmbox_reactor_waits
            loops = {"requestor": 0, "acceptor": 0}
            for name, assoc in (("requestor", requestor), ("acceptor", acceptor)):
                get_msg = assoc.dimse.get_msg

                def counted(*args: Any, _name: str = name, _get: Any = get_msg,
                            **kwargs: Any) -> Any:
                    loops[_name] += 1
                    return _get(*args, **kwargs)

                assoc.dimse.get_msg = counted
            time.sleep(idle_s)
            assert scu.verify() == 0x0000  # still served at once after the idle time
    most = idle_s / IDLE_WAIT_S + 5
    assert 0 < loops["requestor"] <= most and 0 < loops["acceptor"] <= most, loops


@pytest.mark.parametrize("pending", [A_RELEASE, A_ABORT, A_P_ABORT])
def test_an_idle_acceptor_reactor_does_not_wait_for_a_release_or_abort_already_queued(
        monkeypatch: pytest.MonkeyPatch, pending: type) -> None:
    """The peer's A-RELEASE-RQ can arrive, and wake the idle wait, just before the reactor's
    next look clears the wake-up: the look must see it and return, not wait IDLE_WAIT_S."""
    assoc = Association(AE(), MODE_ACCEPTOR)  # real pynetdicom objects, no connection
    router = DimseRouter.install(assoc)
    waited: list[float | None] = []
    monkeypatch.setattr(router._input, "wait",
                        lambda timeout=None: waited.append(timeout) or False)
    assert router.get_msg() == (None, None)
    assert waited == [IDLE_WAIT_S]  # nothing for the reactor: it waits
    assoc.dul.to_user_queue.put(pending())  # its wake-up is then cleared by the next look
    assert router.get_msg() == (None, None)
    assert waited == [IDLE_WAIT_S]  # returned at once, for the reactor to act on it
    assert router.peer_gone()


# -- a message queued after the release request ------------------------------------------

def test_a_message_queued_after_the_release_request_is_dropped_not_fatal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """As when an N-EVENT-REPORT's answer is queued just after release() asked to release:
    the DUL sends the A-RELEASE-RQ (Sta7), then meets the P-DATA, which Sta7 may not
    send. The DUL thread lives on and the association ends released."""
    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: died.append(args.exc_value))
    with running_printer(tmp_path) as server:
        scu = connect(server)
        assoc = association_of(scu)
        answer = P_DATA()
        answer.presentation_data_value_list = [[assoc.accepted_contexts[0].context_id,
                                                b"\x03" + bytes(8)]]
        with assoc.dul.to_provider_queue.mutex:  # both queued before the DUL looks
            assoc.dul.to_provider_queue.queue.extend([A_RELEASE(), answer])
        assoc.dul._filmbox_wake.wake()
        assert wait_until(lambda: assoc.dul.state_machine.current_state == "Sta1", 10.0)
        assert assoc.dul.is_alive() or assoc.dul._kill_thread
        assoc.kill()
    assert died == []
    assert assoc.dul.to_provider_queue.empty()

"""Both roles are hardened by one call each, step by step in the documented order.

A real print-scu association to a real printer on loopback: each hardening
step is wrapped with a recorder that still runs it, and the steps recorded
on each end must be :data:`ACCEPTOR_STEPS` and :data:`REQUESTOR_STEPS` in
that order (TLS's handshake step only runs when the printer serves TLS).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scp_harness import running_printer
from test_scp_bad_input import connect

from dicomnet import hardening
from dicomnet.hardening import ACCEPTOR_STEPS, REQUESTOR_STEPS


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

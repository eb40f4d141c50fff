"""dicomnet.socket_tuning.receive_into: whole-PDU reads, same contract as pynetdicom's recv."""

from __future__ import annotations

import socket
import threading
from types import SimpleNamespace

import pytest

from dicomnet.socket_tuning import receive_into


def test_reads_exactly_the_announced_bytes_across_many_sends():
    ours, peer = socket.socketpair()
    payload = bytes(range(256)) * 40_000  # ~10 MB: more than one kernel buffer
    sender = threading.Thread(target=lambda: (peer.sendall(payload + b"next PDU")))
    sender.start()
    transport = SimpleNamespace(socket=ours)
    try:
        assert receive_into(transport, len(payload)) == payload
        assert receive_into(transport, 8) == b"next PDU"  # nothing read beyond the request
    finally:
        sender.join(10)
        ours.close()
        peer.close()


def test_a_closed_connection_returns_what_arrived():
    ours, peer = socket.socketpair()
    peer.sendall(b"only part")
    peer.close()
    try:
        assert receive_into(SimpleNamespace(socket=ours), 100) == b"only part"
    finally:
        ours.close()


def test_a_peer_that_trickles_bytes_is_cut_off_at_the_deadline():
    ours, peer = socket.socketpair()
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(0.05):
            try:
                peer.send(b"x")
            except OSError:
                return

    sender = threading.Thread(target=trickle)
    sender.start()
    try:
        ours.settimeout(1.0)  # each read alone would succeed: a byte comes every 50 ms
        with pytest.raises(TimeoutError, match="of 1000 bytes"):
            receive_into(SimpleNamespace(socket=ours), 1000, timeout_s=0.3)
    finally:
        stop.set()
        sender.join(5)
        ours.close()
        peer.close()

"""True logs: a peer that resets or closes its connection is one INFO line, never an ERROR.

Some SCUs (CTN's print_client among them) reset the TCP connection instead of
closing it once the association is released. The printer did nothing wrong
then, so nothing in its log may say ERROR or carry a traceback.
"""

from __future__ import annotations

import logging
import socket
import struct
import sys
import time
from pathlib import Path

import pytest
from scp_harness import running_printer

# The raw Upper Layer client is a tool shared with the fuzzer, in benchmarks/fuzzing/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from fuzzing import wire  # noqa: E402
from fuzzing.ul_client import RawAssociation  # noqa: E402

from dicomnet.uids import BASIC_GRAYSCALE_PRINT_META, VERIFICATION  # noqa: E402

SETTLE_S = 1.0  # for the printer's connection thread to see the reset and end
ABORT_PDU = bytes([wire.A_ABORT, 0, 0, 0, 0, 4, 0, 0, 0, 0])  # source 0: service user


def reset(raw: RawAssociation) -> None:
    """Close with a TCP RST instead of a FIN (SO_LINGER on, 0 s)."""
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.sock.close()


@pytest.mark.parametrize(("ending", "expected"), [
    # The printer closes its end as soon as it has answered A-RELEASE, so the peer's reset
    # usually finds the connection gone; when it comes first, it is one INFO line.
    ("release, then reset", None),
    ("abort, then reset", None),
    ("reset mid-association", "the peer reset the connection between two PDUs"),
    ("release, then close", None),
])
def test_a_peer_ending_its_connection_is_logged_without_error(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, ending: str,
        expected: str | None) -> None:
    caplog.set_level(logging.INFO)
    with running_printer(tmp_path) as server:
        raw = RawAssociation("127.0.0.1", server.port, [BASIC_GRAYSCALE_PRINT_META, VERIFICATION])
        if ending.startswith("release"):
            assert raw.release(10)
        elif ending.startswith("abort"):
            raw.send(ABORT_PDU)
            time.sleep(0.2)
        if ending.endswith("close"):
            raw.close()
        else:
            reset(raw)
        time.sleep(SETTLE_S)
        with RawAssociation("127.0.0.1", server.port, [VERIFICATION]) as after:
            assert after.release(10)  # the printer serves the next SCU
    troubles = [f"{r.name} {r.levelname}: {r.getMessage()}" for r in caplog.records
                if r.levelno >= logging.WARNING or r.exc_info]
    assert troubles == []
    resets = [r for r in caplog.records if "reset the connection" in r.getMessage()]
    if expected is None:
        assert resets == [] or all(r.levelno == logging.INFO for r in resets)
    else:
        assert [(r.levelname, r.getMessage().split(": ", 1)[1]) for r in resets] == [
            ("INFO", expected)]

"""`print-scu worker` polls idle printers; `print-scu printers` shows their last status.

Against print-scp on 127.0.0.1 with a tiny ``status_poll_interval_s``; the
printer's status is changed in-process (``server.printer.set_status``), and
an unreachable printer is a loopback port nothing listens on.
"""

from __future__ import annotations

import socket
import time
from datetime import datetime
from pathlib import Path

from scp_harness import running_printer
from test_scp_feat_support import wait_until
from test_scu_cli import write_printers
from test_scu_worker import WAIT_S, event_texts, running_worker

from print_scu import cli
from print_scu.config import load_printers
from print_scu.queue import JobQueue

POLL_S = 0.2  # status_poll_interval_s of the printers here


def closed_port() -> int:
    """A loopback port that was free a moment ago (nothing listens on it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def summary(queue: JobQueue, printer: str) -> str | None:
    poll = queue.printer_polls().get(printer)
    return None if poll is None else poll.summary


def test_the_worker_polls_idle_printers_and_printers_shows_the_last_status(
        tmp_path: Path, capsys) -> None:
    spool = tmp_path / "spool"
    queue = JobQueue(spool)
    with running_printer(tmp_path / "out") as server:
        config = write_printers(tmp_path / "printers.toml", {
            "lab": {"host": "127.0.0.1", "port": server.port,
                    "called_ae": server.profile.ae_title, "status_poll_interval_s": POLL_S},
            "gone": {"host": "127.0.0.1", "port": closed_port(), "called_ae": "GONE",
                     "status_poll_interval_s": POLL_S, "acse_timeout_s": 5.0,
                     "network_timeout_s": 5.0}})
        started = time.time()
        with running_worker(queue, printers=load_printers(config)):
            assert wait_until(lambda: summary(queue, "lab") == "NORMAL", WAIT_S)
            server.printer.set_status("FAILURE", "NO FILM")
            assert wait_until(lambda: summary(queue, "lab") == "FAILURE (NO FILM)", WAIT_S)
            assert wait_until(lambda: (summary(queue, "gone") or "").startswith(
                "unreachable: "), WAIT_S)
            # each poll is a short association of its own, released at once
            assert wait_until(lambda: not server.ae.active_associations, WAIT_S)
            server.printer.set_status("NORMAL")
            assert wait_until(lambda: summary(queue, "lab") == "NORMAL", WAIT_S)
            polled = queue.printer_polls()
        assert cli.main(["printers", "--config", str(config), "--spool", str(spool)]) == 0
        listing = capsys.readouterr().out

    assert started <= polled["lab"].time <= time.time()
    assert "could not open a TCP connection" in polled["gone"].info
    # a change is logged once as a printer event, not every poll
    texts = event_texts(queue, None)
    assert [text for text in texts if "unreachable" not in text] == [
        "status poll: NORMAL", "status poll: FAILURE (NO FILM)", "status poll: NORMAL"]
    assert [text for text in texts if "unreachable" in text] == [
        f"status poll: {polled['gone'].summary}"]
    lines = {line.split()[0]: line for line in listing.splitlines() if line.strip()}
    assert "LAST STATUS" in lines["NAME"] and "WHEN" in lines["NAME"]
    when = datetime.fromtimestamp(polled["lab"].time).strftime("%Y-%m-%d %H:%M:%S")
    assert "NORMAL" in lines["lab"] and when in lines["lab"]
    assert "unreachable:" in lines["gone"]


def test_printers_without_polls_say_so(tmp_path: Path, capsys) -> None:
    config = write_printers(tmp_path / "printers.toml", {
        "lab": {"host": "127.0.0.1", "port": 104, "called_ae": "LAB"}})
    assert cli.main(["printers", "--config", str(config), "--spool",
                     str(tmp_path / "spool")]) == 0
    listing = capsys.readouterr().out
    assert "not polled yet" in listing
    assert not (tmp_path / "spool").exists()  # listing printers creates no queue

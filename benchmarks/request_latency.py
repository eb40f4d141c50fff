"""Where each request of a film's association spends its time, print-scp against dcmprscp.

    python benchmarks/request_latency.py [--runs 7] [--json out.json]

The film of the large-PDU ingest (``benchmarks/ingest.py``): STANDARD\\2,2 of
four 2048×2048 8-bit images, sent by the project's SCU (``PrintAssociation``,
in this process) to print-scp (a :class:`~print_scp.server.PrintServer` in this
process, announcing 1 MiB PDUs) and to DCMTK's dcmprscp (its own process,
128 KiB PDUs), A and B alternating, after one warm-up. For every request:

* its round trip as the SCU sees it, from the call to its answer (wall time);
* for print-scp, the time its handler took (``print_scp.service.dispatch``;
  none for the association request and the release), and the rest of the
  round trip: both ends' DIMSE and Upper Layer work, the hand-overs between
  their threads, and the bytes on the wire.

dcmprscp's round trip bounds the SCU's own share of each request from above:
the same SCU sends the same request. Every figure is the median of ``--runs``
films. Last, the cost of handing work from one Python thread to another and
back in this process (``queue.Queue``), idle and while a third thread runs
Python code: a thread that waits for the interpreter lock gets it only when
the running thread blocks or its switch interval (``sys.getswitchinterval``)
ends.
"""

from __future__ import annotations

import argparse
import json
import logging
import queue
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import dcmtk
from harness import timed_calls
from ingest import InProcessPrinter
from run import print_one_film, random_images

from dicomnet.freed_memory import keep_freed_memory
from print_scp.profile import PrinterProfile
from print_scp.service.dispatch import Handlers
from print_scu.association import PrintAssociation

PDU_BYTES = PrinterProfile().max_pdu_bytes  # the Maximum Length print-scp announces by default
#: The SCU's calls of one film, in order (print_one_film), and what each sends.
SCU_CALLS = {"__init__": "A-ASSOCIATE",
             "create_film_session": "N-CREATE Film Session",
             "create_film_box": "N-CREATE Film Box",
             "set_image_box": "N-SET Image Box (4 MiB)",
             "print_film_box": "N-ACTION Film Box",
             "__exit__": "A-RELEASE"}
HANDLERS = ("n_create", "n_set", "n_action")  # print-scp's, one per request above
HAND_OVERS = 2000  # round trips between two threads, for the hand-over figure


@contextmanager
def _recorded(owner: Any, names: tuple[str, ...],
              calls: list[tuple[str, float]]) -> Iterator[None]:
    """Each call of ``owner``'s methods ``names`` appends (name, wall seconds) to ``calls``."""
    def appending(name: str) -> Callable[[float], None]:
        return lambda seconds: calls.append((name, seconds))

    with ExitStack() as restore:
        for name in names:
            restore.enter_context(timed_calls(owner, name, appending(name)))
        yield


def _film_steps(send: Callable[[], float], calls: list[tuple[str, float]]
                ) -> list[tuple[str, float]]:
    """The SCU calls (label, seconds) of the film ``send()`` prints, in order."""
    calls.clear()
    send()
    return [(SCU_CALLS[name], seconds) for name, seconds in calls]


def measure(runs: int) -> dict:
    """Per request: print-scp's round trip and handler time, dcmprscp's round trip."""
    images = random_images(4)
    scu_calls: list[tuple[str, float]] = []
    handler_calls: list[tuple[str, float]] = []
    ours: dict[str, list[list[float]]] = {"round trip": [], "handler": []}
    theirs: list[list[float]] = []
    labels: list[str] = []
    with tempfile.TemporaryDirectory(prefix="request_latency_") as work, \
            _recorded(PrintAssociation, tuple(SCU_CALLS), scu_calls), \
            _recorded(Handlers, HANDLERS, handler_calls), \
            InProcessPrinter(Path(work), PDU_BYTES) as printer, dcmtk.Dcmprscp() as peer:
        # print-scp's film is rendered before dcmprscp's is sent: it would compete for the CPU
        send_ours = printer.timed(lambda: print_one_film(printer.port, images))
        for run in range(runs + 1):  # the first warms up
            handler_calls.clear()
            steps = _film_steps(send_ours, scu_calls)
            # no handler for the association request and the release
            handled = [0.0] + [seconds for _, seconds in handler_calls] + [0.0]
            peer_steps = _film_steps(lambda: print_one_film(peer.port, images), scu_calls)
            if len(handled) != len(steps) or [s[0] for s in peer_steps] != [s[0] for s in steps]:
                raise RuntimeError(f"{len(steps)} requests, {len(handled) - 2} handled")
            if run:
                labels = [label for label, _ in steps]
                ours["round trip"].append([seconds for _, seconds in steps])
                ours["handler"].append(handled)
                theirs.append([seconds for _, seconds in peer_steps])

    def medians(rows: list[list[float]]) -> list[float]:
        return [statistics.median(column) for column in zip(*rows, strict=True)]

    return {"runs": runs, "requests": labels,
            "print_scp_round_trip_s": medians(ours["round trip"]),
            "print_scp_handler_s": medians(ours["handler"]),
            "dcmprscp_round_trip_s": medians(theirs),
            "hand_over_round_trip_s": _hand_over_s(busy=False),
            "hand_over_round_trip_busy_s": _hand_over_s(busy=True)}


def _hand_over_s(busy: bool) -> float:
    """Mean seconds for one thread to hand an item to another and get it back, while a
    third runs Python code if ``busy``."""
    there: queue.Queue[int] = queue.Queue()
    back: queue.Queue[int] = queue.Queue()
    stop = threading.Event()
    rounds = HAND_OVERS // 20 if busy else HAND_OVERS

    def echo() -> None:
        for _ in range(rounds):
            back.put(there.get())

    def spin() -> None:
        while not stop.is_set():
            sum(range(1000))

    threads = [threading.Thread(target=echo)] + ([threading.Thread(target=spin)] if busy else [])
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    for item in range(rounds):
        there.put(item)
        back.get()
    elapsed = time.perf_counter() - started
    stop.set()
    for thread in threads:
        thread.join()
    return elapsed / rounds


def print_table(results: dict) -> None:
    print(f"{'request':<26}{'print-scp':>10}{'handler':>9}{'the rest':>9}{'dcmprscp':>10}"
          f"   (ms, median of {results['runs']} films)")
    totals = [0.0, 0.0, 0.0]
    for label, ours, handler, theirs in zip(
            results["requests"], results["print_scp_round_trip_s"],
            results["print_scp_handler_s"], results["dcmprscp_round_trip_s"], strict=True):
        print(f"{label:<26}{1000 * ours:>10.2f}{1000 * handler:>9.2f}"
              f"{1000 * (ours - handler):>9.2f}{1000 * theirs:>10.2f}")
        totals = [totals[0] + ours, totals[1] + handler, totals[2] + theirs]
    print(f"{'film':<26}{1000 * totals[0]:>10.2f}{1000 * totals[1]:>9.2f}"
          f"{1000 * (totals[0] - totals[1]):>9.2f}{1000 * totals[2]:>10.2f}")
    print(f"thread hand-over and back: {1e6 * results['hand_over_round_trip_s']:.0f} µs idle, "
          f"{1e6 * results['hand_over_round_trip_busy_s']:.0f} µs while another thread runs "
          f"Python (switch interval {1000 * sys.getswitchinterval():.0f} ms)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    keep_freed_memory()  # this process is print-scu (and an in-process print-scp) here
    logging.getLogger("print_scp").setLevel(logging.ERROR)  # the images' B604 warnings
    results = measure(args.runs)
    print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

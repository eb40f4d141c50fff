"""Ingest only: print-scp against DCMTK's dcmprscp, at small and large PDUs.

    python benchmarks/ingest.py [--runs N] [--pdu-kib 4 16 32] [--json results.json]
    python benchmarks/ingest.py --profile ingest.pstats [--runs N] [--pdu-kib 16]

One film, STANDARD\\2,2 of four 2048×2048 8-bit images (16 MiB of pixels),
association request to release, sent by

* DCMTK's dcmprscu (wall time of the process) at each ``--pdu-kib``: the
  receiver announces that Maximum Length, so dcmprscu sends PDUs of that size;
* the project's SCU (``PrintAssociation``, timed in process): 1 MiB PDUs to
  print-scp, 128 KiB (DCMTK's largest) to dcmprscp;

to print-scp (``print-scp serve`` in its own process, with ``--max-pdu`` for
dcmprscu) and to dcmprscp, A and B alternating, after one warm-up; the median
of ``--runs`` runs. Each printer's CPU per film is that of its own process (not
print-scp's render processes). For the print-scu runs this process takes
print-scu's malloc settings (``dicomnet.freed_memory``). Between runs the
benchmark waits until print-scp has written the previous film. The
physical limit is the loopback copy of the same 16 MiB: one thread sends, one
receives into a buffer, as many bytes per call as the kernel gives.

``--profile`` runs dcmprscu → print-scp ``--runs`` times at the first
``--pdu-kib``, print-scp a :class:`~print_scp.server.PrintServer` in this
process with cProfile in every thread it starts, writes the merged
statistics to the given file and prints the functions with the most own time.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import pstats
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import dcmtk
from harness import PrintScpProcess, WrittenFilms, alternate, process_cpu_s, run_time_s
from run import print_one_film, random_images, summary

from dicomnet.freed_memory import keep_freed_memory
from print_scp.profile import PrinterProfile
from print_scp.server import PrintServer

PIXEL_BYTES = 4 * 2048 * 2048
CALLED_AE = PrinterProfile().ae_title


class InProcessPrinter(WrittenFilms):
    """print-scp in this process on a free loopback port, announcing ``max_pdu`` bytes."""

    def __init__(self, workdir: Path, max_pdu: int) -> None:
        self.output = Path(tempfile.mkdtemp(prefix="out_", dir=workdir))
        self.server = PrintServer(PrinterProfile(), self.output)
        self.server.ae.maximum_pdu_size = max_pdu
        self.port = 0
        self.sent = 0

    def __enter__(self) -> InProcessPrinter:
        self.port = self.server.start("127.0.0.1", 0)[1]
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.stop()



def loopback_copy_s(nr_bytes: int) -> float:
    """Seconds to send ``nr_bytes`` from one loopback socket to another (received into
    one preallocated buffer)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        sender = socket.create_connection(listener.getsockname())
        receiver, _ = listener.accept()
    payload = bytes(nr_bytes)
    buffer = bytearray(nr_bytes)
    with sender, receiver:
        started = time.perf_counter()
        thread = threading.Thread(target=sender.sendall, args=(payload,))
        thread.start()
        view, received = memoryview(buffer), 0
        while received < nr_bytes:
            received += receiver.recv_into(view[received:])
        elapsed = time.perf_counter() - started
        thread.join(timeout=10)
    return elapsed


def bench_small_pdus(workdir: Path, stored: Path, pdu_bytes: int, runs: int) -> dict:
    """dcmprscu to print-scp and to dcmprscp, both announcing ``pdu_bytes``; also the CPU
    time (ms) each printer spent on each film (see :func:`_counting_cpu`; dcmprscp's is
    its run time to the nanosecond, :func:`harness.run_time_s`: it is one thread), how
    much of each run dcmprscu waited for the printer (``printer_ms``) or worked on its
    own, and the best ratio any printer could score in this run (``best_ratio``).

    That bound: a printer that spent no CPU at all would shorten dcmprscp's runs by
    at most dcmprscp's own CPU time (it waits on nothing but the network: it does
    not fsync), and none can finish before dcmprscu's own work is done
    (``scu_own_ms``). So no printer's median can be below ``max(wall - CPU time,
    dcmprscu's own time)`` of dcmprscp's median run.
    """
    cpu: dict[str, list[float]] = {"print-scp": [], "dcmprscp": []}
    sends: dict[str, list[dcmtk.StoredPrintSend]] = {"print-scp": [], "dcmprscp": []}

    def send(name: str, port: int, called_ae: str) -> float:
        sends[name].append(dcmtk.send_stored_print_timed(stored, port, called_ae))
        return sends[name][-1].wall_s

    with PrintScpProcess(workdir, "--max-pdu", str(pdu_bytes)) as ours, \
            dcmtk.Dcmprscp(max_pdu=pdu_bytes) as peer:
        assert ours.process is not None
        printer_pid = ours.process.pid

        def ours_send() -> float:
            return _counting_cpu(cpu["print-scp"], lambda: process_cpu_s(printer_pid),
                                 lambda: send("print-scp", ours.port, CALLED_AE))

        def peer_send() -> float:
            return _counting_cpu(cpu["dcmprscp"], lambda: run_time_s(peer.pid),
                                 lambda: send("dcmprscp", peer.port, peer.aetitle))

        times = alternate({"print-scp": ours.timed(ours_send), "dcmprscp": peer_send}, runs)
    result = _comparison(times)
    result["cpu_ms"] = {name: 1000 * statistics.median(values[-runs:])
                        for name, values in cpu.items()}
    result["printer_ms"] = {name: 1000 * statistics.median(s.printer_s for s in values[-runs:])
                            for name, values in sends.items()}
    result["printer_ratio"] = result["printer_ms"]["print-scp"] / result["printer_ms"]["dcmprscp"]
    # dcmprscu's own time, the same work whichever printer it sends to: the fastest of all runs
    scu_own_s = min(s.scu_own_s for values in sends.values() for s in values[-runs:])
    result["scu_own_ms"] = 1000 * scu_own_s
    result["best_ratio"] = _best_ratio(times["dcmprscp"], cpu["dcmprscp"][-runs:], scu_own_s)
    return result


def _best_ratio(peer_walls_s: list[float], peer_cpu_s: list[float],
                client_own_s: float = 0.0) -> float:
    """The best ratio to dcmprscp any printer could score (see :func:`bench_small_pdus`):
    dcmprscp's median wall time less its median CPU time, and never below the client's
    own time, over its median wall time."""
    wall_s = statistics.median(peer_walls_s)
    return max(wall_s - statistics.median(peer_cpu_s), client_own_s) / wall_s


def _counting_cpu(record: list[float], cpu_s: Callable[[], float],
                  send: Callable[[], float]) -> float:
    """``send()``, appending the CPU seconds ``cpu_s`` grew by meanwhile to ``record``."""
    before = cpu_s()
    elapsed = send()
    record.append(cpu_s() - before)
    return elapsed


def bench_large_pdus(workdir: Path, images: list, runs: int) -> dict:
    """print-scu to print-scp (1 MiB PDUs) and to dcmprscp (DCMTK's largest); print-scp in
    its own process here, as print-scu runs in this one. ``best_ratio`` bounds what any
    printer could score, as in :func:`bench_small_pdus` (dcmprscp's wall less its
    run time)."""
    peer_run: list[float] = []
    with PrintScpProcess(workdir) as ours, dcmtk.Dcmprscp() as peer:
        times = alternate({
            "print-scp": ours.timed(lambda: print_one_film(ours.port, images)),
            "dcmprscp": lambda: _counting_cpu(peer_run, lambda: run_time_s(peer.pid),
                                              lambda: print_one_film(peer.port, images)),
        }, runs)
    result = _comparison(times)
    result["best_ratio"] = _best_ratio(times["dcmprscp"], peer_run[-runs:])
    return result


def _comparison(times: dict[str, list[float]]) -> dict:
    return {"times": {name: summary(t, pixel_bytes=PIXEL_BYTES) for name, t in times.items()},
            "ratio": statistics.median(times["print-scp"]) / statistics.median(times["dcmprscp"])}


@contextmanager
def profiled_threads(profile: cProfile.Profile) -> Iterator[None]:
    """Every thread started in the block runs under its own cProfile; merged into
    ``profile``'s statistics file afterwards (see :func:`profile_ingest`)."""
    profiles: list[cProfile.Profile] = []
    original_run = threading.Thread.run

    def run(thread: threading.Thread) -> None:
        own = cProfile.Profile()
        profiles.append(own)
        own.enable()
        try:
            original_run(thread)
        finally:
            own.disable()

    threading.Thread.run = run  # type: ignore[method-assign, assignment]
    try:
        yield
    finally:
        threading.Thread.run = original_run  # type: ignore[method-assign]
        profile.profiles = profiles  # type: ignore[attr-defined]


def profile_ingest(workdir: Path, stored: Path, pdu_bytes: int, runs: int,
                   output: Path) -> None:
    """dcmprscu → print-scp ``runs`` times, every print-scp thread profiled; statistics
    to ``output``, the top of them printed."""
    holder = cProfile.Profile()
    with profiled_threads(holder), InProcessPrinter(workdir, pdu_bytes) as ours:
        for _ in range(runs):
            ours.timed(lambda: dcmtk.send_stored_print(stored, ours.port, CALLED_AE))()
    profiles = holder.profiles  # type: ignore[attr-defined]
    stats = pstats.Stats(profiles[0])
    for other in profiles[1:]:
        stats.add(other)
    stats.dump_stats(output)
    pdus = runs * (PIXEL_BYTES // (pdu_bytes - 12) + 1)
    print(f"{runs} films, about {pdus} P-DATA-TF PDUs of {pdu_bytes} bytes; "
          f"statistics in {output}")
    stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure [5]")
    parser.add_argument("--pdu-kib", type=int, nargs="+", default=[4, 16, 32],
                        help="PDU sizes for dcmprscu, KiB (4..128) [4 16 32]")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--profile", type=Path, help="profile print-scp instead; pstats file")
    args = parser.parse_args(argv)
    if not dcmtk.dcmtk_available():
        print("DCMTK (dcmprscp, dcmprscu, dcmpsprt) is not installed", file=sys.stderr)
        return 1
    logging.getLogger("print_scp").setLevel(logging.ERROR)  # the in-process printer's B604s
    images = random_images(4)
    with tempfile.TemporaryDirectory(prefix="bench_ingest_") as tmp:
        workdir = Path(tmp)
        (workdir / "stored").mkdir()
        stored = dcmtk.build_stored_print(workdir / "stored", images, 2, 2)
        if args.profile:
            profile_ingest(workdir, stored, args.pdu_kib[0] * 1024, args.runs, args.profile)
            return 0
        loopback = [loopback_copy_s(PIXEL_BYTES) for _ in range(args.runs)]
        small = {f"{kib} KiB": bench_small_pdus(workdir, stored, kib * 1024, args.runs)
                 for kib in args.pdu_kib}
        keep_freed_memory()  # from here this process is print-scu: its malloc settings
        results = {
            "loopback_copy": summary(loopback, pixel_bytes=PIXEL_BYTES),
            "dcmprscu": small,
            "print-scu": bench_large_pdus(workdir, images, args.runs),
            "runs": args.runs,
        }
    _print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def _print_table(results: dict) -> None:
    def row(label: str, s: dict) -> None:
        print(f"  {label:<48}{s['median_s'] * 1000:>9.1f} ms{s['MiB_per_s']:>9.0f} MiB/s")

    print(f"ingest STANDARD\\2,2, 4 × 2048² 8-bit, median of {results['runs']} "
          "(association request → release)")
    row("loopback copy of the pixels", results["loopback_copy"])
    cases = [(f"dcmprscu, {pdu} PDUs", r) for pdu, r in results["dcmprscu"].items()]
    cases.append(("print-scu, 1 MiB / 128 KiB PDUs", results["print-scu"]))
    for label, result in cases:
        for name, s in result["times"].items():
            row(f"{label} → {name}", s)
        print(f"  {'ratio print-scp / dcmprscp':<48}{result['ratio']:>12.2f}"
              f"  (no printer could score below {result['best_ratio']:.2f})")
        if "cpu_ms" in result:
            print(f"  {'CPU per film, ms: print-scp, dcmprscp':<48}"
                  f"{result['cpu_ms']['print-scp']:>9.1f}{result['cpu_ms']['dcmprscp']:>9.1f}")
            print_printer_share(result)


def print_printer_share(result: dict) -> None:
    """The lines that split a dcmprscu comparison into the printer's time and dcmprscu's."""
    waited = result["printer_ms"]
    print(f"  {'dcmprscu waiting for the printer, ms: print-scp, dcmprscp':<58}"
          f"{waited['print-scp']:>7.1f}{waited['dcmprscp']:>7.1f}  ratio "
          f"{result['printer_ratio']:.2f}")
    print(f"  {'dcmprscu on its own, ms (fastest run)':<58}{result['scu_own_ms']:>7.1f}")


if __name__ == "__main__":
    sys.exit(main())

"""Queue overhead of the print client: through the durable queue vs a direct send.

    python benchmarks/queue_overhead.py [--films 10] [--runs 5] [--json out.json]

Both paths print the same prepared films (STANDARD\\2,2, four 512×512 8-bit
images each) to ``print-scp`` running in its own process:

- queue: ``JobQueue.submit`` (pixels fsynced to the spool, row committed),
  then a ``Worker`` delivers the job (Printer N-GET, per-film progress
  committed after each N-ACTION; the printer is configured without Print
  Job, so a film counts once its N-ACTION is accepted, as on the direct path).
  Every run opens the queue as ``print-scu print`` does, in one spool
  directory that lives as long as the benchmark, as a user's spool does: the
  queue database is created once, not at every run;
- direct: one ``PrinterSession`` prints the films, nothing stored.

Runs alternate A and B, each starting once the printer is idle: the films of the
run before rendered, its job documents written, its spool empty, and its
processes quiet (else its render processes would compete with the next run for
the CPU, and the printer's queue would fill up); the figure is the ratio of the
medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from harness import wait_until_idle

from dicomnet.freed_memory import keep_freed_memory
from print_scp.launcher import free_port, start_print_scp
from print_scu.config import adhoc_printer
from print_scu.options import PrintOptions
from print_scu.prepared_image import PreparedImage
from print_scu.queue import JobQueue, JobState
from print_scu.session import PrinterSession
from print_scu.worker import Worker

IMAGE_SIDE = 512
BOXES = 4


def _films(count: int) -> list[list[PreparedImage]]:
    rng = np.random.default_rng(7)
    return [[PreparedImage(rng.integers(0, 256, (IMAGE_SIDE, IMAGE_SIDE), dtype=np.uint8),
                           "MONOCHROME2", 8, f"bench#{film}.{box}") for box in range(BOXES)]
            for film in range(count)]


def through_queue(spool: Path, printer, options: PrintOptions, films) -> float:
    started = time.perf_counter()
    queue = JobQueue(spool)
    job_id = queue.submit(printer, options, films)
    Worker(queue, printers={printer.name: printer}).run_until_idle(timeout_s=600)
    elapsed = time.perf_counter() - started
    record = queue.get(job_id)
    if record is None or record.state is not JobState.DONE:
        state, error = (record.state, record.last_error) if record else ("missing", None)
        raise RuntimeError(f"queued job ended {state}: {error}")
    return elapsed


def direct(printer, options: PrintOptions, films) -> float:
    started = time.perf_counter()
    session = PrinterSession(printer)
    try:
        session.begin_job(options, "bench")
        for index, images in enumerate(films):
            session.print_film(images, options, index, "bench")
        session.end_job()
    finally:
        session.close()
    return time.perf_counter() - started


def measure(film_count: int, runs: int) -> dict:
    """Median seconds of ``film_count`` films through the queue and direct, alternating."""
    films = _films(film_count)
    options = PrintOptions(display_format="STANDARD\\2,2")
    port = free_port()
    with tempfile.TemporaryDirectory() as work:
        work_dir = Path(work)
        (work_dir / "out").mkdir()
        printer_process = start_print_scp(work_dir / "out", port)
        # Without Print Job both paths end at the last N-ACTION: with it, the queue would also
        # wait for every film to be rendered (tracking to DONE), which a direct send does not.
        printer = adhoc_printer("127.0.0.1", port, "FILMBOX", idle_keep_open_s=0,
                                print_job=False)
        queued, sent = [], []
        printed = 0

        def rendered(count: int) -> None:
            """Wait (untimed) until the printer has rendered ``count`` more films and is
            idle, so that every run starts with the printer idle."""
            nonlocal printed
            printed += count
            wait_until_idle(printer_process.pid, work_dir / "out", printed)

        try:
            direct(printer, options, films[:1])  # warm-up
            rendered(1)
            for run in range(runs):
                queued.append(through_queue(work_dir / "spool", printer, options, films))
                rendered(film_count)
                sent.append(direct(printer, options, films))
                rendered(film_count)
        finally:
            printer_process.terminate()
            printer_process.wait(timeout=60)
    result = {"films": film_count, "runs": runs,
              "queue_median_s": statistics.median(queued),
              "direct_median_s": statistics.median(sent), "queue_s": queued, "direct_s": sent}
    result["ratio"] = result["queue_median_s"] / result["direct_median_s"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    keep_freed_memory()  # this process is print-scu here: its malloc settings
    result = measure(args.films, args.runs)
    print(f"{args.films} films x {BOXES} images {IMAGE_SIDE}²: queue "
          f"{result['queue_median_s']:.3f} s, direct {result['direct_median_s']:.3f} s, "
          f"ratio {result['ratio']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

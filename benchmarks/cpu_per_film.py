"""CPU seconds per film, stage by stage, for the end-to-end film of benchmarks/suite.py.

    python benchmarks/cpu_per_film.py [--runs 5] [--json out.json]

The film: 8×10 in, STANDARD\\1,1, one 512² 8-bit image (``e2e_film.smooth_images``),
printed at print-scp's standard 150 dpi. Every stage runs in this process,
one after the other, and is measured with ``time.process_time`` (CPU of all
the process's threads, so the PNG encoder's deflate threads and the spool's
background fsync count), each stage lasting until the process is quiet again:

1. ingest: print-scu's association (``run.print_one_film``) to a print-scp
   (``PrintServer``) in this process, request to release, both ends; the
   printer is held in FAILURE, so the job waits in its spool instead of
   being rendered (which would happen in a render process, unmeasured).
2. spool: the same job saved into a fresh spool (``Spool.save``: arrays, job
   JSON, background fsync), as print-scp does within the ingest; the
   ``DIMSE`` row is ingest minus spool.
3. render process: ``render_spooled_film`` and ``write_named_job_document``
   (what print-scp's render process runs) on that spool. The film's stages
   are the CPU spent inside the functions that do them (``Spool.load``,
   ``render_film``, ``encode_rasters``/``png_file`` with the deflate threads
   they wait for (the density units and light-box gray, computed strip by
   strip in those threads, count here), the film page's ``pdf_document``, the JSON document,
   ``os.fsync``), each wrapped in a ``process_time`` reading while the film
   is written; "other" is the rest of ``render_spooled_film``. (cProfile
   would charge its own cost to the Python-heavy stages, JSON and PDF,
   many times over.)

The encode floor is ``e2e_film.encode_floor_cpu_s``: the film writer's own
encoder on this film's two canvases (light box and density), alone. The
process takes, at its start, the malloc settings of print-scu, print-scp serve
and the render processes (``dicomnet.freed_memory``). Every figure is the
median of ``--runs`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
from e2e_film import E2E_DPI, E2E_FILM_SIZE, encode_floor_cpu_s, smooth_images
from harness import timed_calls
from run import print_one_film

from dicomnet.freed_memory import keep_freed_memory
from dicomnet.terms import PrinterStatus
from film import writers
from print_scp.output import render_process
from print_scp.output.render_process import render_spooled_film, write_named_job_document
from print_scp.output.spool import Spool
from print_scp.profile import PrinterProfile
from print_scp.server import PrintServer

QUIET_CPU_S = 0.002  # CPU per QUIET_POLL_S below which the process counts as quiet
QUIET_POLL_S = 0.05
QUIET_TIMEOUT_S = 30.0

#: Render-process stages: the functions (object, attribute) whose CPU makes each
#: stage; none calls another.
RENDER_STAGES: dict[str, list[tuple[Any, str]]] = {
    "load from spool": [(Spool, "load")],
    "render": [(render_process, "render_film")],
    "units, light box, encode (PNG)": [(writers, "encode_rasters"), (writers, "png_file")],
    "PDF (film page)": [(writers, "pdf_document")],
    "JSON": [(writers, "_json_document")],
    "fsync (film files)": [(os, "fsync")],
}


def _quiet_cpu_s(started: float) -> float:
    """CPU seconds since ``started`` (process_time), read once the process is quiet:
    the background threads a stage started (spool fsync, deflate) have finished."""
    deadline = time.monotonic() + QUIET_TIMEOUT_S
    while time.monotonic() < deadline:
        before = time.process_time()
        time.sleep(QUIET_POLL_S)
        if time.process_time() - before < QUIET_CPU_S:
            return before - started
    raise RuntimeError(f"the process did not go quiet within {QUIET_TIMEOUT_S:.0f} s")


def _cpu_s(work: Callable[[], object]) -> float:
    """CPU seconds of ``work()`` and of what it left running in the background."""
    _quiet_cpu_s(time.process_time())
    started = time.process_time()
    work()
    return _quiet_cpu_s(started)


def _ingest(server: PrintServer, port: int, image: np.ndarray) -> tuple[float, str]:
    """CPU seconds of one film's association, both ends, and the UID of the job it spooled."""
    before = set(server.spool.pending())
    cpu = _cpu_s(lambda: print_one_film(port, [image], "STANDARD\\1,1", E2E_FILM_SIZE))
    spooled = set(server.spool.pending()) - before
    if len(spooled) != 1:
        raise RuntimeError(f"the film left {len(spooled)} jobs in print-scp's spool, not 1")
    return cpu, spooled.pop()


def _render_process(spool: Spool, job_uid: str, output: Path) -> dict[str, float]:
    """CPU seconds by stage of the render process's work for ``job_uid``."""
    stages = dict.fromkeys(RENDER_STAGES, 0.0)

    def adding_to(stage: str) -> Callable[[float], None]:
        def add(seconds: float) -> None:
            stages[stage] += seconds
        return add

    with ExitStack() as timing:
        for stage, functions in RENDER_STAGES.items():
            for owner, attribute in functions:
                timing.enter_context(timed_calls(owner, attribute, adding_to(stage),
                                                 time.process_time))
        film_cpu = _cpu_s(lambda: render_spooled_film(str(spool.root), job_uid, 0, str(output)))
    stages["other (render process)"] = film_cpu - sum(stages.values())
    names = [film.name for film in spool.load(job_uid).films]  # as the server names them
    stages["job document (PDF, fsync)"] = _cpu_s(
        lambda: write_named_job_document(str(output), names, True, {}))
    return stages


def _one_run(server: PrintServer, port: int, image: np.ndarray,
             workdir: Path) -> dict[str, float]:
    """One film's CPU seconds by stage."""
    ingest, job_uid = _ingest(server, port, image)
    job = server.spool.load(job_uid)
    spool = Spool(Path(tempfile.mkdtemp(prefix="spool_", dir=workdir)))
    spool_cpu = _cpu_s(lambda: spool.save(job))
    stages = {"DIMSE (print-scu + print-scp)": ingest - spool_cpu,
              "spool (write, fsync)": spool_cpu}
    stages.update(_render_process(spool, job_uid, Path(tempfile.mkdtemp(dir=workdir))))
    server.spool.remove(job_uid)
    return stages


def measure(runs: int) -> dict:
    """The encode floor, then ``runs`` films after one warm-up (the process has the
    malloc settings of both ends and the render processes: see :func:`main`)."""
    image = smooth_images(1, 512)[0]
    with tempfile.TemporaryDirectory(prefix="cpu_per_film_") as name:
        workdir = Path(name)
        floor = encode_floor_cpu_s(workdir, image, runs)
        server = PrintServer(PrinterProfile(), workdir / "printer", render_processes=1)
        _, port = server.start("127.0.0.1", 0)
        try:
            server.printer.set_status(PrinterStatus.FAILURE, "FILM JAM")  # jobs stay spooled
            results = [_one_run(server, port, image, workdir) for _ in range(runs + 1)][1:]
        finally:
            server.stop()
    stages = {stage: statistics.median(r[stage] for r in results) for stage in results[0]}
    total = sum(stages.values())
    return {"film": f"{E2E_FILM_SIZE} STANDARD\\1,1, one 512² 8-bit image, {E2E_DPI} dpi",
            "runs": runs, "stages_cpu_s": stages, "total_cpu_s": total,
            "encode_floor_cpu_s": floor, "ratio_to_encode_floor": total / floor}


def print_stages(results: dict, indent: str = "  ") -> None:
    """The stages of :func:`measure`'s ``results``, their total and its ratio to the floor."""
    total = results["total_cpu_s"]
    for stage, seconds in results["stages_cpu_s"].items():
        print(f"{indent}{stage:<32}{1000 * seconds:>8.1f} ms{100 * seconds / total:>6.0f} %")
    print(f"{indent}{'total':<32}{1000 * total:>8.1f} ms")
    print(f"{indent}encode floor (the writer's encoder on the two canvases alone) "
          f"{1000 * results['encode_floor_cpu_s']:.1f} ms; total / floor "
          f"{results['ratio_to_encode_floor']:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    keep_freed_memory()  # as print-scu, print-scp serve and the render processes do
    results = measure(args.runs)
    print(f"CPU per film, {results['film']} (median of {results['runs']} runs)")
    print_stages(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

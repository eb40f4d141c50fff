"""The benchmark suite of filmbox: ingest, render, end to end, queue overhead, scaling.

    python benchmarks/suite.py [--quick] [--runs N] [--json results.json]

Every figure is the median of ``--runs`` runs (after one warm-up). Every
comparison with a peer is measured in the same run, A and B alternating, and
reported as the ratio A/B of the medians:

1. ingest (benchmarks/ingest.py): a STANDARD\\2,2 film of four 2048×2048
   8-bit images, association request to release, to ``print-scp`` and to
   DCMTK's dcmprscp: sent by DCMTK's dcmprscu (wall time of the process) at
   PDUs of 4, 16 and 32 KiB, and by the project's SCU (``PrintAssociation``,
   in process) at 1 MiB; with the loopback copy of the same bytes as the
   physical limit. Between runs the suite waits until print-scp has written
   the previous film, so background rendering does not overlap the next ingest.
2. render: 14×17 in at 150/300/600 dpi with 1, 4 and 20 images (render_film +
   write_film) against encoding the same final canvases (8-bit light box PNG
   + 16-bit density PNG) alone: with Pillow at the writer's zlib settings
   (level 1, Z_RLE; the baseline) and with the writer's own encoder.
3. end to end: N films from one ``print-scu print --associations A``
   until every PDF exists, over A = 1/4/16 concurrent associations; 8×10 in films
   of one 512² image at the printer's standard 150 dpi, print-scp as it starts
   (one render process); films per minute and print-scp's peak RSS (VmHWM), a
   fresh print-scp per run. The 100-film cases run once (no median), to fit the
   suite in about 10 minutes, then once more for memory alone: the peak of
   the PSS of print-scp and its render processes summed, sampled every 20 ms
   (summed VmHWM counts the pages they share once per process; PSS divides
   them among their sharers). The 100 films over 16 associations run once
   more with two render processes, for films per minute (no target). Then the
   same film's CPU by stage, every stage in one process
   (benchmarks/cpu_per_film.py): DIMSE, spool, load, render, encode, PDF,
   JSON, fsync, the rest of the render process, the job document.
4. queue overhead: benchmarks/queue_overhead.py (queue / direct), median of at least
   15 runs: the two paths differ by a few per cent, identical runs by up to half (a
   median of 7 moved the ratio by ±0.1 from one suite run to the next).
5. scaling: ingest and render+write time against image side (512² … 4096²,
   one image) and image count (1, 4, 9, 16 of 1024²; render at 150 dpi), with the exponent k of
   time ∝ pixels^k between the two largest points.

Last, every performance target is printed as the measured figure (mostly a
ratio) with PASS or MISS: small-PDU ingest ≤ 0.8× dcmprscp at each PDU size,
large-PDU ingest ≤ 0.6× and ≥ 400 MiB/s, CPU per film of the 100-film runs
≤ 2.0× the writer's own encode of the film's canvases (client, printer and
render processes summed; the printer's start-up excluded, which goes on after
it listens, until its render processes have started; the client's included),
peak RSS of print-scp and its render processes summed ≤ 150 MiB + 3 × the
pixel bytes of the films in flight, and queue overhead ≤ 1.05×. Each ingest
target also gives the best ratio any printer could score in that run:
dcmprscp's median time less its own run time on a CPU (a printer that spent
none would save at most that), and never below dcmprscu's own work
(``ingest.bench_small_pdus``).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import math
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cpu_per_film
import dcmtk
import ingest
import numpy as np
import queue_overhead
from e2e_film import E2E_FILM_SIZE, encode_floor_cpu_s, filmbox_encode, smooth_images
from harness import PDF_WAIT_S, PeakPss, PrintScpProcess, alternate, wait_for_pdfs
from ingest import print_printer_share
from PIL import Image
from run import film_spec, print_one_film, random_images, summary

from dicomnet.freed_memory import keep_freed_memory
from film.model import FilmSpec
from film.render import render_film
from film.writers import write_film
from print_scp.output.render_pool import DEFAULT_RENDER_PROCESSES

FORMATS = {1: "STANDARD\\1,1", 4: "STANDARD\\2,2", 9: "STANDARD\\3,3", 16: "STANDARD\\4,4",
           20: "STANDARD\\4,5"}
SCALING_DPI = 150  # render scaling: the film's canvas size stays fixed, only the input grows
PDU_KIB = (4, 16, 32)  # PDU sizes of the small-PDU ingest, KiB (syngo MR announces 32)


def _ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    return statistics.median(times[a]) / statistics.median(times[b])


# --------------------------------------------------------------------------
# 1. ingest
# --------------------------------------------------------------------------


def bench_ingest(workdir: Path, runs: int) -> dict:
    """benchmarks/ingest.py's comparisons: dcmprscu at each of :data:`PDU_KIB`, print-scu
    at 1 MiB, and the loopback copy of the same bytes (the physical limit)."""
    images = random_images(4)
    stored_dir = workdir / "stored"
    stored_dir.mkdir()
    stored = dcmtk.build_stored_print(stored_dir, images, 2, 2)
    small = {kib: ingest.bench_small_pdus(workdir, stored, kib * 1024, runs) for kib in PDU_KIB}
    # From here this process is print-scu (ingest, queue overhead) or renders as a render
    # process does (render): both take these malloc settings, as print-scp serve does.
    keep_freed_memory()
    large = ingest.bench_large_pdus(workdir, images, runs)
    loopback = [ingest.loopback_copy_s(ingest.PIXEL_BYTES) for _ in range(max(runs, 3))]
    return {"small_pdus": small, "large_pdus": large,
            "loopback_copy": summary(loopback, pixel_bytes=ingest.PIXEL_BYTES),
            "ratio_scp_with_dcmprscu_by_pdu_kib": {kib: r["ratio"] for kib, r in small.items()},
            "ratio_scp_with_own_scu": large["ratio"],
            "print_scp_MiB_per_s": large["times"]["print-scp"]["MiB_per_s"]}


# --------------------------------------------------------------------------
# 2. render
# --------------------------------------------------------------------------


def _pillow_encode(pixels: np.ndarray, dpi: int) -> None:
    """Pillow's PNG at the writer's zlib settings (level 1, run-length strategy)."""
    Image.fromarray(pixels).save(io.BytesIO(), format="PNG", compress_level=1,
                                 compress_type=zlib.Z_RLE, dpi=(dpi, dpi))


def render_case(workdir: Path, images: list[np.ndarray], count: int, dpi: int,
                runs: int) -> dict:
    """render_film + write_film vs encoding the two final PNG canvases alone, alternating.

    Two baselines: Pillow at the writer's zlib settings (a "bare
    encode") and the writer's own encoder (film.png), which is the stricter.
    """
    spec = film_spec(images, FORMATS[count], dpi)
    written: list = []

    def ours() -> float:
        started = time.perf_counter()
        files = write_film(render_film(spec), workdir, f"render-{len(written)}", {})
        elapsed = time.perf_counter() - started
        written.append(files)
        return elapsed

    ours()  # warm-up; the canvases Pillow encodes are read back from the written PNGs
    with Image.open(written[0].png) as light, Image.open(written[0].density_png) as density:
        canvases = [np.asarray(light), np.asarray(density).astype(np.uint16)]

    def bare(encode: Callable[[np.ndarray, int], None]) -> Callable[[], float]:
        def case() -> float:
            started = time.perf_counter()
            for canvas in canvases:
                encode(canvas, dpi)
            return time.perf_counter() - started
        return case

    times = alternate({"filmbox": ours, "pillow": bare(_pillow_encode),
                       "encoder": bare(filmbox_encode)}, runs, warm_up=False)
    for files in written:
        for path in (files.pdf, files.png, files.density_png, files.json):
            path.unlink()
    return {"filmbox": summary(times["filmbox"]), "pillow": summary(times["pillow"]),
            "encoder": summary(times["encoder"]),
            "ratio": _ratio(times, "filmbox", "pillow"),
            "ratio_to_own_encoder": _ratio(times, "filmbox", "encoder"),
            "canvas_px": list(canvases[0].shape[1::-1])}


def bench_render(workdir: Path, runs: int, dpis: list[int]) -> dict:
    results = {}
    for count in (1, 4, 20):
        images = smooth_images(count, 2048 if count <= 4 else 1024)
        for dpi in dpis:
            results[f"{count} images @ {dpi} dpi"] = render_case(workdir, images, count, dpi, runs)
    return results


# --------------------------------------------------------------------------
# 3. end to end
# --------------------------------------------------------------------------


def bench_end_to_end(workdir: Path, runs: int, film_counts: list[int]) -> dict:
    image_dir = workdir / "e2e_images"
    image_dir.mkdir()
    images = smooth_images(1, 512)[0]
    files = [dcmtk.write_image(image_dir / f"{i:03d}.dcm", images) for i in range(max(film_counts))]
    results: dict = {"encode_floor_cpu_s": encode_floor_cpu_s(workdir, images, runs)}
    cases = [(films, concurrency, DEFAULT_RENDER_PROCESSES)
             for films in film_counts for concurrency in (1, 4, 16)]
    cases += [(films, 16, 2) for films in film_counts if films >= 100]
    for films, concurrency, render_processes in cases:
        serve = ("--render-processes", str(render_processes))
        durations, peaks, cpu = [], [], []
        for _ in range(runs if films < 100 else 1):
            with PrintScpProcess(workdir, *serve) as printer:
                started_cpu = printer.started_cpu_s()  # start-up excluded
                duration, client_cpu = _print_films(workdir, printer, files[:films],
                                                    concurrency)
                durations.append(duration)
                cpu.append(client_cpu + printer.cpu_s() - started_cpu)
                peaks.append(printer.peak_rss_mib())
        if films >= 100:  # one more run, for memory only: sampling costs CPU
            with PrintScpProcess(workdir, *serve) as printer, \
                    PeakPss(printer.process.pid) as pss:
                _print_films(workdir, printer, files[:films], concurrency)
        median = statistics.median(durations)
        per_film_s = statistics.median(cpu) / films
        name = f"{films} films x {concurrency} assoc"
        if render_processes != DEFAULT_RENDER_PROCESSES:
            name += f", {render_processes} render processes"
        results[name] = {
            **summary(durations), "films_per_min": 60.0 * films / median,
            "render_processes": render_processes,
            "peak_rss_mib": max(p[0] for p in peaks),
            "peak_rss_with_render_processes_mib": max(p[1] for p in peaks),
            "peak_pss_with_render_processes_mib": pss.peak_mib if films >= 100 else None,
            # the target: 150 MiB + 3 x the pixel bytes of the films in flight
            # (at most one film per association)
            "rss_target_mib": 150 + 3 * min(films, concurrency) * images.nbytes / 2**20,
            "cpu_per_film_s": per_film_s,
            "cpu_ratio_to_encode": per_film_s / results["encode_floor_cpu_s"]}
    return results


def _print_films(workdir: Path, printer: PrintScpProcess, files: list[Path],
                 concurrency: int) -> tuple[float, float]:
    """Seconds from starting ``print-scu print --associations N`` until every film's PDF
    exists (the films divided in order into N jobs, delivered over N associations), and
    the CPU seconds of the print-scu process."""
    spool = Path(tempfile.mkdtemp(prefix="spool_", dir=workdir))
    client_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "print_scu.cli", "print", "--spool", str(spool),
         "--host", "127.0.0.1", "--port", str(printer.port), "--called-ae", "FILMBOX",
         "--film-size", E2E_FILM_SIZE, "--format", "STANDARD\\1,1",
         "--associations", str(concurrency), *map(str, files)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=PDF_WAIT_S, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"print-scu exited {run.returncode}: {run.stderr.decode()[-2000:]}")
    client = resource.getrusage(resource.RUSAGE_CHILDREN)
    client_cpu = (client.ru_utime + client.ru_stime
                  - client_before.ru_utime - client_before.ru_stime)
    wait_for_pdfs(printer.output, len(files))
    return time.perf_counter() - started, client_cpu


# --------------------------------------------------------------------------
# 5. scaling
# --------------------------------------------------------------------------


def bench_scaling(workdir: Path, runs: int, sides: list[int]) -> dict:
    results: dict[str, dict] = {"by_side": {}, "by_count": {}}
    with PrintScpProcess(workdir) as printer:
        for key, cases in (("by_side", [(1, side) for side in sides]),
                           ("by_count", [(count, 1024) for count in (1, 4, 9, 16)])):
            for count, side in cases:
                results[key][f"{count} x {side}²"] = _scaling_point(
                    workdir, printer, smooth_images(count, side), runs)
    for key in ("by_side", "by_count"):
        points = list(results[key].values())
        for measure in ("ingest", "render_write"):
            (p0, t0), (p1, t1) = [(p["pixels"], p[measure]["median_s"]) for p in points[-2:]]
            results[f"{key}_{measure}_exponent"] = math.log(t1 / t0) / math.log(p1 / p0)
    return results


def _scaling_point(workdir: Path, printer: PrintScpProcess, images: list[np.ndarray],
                   runs: int) -> dict:
    """Ingest (print-scu → print-scp) and render + write of one film of ``images``."""
    display_format = FORMATS[len(images)]
    ingest = alternate({"ingest": printer.timed(
        lambda: print_one_film(printer.port, images, display_format))}, runs)["ingest"]
    spec = film_spec(images, display_format, SCALING_DPI)
    render = alternate({"render": lambda: _render_write(spec, workdir)}, runs)["render"]
    return {"pixels": sum(image.size for image in images), "ingest": summary(ingest),
            "render_write": summary(render)}


def _render_write(spec: FilmSpec, workdir: Path) -> float:
    """Seconds to render and write ``spec`` once (files removed afterwards)."""
    started = time.perf_counter()
    files = write_film(render_film(spec), workdir, "scaling", {})
    elapsed = time.perf_counter() - started
    for path in (files.pdf, files.png, files.density_png, files.json):
        path.unlink()
    return elapsed


# --------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------


def _print_table(results: dict) -> None:
    def row(label: str, s: dict, note: str = "") -> None:
        print(f"  {label:<40}{s['median_s']:>9.3f} s {s['min_s']:>8.3f} {s['max_s']:>8.3f}  {note}")

    print(f"{'':<42}{'median':>9}   {'min':>8} {'max':>8}")
    ingest = results["ingest"]
    print("1. ingest STANDARD\\2,2, 4 × 2048² 8-bit, association request → release")
    row("loopback copy of the same bytes", ingest["loopback_copy"],
        f"{ingest['loopback_copy']['MiB_per_s']:.0f} MiB/s")
    cases = [(f"dcmprscu at {kib} KiB PDUs", r) for kib, r in ingest["small_pdus"].items()]
    cases.append(("print-scu at 1 MiB PDUs", ingest["large_pdus"]))
    for label, result in cases:
        for name, s in result["times"].items():
            row(f"{label} -> {name}", s, f"{s['MiB_per_s']:.0f} MiB/s")
        print(f"  ratio print-scp / dcmprscp {result['ratio']:.2f} "
              f"(no printer could score below {result['best_ratio']:.2f})")
        if "printer_ms" in result:
            print_printer_share(result)
    print("2. render + write 14×17 in vs encoding the same two PNG canvases alone")
    for name, r in results["render"].items():
        row(f"{name} filmbox", r["filmbox"], f"{r['canvas_px'][0]}×{r['canvas_px'][1]} px")
        row(f"{name} Pillow encode", r["pillow"], f"ratio {r['ratio']:.2f}")
        row(f"{name} film.png encode", r["encoder"], f"ratio {r['ratio_to_own_encoder']:.2f}")
    print("3. end to end, print-scu print → every PDF exists (8×10 in, 1 × 512², 150 dpi)")
    end_to_end = results["end_to_end"]
    print(f"  encode floor: the writer's own encode of one film's canvases, "
          f"{1000 * end_to_end['encode_floor_cpu_s']:.1f} ms CPU")
    for name, r in end_to_end.items():
        if not isinstance(r, dict):
            continue
        row(name, r, f"CPU {1000 * r['cpu_per_film_s']:.0f} ms/film "
                     f"({r['cpu_ratio_to_encode']:.2f}× the encode floor), "
                     f"{r['films_per_min']:.0f} films/min, print-scp peak RSS "
                     f"{r['peak_rss_mib']:.0f} MiB (with render processes "
                     f"{r['peak_rss_with_render_processes_mib']:.0f}; target "
                     f"{r['rss_target_mib']:.0f} MiB)"
                     + ("" if r["peak_pss_with_render_processes_mib"] is None else
                        f"; their peak PSS summed "
                        f"{r['peak_pss_with_render_processes_mib']:.0f} MiB"))
    print("  CPU per film by stage, every stage in one process (benchmarks/cpu_per_film.py):")
    cpu_per_film.print_stages(results["cpu_breakdown"], indent="    ")
    queue = results["queue_overhead"]
    print(f"4. queue overhead, {queue['films']} films: queue {queue['queue_median_s']:.3f} s, "
          f"direct {queue['direct_median_s']:.3f} s, ratio {queue['ratio']:.2f}")
    print(f"5. scaling (print-scu → print-scp ingest; render + write 14×17 in @ {SCALING_DPI} dpi)")
    scaling = results["scaling"]
    for key in ("by_side", "by_count"):
        for name, r in scaling[key].items():
            row(f"{name} ingest", r["ingest"])
            row(f"{name} render+write", r["render_write"])
        for measure in ("ingest", "render_write"):
            k = scaling[f"{key}_{measure}_exponent"]
            verdict = "linear" if 0.8 <= k <= 1.2 else ("sub-linear" if k < 0.8 else "super-linear")
            print(f"  {key} {measure}: time ∝ pixels^{k:.2f} over the two largest ({verdict})")


@dataclass(frozen=True)
class Target:
    """One performance target: ``measured`` against ``limit``; PASS when on the right side."""

    name: str
    measured: float
    limit: float
    unit: str = "×"
    at_least: bool = False  # True: the measure must reach the limit (throughput)
    floor: float | None = None  # the best any implementation could measure in this run


    @property
    def verdict(self) -> str:
        met = self.measured >= self.limit if self.at_least else self.measured <= self.limit
        return "PASS" if met else "MISS"

    def line(self) -> str:
        sign = "≥" if self.at_least else "≤"
        line = (f"  {self.verdict}  {self.name:<62} {self.measured:>8.2f}{self.unit} "
                f"(target {sign} {self.limit:g}{self.unit})")
        if self.floor is not None:
            line += f"; no printer could score below {self.floor:.2f}{self.unit} in this run"
        return line


def targets(results: dict) -> list[Target]:
    """Every target of the suite, from one run's ``results``."""
    ingest = results["ingest"]
    found = [Target(f"ingest, dcmprscu SCU at {size} KiB PDUs: print-scp / dcmprscp",
                    result["ratio"], 0.8, floor=result["best_ratio"])
             for size, result in ingest["small_pdus"].items()]
    found += [Target("ingest, print-scu SCU (1 MiB PDUs): print-scp / dcmprscp",
                     ingest["ratio_scp_with_own_scu"], 0.6,
                     floor=ingest["large_pdus"]["best_ratio"]),
              Target("ingest through print-scp with print-scu", ingest["print_scp_MiB_per_s"],
                     400.0, " MiB/s", at_least=True)]
    end_to_end = results["end_to_end"]
    for name, run in end_to_end.items():
        if not isinstance(run, dict):
            continue
        if run["render_processes"] != DEFAULT_RENDER_PROCESSES:
            continue  # for films per minute: the targets are for print-scp as it starts
        if name.startswith("100 films"):
            found.append(Target(f"CPU per film / encode floor, {name}",
                                run["cpu_ratio_to_encode"], 2.0))
        found.append(Target(f"peak RSS summed, {name}",
                            run["peak_rss_with_render_processes_mib"], run["rss_target_mib"],
                            " MiB"))
    found.append(Target("queue overhead: queue / direct", results["queue_overhead"]["ratio"],
                        1.05))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run (~1 min)")
    parser.add_argument("--runs", type=int, help="runs per figure [default 3, --quick 1]")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if not dcmtk.dcmtk_available():
        parser.error("DCMTK (dcmprscu, dcmprscp, dcmpsprt in /usr/bin) is required")
    runs = args.runs or (1 if args.quick else 3)
    logging.getLogger("print_scp").setLevel(logging.ERROR)  # the in-process printer's B604s
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="filmbox_bench_") as work:
        workdir = Path(work)
        results = {
            "ingest": bench_ingest(workdir, runs),
            "render": bench_render(workdir, runs, [150] if args.quick else [150, 300, 600]),
            "end_to_end": bench_end_to_end(workdir, runs, [1, 10] if args.quick
                                           else [1, 10, 100]),
            "queue_overhead": queue_overhead.measure(3 if args.quick else 10,
                                                     runs if args.quick else max(runs, 15)),
            "scaling": bench_scaling(workdir, runs, [512, 1024] if args.quick
                                     else [512, 1024, 2048, 4096]),
        }
    results["cpu_breakdown"] = cpu_per_film.measure(max(runs, 3))
    results["meta"] = {"runs": runs, "quick": args.quick, "cpus": os.cpu_count(),
                       "wall_s": time.perf_counter() - started}
    _print_table(results)
    print("targets")
    for target in targets(results):
        print(target.line())
    print(f"total {results['meta']['wall_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

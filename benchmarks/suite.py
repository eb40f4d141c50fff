"""The benchmark suite of filmbox: ingest, render, end to end, queue overhead, scaling.

    python benchmarks/suite.py [--quick] [--runs N] [--json results.json]

Every figure is the median of ``--runs`` runs (after one warm-up). Every
comparison with a peer is measured in the same run, A and B alternating, and
reported as the ratio A/B of the medians:

1. ingest: a STANDARD\\2,2 film of four 2048×2048 8-bit images, association
   request to release. DCMTK's dcmprscu (Stored Print built once by dcmpsprt;
   wall time of the dcmprscu process, which includes its start-up and reading
   the Stored Print) and the project's SCU (``PrintAssociation``, timed in
   process), each to ``print-scp`` and to DCMTK's dcmprscp. Between runs the
   suite waits until print-scp has written the previous film, so background
   rendering does not overlap the next ingest.
2. render: 14×17 in at 150/300/600 dpi with 1, 4 and 20 images (render_film +
   write_film) against encoding the same final canvases (8-bit light box PNG
   + 16-bit density PNG) alone: with Pillow at the writer's zlib settings
   (level 1, Z_RLE; the baseline) and with the writer's own encoder.
3. end to end: N films from one ``print-scu print --associations A``
   until every PDF exists, over A = 1/4/16 concurrent associations; 8×10 in films
   of one 512² image at the printer's standard 150 dpi, print-scp with two
   render processes; films per minute and print-scp's peak RSS (VmHWM), a fresh
   print-scp per run. The 100-film cases run once (no median), to fit the
   suite in about 10 minutes.
4. queue overhead: benchmarks/queue_overhead.py (queue / direct).
5. scaling: ingest and render+write time against image side (512² … 4096²,
   one image) and image count (1, 4, 9, 16 of 1024²; render at 150 dpi), with the exponent k of
   time ∝ pixels^k between the two largest points.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import dcmtk
import numpy as np
import queue_overhead
from PIL import Image
from run import film_spec, print_one_film, random_images, summary

from film.model import FilmSpec
from film.png import encode_raster, png_file
from film.render import render_film
from film.writers import write_film
from print_scp.launcher import free_port, start_print_scp

FORMATS = {1: "STANDARD\\1,1", 4: "STANDARD\\2,2", 9: "STANDARD\\3,3", 16: "STANDARD\\4,4",
           20: "STANDARD\\4,5"}
PDF_WAIT_S = 600.0
SCALING_DPI = 150  # render scaling: the film's canvas size stays fixed, only the input grows


def alternate(cases: dict[str, Callable[[], float]], runs: int,
              warm_up: bool = True) -> dict[str, list[float]]:
    """Run every case once to warm up (unless the caller did), then ``runs`` rounds of all
    cases in turn; seconds per case and round."""
    if warm_up:
        for case in cases.values():
            case()
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, case in cases.items():
            times[name].append(case())
    return times


def _ratio(times: dict[str, list[float]], a: str, b: str) -> float:
    return statistics.median(times[a]) / statistics.median(times[b])


def _wait_for_pdfs(directory: Path, count: int, timeout_s: float = PDF_WAIT_S) -> None:
    """Block until ``directory`` holds at least ``count`` film PDFs (polled every 10 ms).

    A film's PDF ends in its number (``-01``); job documents do not count.
    """
    deadline = time.monotonic() + timeout_s
    while sum(1 for p in directory.glob("*.pdf") if p.stem[-3:-2] == "-") < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} PDFs in {directory} after {timeout_s:.0f} s")
        time.sleep(0.01)


def _vm_hwm_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM in /proc/{pid}/status")


def _descendants(pid: int) -> list[int]:
    """Process ids below ``pid`` (Linux /proc/<pid>/task/<tid>/children)."""
    children = [int(child) for task in Path(f"/proc/{pid}/task").iterdir()
                for child in (task / "children").read_text().split()]
    return children + [grandchild for child in children for grandchild in _descendants(child)]


class _PrintScp:
    """print-scp in its own process for a ``with`` block; counts the films it wrote."""

    def __init__(self, workdir: Path, *extra: str) -> None:
        self.output = Path(tempfile.mkdtemp(prefix="out_", dir=workdir))
        self.port = free_port()
        self.extra = extra
        self.sent = 0
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> _PrintScp:
        self.process = start_print_scp(self.output, self.port, *self.extra)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=60)

    def peak_rss_mib(self) -> tuple[float, float]:
        """Peak RSS (VmHWM) in MiB of the print-scp process, and of it plus its descendants
        (fork server, render processes) summed: pages they share are counted in each."""
        assert self.process is not None
        own = _vm_hwm_mib(self.process.pid)
        return own, own + sum(_vm_hwm_mib(pid) for pid in _descendants(self.process.pid))

    def timed(self, send: Callable[[], float]) -> Callable[[], float]:
        """``send`` then wait (untimed) until this printer wrote the film."""
        def case() -> float:
            elapsed = send()
            self.sent += 1
            _wait_for_pdfs(self.output, self.sent)
            return elapsed
        return case


# --------------------------------------------------------------------------
# 1. ingest
# --------------------------------------------------------------------------


def bench_ingest(workdir: Path, runs: int) -> dict:
    images = random_images(4)
    stored = dcmtk.build_stored_print(Path(tempfile.mkdtemp(dir=workdir)), images, 2, 2)
    with _PrintScp(workdir) as ours, dcmtk.Dcmprscp() as peer:
        cases = {
            "dcmprscu->print-scp": ours.timed(
                lambda: dcmtk.send_stored_print(stored, ours.port, "FILMBOX")),
            "dcmprscu->dcmprscp": lambda: dcmtk.send_stored_print(stored, peer.port, peer.aetitle),
            "print-scu->print-scp": ours.timed(lambda: print_one_film(ours.port, images)),
            "print-scu->dcmprscp": lambda: print_one_film(peer.port, images),
        }
        times = alternate(cases, runs)
    return {"times": {name: summary(t, pixel_bytes=4 * 2048 * 2048) for name, t in times.items()},
            "ratio_scp_with_dcmprscu": _ratio(times, "dcmprscu->print-scp", "dcmprscu->dcmprscp"),
            "ratio_scp_with_own_scu": _ratio(times, "print-scu->print-scp", "print-scu->dcmprscp"),
            "ratio_scu_to_print_scp": _ratio(times, "print-scu->print-scp", "dcmprscu->print-scp"),
            "timing": "dcmprscu: wall time of the process; print-scu: in-process, "
                      "association request to release"}


# --------------------------------------------------------------------------
# 2. render
# --------------------------------------------------------------------------


def smooth_images(count: int, side: int) -> list[np.ndarray]:
    """``count`` 8-bit images of ``side``² pixels: a radial ramp with ±8 levels of noise.

    Less pathological for PNG than uniform noise, closer to a radiograph.
    """
    axis = np.linspace(-1.0, 1.0, side, dtype=np.float32)
    ramp = 200.0 * (1.0 - np.hypot.outer(axis, axis) / math.sqrt(2.0)) + 20.0
    rng = np.random.default_rng(3)
    return [np.clip(ramp + rng.integers(-8, 9, ramp.shape), 0, 255).astype(np.uint8)
            for _ in range(count)]


def _pillow_encode(pixels: np.ndarray, dpi: int) -> None:
    """Pillow's PNG at the writer's zlib settings (level 1, run-length strategy)."""
    Image.fromarray(pixels).save(io.BytesIO(), format="PNG", compress_level=1,
                                 compress_type=zlib.Z_RLE, dpi=(dpi, dpi))


def _filmbox_encode(pixels: np.ndarray, dpi: int) -> None:
    """The writer's own PNG encoder alone (film.png)."""
    png_file(encode_raster(pixels), dpi)


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
                       "encoder": bare(_filmbox_encode)}, runs, warm_up=False)
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
    results = {}
    for films in film_counts:
        for concurrency in (1, 4, 16):
            durations, peaks = [], []
            for _ in range(runs if films < 100 else 1):
                with _PrintScp(workdir, "--render-processes", "2") as printer:
                    durations.append(_print_films(workdir, printer, files[:films], concurrency))
                    peaks.append(printer.peak_rss_mib())
            median = statistics.median(durations)
            results[f"{films} films x {concurrency} assoc"] = {
                **summary(durations), "films_per_min": 60.0 * films / median,
                "peak_rss_mib": max(p[0] for p in peaks),
                "peak_rss_with_render_processes_mib": max(p[1] for p in peaks),
                # the target: 150 MiB + 3 x the pixel bytes of the films in flight
                # (at most one film per association)
                "rss_target_mib": 150 + 3 * min(films, concurrency) * images.nbytes / 2**20}
    return results


def _print_films(workdir: Path, printer: _PrintScp, files: list[Path], concurrency: int) -> float:
    """Seconds from starting ``print-scu print --associations N`` until every film's PDF
    exists (the films divided in order into N jobs, delivered over N associations)."""
    spool = Path(tempfile.mkdtemp(prefix="spool_", dir=workdir))
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "print_scu.cli", "print", "--spool", str(spool),
         "--host", "127.0.0.1", "--port", str(printer.port), "--called-ae", "FILMBOX",
         "--film-size", "8INX10IN", "--format", "STANDARD\\1,1",
         "--associations", str(concurrency), *map(str, files)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=PDF_WAIT_S, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"print-scu exited {run.returncode}: {run.stderr.decode()[-2000:]}")
    _wait_for_pdfs(printer.output, len(files))
    return time.perf_counter() - started


# --------------------------------------------------------------------------
# 5. scaling
# --------------------------------------------------------------------------


def bench_scaling(workdir: Path, runs: int, sides: list[int]) -> dict:
    results: dict[str, dict] = {"by_side": {}, "by_count": {}}
    with _PrintScp(workdir) as printer:
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


def _scaling_point(workdir: Path, printer: _PrintScp, images: list[np.ndarray],
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
    for name, s in ingest["times"].items():
        row(name, s, f"{s['MiB_per_s']:.0f} MiB/s")
    print(f"  ratio print-scp/dcmprscp: with dcmprscu {ingest['ratio_scp_with_dcmprscu']:.2f}, "
          f"with print-scu {ingest['ratio_scp_with_own_scu']:.2f}; "
          f"print-scu/dcmprscu to print-scp {ingest['ratio_scu_to_print_scp']:.2f}")
    print("2. render + write 14×17 in vs encoding the same two PNG canvases alone")
    for name, r in results["render"].items():
        row(f"{name} filmbox", r["filmbox"], f"{r['canvas_px'][0]}×{r['canvas_px'][1]} px")
        row(f"{name} Pillow encode", r["pillow"], f"ratio {r['ratio']:.2f}")
        row(f"{name} film.png encode", r["encoder"], f"ratio {r['ratio_to_own_encoder']:.2f}")
    print("3. end to end, print-scu print → every PDF exists (8×10 in, 1 × 512², 150 dpi)")
    for name, r in results["end_to_end"].items():
        row(name, r, f"{r['films_per_min']:.0f} films/min, print-scp peak RSS "
                     f"{r['peak_rss_mib']:.0f} MiB (with render processes "
                     f"{r['peak_rss_with_render_processes_mib']:.0f}; target "
                     f"{r['rss_target_mib']:.0f} MiB)")
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run (~1 min)")
    parser.add_argument("--runs", type=int, help="runs per figure [default 3, --quick 1]")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if not dcmtk.dcmtk_available():
        parser.error("DCMTK (dcmprscu, dcmprscp, dcmpsprt in /usr/bin) is required")
    runs = args.runs or (1 if args.quick else 3)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="filmbox_bench_") as work:
        workdir = Path(work)
        results = {
            "ingest": bench_ingest(workdir, runs),
            "render": bench_render(workdir, runs, [150] if args.quick else [150, 300, 600]),
            "end_to_end": bench_end_to_end(workdir, runs, [1, 10] if args.quick
                                           else [1, 10, 100]),
            "queue_overhead": queue_overhead.measure(3 if args.quick else 10, runs),
            "scaling": bench_scaling(workdir, runs, [512, 1024] if args.quick
                                     else [512, 1024, 2048, 4096]),
        }
    results["meta"] = {"runs": runs, "quick": args.quick, "cpus": os.cpu_count(),
                       "wall_s": time.perf_counter() - started}
    _print_table(results)
    print(f"total {results['meta']['wall_s']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmarks of the virtual printer: ingest and render.

    python benchmarks/run.py [--runs 5] [--json results.json]

1. Ingest: a STANDARD\\2,2 film of four 2048×2048 8-bit images sent by the
   project's own SCU (TCP_NODELAY, 1 MiB PDUs) to ``print-scp serve`` running
   as a separate process: time from association request to release, which
   includes spooling the film to disk before the N-ACTION response.
2. Render: the same film on 14×17 in at 300 dpi: render to a density canvas,
   then write PDF + PNG + density map + JSON.

Each figure is the median of ``--runs`` runs (plus min and max).
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
from pydicom.dataset import Dataset

from film.model import FilmSpec, ImageBoxContent, ImagePixels, MagnificationType
from film.render import render_film
from film.writers import write_film
from print_scp.launcher import free_port, start_print_scp
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation
from print_scu.image_box_requests import grayscale_image_box

IMAGE_SIZE = 2048


def random_images(count: int, side: int = IMAGE_SIZE, seed: int = 1) -> list[np.ndarray]:
    """``count`` uniformly random 8-bit images of ``side`` × ``side`` pixels."""
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (side, side), dtype=np.uint8) for _ in range(count)]


def print_one_film(port: int, images: list[np.ndarray],
                   display_format: str = "STANDARD\\2,2", film_size: str = "14INX17IN") -> float:
    """Seconds from association request to release for one film of ``images``."""
    boxes = [grayscale_image_box(i, image, 8) for i, image in enumerate(images, 1)]
    started = time.perf_counter()
    with PrintAssociation(PrinterAddress("127.0.0.1", port, "FILMBOX", calling_ae="BENCH"),
                          print_job=False, presentation_lut=False, annotation=False) as scu:
        session = Dataset()
        session.NumberOfCopies = 1
        _, session_uid = scu.create_film_session(session)
        box = Dataset()
        box.ImageDisplayFormat = display_format
        box.FilmSizeID = film_size
        _, refs = scu.create_film_box(box, film_session_uid=session_uid)
        for uid, modification in zip(refs.image_box_uids, boxes, strict=True):
            scu.set_image_box(uid, modification)
        status, _ = scu.print_film_box(refs.film_box_uid)
        if status != 0:
            raise RuntimeError(f"N-ACTION answered 0x{status:04X}")
    return time.perf_counter() - started


def bench_ingest(runs: int) -> dict:
    images = random_images(4)
    port = free_port()
    with tempfile.TemporaryDirectory() as out:
        process = start_print_scp(Path(out), port)
        try:
            print_one_film(port, images)  # warm-up
            times = [print_one_film(port, images) for _ in range(runs)]
        finally:
            process.terminate()
            process.wait(timeout=60)
    return summary(times, pixel_bytes=4 * IMAGE_SIZE * IMAGE_SIZE)


def film_spec(images: list[np.ndarray], display_format: str = "STANDARD\\2,2",
              dpi: int = 300) -> FilmSpec:
    """A 14×17 in portrait film of 8-bit MONOCHROME2 ``images`` at ``dpi``, bilinear."""
    return FilmSpec(
        film_size_id="14INX17IN", orientation="PORTRAIT", image_display_format=display_format,
        image_boxes=[ImageBoxContent(i, ImagePixels(image, "MONOCHROME2", 8))
                     for i, image in enumerate(images, 1)],
        magnification_type=MagnificationType.BILINEAR, resolution_dpi=dpi)


def bench_render(runs: int, dpi: int = 300) -> dict:
    spec = film_spec(random_images(4), dpi=dpi)
    render_times, write_times = [], []
    with tempfile.TemporaryDirectory() as out:
        for run in range(runs + 1):
            started = time.perf_counter()
            film = render_film(spec)
            rendered = time.perf_counter()
            write_film(film, Path(out), f"bench-{run}", {})
            written = time.perf_counter()
            if run:  # the first run warms caches
                render_times.append(rendered - started)
                write_times.append(written - rendered)
    total = [r + w for r, w in zip(render_times, write_times, strict=True)]
    return {"render": summary(render_times), "write": summary(write_times),
            "total": summary(total), "canvas_px": list(film.density.shape[::-1])}


def summary(times: list[float], pixel_bytes: int | None = None) -> dict:
    """Median, min and max of ``times`` (s), and MiB/s of ``pixel_bytes`` at the median."""
    result = {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
              "runs": len(times)}
    if pixel_bytes:
        result["MiB_per_s"] = pixel_bytes / 2**20 / result["median_s"]
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = {"ingest_standard_2x2_2048": bench_ingest(args.runs),
               "render_14x17_300dpi": bench_render(args.runs)}
    ingest = results["ingest_standard_2x2_2048"]
    render = results["render_14x17_300dpi"]
    print(f"{'benchmark':<44}{'median':>10}{'min':>10}{'max':>10}")
    label = "ingest STANDARD\\2,2 4x2048² 8-bit (assoc→release)"
    print(f"{label:<44}"
          f"{ingest['median_s']:>9.3f}s{ingest['min_s']:>9.3f}s{ingest['max_s']:>9.3f}s"
          f"   {ingest['MiB_per_s']:.0f} MiB/s")
    for part in ("render", "write", "total"):
        r = render[part]
        print(f"{'render 14x17 in 300 dpi: ' + part:<44}"
              f"{r['median_s']:>9.3f}s{r['min_s']:>9.3f}s{r['max_s']:>9.3f}s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Capacity of one core: films per minute by film size and resolution.

    python benchmarks/capacity.py [--runs 3] [--json capacity.json]

A render process renders and writes one film at a time on one core, so a
core's capacity is 60 s over the CPU seconds of one film's render + write
(PDF, PNG, density map, JSON). Each film holds one 2048² 8-bit image
(a CR or DR film) in STANDARD\\1,1, or four 1024² images in STANDARD\\2,2 (a
CT or MR page), at the printer's standard 150 dpi and at 300 dpi. Figures
are CPU seconds (``time.process_time``), the median of ``--runs`` films after
one warm-up, so other load on the machine changes them little. The process
takes a render process's malloc settings (``dicomnet.freed_memory``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from e2e_film import smooth_images

from dicomnet.freed_memory import keep_freed_memory
from film.model import FilmSpec, ImageBoxContent, ImagePixels, MagnificationType
from film.render import render_film
from film.writers import write_film

FILM_SIZES = ("8INX10IN", "11INX14IN", "14INX17IN")
DPIS = (150, 300)
PAGES = {"1 × 2048²": ("STANDARD\\1,1", 1, 2048), "4 × 1024²": ("STANDARD\\2,2", 4, 1024)}


def film_cpu_s(spec: FilmSpec, workdir: Path, runs: int) -> float:
    """Median CPU seconds of rendering and writing ``spec`` (files removed after each run)."""
    cpu = []
    for run in range(runs + 1):
        started = time.process_time()
        files = write_film(render_film(spec), workdir, f"capacity-{run}", {})
        if run:  # the first run warms caches
            cpu.append(time.process_time() - started)
        for path in (files.pdf, files.png, files.density_png, files.json):
            path.unlink()
    return statistics.median(cpu)


def measure(runs: int) -> dict[str, dict[str, float]]:
    """Films per minute of one core for each film size, page and dpi."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="filmbox_capacity_") as work:
        for page, (display_format, count, side) in PAGES.items():
            images = smooth_images(count, side)
            for size in FILM_SIZES:
                for dpi in DPIS:
                    spec = FilmSpec(
                        film_size_id=size, orientation="PORTRAIT",
                        image_display_format=display_format,
                        image_boxes=[ImageBoxContent(i, ImagePixels(image, "MONOCHROME2", 8))
                                     for i, image in enumerate(images, 1)],
                        magnification_type=MagnificationType.BILINEAR, resolution_dpi=dpi)
                    cpu_s = film_cpu_s(spec, Path(work), runs)
                    results[f"{size} {dpi} dpi, {page}"] = {
                        "cpu_s": cpu_s, "films_per_min_per_core": 60.0 / cpu_s}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    keep_freed_memory()  # as print-scp's render processes do
    results = measure(args.runs)
    print(f"{'film':<36}{'CPU s/film':>12}{'films/min/core':>16}")
    for name, figures in results.items():
        print(f"{name:<36}{figures['cpu_s']:>12.3f}{figures['films_per_min_per_core']:>16.0f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

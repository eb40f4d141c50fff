"""What writing a film's files, and a job's document, costs.

    python benchmarks/pdf_write.py [--runs N] [--dpi DPI]

One 14×17 in film of four 1024² 12-bit images and two annotation boxes is
rendered once, then timed (median of ``--runs``, after one warm-up):

1. ``film.writers.write_film``: its PDF, PNG, density PNG and JSON;
2. ``print_scp.output.job_document.write_job_document``: the job document of
   two such films × 3 copies with the report page (7 pages), read back from
   the films' files;
3. for scale, Pillow encoding the same light-box canvas as a PNG at the
   writer's zlib settings (level 1).

Sizes are reported in bytes. Nothing is compared with a peer, so no ratio.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from film.model import AnnotationContent, FilmSpec, ImageBoxContent, ImagePixels  # noqa: E402
from film.render import render_film  # noqa: E402
from film.writers import write_film  # noqa: E402
from print_scp.output.job_document import write_job_document  # noqa: E402


def _median_s(action: Callable[[int], object], runs: int) -> float:
    action(-1)  # warm-up
    times = []
    for run in range(runs):
        started = time.perf_counter()
        action(run)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dpi", type=int, default=300)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(1)
    boxes = [ImageBoxContent(i, ImagePixels(rng.integers(0, 4096, (1024, 1024), dtype=np.uint16),
                                            "MONOCHROME2", 12, (1, 1))) for i in range(1, 5)]
    spec = FilmSpec("14INX17IN", "PORTRAIT", "STANDARD\\2,2", boxes,
                    annotations=[AnnotationContent(1, "Жуков Георгий"),
                                 AnnotationContent(2, "CT HEAD 2026-12-05")],
                    resolution_dpi=args.dpi)
    film = render_film(spec)
    metadata = {"print_job": {"uid": "1.2.3", "copies": 3}}
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory)
        write_s = _median_s(lambda run: write_film(film, out, f"job{run + 1}-01", metadata),
                            args.runs)
        for run in range(-1, args.runs):
            write_film(film, out, f"job{run + 1}-02", metadata)
        job_s = _median_s(lambda run: write_job_document(
            out, [f"job{run + 1}-01", f"job{run + 1}-02"], report=True), args.runs)
        pdf_bytes = (out / "job1-01.pdf").stat().st_size
        job_bytes = (out / "job1.pdf").stat().st_size
        gray = np.asarray(Image.open(out / "job1-01.png"))

    def pillow(_: int) -> None:
        Image.fromarray(gray).save(io.BytesIO(), "PNG", compress_level=1)

    pillow_s = _median_s(pillow, args.runs)
    results = {"dpi": args.dpi, "write_film_s": round(write_s, 3), "film_pdf_bytes": pdf_bytes,
               "job_document_s": round(job_s, 3), "job_document_bytes": job_bytes,
               "pillow_png_of_the_canvas_s": round(pillow_s, 3)}
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

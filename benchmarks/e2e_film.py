"""The film of the end-to-end benchmarks, its test images, and the floor of its cost.

The end-to-end film is 8×10 in, STANDARD\\1,1, one 512² 8-bit image of
:func:`smooth_images`, printed at print-scp's standard :data:`E2E_DPI`. Its
floor (:func:`encode_floor_cpu_s`) is what the film writer's own encoder
needs for the film's two canvases: every film must be encoded.
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image

from film.model import FilmSpec, ImageBoxContent, ImagePixels, MagnificationType
from film.png import encode_raster, png_file
from film.render import render_film
from film.writers import write_film

E2E_DPI = 150  # print-scp's standard resolution, at which the end-to-end films print
E2E_FILM_SIZE = "8INX10IN"


def smooth_images(count: int, side: int) -> list[np.ndarray]:
    """``count`` 8-bit images of ``side``² pixels: a radial ramp with ±8 levels of noise.

    Less pathological for PNG than uniform noise, closer to a radiograph.
    """
    axis = np.linspace(-1.0, 1.0, side, dtype=np.float32)
    ramp = 200.0 * (1.0 - np.hypot.outer(axis, axis) / math.sqrt(2.0)) + 20.0
    rng = np.random.default_rng(3)
    return [np.clip(ramp + rng.integers(-8, 9, ramp.shape), 0, 255).astype(np.uint8)
            for _ in range(count)]


def filmbox_encode(pixels: np.ndarray, dpi: int) -> None:
    """The writer's own PNG encoder alone (film.png)."""
    png_file(encode_raster(pixels), dpi)


def encode_floor_cpu_s(workdir: Path, image: np.ndarray, runs: int) -> float:
    """CPU seconds the film writer's own encoder needs for the light-box and density
    canvases of one end-to-end film of ``image``: the floor of a film's cost. Median of
    ``runs`` (at least 5) encodes."""
    spec = FilmSpec(film_size_id=E2E_FILM_SIZE, orientation="PORTRAIT",
                    image_display_format="STANDARD\\1,1",
                    image_boxes=[ImageBoxContent(1, ImagePixels(image, "MONOCHROME2", 8))],
                    magnification_type=MagnificationType.BILINEAR, resolution_dpi=E2E_DPI)
    files = write_film(render_film(spec), workdir, "encode-floor", {})
    with Image.open(files.png) as light, Image.open(files.density_png) as density:
        canvases = [np.asarray(light), np.asarray(density).astype(np.uint16)]
    for path in (files.pdf, files.png, files.density_png, files.json):
        path.unlink()
    cpu = []
    for _ in range(max(runs, 5)):
        started = time.process_time()
        for canvas in canvases:
            filmbox_encode(canvas, E2E_DPI)
        cpu.append(time.process_time() - started)
    return statistics.median(cpu)

"""A film's render and write hold its density sheet and little more.

Measured in a Python process of its own, with glibc's malloc defaults (blocks
this large are mapped on allocation and unmapped when freed, so the peak
resident memory, VmHWM, shows every buffer alive at once): a 14×17 in film
at 300 dpi (5100 × 4200 px, an 82 MiB float32 density sheet) whose one
512² image is resized to 4200² px (67 MiB as float32).

- Rendering holds the sheet and one resized image (Pillow's, and its first
  pass), copied into the sheet a band at a time: numpy's view of the whole
  Pillow image would be two more copies of it.
- Writing adds a few MiB: the light-box and density canvases are computed,
  filtered and compressed a strip of rows at a time, never whole (they were
  8 bytes per pixel more: 163 MiB here). The image is smooth, so that the
  compressed files, held whole while they are written, stay small (1 MiB).
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

MIB = 1 << 20

STEPS = '''
import json, sys, tempfile
from pathlib import Path
import numpy as np
from film.model import FilmSpec, ImageBoxContent, ImagePixels, MagnificationType
from film.render import render_film
from film.writers import write_film

def status_bytes(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024

def spec(dpi):
    ramp = np.arange(512) // 2
    image = ((ramp[:, np.newaxis] + ramp) // 2).astype(np.uint8)  # smooth: small files
    return FilmSpec(film_size_id="14INX17IN", orientation="PORTRAIT",
                    image_display_format="STANDARD\\\\1,1", resolution_dpi=dpi,
                    image_boxes=[ImageBoxContent(1, ImagePixels(image, "MONOCHROME2", 8))],
                    magnification_type=MagnificationType.BILINEAR)

out = Path(tempfile.mkdtemp())
write_film(render_film(spec(50)), out, "warm", {})  # fonts, tables, threads: loaded once
before = status_bytes("VmHWM")
film = render_film(spec(300))
rendered = status_bytes("VmHWM")
with open("/proc/self/clear_refs", "w") as clear:
    clear.write("5")  # VmHWM := VmRSS, so that the write's own peak shows
holding = status_bytes("VmRSS")
write_film(film, out, "film", {})
print(json.dumps({"before": before, "rendered": rendered, "holding": holding,
                  "written": status_bytes("VmHWM"),
                  "sheet": film.density.nbytes,
                  "box": [list(rect) for rect in film.image_box_rects_px.values()]}))
'''

pytestmark = pytest.mark.skipif(platform.system() != "Linux",
                                reason="peak resident memory is read from /proc (Linux)")


@pytest.fixture(scope="module")
def peaks() -> dict:
    run = subprocess.run([sys.executable, "-c", STEPS], capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(run.stdout)


def test_rendering_holds_the_sheet_and_one_resized_image(peaks: dict) -> None:
    (_, _, width, height), = peaks["box"]
    side = min(width, height)  # the square image fitted to its box
    resized = side * side * 4  # float32
    first_pass = 512 * side * 4  # Pillow resizes the rows first, then the columns
    assert peaks["sheet"] == 5100 * 4200 * 4
    grown = peaks["rendered"] - peaks["before"]
    assert grown <= peaks["sheet"] + resized + first_pass + 4 * MIB, (
        f"render grew {grown / MIB:.0f} MiB; sheet {peaks['sheet'] / MIB:.0f} MiB, "
        f"resized image {resized / MIB:.0f} MiB")


def test_writing_adds_only_strips_of_rows(peaks: dict) -> None:
    grown = peaks["written"] - peaks["holding"]
    assert grown <= 8 * MIB, f"write grew the peak by {grown / MIB:.0f} MiB"

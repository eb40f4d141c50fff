"""Each kind of sample image, printed by print-scu to print-scp, arrives pixel for pixel.

The preparation of each kind (CT with rescale and window, MR, MONOCHROME1
CR, RGB ultrasound, multi-frame) is checked against hand-computed values in
test_scu_prepare.py; here the whole path is checked: queue, DIMSE, the
printer's placement and density mapping. Magnification NONE prints one
image pixel per printer pixel, centred in its box (film.fit), so the printed
region of every image is compared with the density PS3.14 gives its prepared
P-Values (lut.density, tested on its own), or with its exact RGB.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scp_harness import film_metadata, running_printer, wait_for_films

from film.densitometry import read_density_map
from lut.density import ViewingConditions, p_values_to_density
from print_scu import cli
from print_scu.config import adhoc_printer
from print_scu.options import PrintOptions
from print_scu.prepare import prepare_files

IMAGES = Path(__file__).resolve().parent.parent / "examples" / "images"
VIEWING = ViewingConditions(2000.0, 10.0)
MIN_OD, MAX_OD = 0.20, 3.00  # the printer's default Min/Max Density


def _placed(film: dict, position: int, rows: int, columns: int) -> tuple[slice, slice]:
    """Rows and columns of the printed image: centred in its box, unscaled."""
    box = next(r for r in film["film"]["image_box_rects_px"] if r["position"] == position)
    top = box["y"] + (box["height"] - rows) // 2
    left = box["x"] + (box["width"] - columns) // 2
    return slice(top, top + rows), slice(left, left + columns)


@pytest.mark.parametrize("name, display_format", [
    ("03_ct_window.dcm", "1x1"),
    ("04_mr.dcm", "1x1"),
    ("05_cr_monochrome1.dcm", "1x1"),
    ("07_multiframe_4x64.dcm", "2x2"),
])
@pytest.mark.parametrize("bits", [8, 12])
def test_grayscale_kinds_print_pixel_for_pixel(tmp_path: Path, name: str, display_format: str,
                                               bits: int) -> None:
    source = IMAGES / name
    out = tmp_path / "films"
    out.mkdir()
    with running_printer(out, standard_dpi=100) as server:
        status = cli.main(["print", "--spool", str(tmp_path / "spool"), "--host", "127.0.0.1",
                           "--port", str(server.port), "--called-ae", "FILMBOX",
                           "--format", display_format, "--magnification", "NONE",
                           "--film-size", "14INX17IN", "--bits", str(bits), str(source)])
        assert status == 0
        [json_path] = wait_for_films(out, 1)
    film = film_metadata(json_path)
    density, _ = read_density_map(json_path.with_suffix("").with_suffix(".density.png"))
    printer = adhoc_printer("127.0.0.1", server.port, "FILMBOX", bits=bits)
    prepared = prepare_files([source], PrintOptions(bits=bits), printer)
    assert len(prepared) == sum(box["image"] is not None for box in film["image_boxes"])
    for position, image in enumerate(prepared, start=1):
        assert image.photometric == "MONOCHROME2"
        rows, columns = image.pixels.shape
        expected = p_values_to_density(image.pixels, 2**bits - 1, MIN_OD, MAX_OD, VIEWING)
        printed = density[_placed(film, position, rows, columns)]
        assert np.abs(printed - expected).max() <= 0.0011, f"box {position}"


def test_rgb_ultrasound_prints_its_exact_colors(tmp_path: Path) -> None:
    source = IMAGES / "06_us_rgb.dcm"
    out = tmp_path / "films"
    out.mkdir()
    with running_printer(out, standard_dpi=100) as server:
        status = cli.main(["print", "--spool", str(tmp_path / "spool"), "--host", "127.0.0.1",
                           "--port", str(server.port), "--called-ae", "FILMBOX", "--color",
                           "--magnification", "NONE", "--film-size", "8INX10IN", str(source)])
        assert status == 0
        [json_path] = wait_for_films(out, 1)
    film = film_metadata(json_path)
    [image] = prepare_files([source], PrintOptions(color=True),
                            adhoc_printer("127.0.0.1", server.port, "FILMBOX", color=True))
    rows, columns, _ = image.pixels.shape
    png = np.asarray(Image.open(json_path.with_suffix(".png")).convert("RGB"))
    assert np.array_equal(png[_placed(film, 1, rows, columns)], image.pixels)

"""--resample (images resized to their image boxes) and film sizes read from the printer.

Resampling: print-scp at 100 dpi lays out films with filmbox's geometry, so
the client's estimate of each box is the printer's box; with Magnification
NONE the printer then prints the resampled image one pixel per printer pixel,
centred in its box. The fitted size is computed here by hand from the box
rectangle the printer reports: the largest size of the image's shape inside
the box (width-limited when box_w / box_h <= columns / rows).

Film sizes: print-scp's Printer Configuration (PS3.4 H.4.11) lists one
Supported Image Display Formats item per configured film size and
orientation; a job for another size must fail before anything is printed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scp_harness import film_metadata, running_printer, wait_for_films
from test_scu_cli import printer_args, uniform_files, write_printers

from film.densitometry import read_density_map
from lut.density import ViewingConditions, p_values_to_density
from print_scu import cli
from print_scu.config import ConfigError, adhoc_printer, load_printers
from print_scu.options import PrintOptions
from print_scu.prepare import prepare_files
from print_scu.queue import JobQueue, JobState
from print_scu.request_attributes import film_box_attributes

IMAGES = Path(__file__).resolve().parent.parent / "examples" / "images"
SOURCES = [IMAGES / "01_gray_wedge_8bit.dcm", IMAGES / "03_ct_window.dcm"]  # 64x256, 128x128
VIEWING = ViewingConditions(2000.0, 10.0)
MIN_OD, MAX_OD = 0.20, 3.00  # the printer's default Min/Max Density
DPI = 100


def _fitted(box_w: int, box_h: int, rows: int, columns: int) -> tuple[int, int]:
    """(width, height) of a rows x columns image enlarged or shrunk to fill the box."""
    if box_w * rows <= box_h * columns:
        return box_w, round(box_w * rows / columns)
    return round(box_h * columns / rows), box_h


def _pillow_resize(pixels: np.ndarray, width: int, height: int, bits: int) -> np.ndarray:
    """The prepared image resized as the feature promises: LANCZOS down, BICUBIC up."""
    shrinking = width < pixels.shape[1] or height < pixels.shape[0]
    method = Image.Resampling.LANCZOS if shrinking else Image.Resampling.BICUBIC
    resized = np.asarray(Image.fromarray(pixels.astype(np.float32)).resize((width, height),
                                                                           method))
    return np.clip(np.rint(resized), 0, 2**bits - 1)


@pytest.mark.parametrize("bits", [8, 12])
def test_resampled_images_fill_their_boxes_and_print_unmagnified(tmp_path: Path,
                                                                 bits: int) -> None:
    out = tmp_path / "films"
    out.mkdir()
    with running_printer(out, standard_dpi=DPI) as server:
        status = cli.main(["print", "--spool", str(tmp_path / "spool"), *printer_args(server),
                           "--resample", "--dpi", str(DPI), "--format", "1x2",
                           "--bits", str(bits), *map(str, SOURCES)])
        assert status == 0
        [json_path] = wait_for_films(out, 1)
    film = film_metadata(json_path)
    box = film["film_box"]["in_force"]
    assert (box["film_size_id"], box["film_orientation"]) == ("14INX17IN", "PORTRAIT")
    assert box["magnification_type"] == "NONE"
    density, _ = read_density_map(json_path.with_suffix("").with_suffix(".density.png"))
    prepared = prepare_files(SOURCES, PrintOptions(bits=bits),
                             adhoc_printer("127.0.0.1", server.port, "FILMBOX", bits=bits))
    for position, image in enumerate(prepared, start=1):
        rect = next(r for r in film["film"]["image_box_rects_px"] if r["position"] == position)
        rows, columns = image.pixels.shape
        width, height = _fitted(rect["width"], rect["height"], rows, columns)
        assert width > columns and height > rows  # these boxes enlarge both images
        top = rect["y"] + (rect["height"] - height) // 2
        left = rect["x"] + (rect["width"] - width) // 2
        printed = density[top:top + height, left:left + width]
        expected = p_values_to_density(_pillow_resize(image.pixels, width, height, bits),
                                       2**bits - 1, MIN_OD, MAX_OD, VIEWING)
        assert np.abs(printed - expected).max() <= 0.0011, f"box {position}"
        # Just outside the image but inside the box: empty image density (WHITE = Min
        # Density), so the printed image is exactly width x height.
        box_area = density[rect["y"]:rect["y"] + rect["height"],
                           rect["x"]:rect["x"] + rect["width"]]
        outside = np.ones(box_area.shape, dtype=bool)
        outside[top - rect["y"]:top - rect["y"] + height,
                left - rect["x"]:left - rect["x"] + width] = False
        assert outside.any()
        assert np.allclose(box_area[outside], MIN_OD, atol=0.0011), f"box {position}"


def test_resample_without_a_known_dpi_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    image = uniform_files(tmp_path / "in", [100])
    status = cli.main(["submit", "--spool", str(tmp_path / "spool"), "--host", "127.0.0.1",
                       "--port", "104", "--called-ae", "NOWHERE", "--resample",
                       *map(str, image)])
    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1 and "dpi" in error and "resolution" in error
    assert "Traceback" not in error


def test_dpi_comes_from_the_profile_and_must_be_positive(tmp_path: Path) -> None:
    base = {"host": "127.0.0.1", "port": 104, "called_ae": "DRY"}
    config = write_printers(tmp_path / "p.toml", {"dry": {**base, "dpi": 320}})
    assert load_printers(config)["dry"].dpi == 320.0
    assert load_printers(write_printers(tmp_path / "q.toml", {"dry": base}))["dry"].dpi is None
    with pytest.raises(ConfigError, match="dpi"):
        load_printers(write_printers(tmp_path / "r.toml", {"dry": {**base, "dpi": 0}}))


def test_resampling_sends_magnification_none_unless_chosen() -> None:
    printer = adhoc_printer("127.0.0.1", 104, "DRY", dpi=300,
                            film_box_defaults={"MagnificationType": "CUBIC",
                                               "FilmOrientation": "LANDSCAPE"})
    resampled = film_box_attributes(PrintOptions(resample=True), printer)
    assert (resampled.MagnificationType, resampled.FilmSizeID,
            resampled.FilmOrientation) == ("NONE", "14INX17IN", "LANDSCAPE")
    chosen = film_box_attributes(PrintOptions(resample=True, magnification="REPLICATE"),
                                 printer)
    assert chosen.MagnificationType == "REPLICATE"
    assert film_box_attributes(PrintOptions(), printer).MagnificationType == "CUBIC"


def test_a_film_size_the_printer_configuration_lacks_fails_the_job(tmp_path: Path) -> None:
    image = uniform_files(tmp_path / "in", [100])
    with running_printer(tmp_path / "out", standard_dpi=25, film_sizes=("8INX10IN",),
                         default_film_size="8INX10IN") as server:
        config = write_printers(tmp_path / "printers.toml", {"small": {
            "host": "127.0.0.1", "port": server.port, "called_ae": server.profile.ae_title,
            "configuration_retrieval": True}})
        common = ["print", "--config", str(config), "--spool", str(tmp_path / "spool"),
                  "--printer", "small"]
        refused = cli.main([*common, "--film-size", "14INX17IN", *map(str, image)])
        printed = cli.main([*common, "--film-size", "8INX10IN", *map(str, image)])
        films = wait_for_films(tmp_path / "out", 1)
    assert (refused, printed) == (1, 0)
    failed, done = sorted(JobQueue(tmp_path / "spool").jobs(), key=lambda job: job.id)
    assert failed.state is JobState.FAILED and failed.films_done == 0
    assert "14INX17IN" in failed.last_error and "8INX10IN" in failed.last_error
    assert "Printer Configuration" in failed.last_error
    assert failed.attempts == 0  # failed at once, never deferred for a retry
    assert done.state is JobState.DONE
    [film] = [film_metadata(path) for path in films]
    assert film["film_box"]["in_force"]["film_size_id"] == "8INX10IN"

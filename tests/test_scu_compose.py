"""--compose: each film built on the client as one STANDARD\\1,1 sheet at the printer's matrix.

Against print-scp the matrix comes from its Printer Configuration (the
profile asks for configuration retrieval); against DCMTK's dcmprscp, which
has none, from --dpi. Expected matrices are computed here from the film
size: a box inside 5 mm margins, each edge at the pixel nearest its mm
position. The burned-in text is checked against the same string rendered
here with Pillow in the first font the client uses: its ink must be where
the annotation line is, left-aligned, with the proportions of that string,
and nothing else may be drawn outside the images.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from dcmtk_peer import read_stored_films, requires_dcmtk
from PIL import ImageFont
from pydicom.dataset import Dataset
from scp_harness import film_metadata, running_printer, wait_for_films
from test_scu_cli import printer_args
from test_scu_true_size import COLUMNS, LINE_CENTRES, write_cr

from film.annotation_text import font_chain
from film.densitometry import read_density_map
from print_scu import cli
from print_scu.compose import Sheet, compose_sheet, sheet_from_configuration, sheet_layout
from print_scu.options import PrintOptions
from print_scu.prepared_image import PreparedImage

MM_PER_INCH = 25.4
LETTER_PORTRAIT_MM = (203.2, 254.0)  # 8INX10IN
MARGIN_MM = 5.0
MAX_DENSITY_OD = 3.00  # print-scp's default Max Density: P-Value 0


def edge_px(mm: float, dpi: float) -> int:
    """The pixel edge nearest ``mm`` (halves round up)."""
    return math.floor(mm * dpi / MM_PER_INCH + 0.5)


def box_matrix(film_mm: tuple[float, float], dpi: float) -> tuple[int, int]:
    """(columns, rows) of the one image box of a film inside 5 mm margins."""
    width, height = film_mm
    return (edge_px(width - MARGIN_MM, dpi) - edge_px(MARGIN_MM, dpi),
            edge_px(height - MARGIN_MM, dpi) - edge_px(MARGIN_MM, dpi))


def ink_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """(left, top, right, bottom), exclusive, of the True pixels of ``mask``."""
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(columns[0]), int(rows[0]), int(columns[-1]) + 1, int(rows[-1]) + 1


def text_aspect(text: str) -> float:
    """Width / height of the ink of ``text`` in the client's first font, set large."""
    font = ImageFont.truetype(str(font_chain().faces[0].path), size=200)
    left, top, right, bottom = font.getbbox(text, anchor="ls")
    return (right - left) / (bottom - top)


def text_below_images(lit: np.ndarray, text: str) -> np.ndarray:
    """The part of a sheet below its images (``lit``: where it is not black), checked to
    hold ``text`` alone: ink that starts near the left edge with the proportions of
    ``text`` in the client's font. Returns that part of ``lit``."""
    image_rows = np.flatnonzero(lit.mean(axis=1) > 0.3)  # rows largely covered by an image
    below = lit[image_rows[-1] + 1:]
    assert below.any(), "no burned-in text below the images"
    left, top, right, bottom = ink_box(below)
    assert left < 0.05 * lit.shape[1]  # left-aligned on the line
    aspect = (right - left) / (bottom - top)
    assert aspect == pytest.approx(text_aspect(text), rel=0.08)
    return below


def test_compose_to_print_scp_sends_one_sheet_per_film_at_its_matrix(tmp_path: Path) -> None:
    images = [write_cr(tmp_path / f"cr{i}.dcm") for i in range(3)]
    out = tmp_path / "films"
    with running_printer(out) as server:
        config = tmp_path / "printers.toml"
        config.write_text(f'[printers.scp]\nhost = "127.0.0.1"\nport = {server.port}\n'
                          f'called_ae = "{server.profile.ae_title}"\n'
                          'configuration_retrieval = true\n')
        status = cli.main(["print", "--config", str(config), "--spool", str(tmp_path / "spool"),
                           "--film-size", "8INX10IN", "--format", "1x2", "--compose",
                           "--annotation", "{PatientID} {page}/{pages}", *map(str, images)])
        assert status == 0
        jsons = wait_for_films(out, 2)
        dpi = server.profile.standard_dpi
    assert len(jsons) == 2
    columns, rows = box_matrix(LETTER_PORTRAIT_MM, dpi)
    for path in jsons:
        film = film_metadata(path)
        in_force = film["film_box"]["in_force"]
        assert in_force["image_display_format"] == "STANDARD\\1,1"
        assert in_force["magnification_type"] == "NONE"
        [box] = film["image_boxes"]
        assert (box["image"]["columns"], box["image"]["rows"]) == (columns, rows)
        [rect] = film["film"]["image_box_rects_px"]
        assert (rect["width"], rect["height"]) == (columns, rows)
        assert film["annotation_boxes"] == []
        density, _ = read_density_map(path.with_suffix("").with_suffix(".density.png"))
        printed = density[rect["y"]:rect["y"] + rows, rect["x"]:rect["x"] + columns]
        # Printed one sheet pixel per printer pixel: where it is not the black of P-Value 0
        # (Max Density), the images and the text. Both pages' texts have the ink box of
        # "CR42 1/2" (the font's digits are equally wide, its 1 and 2 equally high).
        text_below_images(printed < MAX_DENSITY_OD - 0.02, "CR42 1/2")


@requires_dcmtk
@pytest.mark.parametrize("bits", [8, 12])
def test_compose_to_dcmprscp_burns_in_the_text_at_the_dpi_matrix(tmp_path: Path, dcmprscp,
                                                                 bits: int) -> None:
    images = [write_cr(tmp_path / f"cr{i}.dcm") for i in range(2)]
    scp = dcmprscp.endpoint
    dpi = 100
    status = cli.main(["print", "--spool", str(tmp_path / "spool"), "--host", scp.host,
                       "--port", str(scp.port), "--called-ae", scp.aetitle, "--dpi", str(dpi),
                       "--film-size", "8INX10IN", "--bits", str(bits), "--compose",
                       "--true-size", "--annotation", "{PatientName} {page}/{pages}",
                       *map(str, images)])
    assert status == 0
    films = read_stored_films(scp.storage_dir)
    assert len(films) == 2
    columns, rows = box_matrix(LETTER_PORTRAIT_MM, dpi)
    for page, film in enumerate(films, start=1):
        assert film.image_display_format == "STANDARD\\1,1"
        [box] = film.image_boxes
        sheet = box.pixels
        assert sheet.shape == (rows, columns)
        assert int(box.hardcopy.BitsStored) == bits
        below = text_below_images(sheet > 0, f"Ortho^Leg {page}/2")
        assert sheet[-below.shape[0]:][below].max() == 2**bits - 1  # white strokes
        # True size on the sheet: the marker's centres lie 100 mm apart at 100 dpi.
        middle = np.flatnonzero((sheet > 0).mean(axis=1) > 0.5)[0] + 20
        bright = np.flatnonzero(sheet[middle] > 0.5 * (2**bits - 1))
        groups = np.split(bright, np.flatnonzero(np.diff(bright) > 1) + 1)
        centres = [float(group.mean()) for group in groups]
        assert len(centres) == len(LINE_CENTRES)
        assert (centres[1] - centres[0]) * MM_PER_INCH / dpi == pytest.approx(100.0, abs=0.5)


def _image(pixels: np.ndarray, spacing: float | None = None, photometric: str = "MONOCHROME2",
           bits: int = 8) -> PreparedImage:
    return PreparedImage(pixels, photometric, bits, "test#1",
                         pixel_spacing_mm=None if spacing is None else (spacing, spacing),
                         fields={"PatientID": "P1"})


def test_a_scale_bar_shows_its_length_of_anatomy() -> None:
    # 100 dpi sheet (0.254 mm per pixel); a 110 x 40 mm image at true size: the bar is the
    # longest of 1, 2, 5, 10, 20, 50 ... mm within 40 % of 110 mm, 20 mm = 78.7 pixels.
    sheet = Sheet(760, 960, MM_PER_INCH / 100, "test")
    image = PreparedImage(np.full((400, COLUMNS), 60, dtype=np.uint8), "MONOCHROME2", 8,
                          "cr#1", pixel_spacing_mm=(0.1, 0.1), requested_size_mm=110.0)
    options = PrintOptions(compose=True, scale_bar=True)
    composed = compose_sheet([image], [], sheet, sheet_layout(sheet, "STANDARD\\1,1", 0),
                             options, "film 1")
    white_runs = [np.flatnonzero(row == 255) for row in composed.pixels]
    longest = max(len(run) for run in white_runs if len(run) and np.all(np.diff(run) == 1))
    assert longest == round(20.0 / 0.1 * (110.0 / MM_PER_INCH * 100) / COLUMNS)


def test_monochrome1_and_color_images_are_composed_as_displayed() -> None:
    sheet = Sheet(200, 300, 1.0, "test")
    layout = sheet_layout(sheet, "STANDARD\\1,1", 1)
    inverted = compose_sheet([_image(np.full((10, 10), 200, np.uint8),
                                     photometric="MONOCHROME1")], [""], sheet, layout,
                             PrintOptions(compose=True), "film 1")
    assert inverted.photometric == "MONOCHROME2"
    assert inverted.pixels.max() == 55  # 255 - 200: MONOCHROME2 as it displays
    rgb = np.zeros((10, 10, 3), np.uint8)
    rgb[..., 0] = 180
    colored = compose_sheet([_image(rgb, photometric="RGB")], ["RGB"], sheet, layout,
                            PrintOptions(compose=True), "film 1")
    assert colored.pixels.shape == (300, 200, 3) and colored.photometric == "RGB"
    lit = colored.pixels.max(axis=2) > 0
    image_rows = np.flatnonzero(lit.mean(axis=1) > 0.5)
    text = colored.pixels[image_rows[-1] + 1:]
    assert (text == 255).all(axis=2).any()  # white text: all three channels


def test_compose_without_a_known_matrix_is_a_one_line_error(tmp_path: Path, capsys) -> None:
    image = write_cr(tmp_path / "cr.dcm")
    status = cli.main(["submit", "--spool", str(tmp_path / "spool"), "--host", "127.0.0.1",
                       "--port", "104", "--called-ae", "NOWHERE", "--compose", str(image)])
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1 and "Traceback" not in error
    assert "pixel matrix" in error and "--dpi" in error


def _configuration(*items: dict) -> Dataset:
    printer = Dataset()
    printer.SupportedImageDisplayFormatsSequence = []
    for values in items:
        item = Dataset()
        for keyword, value in values.items():
            setattr(item, keyword, value)
        printer.SupportedImageDisplayFormatsSequence.append(item)
    configuration = Dataset()
    configuration.PrinterConfigurationSequence = [printer]
    return configuration


def test_the_matrix_is_the_whole_sheet_item_of_the_printer_configuration() -> None:
    whole = {"ImageDisplayFormat": "STANDARD\\1,1", "FilmSizeID": "8INX10IN",
             "FilmOrientation": "PORTRAIT", "PrinterResolutionID": "STANDARD",
             "Rows": 1440, "Columns": 1140, "PrinterPixelSpacing": ["0.169333", "0.169333"]}
    configuration = _configuration({**whole, "ImageDisplayFormat": "STANDARD\\2,2",
                                     "Rows": 700, "Columns": 560},
                                    {**whole, "FilmOrientation": "LANDSCAPE"}, whole)
    sheet = sheet_from_configuration(configuration, "8INX10IN", "PORTRAIT", "STANDARD")
    assert sheet is not None
    assert (sheet.columns, sheet.rows, sheet.pixel_spacing_mm) == (1140, 1440, 0.169333)
    assert sheet_from_configuration(configuration, "14INX17IN", "PORTRAIT", "STANDARD") is None
    assert sheet_from_configuration(configuration, "8INX10IN", "PORTRAIT", "HIGH") is None
    assert sheet_from_configuration(None, "8INX10IN", "PORTRAIT", "STANDARD") is None


def test_compose_for_a_color_printer_sends_an_rgb_sheet(tmp_path: Path) -> None:
    image = write_cr(tmp_path / "cr.dcm", rows=40, columns=60)
    out = tmp_path / "films"
    with running_printer(out, color=True) as server:
        dpi = server.profile.standard_dpi
        status = cli.main(["print", "--spool", str(tmp_path / "spool"), *printer_args(server),
                           "--dpi", str(dpi), "--color", "--film-size", "8INX10IN",
                           "--compose", "--annotation", "{PatientID}", str(image)])
        assert status == 0
        [json_path] = wait_for_films(out, 1)
    [box] = film_metadata(json_path)["image_boxes"]
    [item] = box["received"]["BasicColorImageSequence"]
    columns, rows = box_matrix(LETTER_PORTRAIT_MM, dpi)
    assert (item["PhotometricInterpretation"], item["Columns"], item["Rows"]) == ("RGB", columns,
                                                                                 rows)

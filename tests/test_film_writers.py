"""Output files of a rendered film: PDF, light-box PNG, density PNG and JSON.

The test film is a grid of blocks of known density (whole thousandths of OD)
with one color block. Expected gray levels are computed here from the PS3.14
formulas (forward GSDF, inverted by bisection), page sizes from 72 pt per
inch, and the PDF is checked with poppler's own tools.
"""

import json
import math
import os
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import PurePosixPath

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from film import writers
from film.model import MediumType, RenderedFilm
from film.staged_files import remove_staging_leftovers, safe_stem, validate_stem
from film.writers import FilmFiles, write_film
from lut.density import ViewingConditions

DPI = 50
BLOCK_WIDTH, BLOCK_HEIGHT = 20, 25  # px
BLOCK_COLUMNS, BLOCK_ROWS = 5, 6
WIDTH_PX, HEIGHT_PX = BLOCK_WIDTH * BLOCK_COLUMNS, BLOCK_HEIGHT * BLOCK_ROWS  # 100 x 150
WIDTH_MM, HEIGHT_MM = 50.8, 76.2  # 100 px and 150 px at 50 dpi: 2 in x 3 in = 144 x 216 pt
L0, LA = 2000.0, 10.0  # cd/m²
COLOR_BLOCK = (4, 3)  # (block row, block column)
COLOR = (200, 40, 10)

needs_poppler = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pdfinfo", "pdftoppm", "pdfimages")),
    reason="poppler-utils not installed",
)


# --- the PS3.14 GSDF, written out independently of the lut package ----------

GSDF_A, GSDF_B, GSDF_C, GSDF_D = -1.3011877, -2.5840191e-2, 8.0242636e-2, -1.0320229e-1
GSDF_E, GSDF_F, GSDF_G, GSDF_H = 1.3646699e-1, 2.8745620e-2, -2.5468404e-2, -3.1978977e-3
GSDF_K, GSDF_M = 1.2992634e-4, 1.3635334e-3


def gsdf_luminance(j):
    """PS3.14 §7.1: luminance (cd/m²) of JND index j."""
    x = math.log(j)
    numerator = GSDF_A + GSDF_C * x + GSDF_E * x**2 + GSDF_G * x**3 + GSDF_M * x**4
    denominator = (1 + GSDF_B * x + GSDF_D * x**2 + GSDF_F * x**3 + GSDF_H * x**4
                   + GSDF_K * x**5)
    return 10 ** (numerator / denominator)


def gsdf_jnd(luminance):
    """JND index of a luminance: the forward formula inverted by bisection."""
    low, high = 1.0, 1023.0
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if gsdf_luminance(middle) < luminance else (low, middle)
    return (low + high) / 2


def lightbox_gray(density):
    """Gray of film of ``density`` OD on a light box shown on a GSDF display from La to La+L0."""
    luminance = LA + L0 * 10 ** -density
    j_black, j_white = gsdf_jnd(LA), gsdf_jnd(LA + L0)
    return round(255 * (gsdf_jnd(luminance) - j_black) / (j_white - j_black))


def test_gsdf_helper_reproduces_the_standards_numbers():
    assert gsdf_luminance(1) == pytest.approx(0.05, abs=5e-5)  # PS3.14 Table B-1
    assert gsdf_luminance(1023) == pytest.approx(3993.4040, rel=1e-4)  # table vs formula
    # PS3.14 Annex D.2 gives j(12 cd/m²) = 233.32 by the inverse polynomial,
    # which the standard says is within a fraction of a JND of the exact inverse.
    assert gsdf_jnd(12.0) == pytest.approx(233.32, abs=0.05)


# --- the test film -----------------------------------------------------------

def block_units():
    """Density of each block in thousandths of OD: 600 per block row, 150 per column."""
    rows, columns = np.mgrid[0:BLOCK_ROWS, 0:BLOCK_COLUMNS]
    return 600 * rows + 150 * columns  # 0 (top left) .. 3600; (5, 0) is 3.000 OD


def block_centre(row, column):
    return row * BLOCK_HEIGHT + BLOCK_HEIGHT // 2, column * BLOCK_WIDTH + BLOCK_WIDTH // 2


def block_slice(row, column):
    return (slice(row * BLOCK_HEIGHT, (row + 1) * BLOCK_HEIGHT),
            slice(column * BLOCK_WIDTH, (column + 1) * BLOCK_WIDTH))


def unit_grid():
    return np.kron(block_units(), np.ones((BLOCK_HEIGHT, BLOCK_WIDTH), dtype=np.int64))


def make_film(color=True, width_mm=WIDTH_MM, height_mm=HEIGHT_MM, units=None):
    units = unit_grid() if units is None else units
    density = (units / 1000).astype(np.float32)
    rgb = mask = None
    if color:
        mask = np.zeros(density.shape, dtype=bool)
        mask[block_slice(*COLOR_BLOCK)] = True
        rgb = np.zeros(density.shape + (3,), dtype=np.uint8)
        rgb[mask] = COLOR
    return RenderedFilm(
        density=density, dpi=DPI, width_mm=width_mm, height_mm=height_mm,
        viewing=ViewingConditions(illumination=L0, reflected_ambient_light=LA),
        rgb=rgb, color_mask=mask,
        image_box_rects_px={2: (50, 0, 50, 75), 1: (0, 0, 50, 75)},
        annotation_rects_px={1: (0, 140, 100, 10)},
        warnings=["B605: Max Density clipped to 3.00 OD"],
    )


@pytest.fixture
def written(tmp_path):
    return write_film(make_film(), tmp_path, "film-0001", {"pdf_info": {"Title": "Test film"}})


def pixels(path):
    with Image.open(path) as image:
        return image.mode, np.asarray(image)


# --- file set and atomicity ---------------------------------------------------

def test_writes_exactly_the_four_files(written, tmp_path):
    assert written == FilmFiles(
        pdf=tmp_path / "film-0001.pdf", png=tmp_path / "film-0001.png",
        density_png=tmp_path / "film-0001.density.png", json=tmp_path / "film-0001.json",
    )
    assert sorted(os.listdir(tmp_path)) == [
        "film-0001.density.png", "film-0001.json", "film-0001.pdf", "film-0001.png",
    ]


def test_rewriting_replaces_the_files(tmp_path):
    write_film(make_film(), tmp_path, "same", {"run": 1})
    write_film(make_film(), tmp_path, "same", {"run": 2})
    assert json.loads((tmp_path / "same.json").read_bytes())["run"] == 2
    assert len(os.listdir(tmp_path)) == 4


def test_failing_encoder_leaves_no_file(tmp_path, monkeypatch):
    real_png_file = writers.png_file
    calls = []

    def png_file_then_fail(raster, dpi):
        calls.append(raster.bit_depth)
        if len(calls) == 2:  # the density PNG, after the light-box PNG was staged
            raise RuntimeError("disk on fire")
        return real_png_file(raster, dpi)

    monkeypatch.setattr(writers, "png_file", png_file_then_fail)
    with pytest.raises(RuntimeError, match="disk on fire"):
        write_film(make_film(), tmp_path, "film-0002", {})
    assert calls == [8, 16]
    assert os.listdir(tmp_path) == []


def test_failure_while_a_file_is_open_keeps_the_previous_files(tmp_path, monkeypatch):
    files = write_film(make_film(), tmp_path, "film-0003", {"run": 1})
    before = {path: path.read_bytes() for path in vars(files).values()}

    def failing_fsync(descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError, match="No space left"):
        write_film(make_film(color=False), tmp_path, "film-0003", {"run": 2})
    assert sorted(os.listdir(tmp_path)) == sorted(path.name for path in before)
    assert all(path.read_bytes() == content for path, content in before.items())


def test_refused_file_creation_leaves_no_file(tmp_path, monkeypatch):
    # What an unwritable directory does, also when running as root.
    def refuse(path, flags, mode=0o777):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError):
        write_film(make_film(), tmp_path, "film-0004", {})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_unwritable_directory_leaves_no_file(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        with pytest.raises(PermissionError):
            write_film(make_film(), locked, "film-0004", {})
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o700)


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(NotADirectoryError, match="missing"):
        write_film(make_film(), tmp_path / "missing", "film-0005", {})


@pytest.mark.parametrize("name", [
    "", ".hidden", "..", "../escape", "a/b", "a\\b", "name with space", "naïve", "a\x00b",
    "x" * 129, "film:1",
])
def test_unsafe_names_are_rejected_before_writing(tmp_path, name):
    with pytest.raises(ValueError):
        write_film(make_film(), tmp_path, name, {})
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["f", "film-0001", "A.b_c-9", "x" * 128, "-dash"])
def test_safe_names_are_accepted(name):
    assert validate_stem(name) == name


@pytest.mark.parametrize("text, stem", [
    ("Müller, Hans / CT:1", "Muller_Hans_CT_1"),
    ("../../etc/passwd", "etc_passwd"),
    ("  ..hidden.. ", "hidden"),
    ("report.v2", "report.v2"),
])
def test_safe_stem_examples(text, stem):
    assert safe_stem(text, "fallback") == stem


@pytest.mark.parametrize("text", ["", "...", "日本語", "\x00\x01", "///"])
def test_safe_stem_falls_back_when_nothing_is_left(text):
    assert safe_stem(text, "film-0001") == "film-0001"


def test_safe_stem_refuses_an_unsafe_fallback():
    with pytest.raises(ValueError):
        safe_stem("whatever", "../bad")


@given(st.text())
def test_safe_stem_is_always_a_valid_stem(text):
    stem = safe_stem(text, "fallback")
    assert validate_stem(stem) == stem
    assert len(stem) <= 128


# --- PDF -------------------------------------------------------------------------

def pdfinfo(path, *options):
    result = subprocess.run(["pdfinfo", *options, "-enc", "UTF-8", str(path)],
                            capture_output=True, text=True, timeout=30, check=True)
    assert result.stderr == ""  # poppler reports syntax errors on stderr
    return result.stdout


@needs_poppler
@pytest.mark.parametrize("width_mm, height_mm, width_pt, height_pt", [
    (WIDTH_MM, HEIGHT_MM, 144.0, 216.0),  # 2 in x 3 in
    (355.6, 431.8, 1008.0, 1224.0),  # 14INX17IN
    (210.0, 297.0, 595.2756, 841.8898),  # A4: 210 / 25.4 * 72, 297 / 25.4 * 72
    (431.8, 355.6, 1224.0, 1008.0),  # 14INX17IN landscape
])
def test_pdf_is_one_page_of_the_film_size(tmp_path, width_mm, height_mm, width_pt, height_pt):
    files = write_film(make_film(width_mm=width_mm, height_mm=height_mm), tmp_path, "size", {})
    info = pdfinfo(files.pdf, "-box")
    assert re.search(r"^Pages:\s+1$", info, re.MULTILINE)
    media_box = [float(v) for v in re.search(r"^MediaBox:(.*)$", info, re.MULTILINE)[1].split()]
    assert media_box[:2] == [0.0, 0.0]
    assert media_box[2] == pytest.approx(width_pt, abs=0.01)
    assert media_box[3] == pytest.approx(height_pt, abs=0.01)


def test_pdf_uses_no_jpeg(written):
    data = written.pdf.read_bytes()
    assert b"DCTDecode" not in data and b"DCT" not in data
    assert b"/FlateDecode" in data


@needs_poppler
def test_pdf_document_information(tmp_path):
    untrusted = "Ünïcode (title) \\ ) 日本 /Evil >> endobj"
    metadata = {"pdf_info": {"Title": untrusted, "Subject": "Chest PA",
                             "Keywords": "CT, film", "Calling AE": "MODALITY_1"}}
    files = write_film(make_film(), tmp_path, "info", metadata)
    fields = dict(re.findall(r"^(\w[\w ]*?):\s*(.*)$", pdfinfo(files.pdf, "-custom"), re.MULTILINE))
    assert fields["Title"] == untrusted
    assert fields["Subject"] == "Chest PA"
    assert fields["Keywords"] == "CT, film"
    assert fields["Author"] == "filmbox print-scp"
    assert fields["Creator"] == "filmbox print-scp"
    assert fields["Calling AE"] == "MODALITY_1"


@needs_poppler
def test_pdf_survives_control_characters_in_text(tmp_path):
    metadata = {"pdf_info": {"Title": "nul\x00 cr\r lf\n \udcff end", "Odd/Key (1)": "v"}}
    files = write_film(make_film(), tmp_path, "control", metadata)
    assert re.search(r"^Pages:\s+1$", pdfinfo(files.pdf), re.MULTILINE)  # and no syntax error
    info = pdfinfo(files.pdf, "-custom")
    assert "end" in info and re.search(r"^Odd/Key \(1\):\s*v$", info, re.MULTILINE)


@needs_poppler
def test_pdf_default_title_is_the_stem(written, tmp_path):
    files = write_film(make_film(), tmp_path, "film-0042", {})
    assert re.search(r"^Title:\s+film-0042$", pdfinfo(files.pdf), re.MULTILINE)
    assert re.search(r"^Title:\s+Test film$", pdfinfo(written.pdf), re.MULTILINE)


@needs_poppler
def test_pdf_embeds_the_png_pixels_unchanged(written, tmp_path):
    subprocess.run(["pdfimages", "-png", str(written.pdf), str(tmp_path / "embedded")],
                   check=True, timeout=30)
    assert np.array_equal(pixels(tmp_path / "embedded-000.png")[1], pixels(written.png)[1])


@needs_poppler
@pytest.mark.parametrize("color", [True, False])
def test_pdf_rendered_at_film_dpi_reproduces_the_png(tmp_path, color):
    files = write_film(make_film(color=color), tmp_path, "render", {})
    subprocess.run(["pdftoppm", "-r", str(DPI), "-png", "-singlefile", str(files.pdf),
                    str(tmp_path / "rendered")], check=True, timeout=30)
    with Image.open(tmp_path / "rendered.png") as image:
        rendered = np.asarray(image.convert("RGB")).astype(int)
    with Image.open(files.png) as image:
        expected = np.asarray(image.convert("RGB")).astype(int)
    assert rendered.shape == (HEIGHT_PX, WIDTH_PX, 3)
    for row in range(BLOCK_ROWS):
        for column in range(BLOCK_COLUMNS):
            y, x = block_centre(row, column)
            assert np.abs(rendered[y, x] - expected[y, x]).max() <= 1, (row, column)


# --- PNGs ---------------------------------------------------------------------------

def test_lightbox_png_gray_follows_the_gsdf(written):
    mode, image = pixels(written.png)
    assert mode == "RGB"
    units = block_units()
    for row in range(BLOCK_ROWS):
        for column in range(BLOCK_COLUMNS):
            if (row, column) == COLOR_BLOCK:
                continue
            gray = lightbox_gray(units[row, column] / 1000)
            assert (image[block_slice(row, column)] == gray).all(), (row, column)


def test_lightbox_png_known_levels(written):
    image = pixels(written.png)[1]
    # Clear film shows the light box itself: white.
    assert (image[block_slice(0, 0)] == 255).all()
    # 3.00 OD under 2000 cd/m² with 10 cd/m² ambient is 10 + 2 = 12 cd/m².
    expected = round(255 * (gsdf_jnd(12.0) - gsdf_jnd(LA)) / (gsdf_jnd(LA + L0) - gsdf_jnd(LA)))
    assert (image[block_slice(5, 0)] == expected).all()


def test_lightbox_png_color_block_keeps_its_rgb(written):
    image = pixels(written.png)[1]
    assert (image[block_slice(*COLOR_BLOCK)] == COLOR).all()


def test_lightbox_png_is_gray_without_color(tmp_path):
    files = write_film(make_film(color=False), tmp_path, "gray", {})
    mode, image = pixels(files.png)
    assert mode == "L"
    assert image[block_centre(*COLOR_BLOCK)] == lightbox_gray(block_units()[COLOR_BLOCK] / 1000)


def test_pngs_carry_the_dpi(written):
    for path in (written.png, written.density_png):
        with Image.open(path) as image:
            # pHYs holds whole pixels per metre: 50 dpi = 1968.5 -> 1969 /m = 50.0126 dpi.
            assert image.info["dpi"] == pytest.approx((DPI, DPI), abs=0.0127)


def test_density_png_holds_thousandths_of_od(written):
    mode, image = pixels(written.density_png)
    assert mode == "I;16"
    assert image.shape == (HEIGHT_PX, WIDTH_PX)
    assert np.array_equal(image, unit_grid())


def test_density_png_rounds_and_clips(tmp_path):
    units = np.zeros((10, 10))
    film = make_film(color=False, units=units)
    film.density[0, 0] = 1.2344  # -> 1234
    film.density[0, 1] = 1.2346  # -> 1235
    film.density[0, 2] = -0.5  # -> 0
    film.density[0, 3] = 70.0  # -> 65535
    files = write_film(film, tmp_path, "rounding", {})
    assert pixels(files.density_png)[1][0, :4].tolist() == [1234, 1235, 0, 65535]


# --- JSON ---------------------------------------------------------------------------

def test_json_round_trips_untrusted_text(tmp_path):
    metadata = {
        "calling_ae": "ÄÉ 日本 🎞",
        "film_session_label": "nul\x00inside",
        "undecodable": "bad byte \udcff here",
        "nested": {"list": [1, 2.5, None, "é"]},
    }
    files = write_film(make_film(), tmp_path, "json", metadata)
    text = files.json.read_bytes().decode("utf-8")  # strict: valid UTF-8
    document = json.loads(text)
    assert {key: document[key] for key in metadata} == metadata
    assert "日本" in text  # non-ASCII kept readable, not \u-escaped


def test_json_records_the_film_geometry(written):
    film = json.loads(written.json.read_bytes())["film"]
    assert film["dpi"] == DPI
    assert (film["width_mm"], film["height_mm"]) == (WIDTH_MM, HEIGHT_MM)
    assert (film["width_px"], film["height_px"]) == (WIDTH_PX, HEIGHT_PX)
    assert film["pixel_spacing_mm"] == pytest.approx(25.4 / DPI)
    assert film["color"] is True
    assert film["image_box_rects_px"] == [
        {"position": 1, "x": 0, "y": 0, "width": 50, "height": 75},
        {"position": 2, "x": 50, "y": 0, "width": 50, "height": 75},
    ]
    assert film["annotation_rects_px"] == [
        {"position": 1, "x": 0, "y": 140, "width": 100, "height": 10},
    ]
    assert film["warnings"] == ["B605: Max Density clipped to 3.00 OD"]
    assert film["files"]["density_png"] == "film-0001.density.png"
    assert film["files"]["density_png_units_per_od"] == 1000


def test_json_keeps_the_pdf_info_given(written):
    assert json.loads(written.json.read_bytes())["pdf_info"] == {"Title": "Test film"}


def test_json_writes_common_python_values_as_text_and_numbers(tmp_path):
    metadata = {
        "received": datetime(2024, 1, 15, 9, 30, 5, tzinfo=timezone.utc),
        "medium": MediumType.BLUE_FILM,
        "spool": PurePosixPath("/var/spool/films"),
        "copies": np.int64(2),
        "trim": np.bool_(True),
    }
    files = write_film(make_film(), tmp_path, "values", metadata)
    document = json.loads(files.json.read_bytes())
    assert document["received"] == "2024-01-15T09:30:05+00:00"
    assert document["medium"] == "BLUE FILM"
    assert document["spool"] == "/var/spool/films"
    assert document["copies"] == 2 and document["trim"] is True


@pytest.mark.parametrize("value, error", [(float("nan"), ValueError), (object(), TypeError)])
def test_metadata_that_is_not_json_is_refused_before_writing(tmp_path, value, error):
    with pytest.raises(error):
        write_film(make_film(), tmp_path, "bad", {"value": value})
    assert os.listdir(tmp_path) == []


def test_film_key_of_metadata_is_reserved(tmp_path):
    with pytest.raises(ValueError, match="reserved"):
        write_film(make_film(), tmp_path, "reserved", {"film": {}})


# --- invalid films ---------------------------------------------------------------------

def test_nan_density_is_rejected(tmp_path):
    film = make_film()
    film.density[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        write_film(film, tmp_path, "nan", {})
    assert os.listdir(tmp_path) == []


def test_rgb_without_mask_is_rejected(tmp_path):
    film = make_film()
    film.color_mask = None
    with pytest.raises(ValueError, match="together"):
        write_film(film, tmp_path, "rgb", {})


def test_pdf_info_values_must_be_text(tmp_path):
    with pytest.raises(TypeError, match="pdf_info"):
        write_film(make_film(), tmp_path, "info", {"pdf_info": {"Copies": 2}})


def test_staging_leftovers_of_a_killed_writer_are_removed_and_nothing_else(tmp_path):
    files = write_film(make_film(), tmp_path, "kept", {})
    leftovers = [tmp_path / ".kept.png.0123456789ab.tmp", tmp_path / ".x.json.abcdef012345.tmp"]
    others = [tmp_path / ".hidden", tmp_path / "notes.tmp", tmp_path / ".a.json.xyz.tmp"]
    for path in leftovers + others:
        path.write_bytes(b"partial")
    assert sorted(remove_staging_leftovers(tmp_path)) == sorted(leftovers)
    assert all(path.exists() for path in others)
    assert all(path.exists() for path in vars(files).values())

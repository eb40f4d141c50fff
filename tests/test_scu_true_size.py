"""True size (--true-size), --requested-image-size, --decimate-crop and CUSTOM formats.

The test image is a CR image at 0.1 mm per pixel (given as Pixel Spacing,
or as Imager Pixel Spacing 0.15 mm with an Estimated Radiographic
Magnification Factor of 1.5) whose marker is two 5-pixel-wide bright lines
whose centres are 1000 columns, 100 mm of anatomy, apart. On print-scp's
rendered film the marker is measured from the density map: the centroid of
each line's darkness deficit along a row, in printer pixels, at the dpi the
film's JSON gives.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dcmtk_peer import DcmprscpServer, PrinterProfile, read_stored_films, requires_dcmtk
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from scp_harness import film_metadata, running_printer, wait_for_films
from test_scu_cli import printer_args

from film.densitometry import read_density_map
from print_scu import cli
from print_scu.config import ConfigError, adhoc_printer
from print_scu.options import OptionError, PrintOptions
from print_scu.prepared_image import PreparedImage
from print_scu.queue import JobQueue
from print_scu.request_attributes import image_box_attributes
from print_scu.true_size import square_pixels

CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
SPACING_MM = 0.1
MARKER_MM = 100.0
ROWS, COLUMNS = 400, 1100
LINE_CENTRES = (50, 1050)  # columns: 1000 px = 100 mm apart at 0.1 mm
LINE_HALF_WIDTH = 2  # columns either side of a centre: lines 5 px wide


def write_cr(path: Path, rows: int = ROWS, columns: int = COLUMNS, *,
             pixel_spacing: tuple[float, float] | None = (SPACING_MM, SPACING_MM),
             imager_spacing: tuple[float, float] | None = None,
             magnification: float | None = None) -> Path:
    """A 12-bit MONOCHROME2 CR image: dark (100), the marker lines bright (4000)."""
    pixels = np.full((rows, columns), 100, dtype=np.uint16)
    for centre in LINE_CENTRES:
        if centre + LINE_HALF_WIDTH < columns:
            pixels[:, centre - LINE_HALF_WIDTH:centre + LINE_HALF_WIDTH + 1] = 4000
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CR_IMAGE_STORAGE
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = CR_IMAGE_STORAGE
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.StudyDate = "Ortho^Leg", "CR42", "20260102"
    ds.Modality = "CR"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, columns
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    if pixel_spacing is not None:
        ds.PixelSpacing = list(pixel_spacing)
    if imager_spacing is not None:
        ds.ImagerPixelSpacing = list(imager_spacing)
    if magnification is not None:
        ds.EstimatedRadiographicMagnificationFactor = magnification
    ds.PixelData = pixels.tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def line_centroids_px(profile: np.ndarray, background: float) -> list[float]:
    """Centroids (pixel index) of the light lines of a density profile on a dark film:
    each run of pixels clearly below the background, weighted by its density deficit."""
    deficit = np.clip(background - profile, 0.0, None)
    marked = deficit > 0.1 * deficit.max()
    centroids, start = [], None
    for index, flag in enumerate([*marked, False]):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            window = deficit[max(start - 2, 0):index + 2]
            columns = np.arange(max(start - 2, 0), max(start - 2, 0) + window.size)
            centroids.append(float((window * columns).sum() / window.sum()))
            start = None
    return centroids


def test_true_size_prints_the_100_mm_marker_at_100_mm_on_print_scp(tmp_path: Path) -> None:
    image = write_cr(tmp_path / "cr.dcm")
    out = tmp_path / "films"
    with running_printer(out) as server:
        status = cli.main(["print", "--spool", str(tmp_path / "spool"), *printer_args(server),
                           "--film-size", "8INX10IN", "--true-size", str(image)])
        assert status == 0
        [json_path] = wait_for_films(out, 1)
    film = film_metadata(json_path)
    dpi = film["film"]["dpi"]
    [box] = film["image_boxes"]
    assert box["received"]["RequestedImageSize"] == pytest.approx(COLUMNS * SPACING_MM)
    density, _ = read_density_map(json_path.with_suffix("").with_suffix(".density.png"))
    rect = film["film"]["image_box_rects_px"][0]
    middle = rect["y"] + rect["height"] // 2
    row = density[middle, rect["x"]:rect["x"] + rect["width"]]
    dark = np.flatnonzero(row > (row.max() + row.min()) / 2)  # the image, not the empty box
    profile = row[dark[0]:dark[-1] + 1]
    first, second = line_centroids_px(profile, float(np.median(profile)))
    measured_mm = (second - first) * 25.4 / dpi
    assert measured_mm == pytest.approx(MARKER_MM, abs=0.5)


@requires_dcmtk
def test_true_size_to_dcmprscp_stores_the_requested_image_size(tmp_path: Path) -> None:
    image = write_cr(tmp_path / "cr.dcm")
    with DcmprscpServer(tmp_path, profile=PrinterProfile(supports_image_size=True)) as scp:
        status = cli.main(["print", "--spool", str(tmp_path / "spool"), "--host", scp.host,
                           "--port", str(scp.port), "--called-ae", scp.aetitle,
                           "--film-size", "8INX10IN", "--bits", "12", "--true-size",
                           str(image)])
        assert status == 0
        [film] = read_stored_films(scp.storage_dir)
    [box] = film.image_boxes
    assert float(box.attributes.RequestedImageSize) == pytest.approx(COLUMNS * SPACING_MM)
    assert box.pixels.shape == (ROWS, COLUMNS)


def test_imager_pixel_spacing_is_corrected_by_the_magnification_factor(tmp_path: Path) -> None:
    image = write_cr(tmp_path / "cr.dcm", pixel_spacing=None, imager_spacing=(0.15, 0.15),
                     magnification=1.5)
    spool = tmp_path / "spool"
    status = cli.main(["submit", "--spool", str(spool), "--host", "127.0.0.1", "--port", "104",
                       "--called-ae", "NOWHERE", "--film-size", "8INX10IN", "--true-size",
                       str(image)])
    assert status == 0
    [job] = JobQueue(spool).jobs()
    [queued] = JobQueue(spool).load_film(job.id, 0)
    assert queued.requested_size_mm == pytest.approx(COLUMNS * 0.15 / 1.5)


def test_an_image_larger_than_its_box_at_true_size_is_refused(tmp_path: Path, capsys) -> None:
    # 2400 x 3000 pixels at 0.1 mm: 240 x 300 mm; the box of an 8x10 inch film inside
    # 5 mm margins is 203.2 - 10 = 193.2 by 254 - 10 = 244 mm.
    image = write_cr(tmp_path / "big.dcm", rows=3000, columns=2400)
    status = cli.main(["submit", "--spool", str(tmp_path / "spool"), "--host", "127.0.0.1",
                       "--port", "104", "--called-ae", "NOWHERE", "--film-size", "8INX10IN",
                       "--true-size", str(image)])
    error = capsys.readouterr().err
    assert status == 2
    assert error.count("\n") == 1 and "Traceback" not in error
    assert f"{image}#1: at true size (0.1 mm/pixel) the image is 240.0 × 300.0 mm" in error
    assert "8INX10IN PORTRAIT STANDARD\\1,1 is 193 × 244 mm" in error
    assert "--decimate-crop" in error


def test_decimate_crop_lets_the_printer_crop_an_oversized_image(tmp_path: Path) -> None:
    image = write_cr(tmp_path / "big.dcm", rows=600, columns=2400)  # 240 x 60 mm
    out = tmp_path / "films"
    with running_printer(out) as server:
        status = cli.main(["print", "--spool", str(tmp_path / "spool"), *printer_args(server),
                           "--film-size", "8INX10IN", "--true-size", "--decimate-crop", "crop",
                           str(image)])
        assert status == 0
        [json_path] = wait_for_films(out, 1)
    [box] = film_metadata(json_path)["image_boxes"]
    assert box["received"]["RequestedDecimateCropBehavior"] == "CROP"
    assert box["received"]["RequestedImageSize"] == pytest.approx(240.0)


def test_true_size_needs_pixel_spacing(tmp_path: Path, capsys) -> None:
    image = write_cr(tmp_path / "plain.dcm", pixel_spacing=None)
    status = cli.main(["submit", "--spool", str(tmp_path / "spool"), "--host", "127.0.0.1",
                       "--port", "104", "--called-ae", "NOWHERE", "--true-size", str(image)])
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1
    assert "Pixel Spacing (0028,0030)" in error and str(image) in error


def test_requested_image_size_is_sent_for_every_image(tmp_path: Path) -> None:
    images = [write_cr(tmp_path / f"cr{i}.dcm") for i in range(2)]
    out = tmp_path / "films"
    with running_printer(out) as server:
        status = cli.main(["print", "--spool", str(tmp_path / "spool"), *printer_args(server),
                           "--format", "1x2", "--requested-image-size", "80", *map(str, images)])
        assert status == 0
        [json_path] = wait_for_films(out, 1)
    boxes = film_metadata(json_path)["image_boxes"]
    assert [box["received"]["RequestedImageSize"] for box in boxes] == [80.0, 80.0]


def test_image_box_attributes_carry_size_and_decimate_crop() -> None:
    options = PrintOptions(decimate_crop="decimate")
    assert image_box_attributes(options, 123.4567891) == {
        "Polarity": "NORMAL", "RequestedDecimateCropBehavior": "DECIMATE",
        "RequestedImageSize": "123.456789"}
    assert "RequestedImageSize" not in image_box_attributes(PrintOptions())


@pytest.mark.parametrize(("options", "message"), [
    ({"requested_image_size": 0}, r"^requested_image_size: .* not a positive width in mm"),
    ({"requested_image_size": 100, "true_size": True}, r"exclude each other"),
    ({"decimate_crop": "SHRINK"}, r"^decimate_crop: Requested Decimate/Crop Behavior"),
    ({"scale_bar": True}, r"^scale_bar: .*compose"),
])
def test_size_options_are_checked(options: dict, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        PrintOptions(**options)


def test_non_square_pixels_are_resampled_to_the_column_spacing() -> None:
    pixels = np.zeros((100, 60), dtype=np.uint8)
    image = PreparedImage(pixels, "MONOCHROME2", 8, "x#1", pixel_spacing_mm=(0.3, 0.2))
    squared = square_pixels(image)
    assert squared.pixels.shape == (150, 60)  # 100 rows of 0.3 mm = 30 mm = 150 of 0.2 mm
    assert squared.pixel_spacing_mm == pytest.approx((0.2, 0.2))


def test_custom_formats_come_from_the_profile(tmp_path: Path, capsys) -> None:
    images = [write_cr(tmp_path / f"cr{i}.dcm", rows=40, columns=60, pixel_spacing=None)
              for i in range(4)]
    out = tmp_path / "films"
    with running_printer(out) as server:  # print-scp's CUSTOM\1 has three boxes
        config = tmp_path / "printers.toml"
        config.write_text(f'[printers.scp]\nhost = "127.0.0.1"\nport = {server.port}\n'
                          f'called_ae = "{server.profile.ae_title}"\n'
                          '[printers.scp.custom_formats]\n"CUSTOM\\\\1" = 3\n')
        common = ["print", "--config", str(config), "--spool", str(tmp_path / "spool")]
        assert cli.main([*common, "--format", "CUSTOM\\1", *map(str, images)]) == 0
        jsons = wait_for_films(out, 2)
        undeclared = cli.main([*common, "--format", "CUSTOM\\2", str(images[0])])
    error = capsys.readouterr().err
    formats = [film_metadata(path)["film_box"]["in_force"]["image_display_format"]
               for path in jsons]
    assert formats == ["CUSTOM\\1", "CUSTOM\\1"]
    assert [len(film_metadata(path)["image_boxes"]) for path in jsons] == [3, 3]
    assert undeclared == 2
    assert "CUSTOM\\2: the printer's profile does not declare it (custom_formats: CUSTOM\\1)" \
        in error



@pytest.mark.parametrize(("formats", "message"), [
    ({"STANDARD\\2,2": 4}, r"custom_formats\.STANDARD\\2,2: not a CUSTOM\\i format"),
    ({"CUSTOM\\1": 0}, r"custom_formats\.CUSTOM\\1: its number of image boxes must be a "
                       r"positive integer, not 0"),
    ({"CUSTOM\\X": 2}, r"custom_formats\.CUSTOM\\X: .*needs the printer's layout number"),
])
def test_custom_formats_of_a_profile_are_checked(formats: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        adhoc_printer("127.0.0.1", 104, "DRY", custom_formats=formats)
    assert adhoc_printer("127.0.0.1", 104, "DRY",
                         custom_formats={"custom\\ 1": 3}).custom_formats == {"CUSTOM\\1": 3}

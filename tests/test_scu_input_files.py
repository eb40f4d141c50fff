"""print-scu's input files: automatic windows per series, job or frame; directories and order;
data sets without file meta (--force); --skip-invalid; overlays; spacing and text fields.

Expected P-Values are written out here: an automatic window maps the lowest
value of its group of frames to 0 and the highest to 255, linearly
(PS3.3 C.11.2.1.3.2 LINEAR_EXACT): p = (x − low) / (high − low) · 255.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread, filereader
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import pack_bits, set_pixel_data
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from print_scu import cli
from print_scu.config import adhoc_printer
from print_scu.input_files import PrepareError
from print_scu.options import PrintOptions
from print_scu.prepare import prepare_files
from print_scu.queue import JobQueue

GRAY8 = adhoc_printer("127.0.0.1", 104, "GRAY8")
COLOR = adhoc_printer("127.0.0.1", 104, "COLOR", color=True)


def write_image(path: Path, pixels: np.ndarray, series: str | None = None,
                instance: int | None = None, **attributes: object) -> Path:
    """A Secondary Capture file of unsigned 16-bit MONOCHROME2 ``pixels`` (frames first)."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    if series is not None:
        ds.SeriesInstanceUID = series
    if instance is not None:
        ds.InstanceNumber = instance
    set_pixel_data(ds, np.asarray(pixels, dtype=np.uint16), "MONOCHROME2", 16)
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def ramp(high: int) -> np.ndarray:
    """4 x 4 whole numbers 0..high in (rounded) equal steps, row by row."""
    return np.rint(np.linspace(0, high, 16)).reshape(4, 4)


def assert_nearest(p_values: np.ndarray, exact: np.ndarray) -> None:
    """``p_values`` are ``exact`` rounded to the nearest integer (either way at a tie)."""
    assert np.abs(p_values.astype(np.float64) - exact).max() <= 0.5 + 1e-9


def sources(images: list) -> list[str]:
    return [image.source for image in images]


# -- automatic windows ---------------------------------------------------------------


def test_one_window_per_series_keeps_relative_intensities(tmp_path: Path) -> None:
    """Counts 0..100 and 0..10000 of one series: one window 0..10000, so 100 prints as
    100 / 10000 · 255 = 2.55 -> 3, not 255."""
    series = generate_uid()
    low = write_image(tmp_path / "low.dcm", ramp(100), series, 1)
    high = write_image(tmp_path / "high.dcm", ramp(10000), series, 2)
    images = prepare_files([low, high], PrintOptions(), GRAY8)
    assert_nearest(images[0].pixels, ramp(100) / 10000 * 255)
    assert_nearest(images[1].pixels, ramp(10000) / 10000 * 255)
    assert images[0].pixels.max() == 3


def test_auto_frame_stretches_each_frame_and_auto_job_spans_series(tmp_path: Path) -> None:
    low = write_image(tmp_path / "low.dcm", ramp(100), generate_uid(), 1)
    high = write_image(tmp_path / "high.dcm", ramp(10000), generate_uid(), 1)
    per_frame = prepare_files([low, high], PrintOptions(window_auto="frame", order="files"),
                              GRAY8)
    assert [image.pixels.max() for image in per_frame] == [255, 255]
    assert_nearest(per_frame[0].pixels, ramp(100) / 100 * 255)
    # two series: each its own window, both reach 255
    per_series = prepare_files([low, high], PrintOptions(order="files"), GRAY8)
    assert [image.pixels.max() for image in per_series] == [255, 255]
    per_job = prepare_files([low, high], PrintOptions(window_auto="job", order="files"), GRAY8)
    assert [image.pixels.max() for image in per_job] == [3, 255]


def test_frames_of_one_multiframe_file_share_the_series_window(tmp_path: Path) -> None:
    path = write_image(tmp_path / "nm.dcm", np.stack([ramp(50), ramp(200)]), generate_uid())
    images = prepare_files([path], PrintOptions(), GRAY8)
    assert_nearest(images[0].pixels, ramp(50) / 200 * 255)
    assert_nearest(images[1].pixels, ramp(200) / 200 * 255)


def test_a_files_own_window_and_the_users_win_over_the_automatic_one(tmp_path: Path) -> None:
    """A window of center 50.5, width 101 maps 0..100 onto 0..255: ((x − 50) / 100 + 0.5)·255."""
    series = generate_uid()
    windowed = write_image(tmp_path / "a.dcm", ramp(100), series, 1, WindowCenter=50.5,
                           WindowWidth=101)
    other = write_image(tmp_path / "b.dcm", ramp(10000), series, 2)
    images = prepare_files([windowed, other], PrintOptions(), GRAY8)
    expected = np.rint(np.clip(((ramp(100) - 50) / 100 + 0.5) * 255, 0, 255))
    np.testing.assert_array_equal(images[0].pixels, expected)
    user = prepare_files([windowed, other], PrintOptions(window=(50.5, 101)), GRAY8)
    np.testing.assert_array_equal(user[1].pixels, np.where(ramp(10000) > 100, 255, expected))


def test_pixel_data_is_read_once_unless_its_extent_sets_the_window(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first pass leaves pixel data in the file; it reads it only for an automatic
    window (the file has none of its own), which the second pass then reads again."""
    large = np.tile(ramp(100), (64, 64))  # 256 x 256 x 16 bits: above DEFERRED_BYTES
    series = generate_uid()
    windowed = write_image(tmp_path / "a.dcm", large, series, 1, WindowCenter=50.5,
                           WindowWidth=101)
    automatic = write_image(tmp_path / "b.dcm", large, series, 2)
    deferred_reads: list[str] = []
    read_deferred = filereader.read_deferred_data_element
    monkeypatch.setattr(filereader, "read_deferred_data_element",
                        lambda kind, path, *rest: deferred_reads.append(Path(path).name)
                        or read_deferred(kind, path, *rest))
    images = prepare_files([windowed, automatic], PrintOptions(), GRAY8)
    assert deferred_reads == ["b.dcm"]  # a.dcm's pixels were not read by the first pass
    expected = np.rint(np.clip(((large - 50) / 100 + 0.5) * 255, 0, 255))
    np.testing.assert_array_equal(images[0].pixels, expected)
    assert_nearest(images[1].pixels, large / 100 * 255)


# -- directories and order -----------------------------------------------------------


def test_directories_are_read_recursively_and_ordered_by_series(tmp_path: Path) -> None:
    """Series 2 before series 3 (Series Number), instances by Instance Number."""
    first, second = generate_uid(), generate_uid()
    folder = tmp_path / "in"
    write_image(folder / "z" / "a.dcm", ramp(10), second, 2, SeriesNumber=3)
    write_image(folder / "y.dcm", ramp(10), first, 2, SeriesNumber=2)
    write_image(folder / "x.dcm", ramp(10), first, 1, SeriesNumber=2)
    write_image(folder / "z" / "b.dcm", ramp(10), second, 1, SeriesNumber=3)
    (folder / ".hidden.dcm").write_bytes(b"not read")
    images = prepare_files([folder], PrintOptions(), GRAY8)
    assert sources(images) == [f"{folder}/x.dcm#1", f"{folder}/y.dcm#1",
                               f"{folder}/z/b.dcm#1", f"{folder}/z/a.dcm#1"]
    as_given = prepare_files([folder], PrintOptions(order="files"), GRAY8)
    assert sources(as_given) == [f"{folder}/x.dcm#1", f"{folder}/y.dcm#1",
                                 f"{folder}/z/a.dcm#1", f"{folder}/z/b.dcm#1"]


# -- reading: --force, --skip-invalid ------------------------------------------------


def without_file_meta(source: Path, path: Path) -> Path:
    """``source``'s data set written bare: no preamble, no 'DICM', no file meta."""
    ds = dcmread(source)
    ds.file_meta = FileMetaDataset()
    ds.preamble = None
    buffer = io.BytesIO()
    ds.save_as(buffer, implicit_vr=False, little_endian=True, enforce_file_format=False)
    path.write_bytes(buffer.getvalue())
    assert path.read_bytes()[128:132] != b"DICM"
    return path


def test_force_reads_a_data_set_without_file_meta(tmp_path: Path) -> None:
    original = Path(get_testdata_file("MR_small.dcm"))
    bare = without_file_meta(original, tmp_path / "bare.dcm")
    with pytest.raises(PrepareError, match=rf"^{bare}: not a DICOM file .*--force"):
        prepare_files([bare], PrintOptions(), GRAY8)
    [forced] = prepare_files([bare], PrintOptions(force=True), GRAY8)
    [plain] = prepare_files([original], PrintOptions(), GRAY8)
    np.testing.assert_array_equal(forced.pixels, plain.pixels)


def test_skip_invalid_prints_the_rest_and_names_each_skipped_file(tmp_path: Path) -> None:
    good = write_image(tmp_path / "good.dcm", ramp(10))
    text = tmp_path / "notes.txt"
    text.write_text("not an image\n")
    bad_frames = Path(get_testdata_file("badVR.dcm"))
    with pytest.raises(PrepareError, match=rf"^{text}: not a DICOM file"):
        prepare_files([good, text, bad_frames], PrintOptions(order="files"), GRAY8)
    skipped: list[PrepareError] = []
    images = prepare_files([good, text, bad_frames], PrintOptions(skip_invalid=True),
                           GRAY8, on_skip=skipped.append)
    assert sources(images) == [f"{good}#1"]
    assert [str(error).partition(": ")[0] for error in skipped] == [str(text), str(bad_frames)]
    assert "Number of Frames (0028,0008) '1A' is not an integer" in str(skipped[1])
    with pytest.raises(PrepareError, match="nothing to print: none of the 2 file"):
        prepare_files([text, bad_frames], PrintOptions(skip_invalid=True), GRAY8)


def run_cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = cli.main(list(args))
    return status, out.getvalue(), err.getvalue()


def test_cli_lists_skipped_files_and_queues_the_rest(tmp_path: Path) -> None:
    good = write_image(tmp_path / "in" / "good.dcm", ramp(10))
    (tmp_path / "in" / "notes.txt").write_text("not an image\n")
    spool = tmp_path / "spool"
    status, out, err = run_cli("submit", "--spool", str(spool), "--host", "127.0.0.1",
                               "--port", "104", "--called-ae", "LATER", "--skip-invalid",
                               str(tmp_path / "in"))
    assert status == 0, err
    lines = err.splitlines()
    assert lines[0] == (f"print-scu: skipped: {tmp_path / 'in' / 'notes.txt'}: not a DICOM "
                        "file (no 'DICM' prefix after the 128-byte preamble; --force reads a "
                        "data set without one)")
    job = JobQueue(spool).get(int(out))
    assert job is not None and job.films_total == 1
    assert [image.source for image in JobQueue(spool).load_film(job.id, 0)] == [f"{good}#1"]


def test_an_internal_error_is_one_line_and_its_traceback_goes_to_the_debug_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug stands in here as a command that raises what no handler expects."""
    def broken(_args: object) -> int:
        raise ValueError("unexpected\nvalue")
    monkeypatch.setitem(cli.COMMANDS, "jobs", broken)
    status, _, err = run_cli("jobs", "--spool", str(tmp_path / "spool"))
    log = tmp_path / "spool" / cli.DEBUG_LOG
    assert status == cli.EXIT_INTERNAL
    assert err == (f"print-scu: error: internal error: ValueError: unexpected value "
                   f"(traceback in {log})\n")
    assert "Traceback (most recent call last)" in log.read_text()


# -- overlays ------------------------------------------------------------------------


def add_overlay(ds: Dataset, group: int, bits: np.ndarray, origin: tuple[int, int],
                frame_origin: int | None = None) -> None:
    """Overlay plane ``group`` of ``bits`` ((frames,) rows, columns) at 1-based ``origin``."""
    frames = bits.shape[0] if bits.ndim == 3 else 1
    ds.add_new((group, 0x0010), "US", bits.shape[-2])
    ds.add_new((group, 0x0011), "US", bits.shape[-1])
    ds.add_new((group, 0x0040), "CS", "G")
    ds.add_new((group, 0x0050), "SS", list(origin))
    ds.add_new((group, 0x0100), "US", 1)
    ds.add_new((group, 0x0102), "US", 0)
    if frame_origin is not None:
        ds.add_new((group, 0x0015), "IS", frames)
        ds.add_new((group, 0x0051), "US", frame_origin)
    ds.add_new((group, 0x3000), "OW", pack_bits(bits.astype(np.uint8).ravel()))


def test_overlays_are_burnt_in_white_where_their_bits_are_set(tmp_path: Path) -> None:
    """A 2 x 3 plane at row 2, column 3 (1-based) sets those pixels to 255; a second plane
    hanging over the bottom-right corner is cut at the image's edge."""
    path = write_image(tmp_path / "o.dcm", np.zeros((6, 8)) + np.arange(8) * 10)
    ds = dcmread(path)
    plane = np.array([[1, 0, 1], [0, 1, 1]])
    add_overlay(ds, 0x6000, plane, (2, 3))
    add_overlay(ds, 0x6002, np.ones((3, 3)), (5, 7))
    ds.save_as(path)
    [plain] = prepare_files([path], PrintOptions(), GRAY8)
    [burnt] = prepare_files([path], PrintOptions(overlays=True), GRAY8)
    expected = plain.pixels.copy()
    expected[1:3, 2:5][plane == 1] = 255
    expected[4:6, 6:8] = 255
    np.testing.assert_array_equal(burnt.pixels, expected)
    [rgb] = prepare_files([path], PrintOptions(overlays=True), COLOR)
    assert rgb.pixels.shape == (6, 8, 3)
    np.testing.assert_array_equal(rgb.pixels[..., 0], expected)


def test_a_multiframe_overlay_covers_the_frames_from_its_image_frame_origin(
        tmp_path: Path) -> None:
    path = write_image(tmp_path / "mf.dcm", np.zeros((3, 4, 4)) + [[[0]], [[50]], [[100]]])
    ds = dcmread(path)
    planes = np.zeros((2, 4, 4))
    planes[0, 0, 0] = planes[1, 3, 3] = 1
    add_overlay(ds, 0x6000, planes, (1, 1), frame_origin=2)
    ds.save_as(path)
    images = prepare_files([path], PrintOptions(overlays=True), GRAY8)
    # one series window over 0..100: frames print 0, 127.5 -> 128, 255
    assert images[0].pixels.tolist() == np.zeros((4, 4)).tolist()
    assert images[1].pixels[0, 0] == 255 and (images[1].pixels == 255).sum() == 1
    assert images[2].pixels[3, 3] == 255 and (images[2].pixels == 128).sum() == 0
    assert images[1].pixels[1, 1] == 128


def test_pydicoms_overlay_example_burns_in_its_plane() -> None:
    path = Path(get_testdata_file("examples_overlay.dcm"))
    plane = dcmread(path).overlay_array(0x6000).astype(bool)  # origin 1,1, image size
    [plain] = prepare_files([path], PrintOptions(), GRAY8)
    [burnt] = prepare_files([path], PrintOptions(overlays=True), GRAY8)
    assert (burnt.pixels[plane] == 255).all()
    np.testing.assert_array_equal(burnt.pixels[~plane], plain.pixels[~plane])


# -- what PreparedImage carries for true size and annotations ------------------------


def test_pixel_spacing_and_text_fields(tmp_path: Path) -> None:
    ct = Path(get_testdata_file("CT_small.dcm"))
    [image] = prepare_files([ct], PrintOptions(), GRAY8)
    ds = dcmread(ct)
    assert image.pixel_spacing_mm == tuple(float(v) for v in ds.PixelSpacing)
    assert image.fields["PatientName"] == str(ds.PatientName)
    assert image.fields["Modality"] == "CT"
    assert image.fields["ImageType"] == "\\".join(ds.ImageType)
    assert "PixelData" not in image.fields and "RescaleIntercept" in image.fields
    radiograph = write_image(tmp_path / "dx.dcm", ramp(10), ImagerPixelSpacing=[0.2, 0.3],
                             EstimatedRadiographicMagnificationFactor=1.25)
    [dx] = prepare_files([radiograph], PrintOptions(), GRAY8)
    assert dx.pixel_spacing_mm == pytest.approx((0.16, 0.24))
    assert prepare_files([write_image(tmp_path / "none.dcm", ramp(10))], PrintOptions(),
                         GRAY8)[0].pixel_spacing_mm is None


def test_resampling_scales_the_pixel_spacing_by_the_resize_ratio() -> None:
    """CT_small (128 x 128, spacing s) resized to N x N pixels: spacing s · 128 / N."""
    ct = Path(get_testdata_file("CT_small.dcm"))
    spacing = tuple(float(v) for v in dcmread(ct).PixelSpacing)
    printer = adhoc_printer("127.0.0.1", 104, "DRY", dpi=100.0)
    [image] = prepare_files([ct], PrintOptions(resample=True, film_size="8INX10IN"), printer)
    rows, columns = image.pixels.shape
    assert rows != 128  # the box at 100 dpi is far larger than 128 pixels
    assert image.pixel_spacing_mm == pytest.approx((spacing[0] * 128 / rows,
                                                    spacing[1] * 128 / columns))

"""DICOM files to P-Values / RGB for image boxes, errors naming the file, Presentation LUT files.

Expected values are computed here from the sample images' known content
(examples/make_sample_images.py) with the standard's formulas written out:
the linear VOI function of PS3.3 C.11.2.1.2.1 and BT.601 luma.
"""

from pathlib import Path

import numpy as np
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.pixels import get_decoder
from pydicom.sequence import Sequence
from pydicom.uid import (
    ExplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
    generate_uid,
)

from print_scu.config import adhoc_printer
from print_scu.options import OptionError, PrintOptions
from print_scu.prepare import PrepareError, load_plut, prepare_files

IMAGES = Path(__file__).resolve().parents[1] / "examples" / "images"
CT = IMAGES / "03_ct_window.dcm"
MR = IMAGES / "04_mr.dcm"
CR = IMAGES / "05_cr_monochrome1.dcm"
US = IMAGES / "06_us_rgb.dcm"
WEDGE = IMAGES / "01_gray_wedge_8bit.dcm"
PATTERN = IMAGES / "02_test_pattern_12bit.dcm"
MULTIFRAME = IMAGES / "07_multiframe_4x64.dcm"

GRAY8 = adhoc_printer("127.0.0.1", 104, "GRAY8")
GRAY12 = adhoc_printer("127.0.0.1", 104, "GRAY12", bits=12)
COLOR = adhoc_printer("127.0.0.1", 104, "COLOR", color=True)


def linear_window(x: np.ndarray, center: float, width: float, y_max: int) -> np.ndarray:
    """PS3.3 C.11.2.1.2.1 (y_min = 0), then rounded to the nearest P-Value."""
    y = ((x - (center - 0.5)) / (width - 1) + 0.5) * y_max
    y = np.where(x <= center - 0.5 - (width - 1) / 2, 0, y)
    y = np.where(x > center - 0.5 + (width - 1) / 2, y_max, y)
    return np.rint(y)


def stored(path: Path) -> np.ndarray:
    """The stored values of a sample file (the input, not what is under test)."""
    return dcmread(path).pixel_array.astype(np.float64)


def prepare_one(path: Path, printer=GRAY8, **options):
    images = prepare_files([path], PrintOptions(**options), printer)
    assert len(images) == 1
    return images[0]


# -- grayscale: Modality LUT, VOI, bits -----------------------------------------


def test_ct_rescale_then_the_files_first_window() -> None:
    """Stored + Rescale Intercept −1024 gives HU; the first window is 40/400 HU."""
    image = prepare_one(CT)
    hu = stored(CT) - 1024
    assert image.pixels.dtype == np.uint8 and image.bits == 8
    assert image.photometric == "MONOCHROME2"
    np.testing.assert_array_equal(image.pixels, linear_window(hu, 40, 400, 255))
    assert image.source == f"{CT}#1"
    # both ends are reached: the CT holds air (< −160 HU) and dense bone (> 240 HU)
    assert image.pixels.min() == 0 and image.pixels.max() == 255


def test_ct_window_preset_in_12_bits() -> None:
    image = prepare_one(CT, GRAY12, window_preset="bone")  # 400/1800 HU
    assert image.pixels.dtype == np.uint16 and image.bits == 12
    np.testing.assert_array_equal(image.pixels, linear_window(stored(CT) - 1024, 400, 1800, 4095))


def test_ct_explicit_window_overrides_the_files() -> None:
    image = prepare_one(CT, window=(-600, 1500))
    np.testing.assert_array_equal(image.pixels, linear_window(stored(CT) - 1024, -600, 1500, 255))


def test_mr_uses_its_window_without_rescale() -> None:
    image = prepare_one(MR)  # Window Center 600, Width 1600, no Rescale
    np.testing.assert_array_equal(image.pixels, linear_window(stored(MR), 600, 1600, 255))


def test_monochrome1_is_inverted_unless_kept() -> None:
    """CR window 2048/4096: direct exposure (3800) at the corner, spine (700) at the centre.

    8 bits: 3800 -> ((3800 − 2047.5)/4095 + 0.5)·255 = 236.6 -> 237, inverted 18;
    700 -> 43.6 -> 44, inverted 211. 12 bits: the window is the identity.
    """
    inverted = prepare_one(CR)
    assert inverted.photometric == "MONOCHROME2"
    assert (inverted.pixels[0, 0], inverted.pixels[128, 128]) == (18, 211)
    kept = prepare_one(CR, keep_monochrome1=True)
    assert kept.photometric == "MONOCHROME1"
    assert (kept.pixels[0, 0], kept.pixels[128, 128]) == (237, 44)
    twelve = prepare_one(CR, GRAY12)
    assert (twelve.pixels[0, 0], twelve.pixels[128, 128]) == (4095 - 3800, 4095 - 700)


def test_8_and_12_bit_wedge() -> None:
    """No window in the file: a linear ramp over the frame's 0..255 range."""
    columns = np.arange(256)
    eight = prepare_one(WEDGE)
    assert eight.pixels.dtype == np.uint8
    np.testing.assert_array_equal(eight.pixels[0], columns)
    twelve = prepare_one(WEDGE, GRAY12)
    assert twelve.pixels.dtype == np.uint16
    np.testing.assert_array_equal(twelve.pixels[0], np.rint(columns * 4095 / 255))


def test_12_bits_keep_the_1_percent_squares_of_the_pattern() -> None:
    """Window 2048/4096 is the identity in 12 bits; the 50 % bar is 2048, its square 2089.

    The 50 % bar spans columns 117..139, its square columns 123..132 and rows 187..196.
    In 8 bits they become 127.5 -> 128 and 130.1 -> 130.
    """
    twelve = prepare_one(PATTERN, GRAY12)
    assert (twelve.pixels[150, 128], twelve.pixels[190, 128]) == (2048, 2089)
    np.testing.assert_array_equal(twelve.pixels, stored(PATTERN))
    eight = prepare_one(PATTERN)
    assert (eight.pixels[150, 128], eight.pixels[190, 128]) == (128, 130)


def test_twelve_bits_on_an_8_bit_printer_is_refused() -> None:
    with pytest.raises(OptionError, match="takes 8-bit images, not 12"):
        prepare_files([WEDGE], PrintOptions(bits=12), GRAY8)


# -- colour -----------------------------------------------------------------------


def test_rgb_to_gray_by_bt601_for_a_grayscale_printer() -> None:
    """Red vessel (220, 30, 20) -> 85.67 -> 86; blue vessel (20, 60, 230) -> 67.42 -> 67;
    top of the colour bar (255, 40, 0) -> 99.7 -> 100."""
    image = prepare_one(US)
    assert image.photometric == "MONOCHROME2" and image.pixels.shape == (240, 320)
    assert (image.pixels[90, 160], image.pixels[180, 160], image.pixels[70, 305]) == (86, 67, 100)
    rgb = stored(US)
    luma = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]
    np.testing.assert_array_equal(image.pixels, np.rint(luma))


def test_rgb_stays_rgb_for_a_color_printer() -> None:
    image = prepare_one(US, COLOR)
    assert image.photometric == "RGB" and image.bits == 8 and image.pixels.dtype == np.uint8
    assert tuple(image.pixels[90, 160]) == (220, 30, 20)
    assert tuple(image.pixels[180, 160]) == (20, 60, 230)
    np.testing.assert_array_equal(image.pixels, stored(US))


def test_gray_image_on_a_color_printer_has_equal_samples() -> None:
    image = prepare_one(WEDGE, COLOR)
    assert image.photometric == "RGB" and image.pixels.shape == (64, 256, 3)
    for sample in range(3):
        np.testing.assert_array_equal(image.pixels[0, :, sample], np.arange(256))


def test_color_printer_can_be_asked_for_gray() -> None:
    assert prepare_one(US, COLOR, color=False).photometric == "MONOCHROME2"


# -- multi-frame ---------------------------------------------------------------------


def test_all_frames_of_a_multiframe_file() -> None:
    """No window in the file: one window over the series' 0..255 (identity), so frame 3's
    checkerboard keeps its stored 25 and 230."""
    images = prepare_files([MULTIFRAME], PrintOptions(), GRAY8)
    assert [image.source for image in images] == [f"{MULTIFRAME}#{k}" for k in (1, 2, 3, 4)]
    assert images[0].pixels[32, 10] == 40  # ramp across: 4 per column
    assert images[1].pixels[10, 32] == 40  # ramp down: 4 per row
    checkerboard = images[2].pixels
    assert (checkerboard[8, 8], checkerboard[8, 16]) == (230, 25)


def test_auto_frame_windows_each_frame_on_its_own() -> None:
    """Frame 3's own range is 25..255 (checkerboard 25/230, squares 255): 25 -> 0 and
    230 -> (230 − 25)·255/230 = 227.3 -> 227."""
    images = prepare_files([MULTIFRAME], PrintOptions(window_auto="frame"), GRAY8)
    checkerboard = images[2].pixels
    assert (checkerboard[8, 8], checkerboard[8, 16]) == (227, 0)


def test_selected_frames_in_order() -> None:
    images = prepare_files([MULTIFRAME, WEDGE], PrintOptions(frames="4,2", order="files"),
                           GRAY8)
    # the selection applies to multi-frame files; the wedge gives its one frame
    assert [image.source for image in images] == [
        f"{MULTIFRAME}#4", f"{MULTIFRAME}#2", f"{WEDGE}#1"]
    rings, ramp_down = images[0].pixels, images[1].pixels
    assert rings[3, 20] == 255 and rings[3, 26] != 255  # frame 4 has 4 squares, not 5
    assert ramp_down[10, 32] == 40


def test_frame_beyond_the_file_names_it() -> None:
    with pytest.raises(PrepareError, match=rf"^{MULTIFRAME}: .*frame 5 does not exist"):
        prepare_files([MULTIFRAME], PrintOptions(frames="5"), GRAY8)


# -- compressed transfer syntaxes ------------------------------------------------------


def test_rle_decodes_like_the_uncompressed_original() -> None:
    rle = prepare_one(Path(get_testdata_file("MR_small_RLE.dcm")))
    plain = prepare_one(Path(get_testdata_file("MR_small.dcm")))
    np.testing.assert_array_equal(rle.pixels, plain.pixels)


@pytest.mark.skipif(not get_decoder(JPEG2000Lossless).is_available,
                    reason="no JPEG 2000 plugin (Pillow with OpenJPEG, pylibjpeg-openjpeg)")
def test_jpeg2000_lossless_decodes_like_the_uncompressed_original() -> None:
    j2k = prepare_one(Path(get_testdata_file("MR_small_jp2klossless.dcm")))
    plain = prepare_one(Path(get_testdata_file("MR_small.dcm")))
    np.testing.assert_array_equal(j2k.pixels, plain.pixels)


# -- files that cannot be printed ---------------------------------------------------


def test_not_a_dicom_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not an image\n" * 20)
    with pytest.raises(PrepareError, match=rf"^{path}: not a DICOM file"):
        prepare_files([WEDGE, path], PrintOptions(), GRAY8)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "gone.dcm"
    with pytest.raises(PrepareError, match=rf"^{path}: cannot read: No such file"):
        prepare_files([path], PrintOptions(), GRAY8)


def test_dicom_without_pixel_data(tmp_path: Path) -> None:
    ds = dcmread(CT)
    del ds.PixelData
    path = tmp_path / "no_pixels.dcm"
    ds.save_as(path)
    with pytest.raises(PrepareError,
                       match=rf"^{path}: has no pixel data .*CT Image Storage"):
        prepare_files([path], PrintOptions(), GRAY8)


def test_undecodable_compressed_file_names_syntax(tmp_path: Path) -> None:
    """Junk labelled JPEG-LS: without a plugin no decoder, with one a decoding error."""
    ds = dcmread(MR)
    ds.file_meta.TransferSyntaxUID = JPEGLSLossless
    ds.PixelData = encapsulate([bytes(range(256)) * 4])
    ds["PixelData"].VR = "OB"
    path = tmp_path / "jpegls.dcm"
    ds.save_as(path)
    with pytest.raises(PrepareError) as caught:
        prepare_files([path], PrintOptions(), GRAY8)
    message = str(caught.value)
    assert message.startswith(f"{path}: cannot decode")
    assert "JPEG-LS Lossless Image Compression" in message


def test_jpeg_ls_lossless_decodes_to_the_uncompressed_values() -> None:
    """pylibjpeg-libjpeg (a dependency) decodes JPEG-LS: the same P-Values as uncompressed."""
    compressed = Path(get_testdata_file("MR_small_jpeg_ls_lossless.dcm"))
    plain = Path(get_testdata_file("MR_small.dcm"))
    [from_jpeg_ls] = prepare_files([compressed], PrintOptions(), GRAY8)
    [from_plain] = prepare_files([plain], PrintOptions(), GRAY8)
    assert np.array_equal(from_jpeg_ls.pixels, from_plain.pixels)


# -- Presentation LUT -----------------------------------------------------------------


def test_plut_shapes() -> None:
    assert load_plut(None, 8) is None
    assert load_plut("IDENTITY", 8).PresentationLUTShape == "IDENTITY"
    assert load_plut("lin od", 12).PresentationLUTShape == "LIN OD"


def lut_words(ds: Dataset) -> tuple[list[int], list[int]]:
    item = ds.PresentationLUTSequence[0]
    data = item.LUTData
    values = np.frombuffer(data, "<u2").tolist() if isinstance(data, bytes) else list(data)
    return list(item.LUTDescriptor), values


def test_plut_text_file(tmp_path: Path) -> None:
    table = [round(v * 4095 / 255) for v in range(255, -1, -1)]  # an inverting 12-bit table
    path = tmp_path / "invert.lut"
    path.write_text("# inverting LUT\n256 0 12\n" + "\n".join(str(v) for v in table) + "\n")
    descriptor, values = lut_words(load_plut(str(path), 8))
    assert descriptor == [256, 0, 12]
    assert values == table


def test_plut_dicom_file(tmp_path: Path) -> None:
    item = Dataset()
    item.add_new("LUTDescriptor", "US", [4096, 0, 16])
    item.add_new("LUTData", "OW", (np.arange(4096, dtype="<u2") * 16).tobytes())
    ds = Dataset()
    ds.PresentationLUTSequence = Sequence([item])
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.11.1"
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    path = tmp_path / "plut.dcm"
    ds.save_as(path, enforce_file_format=True)
    descriptor, values = lut_words(load_plut(str(path), 12))
    assert descriptor == [4096, 0, 16]
    assert values[:3] == [0, 16, 32] and values[-1] == 4095 * 16


def test_plut_table_for_the_wrong_depth(tmp_path: Path) -> None:
    path = tmp_path / "eight.lut"
    path.write_text("256 0 10\n" + " ".join(["0"] * 256))
    with pytest.raises(PrepareError,
                       match=rf"^{path}: not a usable Presentation LUT: LUTDescriptor: .*4096"):
        load_plut(str(path), 12)


@pytest.mark.parametrize(("text", "why"), [
    ("256 0 12\n1 2 x", r"holds 'x', not an integer"),
    ("256 0", r"needs LUT Descriptor .* it holds 2 number"),
    ("4 0 12\n1 2 3", r"LUTData: has 3 values; the LUT Descriptor announces 4"),
])
def test_plut_text_errors(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "bad.lut"
    path.write_text(text)
    with pytest.raises(PrepareError, match=rf"^{path}: .*{why}"):
        load_plut(str(path), 8)


def test_plut_missing_file(tmp_path: Path) -> None:
    with pytest.raises(PrepareError, match=r"absent\.lut: cannot read Presentation LUT file"):
        load_plut(str(tmp_path / "absent.lut"), 8)


def test_corrupt_compressed_data_names_file_frame_and_syntax(tmp_path: Path) -> None:
    """RLE always has a decoder (pydicom's own): junk data fails while decoding frame 1."""
    ds = dcmread(MR)
    ds.file_meta.TransferSyntaxUID = RLELossless
    ds.PixelData = encapsulate([bytes(16)])  # an RLE header announcing no segments
    ds["PixelData"].VR = "OB"
    path = tmp_path / "corrupt_rle.dcm"
    ds.save_as(path)
    with pytest.raises(PrepareError,
                       match=rf"^{path}: cannot decode or convert frame 1 of 1 \(RLE Lossless\)"):
        prepare_files([path], PrintOptions(), GRAY8)


def test_unknown_transfer_syntax(tmp_path: Path) -> None:
    ds = dcmread(MR)
    path = tmp_path / "private_syntax.dcm"
    ds.save_as(path)
    private = b"1.2.3.4.5.6.7.8.9.10"  # as long as the original UID with its padding
    raw = path.read_bytes().replace(str(ExplicitVRLittleEndian).encode() + b"\0", private, 1)
    path.write_bytes(raw)
    with pytest.raises(PrepareError, match=rf"^{path}: cannot decode pixel data in transfer "
                                           r"syntax .*1\.2\.3\.4\.5\.6\.7\.8\.9\.10.*no decoder"):
        prepare_files([path], PrintOptions(), GRAY8)

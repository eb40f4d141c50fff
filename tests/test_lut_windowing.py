"""Stored pixels to P-Values for the print client (Modality LUT, VOI, MONOCHROME1)."""

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.pixels import set_pixel_data
from pydicom.sequence import Sequence

from lut.windowing import (
    WINDOW_PRESETS,
    AutoWindow,
    gray_p_values,
    range_p_values,
    rgb_to_gray,
    to_p_values,
)

# Hounsfield units across a soft-tissue window (center 40, width 400): far
# below, at and just above its lower edge, inside, at its upper edge, above.
HU = np.array([[-3024, -1000, -160, -159, 40], [100, 238, 239, 240, 1000]])


def linear_window(x: float, center: float, width: float, y_max: int) -> float:
    """PS3.3 C.11.2.1.2.1, written out by hand, y_min = 0."""
    if x <= center - 0.5 - (width - 1) / 2:
        return 0
    if x > center - 0.5 + (width - 1) / 2:
        return y_max
    return ((x - (center - 0.5)) / (width - 1) + 0.5) * y_max


def ct_dataset(photometric: str = "MONOCHROME2") -> Dataset:
    """Signed 16-bit CT: stored = HU + 1024, Rescale Intercept −1024 (−3024 HU is stored −2000)."""
    ds = Dataset()
    ds.Modality = "CT"
    set_pixel_data(ds, (HU + 1024).astype(np.int16), photometric, 16)
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    return ds


def gray_dataset(values, photometric: str = "MONOCHROME2") -> Dataset:
    ds = Dataset()
    set_pixel_data(ds, np.asarray(values, dtype=np.uint16), photometric, 12)
    return ds


def test_ct_window_below_inside_and_above_by_hand():
    p_values, photometric = to_p_values(ct_dataset(), window=(40, 400))
    assert photometric == "MONOCHROME2"
    assert p_values.dtype == np.uint8
    # By hand: edges at 39.5 ∓ 199.5 = −160 and 239 HU; 40 HU → (0.5/399 + 0.5)·255 = 127.8;
    # 100 HU → (60.5/399 + 0.5)·255 = 166.2; −159 HU → (−198.5/399 + 0.5)·255 = 0.64.
    assert p_values.tolist() == [[0, 0, 0, 1, 128], [166, 254, 255, 255, 255]]
    expected = np.vectorize(lambda x: round(linear_window(x, 40, 400, 255)))(HU)
    assert np.array_equal(p_values, expected)


def test_twelve_bit_output_spans_0_to_4095():
    p_values, _ = to_p_values(ct_dataset(), window=(40, 400), bits=12)
    assert p_values.dtype == np.uint16
    expected = np.vectorize(lambda x: round(linear_window(x, 40, 400, 4095)))(HU)
    assert np.array_equal(p_values, expected)
    assert p_values.min() == 0 and p_values.max() == 4095


def test_file_window_is_used_when_none_is_given():
    ds = ct_dataset()
    ds.WindowCenter = [40, -600]
    ds.WindowWidth = [400, 1500]
    from_file, _ = to_p_values(ds)
    explicit, _ = to_p_values(ct_dataset(), window=(40, 400))
    assert np.array_equal(from_file, explicit)


def test_explicit_window_overrides_the_file():
    ds = ct_dataset()
    ds.WindowCenter = 40
    ds.WindowWidth = 400
    lung, _ = to_p_values(ds, window=WINDOW_PRESETS["lung"])
    expected = np.vectorize(lambda x: round(linear_window(x, -600, 1500, 255)))(HU)
    assert np.array_equal(lung, expected)


def test_voi_lut_sequence_is_used_without_a_window():
    ds = gray_dataset([[0, 1, 100, 255]])
    item = Dataset()
    item.LUTDescriptor = [256, 0, 12]
    item.LUTData = [4095 - 16 * v for v in range(256)]  # an inverting 12-bit VOI LUT
    ds.VOILUTSequence = Sequence([item])
    p_values, _ = to_p_values(ds)
    # 8-bit P-Value = LUT output · 255/4095: 4095 → 255, 4079 → 254.0, 2495 → 155.4, 15 → 0.9.
    assert p_values.tolist() == [[255, 254, 155, 1]]


def test_without_any_voi_the_frame_range_is_stretched():
    p_values, _ = to_p_values(gray_dataset([[100, 150, 250, 300]]))
    # 100..300 onto 0..255: 150 → 63.75, 250 → 191.25.
    assert p_values.tolist() == [[0, 64, 191, 255]]


def test_modality_lut_sequence_is_applied_before_the_window():
    ds = gray_dataset([[0, 10, 200]])
    item = Dataset()
    item.LUTDescriptor = [256, 0, 16]  # Modality LUT entries are 8 or 16 bits (C.11.1.1.1)
    item.LUTData = [16 * v for v in range(256)]
    item.ModalityLUTType = "US"
    ds.ModalityLUTSequence = Sequence([item])
    p_values, _ = to_p_values(ds, window=(1600.5, 3200))
    # Modality output 0, 160, 3200; window edges 0 and 3199: 160 → (160/3199)·255 = 12.75.
    assert p_values.tolist() == [[0, 13, 255]]


def test_monochrome1_is_inverted_unless_kept():
    ds = ct_dataset("MONOCHROME1")
    expected = np.vectorize(lambda x: round(linear_window(x, 40, 400, 255)))(HU)
    inverted, photometric = to_p_values(ds, window=(40, 400))
    assert photometric == "MONOCHROME2"
    assert np.array_equal(inverted, 255 - expected)
    kept, photometric = to_p_values(ds, window=(40, 400), keep_monochrome1=True)
    assert photometric == "MONOCHROME1"
    assert np.array_equal(kept, expected)


def test_monochrome1_inversion_at_12_bits():
    p_values, _ = to_p_values(ct_dataset("MONOCHROME1"), window=(40, 400), bits=12)
    assert p_values[0, 0] == 4095 and p_values[1, 4] == 0


def test_frame_selection():
    frames = np.stack([np.full((2, 2), 100 * (k + 1), dtype=np.uint16) for k in range(3)])
    ds = Dataset()
    set_pixel_data(ds, frames, "MONOCHROME2", 12)
    window = (200, 201)  # edges 99.5, 299.5: 100 → 0.5/200·255 = 0.6, 200 → 128.1, 300 → 255
    assert to_p_values(ds, frame=1, window=window)[0].tolist() == [[128, 128], [128, 128]]
    assert to_p_values(ds, frame=2, window=window)[0].tolist() == [[255, 255], [255, 255]]
    assert to_p_values(ds, window=window)[0].tolist() == [[1, 1], [1, 1]]
    with pytest.raises(ValueError, match="Number of Frames"):
        to_p_values(ds, frame=3)


def test_rgb_to_gray_is_bt601_luma():
    rgb = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [10, 20, 30]],
                   dtype=np.uint8)
    # 0.299·255 = 76.2, 0.587·255 = 149.7, 0.114·255 = 29.1, 2.99 + 11.74 + 3.42 = 18.15
    assert rgb_to_gray(rgb).tolist() == [76, 150, 29, 255, 18]
    assert rgb_to_gray(rgb).dtype == np.uint8


def test_colour_images_print_as_luma():
    ds = Dataset()
    rgb = np.array([[[255, 0, 0], [0, 255, 0]]], dtype=np.uint8)
    set_pixel_data(ds, rgb, "RGB", 8)
    p_values, photometric = to_p_values(ds)
    assert photometric == "MONOCHROME2"
    assert p_values.tolist() == [[76, 150]]
    p_values, _ = to_p_values(ds, bits=12)
    assert p_values.tolist() == [[round(76 * 4095 / 255), round(150 * 4095 / 255)]]


def test_bits_must_be_8_or_12():
    with pytest.raises(ValueError, match="8 or 12"):
        to_p_values(ct_dataset(), bits=10)


def test_window_presets():
    assert WINDOW_PRESETS == {"lung": (-600, 1500), "mediastinum": (50, 350),
                              "bone": (400, 1800), "brain": (40, 80), "abdomen": (40, 400)}


def test_a_value_range_replaces_the_frames_own_min_max():
    """Values 100..300 of a frame inside a range 0..1000: p = x / 1000 · 255, so 300 → 76.5,
    not 255 (a frame of a series keeps its intensity relative to the others)."""
    ds = gray_dataset([[100, 150, 250, 300]])
    p_values, _ = to_p_values(ds, value_range=(0, 1000))
    assert np.abs(p_values - np.array([[100, 150, 250, 300]]) / 1000 * 255).max() <= 0.5 + 1e-9
    own, _ = to_p_values(ds)
    assert own.tolist() == [[0, 64, 191, 255]]


def test_range_p_values_ends_and_a_flat_range():
    values = np.array([-50.0, 0.0, 50.0])
    assert range_p_values(values, (-50, 50), 12).tolist() == [0, 2047.5, 4095]
    assert range_p_values(np.array([7.0]), (7, 7), 8).tolist() == [127.5]  # flat: mid-gray


def test_gray_p_values_takes_the_window_then_the_files_voi_then_the_range():
    values = np.array([[0.0, 100.0]])
    by_file = lambda _values: np.array([[10.0, 20.0]])  # noqa: E731 - a file's VOI stand-in
    no_file = lambda _values: None  # noqa: E731
    window = gray_p_values(values, "MONOCHROME2", 8, False, (50.5, 101), by_file, None)[0]
    assert window.tolist() == [[0, 255]]
    from_file = gray_p_values(values, "MONOCHROME2", 8, False, None, by_file, (0, 200))[0]
    assert from_file.tolist() == [[10, 20]]
    ranged, photometric = gray_p_values(values, "MONOCHROME1", 8, False, None, no_file,
                                        (0, 200))
    # 0 → 0, 100 → 127.5 → 128; MONOCHROME1 inverted: 255, 127
    assert (ranged.tolist(), photometric) == ([[255, 127]], "MONOCHROME2")


def test_auto_window_terms():
    assert [mode.value for mode in AutoWindow] == ["series", "job", "frame"]

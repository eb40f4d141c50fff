"""Fitting an image into its box: size, placement, crop window and status.

Expected numbers are worked out by hand from the box and image sizes.
"""

import pytest

from film.fit import Fit, FitOutcome, fit_image
from film.model import DecimateCropBehavior, MagnificationType
from print_scp.fit_status import FIT_STATUS

BILINEAR = MagnificationType.BILINEAR
NONE = MagnificationType.NONE


def fit(box, rows, columns, magnification=BILINEAR, size_mm=None, behavior=None, par=(1, 1),
        dpi=100):
    return fit_image(box[0], box[1], rows, columns, dpi, magnification, size_mm, behavior, par)


def test_status_codes_of_ps3_4_h4():
    assert [FIT_STATUS[o] for o in FitOutcome] == [0x0000, 0xB604, 0xB609, 0xB60A, 0xC603]


@pytest.mark.parametrize("magnification", [
    MagnificationType.REPLICATE, MagnificationType.BILINEAR, MagnificationType.CUBIC,
])
def test_interpolating_types_fill_the_box_keeping_shape(magnification):
    # 100×100 into 400×300: height-limited, 300×300, centred 50 px from the left.
    assert fit((400, 300), 100, 100, magnification) == Fit(FitOutcome.FITS, 300, 300, 50, 0)


def test_wide_image_is_width_limited():
    # 200 columns × 50 rows (4:1) into 400×300: 400×100, 100 px from the top.
    assert fit((400, 300), 50, 200) == Fit(FitOutcome.FITS, 400, 100, 0, 100)


def test_image_exactly_the_box_size_fits():
    assert fit((400, 300), 300, 400) == Fit(FitOutcome.FITS, 400, 300, 0, 0)


def test_requested_image_size_sets_printed_width():
    # 50.8 mm at 100 dpi = 200 px wide, square image → 200×200, centred in 400×300.
    assert fit((400, 300), 100, 100, size_mm=50.8) == Fit(FitOutcome.FITS, 200, 200, 100, 50)


def test_none_prints_one_pixel_per_printer_pixel_centred():
    # 100 columns × 60 rows in 400×300: offsets (400−100)/2 = 150, (300−60)/2 = 120.
    assert fit((400, 300), 60, 100, NONE) == Fit(FitOutcome.FITS, 100, 60, 150, 120)


def test_pixel_aspect_ratio_shapes_interpolated_images():
    # Rows twice as far apart as columns: a 100×100 image is twice as tall as wide.
    assert fit((400, 400), 100, 100, par=(2, 1)) == Fit(FitOutcome.FITS, 200, 400, 100, 0)


def test_none_ignores_pixel_aspect_ratio():
    assert fit((400, 400), 100, 100, NONE, par=(2, 1)) == Fit(FitOutcome.FITS, 100, 100, 150, 150)


def test_larger_image_unspecified_behaviour_demagnifies_with_b604():
    # 4096² into 1000×800: 800×800, 100 px from the left.
    result = fit((1000, 800), 4096, 4096)
    assert result == Fit(FitOutcome.DEMAGNIFIED, 800, 800, 100, 0)
    assert FIT_STATUS[result.outcome] == 0xB604


def test_one_column_too_many_is_too_large():
    assert fit((400, 300), 300, 401).outcome is FitOutcome.DEMAGNIFIED


def test_decimate_demagnifies_with_b60a():
    result = fit((1000, 800), 4096, 4096, behavior=DecimateCropBehavior.DECIMATE)
    assert result == Fit(FitOutcome.DECIMATED, 800, 800, 100, 0)


def test_fail_refuses_with_c603():
    result = fit((1000, 800), 4096, 4096, behavior=DecimateCropBehavior.FAIL)
    assert result.outcome is FitOutcome.FAIL
    assert (result.width, result.height) == (0, 0)


def test_crop_keeps_the_centre_at_one_to_one():
    # 1000 columns × 600 rows into 400×300: the window starts at
    # (1000 − 400)/2 = 300, (600 − 300)/2 = 150.
    result = fit((400, 300), 600, 1000, behavior=DecimateCropBehavior.CROP)
    assert result == Fit(FitOutcome.CROPPED, 400, 300, 0, 0, (300, 150, 400, 300))


def test_crop_of_one_axis_keeps_the_other_whole_and_centred():
    # 200 columns × 500 rows into 400×300: all columns, rows 100..399, placed 100 px in.
    result = fit((400, 300), 500, 200, behavior=DecimateCropBehavior.CROP)
    assert result == Fit(FitOutcome.CROPPED, 200, 300, 100, 0, (0, 100, 200, 300))


def test_requested_size_larger_than_box_is_cropped_in_source_pixels():
    # 50 × 50 image asked at 50.8 mm = 200 px into a 100 × 100 box: half of it shows,
    # i.e. 25 source pixels from (50 − 25)//2 = 12.
    result = fit((100, 100), 50, 50, size_mm=50.8, behavior=DecimateCropBehavior.CROP)
    assert result == Fit(FitOutcome.CROPPED, 100, 100, 0, 0, (12, 12, 25, 25))


def test_requested_size_larger_than_box_fails_or_demagnifies():
    assert fit((100, 100), 50, 50, size_mm=50.8,
               behavior=DecimateCropBehavior.FAIL).outcome is FitOutcome.FAIL
    assert fit((100, 100), 50, 50, size_mm=50.8) == Fit(FitOutcome.DEMAGNIFIED, 100, 100, 0, 0)


def test_none_larger_than_box_is_decimated_to_fit():
    result = fit((300, 300), 600, 900, NONE, behavior=DecimateCropBehavior.DECIMATE)
    assert result == Fit(FitOutcome.DECIMATED, 300, 200, 0, 50)


def test_none_larger_than_box_cropped():
    result = fit((300, 300), 600, 900, NONE, behavior=DecimateCropBehavior.CROP)
    assert result == Fit(FitOutcome.CROPPED, 300, 300, 0, 0, (300, 150, 300, 300))


def test_crop_never_applies_to_an_image_that_fits():
    assert fit((400, 300), 100, 100, behavior=DecimateCropBehavior.CROP).outcome is FitOutcome.FITS


@pytest.mark.parametrize("kwargs, message", [
    ({"box": (0, 10), "rows": 5, "columns": 5}, "too small"),
    ({"box": (10, 10), "rows": 0, "columns": 5}, "no pixels"),
    ({"box": (10, 10), "rows": 5, "columns": 5, "par": (0, 1)}, "Pixel Aspect Ratio"),
    ({"box": (10, 10), "rows": 5, "columns": 5, "size_mm": 0.0}, "Requested Image Size"),
])
def test_invalid_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit(**kwargs)

"""Stored values to printed density: polarity, Presentation LUT, PS3.14 mapping."""

import math

import numpy as np
import pytest

from lut.density import ViewingConditions
from lut.pipeline import density_lut, pixels_to_density
from lut.polarity import Polarity
from lut.presentation import PresentationLUT, PresentationLUTError, PresentationLUTShape

LIGHT_BOX = ViewingConditions(illumination=2000.0, reflected_ambient_light=10.0)
WEDGE_ARGS = (0.20, 3.00, LIGHT_BOX)

# PS3.14 §7.1 coefficients, copied from the standard for the hand calculation.
_FORWARD_NUM = (-1.3011877, 8.0242636e-2, 1.3646699e-1, -2.5468404e-2, 1.3635334e-3)
_FORWARD_DEN = (1.0, -2.5840191e-2, -1.0320229e-1, 2.8745620e-2, -3.1978977e-3,
                1.2992634e-4)
_INVERSE = (71.498068, 94.593053, 41.912053, 9.8247004, 0.28175407, -1.1878455,
            -0.18014349, 0.14710899, -0.017046845)


def wedge_density_by_hand(p: int) -> float:
    """PS3.14 §7.2 for an 8-bit P-Value, Dmin 0.20, Dmax 3.00, L0 2000, La 10 cd/m²."""
    def lum(j):
        x = math.log(j)
        return 10 ** (sum(c * x**n for n, c in enumerate(_FORWARD_NUM))
                      / sum(c * x**n for n, c in enumerate(_FORWARD_DEN)))

    def jnd(lum_cd_m2):
        y = math.log10(lum_cd_m2)
        return sum(c * y**n for n, c in enumerate(_INVERSE))

    j_min = jnd(10 + 2000 * 10**-3.00)  # Lmin = 12.0 cd/m²
    j_max = jnd(10 + 2000 * 10**-0.20)  # Lmax = 1271.9 cd/m²
    return -math.log10((lum(j_min + p * (j_max - j_min) / 255) - 10) / 2000)


def test_256_step_wedge_matches_ps314_by_hand():
    wedge = np.arange(256, dtype=np.uint8).reshape(16, 16)
    density = pixels_to_density(wedge, 8, "MONOCHROME2", Polarity.NORMAL, None, *WEDGE_ARGS)
    assert density.shape == (16, 16) and density.dtype == np.float32
    expected = np.array([wedge_density_by_hand(p) for p in range(256)]).reshape(16, 16)
    assert np.abs(density - expected).max() < 0.001


def test_monochrome1_normal_equals_monochrome2_reverse():
    mono1 = density_lut(8, "MONOCHROME1", Polarity.NORMAL, None, *WEDGE_ARGS)
    mono2 = density_lut(8, "MONOCHROME2", Polarity.REVERSE, None, *WEDGE_ARGS)
    assert np.array_equal(mono1, mono2)
    assert mono1[0] == pytest.approx(0.20, abs=1e-6)  # MONOCHROME1: 0 is white


def test_reverse_flips():
    normal = density_lut(8, "MONOCHROME2", Polarity.NORMAL, None, *WEDGE_ARGS)
    reverse = density_lut(8, "MONOCHROME2", Polarity.REVERSE, None, *WEDGE_ARGS)
    assert np.array_equal(reverse, normal[::-1])
    assert normal[0] == pytest.approx(3.00, abs=1e-6)
    assert normal[255] == pytest.approx(0.20, abs=1e-6)


def test_twelve_bit_works():
    table = density_lut(12, "MONOCHROME2", Polarity.NORMAL, None, *WEDGE_ARGS)
    assert table.shape == (4096,)
    assert [table[0], table[4095]] == pytest.approx([3.00, 0.20], abs=1e-6)
    assert np.all(np.diff(table) < 0)
    # 12-bit value 273·m is the same fraction of the range as 8-bit value 17·m
    # (4095/255 = 273/17), so it prints the same density.
    m = np.arange(16)
    expected = [wedge_density_by_hand(17 * k) for k in m]
    assert np.abs(table[273 * m] - expected).max() < 0.001


def test_none_is_identity():
    assert np.array_equal(
        density_lut(8, "MONOCHROME2", Polarity.NORMAL, None, *WEDGE_ARGS),
        density_lut(8, "MONOCHROME2", Polarity.NORMAL, PresentationLUT(), *WEDGE_ARGS))


def test_lin_od_on_raw_monochrome1_is_linear_in_stored_value():
    # A MONOCHROME1 pixel is inverted, then LIN OD: raw v prints Dmin + v·(Dmax − Dmin)/255.
    lin_od = PresentationLUT(shape=PresentationLUTShape.LIN_OD)
    table = density_lut(8, "MONOCHROME1", Polarity.NORMAL, lin_od, *WEDGE_ARGS)
    v = np.arange(256)
    assert table == pytest.approx(0.20 + v * 2.80 / 255, abs=1e-5)


def test_table_presentation_lut_is_applied_after_polarity():
    # A table that prints the lower half black and the upper half clear.
    v = np.arange(256)
    halves = PresentationLUT(shape=None, descriptor=(256, 0, 12),
                             data=np.where(v < 128, 0, 4095))
    pixels = np.array([[0, 255]], dtype=np.uint8)
    normal = pixels_to_density(pixels, 8, "MONOCHROME2", Polarity.NORMAL, halves, *WEDGE_ARGS)
    reverse = pixels_to_density(pixels, 8, "MONOCHROME2", Polarity.REVERSE, halves,
                                *WEDGE_ARGS)
    assert normal.ravel().tolist() == pytest.approx([3.00, 0.20], abs=1e-6)
    assert reverse.ravel().tolist() == pytest.approx([0.20, 3.00], abs=1e-6)


def test_table_of_the_wrong_size_is_rejected():
    plut = PresentationLUT(shape=None, descriptor=(256, 0, 12), data=np.arange(256))
    with pytest.raises(PresentationLUTError):
        density_lut(12, "MONOCHROME2", Polarity.NORMAL, plut, *WEDGE_ARGS)


def test_tables_are_cached_by_value_and_read_only():
    def lut_for(data):
        plut = PresentationLUT(shape=None, descriptor=(256, 0, 12), data=data)
        return density_lut(8, "MONOCHROME2", Polarity.NORMAL, plut, *WEDGE_ARGS)

    first = lut_for(np.arange(256) * 16)
    again = lut_for(list(range(0, 4096, 16)))  # an equal LUT built anew
    assert again is first
    with pytest.raises(ValueError):
        first[0] = 0.0


def test_pixels_outside_bits_stored_are_rejected():
    pixels = np.array([0, 4096], dtype=np.uint16)
    with pytest.raises(ValueError, match="Bits Stored 12"):
        pixels_to_density(pixels, 12, "MONOCHROME2", Polarity.NORMAL, None, *WEDGE_ARGS)

"""P-Values to optical density (PS3.14 §7.2/§7.3), checked by hand calculation."""

import math

import numpy as np
import pytest

from lut.density import (
    ViewingConditions,
    density_to_luminance,
    density_to_p_values,
    lightbox_gray_levels,
    luminance_to_density,
    p_values_to_density,
)

LIGHT_BOX = ViewingConditions(illumination=2000.0, reflected_ambient_light=10.0)

# PS3.14 §7.1 coefficients, copied from the standard for the hand calculations.
_FORWARD_NUM = (-1.3011877, 8.0242636e-2, 1.3646699e-1, -2.5468404e-2, 1.3635334e-3)
_FORWARD_DEN = (1.0, -2.5840191e-2, -1.0320229e-1, 2.8745620e-2, -3.1978977e-3,
                1.2992634e-4)
_INVERSE = (71.498068, 94.593053, 41.912053, 9.8247004, 0.28175407, -1.1878455,
            -0.18014349, 0.14710899, -0.017046845)


def hand_luminance(j: float) -> float:
    """PS3.14 §7.1: log10 L = (a + c·x + e·x² + g·x³ + m·x⁴)/(1 + b·x + … + k·x⁵), x = ln j."""
    x = math.log(j)
    num = sum(coef * x**n for n, coef in enumerate(_FORWARD_NUM))
    den = sum(coef * x**n for n, coef in enumerate(_FORWARD_DEN))
    return 10 ** (num / den)


def hand_jnd(lum: float) -> float:
    """PS3.14 §7.1 Note 1: j = A + B·y + … + I·y⁸, y = log10 L."""
    y = math.log10(lum)
    return sum(coef * y**n for n, coef in enumerate(_INVERSE))


def hand_density(p: int, p_max: int, d_min: float, d_max: float, l0: float, la: float) -> float:
    """PS3.14 §7.2 step by step."""
    l_min = la + l0 * 10 ** -d_max
    l_max = la + l0 * 10 ** -d_min
    j_min, j_max = hand_jnd(l_min), hand_jnd(l_max)
    j = j_min + p * (j_max - j_min) / p_max
    return -math.log10((hand_luminance(j) - la) / l0)


@pytest.mark.parametrize("p_max", [255, 4095])
@pytest.mark.parametrize("viewing", [LIGHT_BOX, ViewingConditions.reflective()])
def test_p_value_ends_print_max_and_min_density(p_max, viewing):
    ends = p_values_to_density([0, p_max], p_max, 0.20, 3.00, viewing)
    assert ends == pytest.approx([3.00, 0.20], abs=1e-9)


def test_luminance_range_of_annex_d2_example():
    # PS3.14 D.2.2: L0 2000, La 10, Dmin 0.20, Dmax 3.00 give Lmin 12.0 and Lmax 1271.9 cd/m².
    assert density_to_luminance([3.00, 0.20], LIGHT_BOX) == pytest.approx([12.0, 1271.9],
                                                                          abs=0.05)


def test_mid_p_value_matches_hand_calculation():
    # Lmin = 10 + 2000·10^-3 = 12.0, Lmax = 10 + 2000·10^-0.2 = 1271.915 cd/m²;
    # j(12.0) = 233.32, j(1271.915) = 847.19; j(128) = 233.32 + 128·613.87/255 = 541.46;
    # L(541.46) ≈ 160.9 cd/m²; D = −log10((160.9 − 10)/2000) ≈ 1.1224 OD.
    expected = hand_density(128, 255, 0.20, 3.00, 2000.0, 10.0)
    assert expected == pytest.approx(1.1224, abs=0.0005)
    assert p_values_to_density(128, 255, 0.20, 3.00, LIGHT_BOX) == pytest.approx(expected,
                                                                                abs=0.001)


def test_reflective_print_has_no_ambient_term():
    # PS3.14 §7.3: L = L0·10^-D with L0 = 150 cd/m² for paper.
    paper = ViewingConditions.reflective()
    assert paper.reflected_ambient_light == 0.0
    assert density_to_luminance(1.0, paper) == pytest.approx(15.0)
    expected = hand_density(100, 255, 0.10, 2.00, 150.0, 0.0)
    assert p_values_to_density(100, 255, 0.10, 2.00, paper) == pytest.approx(expected,
                                                                            abs=0.001)


def test_density_to_luminance_and_back():
    # L = La + L0·10^-D: clear film shows the whole light box, 1 OD a tenth of it.
    assert density_to_luminance([0.0, 1.0, 2.0], LIGHT_BOX) == pytest.approx([2010, 210, 30])
    assert luminance_to_density([2010, 210, 30], LIGHT_BOX) == pytest.approx([0.0, 1.0, 2.0])


@pytest.mark.parametrize("p_max", [255, 4095])
def test_density_to_p_values_inverts_p_values_to_density(p_max):
    p = np.arange(p_max + 1)
    density = p_values_to_density(p, p_max, 0.25, 3.20, LIGHT_BOX)
    assert np.abs(density_to_p_values(density, p_max, 0.25, 3.20, LIGHT_BOX) - p).max() < 1e-6


def test_equal_p_steps_are_equal_jnd_steps():
    p = np.arange(0, 256, 15)
    density = p_values_to_density(p, 255, 0.20, 3.00, LIGHT_BOX)
    j = np.array([hand_jnd(lum) for lum in density_to_luminance(density, LIGHT_BOX)])
    steps = np.diff(j)
    # 15 P-Values of 613.87/255 JND each = 36.1 JND; the standard's inverse
    # polynomial used here is itself good to a few hundredths of a JND.
    assert steps == pytest.approx(np.full(steps.shape, 15 * 613.87 / 255), abs=0.05)


def test_density_rises_as_p_value_falls():
    density = p_values_to_density(np.arange(4096), 4095, 0.20, 3.00, LIGHT_BOX)
    assert np.all(np.diff(density) < 0)


def test_min_density_must_be_below_max_density():
    with pytest.raises(ValueError, match="Min Density"):
        p_values_to_density(0, 255, 3.0, 3.0, LIGHT_BOX)


def test_viewing_conditions_reject_impossible_light():
    with pytest.raises(ValueError, match="Illumination"):
        ViewingConditions(illumination=0.0)
    with pytest.raises(ValueError, match="Reflected Ambient Light"):
        ViewingConditions(reflected_ambient_light=-1.0)


def test_lightbox_gray_levels_by_hand():
    # Display range 10..2010 cd/m²: gray = round(255·(j(L) − j(10))/(j(2010) − j(10))).
    densities = [0.0, 0.5, 1.0, 2.0, 3.0]
    expected = []
    for d in densities:
        lum = 10 + 2000 * 10**-d
        expected.append(255 * (hand_jnd(lum) - hand_jnd(10)) / (hand_jnd(2010) - hand_jnd(10)))
    # 255, 191.7, 131.9, 40.2, 6.0
    gray = lightbox_gray_levels(densities, LIGHT_BOX)
    assert gray.dtype == np.uint8
    assert np.abs(gray.astype(float) - np.array(expected)).max() <= 0.6


def test_lower_max_density_looks_washed_out():
    gray = lightbox_gray_levels([2.0, 3.0, 6.0], LIGHT_BOX)
    assert gray[0] > gray[1] > gray[2]
    assert gray[2] == 0  # as dark as the room light alone


def test_lightbox_gray_levels_clamp_into_the_gsdf_range():
    bright_box = ViewingConditions(illumination=8000.0, reflected_ambient_light=0.0)
    gray = lightbox_gray_levels([-0.5, 0.0, 9.0], bright_box)
    assert gray.tolist() == [255, 255, 0]

"""GSDF (PS3.14 §7.1) against the standard's published numbers."""

import numpy as np
import pytest

from lut.gsdf import exact_jnd_index, jnd_index, luminance

# PS3.14 Annex B, Table B-1 (luminance in cd/m² of JND index j, Barten's model):
# j = 1 and 1023 are the table's end rows; j = 2 and 1022 follow from the
# quoted steps L(2) − L(1) = 0.0047 and L(1023) − L(1022) = 25.857 cd/m²;
# L(512) = 130.0662 is the row colour-science uses to check its GSDF.
TABLE_B1 = [
    (1, 0.0500),
    (2, 0.0547),
    (512, 130.0662),
    (1022, 3967.547),
    (1023, 3993.4040),
]


@pytest.mark.parametrize(("j", "published"), TABLE_B1)
def test_luminance_matches_table_b1(j, published):
    # Table B-1 is printed to 4 decimals (±0.00005 cd/m²) and the formula
    # interpolates Barten's model; above 1 cd/m² they agree within 1e-4 relative.
    tolerance = max(0.00005, 1e-4 * published)
    assert luminance(j) == pytest.approx(published, abs=tolerance)


@pytest.mark.parametrize(("j", "published"), TABLE_B1)
def test_inverse_formula_recovers_table_b1_index(j, published):
    assert jnd_index(published) == pytest.approx(j, abs=0.5)


def test_inverse_formula_reproduces_annex_d2_jmin():
    # PS3.14 D.2.2: Lmin = 12.0 cd/m² corresponds to jmin = 233.32.
    assert jnd_index(12.0) == pytest.approx(233.32, abs=0.005)


def test_inverse_formula_round_trips_within_half_a_jnd():
    j = np.arange(1, 1024)
    assert np.abs(jnd_index(luminance(j)) - j).max() < 0.5


def test_exact_inverse_round_trips_to_machine_precision():
    j = np.linspace(1, 1023, 2000)
    assert np.abs(exact_jnd_index(luminance(j)) - j).max() < 1e-9


def test_exact_inverse_agrees_with_inverse_formula_within_a_tenth_of_a_jnd():
    lum = np.geomspace(0.05, 4000, 500)
    assert np.abs(exact_jnd_index(lum) - jnd_index(lum)).max() < 0.1


def test_luminance_rises_with_jnd_index():
    assert np.all(np.diff(luminance(np.arange(1, 1024))) > 0)


def test_arrays_keep_their_shape_and_are_float64():
    j = np.array([[1, 2], [512, 1023]])
    assert luminance(j).shape == (2, 2)
    assert luminance(j).dtype == np.float64
    assert jnd_index(luminance(j)).dtype == np.float64

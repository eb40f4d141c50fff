"""Acceptance: a 256-step 8-bit wedge printed through the network matches PS3.14.

The wedge is printed on the default printer profile (150 dpi, density range
0.10..3.60 OD) on 14INX17IN film with an IDENTITY Presentation LUT, Min
Density 20, Max Density 300 (hundredths of OD), Illumination 2000 cd/m² and
Reflected Ambient Light 10 cd/m². Magnification NONE prints one image pixel
per printer pixel, centred in the box (film.fit), and every step is 7 image
columns wide, so each step covers 7 printer pixels with no interpolation.

The expectation is computed here from PS3.14 alone, independently of lut/:

* GSDF (PS3.14 §7.1): log10 L(j) = (a + c·x + e·x² + g·x³ + m·x⁴) /
  (1 + b·x + d·x² + f·x³ + h·x⁴ + k·x⁵), x = ln j; and its published
  inverse j(L) = A + B·y + … + I·y⁸, y = log10 L.
* Hardcopy (PS3.14 §7.2): L = La + L0·10^−D, so Lmin = La + L0·10^−Dmax and
  Lmax = La + L0·10^−Dmin; P-Value p of N bits is placed at
  j(p) = j(Lmin) + p·(j(Lmax) − j(Lmin)) / (2^N − 1) and printed at
  D = −log10((L(j(p)) − La) / L0).

The published inverse differs from the exact inverse of L(j) by under
0.1 JND, under 0.001 OD at these ends: well inside the 0.01 OD tolerance.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np
import pytest
from pydicom.dataset import Dataset
from scp_harness import running_printer
from test_scp_feat_support import (
    PRESENTATION_LUT_CLASS,
    SUCCESS,
    connect,
    density_map,
    new_film_box,
    new_session,
    print_film_box,
    printed_films,
    rects,
)

from film.densitometry import WedgeDirection, measure_wedge
from print_scp.profile import PrinterProfile
from print_scu.image_box_requests import grayscale_image_box

STEPS = 256
STEP_WIDTH = 7  # image columns (= printer pixels with Magnification Type NONE) per step
WEDGE_ROWS = 48
L0, LA = 2000.0, 10.0  # Illumination, Reflected Ambient Light, cd/m²
D_MIN, D_MAX = 0.20, 3.00  # OD
TOLERANCE_OD = 0.01
FILM_POINTS = (1008.0, 1224.0)  # 14 in × 17 in at 72 pt per inch

# PS3.14 §7.1, forward GSDF coefficients.
GSDF_A, GSDF_B, GSDF_C = -1.3011877, -2.5840191e-2, 8.0242636e-2
GSDF_D, GSDF_E, GSDF_F = -1.0320229e-1, 1.3646699e-1, 2.8745620e-2
GSDF_G, GSDF_H, GSDF_K = -2.5468404e-2, -3.1978977e-3, 1.2992634e-4
GSDF_M = 1.3635334e-3
# PS3.14 §7.1, inverse: j = A + B·y + C·y² + … + I·y⁸, y = log10 L.
INVERSE = (71.498068, 94.593053, 41.912053, 9.8247004, 0.28175407, -1.1878455,
           -0.18014349, 0.14710899, -0.017046845)


def gsdf_luminance(j: np.ndarray) -> np.ndarray:
    """L(j) in cd/m²."""
    x = np.log(j)
    numerator = GSDF_A + GSDF_C * x + GSDF_E * x**2 + GSDF_G * x**3 + GSDF_M * x**4
    denominator = 1 + GSDF_B * x + GSDF_D * x**2 + GSDF_F * x**3 + GSDF_H * x**4 + GSDF_K * x**5
    return 10.0 ** (numerator / denominator)


def gsdf_jnd_index(luminance: float) -> float:
    """j(L), the standard's published inverse."""
    y = np.log10(luminance)
    return sum(coefficient * y**power for power, coefficient in enumerate(INVERSE))


def ps3_14_density(p: np.ndarray, bits: int = 8) -> np.ndarray:
    """Density printed for P-Values ``p`` (PS3.14 §7.2, transmissive film)."""
    l_min = LA + L0 * 10.0 ** -D_MAX
    l_max = LA + L0 * 10.0 ** -D_MIN
    j_min, j_max = gsdf_jnd_index(l_min), gsdf_jnd_index(l_max)
    j = j_min + p * (j_max - j_min) / (2**bits - 1)
    return -np.log10((gsdf_luminance(j) - LA) / L0)


def test_the_formulas_reproduce_the_standards_own_numbers():
    """PS3.14: L(1) = 0.05 cd/m², L(1023) = 3993.4 cd/m²; Annex D: j(12 cd/m²) = 233.32."""
    assert gsdf_luminance(np.array([1.0, 1023.0])) == pytest.approx([0.05, 3993.4], rel=1e-3)
    assert gsdf_jnd_index(12.0) == pytest.approx(233.32, abs=0.01)
    assert ps3_14_density(np.array([0.0, 255.0])) == pytest.approx([D_MAX, D_MIN], abs=0.001)


def _identity_lut(assoc) -> list[Dataset]:
    lut = Dataset()
    lut.PresentationLUTShape = "IDENTITY"
    status, uid = assoc.create_presentation_lut(lut)
    assert status == SUCCESS, str(assoc.last_result)
    item = Dataset()
    item.ReferencedSOPClassUID = PRESENTATION_LUT_CLASS
    item.ReferencedSOPInstanceUID = uid
    return [item]


def _page_size_points(pdf) -> tuple[float, float]:
    """Width and height of the PDF's MediaBox, from poppler's pdfinfo."""
    info = subprocess.run(["pdfinfo", "-box", str(pdf)], capture_output=True, text=True,
                          timeout=30, check=True).stdout
    match = re.search(r"^MediaBox:\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)", info, re.M)
    assert match, info
    x0, y0, x1, y1 = (float(v) for v in match.groups())
    return x1 - x0, y1 - y0


def test_wedge_matches_ps3_14_at_every_step(tmp_path):
    profile = PrinterProfile()
    assert profile.density_range[0] <= 0.10 and profile.density_range[1] >= 3.60
    wedge = np.repeat(np.arange(STEPS, dtype=np.uint8), STEP_WIDTH)[np.newaxis, :]
    wedge = np.repeat(wedge, WEDGE_ROWS, axis=0)  # 48 rows × 1792 columns

    with running_printer(tmp_path, profile) as server:
        with connect(server) as assoc:
            session = new_session(assoc, MediumType="BLUE FILM")
            refs = new_film_box(assoc, session, "STANDARD\\1,1", film_size="14INX17IN",
                                MagnificationType="NONE", MinDensity=20, MaxDensity=300,
                                Illumination=2000, ReflectedAmbientLight=10,
                                EmptyImageDensity="WHITE",
                                ReferencedPresentationLUTSequence=_identity_lut(assoc))
            status = assoc.set_image_box(refs.image_box_uids[0], grayscale_image_box(1, wedge, 8))
            assert status == SUCCESS, str(assoc.last_result)
            print_film_box(assoc, refs)
        [film] = printed_films(tmp_path, 1)

    assert (film["film"]["width_mm"], film["film"]["height_mm"]) == (355.6, 431.8)
    density, dpi = density_map(tmp_path, film)
    assert dpi == profile.standard_dpi
    # NONE: the image is placed centred, one image pixel per printer pixel.
    x, y, w, h = rects(film)[1]
    left, top = x + (w - wedge.shape[1]) // 2, y + (h - wedge.shape[0]) // 2
    assert density[top + 5, left] == pytest.approx(D_MAX, abs=0.001)  # step 0 starts here
    assert density[top + 5, left - 1] == pytest.approx(D_MIN, abs=0.001)  # empty box: WHITE

    measured = measure_wedge(density, (left, top, wedge.shape[1], wedge.shape[0]), STEPS,
                             WedgeDirection.HORIZONTAL)
    expected = ps3_14_density(np.arange(STEPS, dtype=np.float64))
    errors = np.abs(measured - expected)
    worst = int(np.argmax(errors))
    assert errors.max() <= TOLERANCE_OD, (
        f"step {worst}: measured {measured[worst]:.4f} OD, PS3.14 {expected[worst]:.4f} OD")

    width_pt, height_pt = _page_size_points(tmp_path / film["film"]["files"]["pdf"])
    assert width_pt == pytest.approx(FILM_POINTS[0], abs=0.5)
    assert height_pt == pytest.approx(FILM_POINTS[1], abs=0.5)

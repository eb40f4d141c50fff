"""The Grayscale Standard Display Function of DICOM PS3.14 §7.1.

Luminance L is in cd/m²; the JND index j is dimensionless, 1..1023 over the
function's domain of 0.05..3993 cd/m² (PS3.14 Table B-1 ends at
L(1023) = 3993.4040 cd/m²).
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import polynomial
from numpy.typing import ArrayLike

__all__ = ["MAX_LUMINANCE", "MIN_LUMINANCE", "exact_jnd_index", "jnd_index", "luminance"]

MIN_LUMINANCE = 0.05  # cd/m², lower end of the GSDF's luminance range
MAX_LUMINANCE = 4000.0  # cd/m², upper end of the GSDF's luminance range

# log10 L = (a + c·x + e·x² + g·x³ + m·x⁴) / (1 + b·x + d·x² + f·x³ + h·x⁴ + k·x⁵),
# x = ln j; coefficients in ascending powers of x.
_NUMERATOR = (-1.3011877, 8.0242636e-2, 1.3646699e-1, -2.5468404e-2, 1.3635334e-3)
_DENOMINATOR = (1.0, -2.5840191e-2, -1.0320229e-1, 2.8745620e-2, -3.1978977e-3,
                1.2992634e-4)
# j = A + B·y + C·y² + … + I·y⁸, y = log10 L (PS3.14 §7.1, Note 1).
_INVERSE = (71.498068, 94.593053, 41.912053, 9.8247004, 0.28175407, -1.1878455,
            -0.18014349, 0.14710899, -0.017046845)
_NEWTON_STEPS = 6  # 3 suffice from the polynomial's estimate (within 0.1 JND)
_LOWEST_SEED = 0.5  # the polynomial turns negative just below 0.05 cd/m²


def _log10_luminance(x: np.ndarray) -> np.ndarray:
    """log10 of the luminance (cd/m²) at x = ln j."""
    return polynomial.polyval(x, _NUMERATOR) / polynomial.polyval(x, _DENOMINATOR)


def luminance(j: ArrayLike) -> np.ndarray:
    """Luminance in cd/m² of JND index ``j`` (PS3.14 §7.1), float64.

    Defined for 1 ≤ j ≤ 1023; j need not be an integer.
    """
    return 10.0 ** _log10_luminance(np.log(np.asarray(j, dtype=np.float64)))


def jnd_index(luminance_cd_m2: ArrayLike) -> np.ndarray:
    """JND index of a luminance in cd/m² by the inverse polynomial of PS3.14 §7.1, Note 1.

    Float64, not rounded. This is the standard's published approximation: it
    agrees with :func:`luminance` to within 0.1 JND over 1..1023 (and
    reproduces the standard's worked numbers, e.g. j(12.0 cd/m²) = 233.32 in
    PS3.14 Annex D.2).
    """
    y = np.log10(np.asarray(luminance_cd_m2, dtype=np.float64))
    return polynomial.polyval(y, _INVERSE)


def exact_jnd_index(luminance_cd_m2: ArrayLike) -> np.ndarray:
    """JND index j with ``luminance(j) == L`` to machine precision, float64.

    PS3.14 §7.1 Note 3 allows computing j from L iteratively from the formula
    for L(j). Starting from :func:`jnd_index`, Newton's method on
    log10 L(e^x) converges in a few steps for 0.04..5000 cd/m² (the GSDF's
    own range is 0.05..4000 cd/m²: clamp first when extrapolating). Printer
    maths uses this so that a P-Value of 0 lands exactly on the requested Max
    Density and the mapping from P-Values to density has an exact inverse.
    """
    target = np.log10(np.asarray(luminance_cd_m2, dtype=np.float64))
    x = np.log(np.maximum(polynomial.polyval(target, _INVERSE), _LOWEST_SEED))
    numerator_slope = polynomial.polyder(_NUMERATOR)
    denominator_slope = polynomial.polyder(_DENOMINATOR)
    for _ in range(_NEWTON_STEPS):
        num = polynomial.polyval(x, _NUMERATOR)
        den = polynomial.polyval(x, _DENOMINATOR)
        slope = (polynomial.polyval(x, numerator_slope) * den
                 - num * polynomial.polyval(x, denominator_slope)) / den**2
        x = x - (num / den - target) / slope
    return np.exp(x)

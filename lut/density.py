"""P-Values to optical density and back, for hardcopy (PS3.14 §7.2 and §7.3).

Densities are optical densities (OD, float, not the hundredths of OD that
DICOM carries on the wire); luminances are in cd/m².
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from lut import gsdf

__all__ = [
    "ViewingConditions", "density_to_luminance", "density_to_p_values",
    "lightbox_gray_levels", "luminance_to_density", "p_values_to_density",
]


@dataclass(frozen=True)
class ViewingConditions:
    """How a print is viewed, in cd/m².

    ``illumination`` is L0, Illumination (2010,015E): the light box luminance
    with no film for transmissive film, or for paper the luminance of light
    diffusely reflected by the unprinted medium (typically 150 cd/m²).
    ``reflected_ambient_light`` is La, Reflected Ambient Light (2010,0160):
    room light reflected off the film. PS3.14 §7.3 has no La term for
    reflective prints: use :meth:`reflective` for paper.
    """

    illumination: float = 2000.0  # L0, cd/m²
    reflected_ambient_light: float = 10.0  # La, cd/m²

    def __post_init__(self) -> None:
        if not self.illumination > 0:
            raise ValueError(f"Illumination must be above 0 cd/m², got {self.illumination}")
        if not self.reflected_ambient_light >= 0:
            raise ValueError("Reflected Ambient Light must be 0 cd/m² or more, "
                             f"got {self.reflected_ambient_light}")

    @classmethod
    def reflective(cls, illumination: float = 150.0) -> ViewingConditions:
        """Paper under ``illumination`` cd/m² of diffuse reflection (PS3.14 §7.3: L = L0·10^−D)."""
        return cls(illumination=illumination, reflected_ambient_light=0.0)


def density_to_luminance(density: ArrayLike, viewing: ViewingConditions) -> np.ndarray:
    """Luminance in cd/m² of film of optical density ``density``: L = La + L0·10^−D."""
    d = np.asarray(density, dtype=np.float64)
    return viewing.reflected_ambient_light + viewing.illumination * 10.0 ** -d


def luminance_to_density(luminance_cd_m2: ArrayLike, viewing: ViewingConditions) -> np.ndarray:
    """Optical density giving ``luminance_cd_m2``: D = −log10((L − La) / L0)."""
    lum = np.asarray(luminance_cd_m2, dtype=np.float64)
    return -np.log10((lum - viewing.reflected_ambient_light) / viewing.illumination)


def _jnd_range(min_density: float, max_density: float,
               viewing: ViewingConditions) -> tuple[float, float]:
    """(jmin, jmax): JND indices of the darkest and brightest printable luminance."""
    if not min_density < max_density:
        raise ValueError(f"Min Density ({min_density} OD) must be below "
                         f"Max Density ({max_density} OD)")
    j_min, j_max = gsdf.exact_jnd_index(
        density_to_luminance([max_density, min_density], viewing))
    return float(j_min), float(j_max)


def p_values_to_density(p: ArrayLike, p_max: int, min_density: float, max_density: float,
                        viewing: ViewingConditions) -> np.ndarray:
    """Optical density to print for P-Values ``p`` in 0..``p_max`` (PS3.14 §7.2, §7.3).

    ``p_max`` is 2^N − 1 for N-bit P-Values. With Lmin = La + L0·10^−Dmax and
    Lmax = La + L0·10^−Dmin, P-Value p is placed at JND index
    j(p) = j(Lmin) + p·(j(Lmax) − j(Lmin)) / p_max, printed at luminance
    L(j(p)), i.e. at density −log10((L(j(p)) − La) / L0). So p = 0 prints
    ``max_density``, p = ``p_max`` prints ``min_density``, and equal steps of
    p are equal steps of perceived brightness. j(L) is the exact inverse of
    the GSDF (:func:`lut.gsdf.exact_jnd_index`), which keeps both ends exact.
    """
    j_min, j_max = _jnd_range(min_density, max_density, viewing)
    p_arr = np.asarray(p, dtype=np.float64)
    j = j_min + p_arr * (j_max - j_min) / p_max
    return luminance_to_density(gsdf.luminance(j), viewing)


def density_to_p_values(density: ArrayLike, p_max: int, min_density: float,
                        max_density: float, viewing: ViewingConditions) -> np.ndarray:
    """P-Values (float, not rounded) that print ``density``.

    The exact inverse of :func:`p_values_to_density`.
    """
    j_min, j_max = _jnd_range(min_density, max_density, viewing)
    j = gsdf.exact_jnd_index(density_to_luminance(density, viewing))
    return (j - j_min) * p_max / (j_max - j_min)


def lightbox_gray_levels(density: ArrayLike, viewing: ViewingConditions) -> np.ndarray:
    """8-bit gray levels (uint8) showing film of ``density`` as it looks on its light box.

    The display is taken to be GSDF-calibrated over the light box's own
    luminance range, Lmin = max(La, 0.05) to Lmax = La + L0 cd/m² (clamped
    into the GSDF's 0.05..4000 cd/m²), so
    gray = round(255·(j(L) − j(Lmin)) / (j(Lmax) − j(Lmin))) with L the
    luminance of the film. Clear film (D = 0) is 255; a film printed with a
    low Max Density looks washed out, as it would on the light box.
    """
    lum_lo, lum_hi = gsdf.MIN_LUMINANCE, gsdf.MAX_LUMINANCE
    display = np.clip([viewing.reflected_ambient_light,
                       viewing.reflected_ambient_light + viewing.illumination], lum_lo, lum_hi)
    j_black, j_white = gsdf.exact_jnd_index(display)
    lum = np.clip(density_to_luminance(density, viewing), display[0], display[1])
    gray = 255.0 * (gsdf.exact_jnd_index(lum) - j_black) / (j_white - j_black)
    return np.rint(gray).astype(np.uint8)

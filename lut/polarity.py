"""Polarity (2020,0020) and photometric interpretation: which way grey runs."""

from __future__ import annotations

from enum import Enum


class Polarity(str, Enum):
    """Polarity (2020,0020): REVERSE prints the opposite of NORMAL."""

    NORMAL = "NORMAL"
    REVERSE = "REVERSE"


def inverts(photometric: str, polarity: Polarity) -> bool:
    """True if the stored value must be inverted before the Presentation LUT.

    MONOCHROME2 under NORMAL prints higher values brighter (lower density),
    which is what a P-Value means; MONOCHROME1 is the opposite, and REVERSE
    flips either once more.
    """
    return (photometric == "MONOCHROME1") != (polarity is Polarity.REVERSE)

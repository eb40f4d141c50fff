"""Film Size ID (2010,0050) and Film Orientation (2010,0040): the sheet in mm.

Sizes are the physical sheet, portrait (width × height) in millimetres, for
the defined terms of PS3.3 C.13.3. Inch sizes are converted exactly
(1 in = 25.4 mm). 10INX14IN follows the standard's note that it "corresponds
with 25.7CMX36.4CM" (257 × 364 mm), not the 254 × 355.6 mm its name suggests.
"""

from __future__ import annotations

import re
from enum import Enum

__all__ = ["FilmOrientation", "FilmSizeID", "film_size_mm"]


class FilmSizeID(str, Enum):
    """Film Size ID (2010,0050) defined terms."""

    IN_8X10 = "8INX10IN"
    IN_8_5X11 = "8_5INX11IN"
    IN_10X12 = "10INX12IN"
    IN_10X14 = "10INX14IN"
    IN_11X14 = "11INX14IN"
    IN_11X17 = "11INX17IN"
    IN_14X14 = "14INX14IN"
    IN_14X17 = "14INX17IN"
    CM_24X24 = "24CMX24CM"
    CM_24X30 = "24CMX30CM"
    A4 = "A4"
    A3 = "A3"

    @classmethod
    def parse(cls, value: FilmSizeID | str) -> FilmSizeID:
        """The member for a wire value (surrounding spaces ignored).

        Raises ValueError naming Film Size ID and the bad value.
        """
        return _parse(cls, value, "Film Size ID (2010,0050)")

    @property
    def portrait_mm(self) -> tuple[float, float]:
        """(width, height) of the sheet in mm, portrait."""
        return _portrait_mm(self)


class FilmOrientation(str, Enum):
    """Film Orientation (2010,0040): PORTRAIT is the long edge vertical."""

    PORTRAIT = "PORTRAIT"
    LANDSCAPE = "LANDSCAPE"

    @classmethod
    def parse(cls, value: FilmOrientation | str) -> FilmOrientation:
        """The member for a wire value (surrounding spaces ignored).

        Raises ValueError naming Film Orientation and the bad value.
        """
        return _parse(cls, value, "Film Orientation (2010,0040)")


#: Sizes whose Film Size ID does not spell them out, portrait (width, height) in mm.
_NAMED_MM: dict[FilmSizeID, tuple[float, float]] = {
    FilmSizeID.IN_10X14: (257.0, 364.0),  # PS3.3: "corresponds with 25.7CMX36.4CM"
    FilmSizeID.A4: (210.0, 297.0),
    FilmSizeID.A3: (297.0, 420.0),
}
#: The others spell out width and height: 8INX10IN, 8_5INX11IN (8.5 in), 24CMX30CM.
_SPELLED = re.compile(
    r"(?P<w>[0-9]+(?:_[0-9]+)?)(?P<unit>IN|CM)X(?P<h>[0-9]+(?:_[0-9]+)?)(?P=unit)")
_MM_PER = {"IN": 25.4, "CM": 10.0}


def _portrait_mm(size: FilmSizeID) -> tuple[float, float]:
    named = _NAMED_MM.get(size)
    if named is not None:
        return named
    match = _SPELLED.fullmatch(size.value)
    assert match is not None, f"{size.value} spells no size"
    per_unit = _MM_PER[match["unit"]]
    # Every defined size is a whole number of 0.1 mm: rounding removes float noise only.
    return (round(float(match["w"].replace("_", ".")) * per_unit, 1),
            round(float(match["h"].replace("_", ".")) * per_unit, 1))


def _parse(enum_type: type[Enum], value: Enum | str, attribute: str):
    if isinstance(value, enum_type):
        return value
    text = value.strip() if isinstance(value, str) else value
    try:
        return enum_type(text)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ValueError(
            f"{attribute} {value!r} is not one of the supported values: {allowed}"
        ) from None


def film_size_mm(
    size_id: FilmSizeID | str, orientation: FilmOrientation | str
) -> tuple[float, float]:
    """(width, height) of the sheet in mm as it lies: LANDSCAPE swaps portrait."""
    width, height = FilmSizeID.parse(size_id).portrait_mm
    if FilmOrientation.parse(orientation) is FilmOrientation.LANDSCAPE:
        return height, width
    return width, height

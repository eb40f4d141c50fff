"""Film Size ID (2010,0050) and Film Orientation (2010,0040): the sheet in mm.

Sizes are the physical sheet, portrait (width × height) in millimetres, for
the defined terms of PS3.3 C.13.3. Inch sizes are converted exactly
(1 in = 25.4 mm). 10INX14IN follows the standard's note that it "corresponds
with 25.7CMX36.4CM" (257 × 364 mm), not the 254 × 355.6 mm its name suggests.
"""

from __future__ import annotations

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
        return _PORTRAIT_MM[self]


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


# Inch sizes written out in mm (× 25.4, exact decimals).
_PORTRAIT_MM: dict[FilmSizeID, tuple[float, float]] = {
    FilmSizeID.IN_8X10: (203.2, 254.0),
    FilmSizeID.IN_8_5X11: (215.9, 279.4),
    FilmSizeID.IN_10X12: (254.0, 304.8),
    FilmSizeID.IN_10X14: (257.0, 364.0),
    FilmSizeID.IN_11X14: (279.4, 355.6),
    FilmSizeID.IN_11X17: (279.4, 431.8),
    FilmSizeID.IN_14X14: (355.6, 355.6),
    FilmSizeID.IN_14X17: (355.6, 431.8),
    FilmSizeID.CM_24X24: (240.0, 240.0),
    FilmSizeID.CM_24X30: (240.0, 300.0),
    FilmSizeID.A4: (210.0, 297.0),
    FilmSizeID.A3: (297.0, 420.0),
}


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

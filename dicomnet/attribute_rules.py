"""One table of value rules for the print attributes both ends read and write.

The printer validates what an SCU sends with these rules, and the client
checks its options and profiles with the same ones, so a value the client
accepts is one the printer accepts. Each rule gives a range (with its unit)
or a length in characters; defined terms are checked by their enums
(:mod:`dicomnet.terms`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

US_MAX = 65535  # largest US value
IS_MAX = 2**31 - 1  # largest IS value
CS_MAX = 16  # characters of a Code String (CS), PS3.5 Table 6.2-1
AE_TITLE_MAX = 16  # characters of an Application Entity title (AE), PS3.5 Table 6.2-1

#: Film Destination (2000,0040): MAGAZINE, PROCESSOR or BIN_i (i = 1..99).
FILM_DESTINATION = re.compile(r"MAGAZINE|PROCESSOR|BIN_[1-9][0-9]?")


class AttributeValueError(ValueError):
    """A value outside its rule; the message says why, without the attribute's name."""


@dataclass(frozen=True)
class NumberRule:
    """A number inside [low, high], in ``unit`` (e.g. " hundredths of OD"); whole if ``whole``."""

    low: float
    high: float
    unit: str = ""
    whole: bool = True

    def check(self, number: float) -> None:
        """AttributeValueError ("outside 0..500 hundredths of OD") if ``number`` is outside."""
        if not self.low <= number <= self.high:
            raise AttributeValueError(
                f"outside {_number(self.low)}..{_number(self.high)}{self.unit}")


def _number(value: float) -> str:
    """A bound as people write it: 65535, 0.01."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


@dataclass(frozen=True)
class TextRule:
    """Text of at most ``max_length`` characters (the VR's or the standard's limit)."""

    max_length: int

    def check(self, text: str) -> None:
        """AttributeValueError if ``text`` is too long."""
        if len(text) > self.max_length:
            raise AttributeValueError(f"longer than {self.max_length} characters")


_HUNDREDTHS = " hundredths of OD"
_CANDELAS = " cd/m²"

#: Rules by DICOM keyword. Numbers of the Image Pixel module (PS3.3 C.7.6.3) are
#: those an image box accepts.
RULES: dict[str, NumberRule | TextRule] = {
    # Film Session (PS3.3 C.13.1)
    "NumberOfCopies": NumberRule(1, IS_MAX),
    "MemoryAllocation": NumberRule(0, IS_MAX, " KB"),
    "FilmSessionLabel": TextRule(64),
    "OwnerID": TextRule(16),
    # Film Box (PS3.3 C.13.3)
    "ImageDisplayFormat": TextRule(1024),
    "AnnotationDisplayFormatID": TextRule(CS_MAX),
    "MinDensity": NumberRule(0, US_MAX, _HUNDREDTHS),
    "MaxDensity": NumberRule(0, US_MAX, _HUNDREDTHS),
    "ConfigurationInformation": TextRule(1024),
    # Illumination 0 would print every P-Value alike (PS3.14 7.2).
    "Illumination": NumberRule(1, US_MAX, _CANDELAS),
    "ReflectedAmbientLight": NumberRule(0, US_MAX, _CANDELAS),
    # Image Box (PS3.3 C.13.5)
    "ImageBoxPosition": NumberRule(1, US_MAX),
    "RequestedImageSize": NumberRule(0.01, 10000.0, " mm", whole=False),
    "SamplesPerPixel": NumberRule(1, 3),
    "Rows": NumberRule(1, US_MAX),
    "Columns": NumberRule(1, US_MAX),
    "BitsAllocated": NumberRule(1, 64),
    "BitsStored": NumberRule(1, 64),
    "HighBit": NumberRule(0, 63),
    "PixelRepresentation": NumberRule(0, 1),
    "PlanarConfiguration": NumberRule(0, 1),
    # Annotation Box (PS3.3 C.13.7)
    "AnnotationPosition": NumberRule(1, US_MAX),
    "TextString": TextRule(64),
    # References (UI)
    "ReferencedSOPClassUID": TextRule(64),
    "ReferencedSOPInstanceUID": TextRule(64),
}

#: Border Density (2010,0100) and Empty Image Density (2010,0110) given as a number:
#: hundredths of OD, up to 5.00 OD (no film reaches more).
DENSITY_HUNDREDTHS = NumberRule(0, 500, _HUNDREDTHS)


def number_rule(keyword: str) -> NumberRule:
    """The numeric rule of ``keyword`` (KeyError if it has none)."""
    rule = RULES[keyword]
    if not isinstance(rule, NumberRule):
        raise KeyError(f"{keyword} has no numeric rule")
    return rule


def text_rule(keyword: str) -> TextRule:
    """The length rule of ``keyword`` (KeyError if it has none)."""
    rule = RULES[keyword]
    if not isinstance(rule, TextRule):
        raise KeyError(f"{keyword} has no text rule")
    return rule


def ae_title_problem(title: str) -> str | None:
    """Why ``title`` is not a usable AE title (PS3.5 AE VR), None if it is."""
    if not title.strip():
        return "must not be empty"
    if len(title) > AE_TITLE_MAX:
        return f"{title!r} is longer than {AE_TITLE_MAX} characters"
    if "\\" in title or not title.isprintable() or not title.isascii():
        return f"{title!r} holds a backslash or a character outside printable ASCII"
    return None

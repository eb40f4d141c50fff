"""Specific Character Set (0008,0005) of the data sets the printer sends.

Replies and events echo text an SCU sent (Film Session Label, Owner ID,
Text String) or the profile holds (Printer Name). Without a Specific
Character Set a data set may only hold ASCII (PS3.5 6.1.2.1), and pydicom
would send any other character as "?". A data set holding other characters
is declared UTF-8 (ISO_IR 192), which encodes every character.
"""

from __future__ import annotations

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

UTF8 = "ISO_IR 192"
TEXT_VRS = frozenset({"SH", "LO", "ST", "LT", "UT", "UC", "PN"})  # VRs that take the set


def declare_character_set(ds: Dataset | None) -> None:
    """Declare ``ds`` UTF-8 if a text value in it (or its items) is not ASCII."""
    if ds is None or "SpecificCharacterSet" in ds:
        return
    if any(_non_ascii(elem.value) for elem in ds.iterall() if elem.VR in TEXT_VRS):
        ds.SpecificCharacterSet = UTF8


def _non_ascii(value: object) -> bool:
    values = value if isinstance(value, (list, MultiValue)) else [value]
    return any(not str(v).isascii() for v in values if v is not None)

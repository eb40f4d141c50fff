"""Specific Character Set (0008,0005): decoding received text, declaring sent text.

``decode_text`` reads a received text value strictly (or, for a lenient
printer, with replacement characters), so that text a character set cannot
hold is noticed instead of printed wrong.

Replies and events echo text an SCU sent (Film Session Label, Owner ID,
Text String) or the profile holds (Printer Name). Without a Specific
Character Set a data set may only hold ASCII (PS3.5 6.1.2.1), and pydicom
would send any other character as "?". A data set holding other characters
is declared UTF-8 (ISO_IR 192), which encodes every character.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydicom.charset import CODES_TO_ENCODINGS, default_encoding, handled_encodings, python_encoding
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


class UndecodableText(ValueError):
    """Text bytes that the declared Specific Character Set cannot decode; says why."""


_ESCAPE = 0x1B
_FRAGMENT = re.compile(b"(^[^\x1b]+|\x1b[^\x1b]*)")
_ASCII_TERMS = frozenset({"", "ISO_IR 6", "ISO 2022 IR 6"})  # the default repertoire


def decode_text(raw: bytes, specific_character_set: str | Sequence[str] | None,
                strict: bool = True) -> str:
    """Decode a received text value with the data set's Specific Character Set (0008,0005).

    Single-byte sets (ISO_IR 100, 101, 144, 126, ...), UTF-8 (ISO_IR 192),
    GB18030, and ISO 2022 code extensions switched by escape sequences (ISO
    2022 IR 87 for Japanese kanji, with IR 6 or IR 13). Without a Specific
    Character Set only ASCII is valid (PS3.5 6.1.2.1). With ``strict``, raise
    UndecodableText naming the term, byte or escape sequence at fault; else
    decode what can be decoded, with U+FFFD for the rest.
    """
    errors = "strict" if strict else "replace"
    terms = _terms(specific_character_set)
    encodings = []
    for term in terms:
        if term not in python_encoding:
            if strict:
                raise UndecodableText(f"Specific Character Set term {term!r} is not a defined term")
            continue
        encodings.append("ascii" if term in _ASCII_TERMS else python_encoding[term])
    encodings = encodings or ["ascii"]
    try:
        if _ESCAPE not in raw:
            return raw.decode(encodings[0], errors)
        return "".join(_decode_fragment(fragment, encodings, errors)
                       for fragment in _FRAGMENT.findall(raw))
    except UnicodeDecodeError as exc:
        declared = "\\".join(terms) or "none (ASCII)"
        raise UndecodableText(
            f"byte 0x{exc.object[exc.start]:02X} at offset {exc.start} is not valid in "
            f"Specific Character Set {declared}") from None


def _terms(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return [""]
    values = [value] if isinstance(value, str) else list(value)
    return [str(v).strip() for v in values] or [""]


def _decode_fragment(fragment: bytes, encodings: list[str], errors: str) -> str:
    """One run of an ISO 2022 value: the escape sequence it starts with selects the set."""
    if fragment[0] != _ESCAPE:
        return fragment.decode(encodings[0], errors)
    length = 4 if fragment.startswith((b"\x1b$(", b"\x1b$)")) else 3
    encoding = CODES_TO_ENCODINGS.get(fragment[:length])
    if encoding == default_encoding:  # ESC ( B: back to ASCII
        encoding = "ascii"
    elif encoding not in encodings:
        if errors == "strict":
            raise UndecodableText(f"escape sequence {fragment[1:length]!r} selects a character "
                                  f"set the Specific Character Set does not declare")
        return fragment[length:].decode(encodings[0], errors)
    if encoding in handled_encodings:  # Python's codec reads the escape sequence itself
        return fragment.decode(encoding, errors)
    return fragment[length:].decode(encoding, errors)

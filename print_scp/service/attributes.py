"""Reading and checking the attributes of print requests.

Each ``read_*`` function takes the dataset an SCU sent and returns a plain
Python value, or raises :class:`DicomStatusError` naming the attribute and
saying why. Values are read defensively: a wrong VR or an undecodable value
is an invalid attribute value (0x0106), never an exception escaping to
pynetdicom.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import Enum
from typing import Any, TypeVar

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from dicomnet.attribute_rules import (
    CS_MAX,
    DENSITY_HUNDREDTHS,
    FILM_DESTINATION,
    AttributeValueError,
    NumberRule,
    number_rule,
    text_rule,
)
from dicomnet.character_set import UndecodableText, decode_text
from dicomnet.status import Status
from dicomnet.terms import DensityTerm
from print_scp.service.outcome import DicomStatusError

E = TypeVar("E", bound=Enum)


def invalid(keyword: str, why: str) -> DicomStatusError:
    return DicomStatusError(Status.INVALID_ATTRIBUTE_VALUE, f"{keyword}: {why}", keyword)


def raw_value(ds: Dataset, keyword: str) -> Any:
    """The element's value, or None when absent or empty; undecodable -> 0x0106."""
    try:
        if keyword not in ds:
            return None
        value = ds[keyword].value
    except Exception as exc:  # pydicom raises many kinds on a malformed element
        raise invalid(keyword, f"cannot be decoded ({type(exc).__name__})") from exc
    if value is None or value == "" or value == b"":
        return None
    return value


def read_text(ds: Dataset, keyword: str, max_length: int | None = None) -> str | None:
    """A text value as sent, without leading and trailing white space.

    Its length is checked against ``max_length``, or else the keyword's rule
    (:data:`dicomnet.attribute_rules.RULES`).

    Several values (backslash-separated, PS3.5 6.1.2.3) come back joined with
    the backslash they were sent with, so the text is what the SCU sent.
    """
    value = raw_value(ds, keyword)
    if value is None:
        return None
    if isinstance(value, (list, tuple, MultiValue)):
        value = "\\".join(str(v) for v in value)
    elif not isinstance(value, str):
        value = str(value)
    value = value.strip()
    limit = text_rule(keyword).max_length if max_length is None else max_length
    if len(value) > limit:
        raise invalid(keyword, f"longer than {limit} characters")
    return value or None


def read_decoded_text(ds: Dataset, keyword: str, strict: bool) -> tuple[str | None, str | None]:
    """A text value decoded with the data set's Specific Character Set, and what was wrong.

    Returns (text, problem): ``problem`` says why the bytes as sent are not
    valid in the declared character set (None if they are); the text is then
    what could be decoded, with U+FFFD for the rest. Length is checked as for
    :func:`read_text`, in characters.
    """
    elem = ds.get_item(keyword) if keyword in ds else None
    raw = elem.value if elem is not None else None
    if not isinstance(raw, bytes):  # absent, or already decoded (a data set built in-process)
        return read_text(ds, keyword), None
    charset = ds.get("SpecificCharacterSet")
    problem = None
    try:
        text = decode_text(raw, charset)
    except UndecodableText as exc:
        problem = f"{keyword} cannot be decoded: {exc}"
        text = decode_text(raw, charset, strict=False)
    text = text.rstrip("\x00").strip()
    limit = text_rule(keyword).max_length
    if len(text) > limit:
        raise invalid(keyword, f"longer than {limit} characters")
    return text or None, problem


def read_term(ds: Dataset, keyword: str, allowed: Iterable[str]) -> str | None:
    """A Code String that must be one of ``allowed`` (case-sensitive, as DICOM)."""
    value = read_text(ds, keyword, CS_MAX)
    if value is None:
        return None
    allowed = tuple(allowed)
    if value not in allowed:
        raise invalid(keyword, f"{value!r} not supported (use {', '.join(allowed)})")
    return value


def read_enum(ds: Dataset, keyword: str, terms: type[E],
              allowed: Iterable[str] | None = None) -> E | None:
    """A defined term as its enum member; ``allowed`` (default: every term) limits it."""
    value = read_term(ds, keyword, [t.value for t in terms] if allowed is None else allowed)
    return None if value is None else terms(value)


def read_int(ds: Dataset, keyword: str) -> int | None:
    """An IS or US value inside its rule's range; outside -> 0x0106 naming the range."""
    return _read_number(ds, keyword, number_rule(keyword), _whole_number, "an integer")


def _whole_number(value: Any) -> int:
    """``int(value)``, refusing to drop a fraction (e.g. a DS 2.5 sent for a US)."""
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{value} has a fraction")
    return int(value)


def read_float(ds: Dataset, keyword: str) -> float | None:
    """A DS value inside its rule's range; outside -> 0x0106 naming the range."""
    return _read_number(ds, keyword, number_rule(keyword), float, "a number")


def _read_number(ds: Dataset, keyword: str, rule: NumberRule,
                 convert: Callable[[Any], Any], kind: str) -> Any:
    value = raw_value(ds, keyword)
    if value is None:
        return None
    if isinstance(value, (list, tuple, MultiValue)):
        raise invalid(keyword, "must have one value")
    try:
        number = convert(value)
    except (TypeError, ValueError) as exc:
        raise invalid(keyword, f"{value!r} is not {kind}") from exc
    _check(keyword, rule, number)
    return number


def _check(keyword: str, rule: NumberRule, number: float) -> None:
    """0x0106 naming the number and the rule's range if ``number`` is outside it."""
    try:
        rule.check(number)
    except AttributeValueError as exc:
        raise invalid(keyword, f"{number:g} {exc}") from None


def read_destination(ds: Dataset) -> str | None:
    value = read_text(ds, "FilmDestination", CS_MAX)
    if value is not None and not FILM_DESTINATION.fullmatch(value):
        raise invalid("FilmDestination", f"{value!r} is not MAGAZINE, PROCESSOR or BIN_i")
    return value


def read_density_term(ds: Dataset, keyword: str) -> str | int | None:
    """Border/Empty Image Density: BLACK, WHITE or hundredths of OD (0..500)."""
    value = read_text(ds, keyword, CS_MAX)
    if value is None or value in tuple(DensityTerm):
        return value
    try:
        number = int(value)
    except ValueError as exc:
        raise invalid(keyword, f"{value!r} is not BLACK, WHITE or hundredths of OD") from exc
    _check(keyword, DENSITY_HUNDREDTHS, number)
    return number


def read_single_item(ds: Dataset, keyword: str) -> Dataset | None:
    """A sequence that must hold exactly one item."""
    value = raw_value(ds, keyword)
    if value is None:
        return None
    try:
        items = list(value)
    except TypeError as exc:
        raise invalid(keyword, "is not a sequence") from exc
    if len(items) != 1 or not isinstance(items[0], Dataset):
        raise invalid(keyword, f"must hold exactly one item, not {len(items)}")
    return items[0]


def read_reference(ds: Dataset, keyword: str) -> tuple[str, str] | None:
    """(Referenced SOP Class UID, Referenced SOP Instance UID) of a one-item sequence."""
    item = read_single_item(ds, keyword)
    if item is None:
        return None
    class_uid = read_text(item, "ReferencedSOPClassUID")
    instance_uid = read_text(item, "ReferencedSOPInstanceUID")
    if not class_uid or not instance_uid:
        raise DicomStatusError(
            Status.MISSING_ATTRIBUTE_VALUE,
            f"{keyword}: item needs Referenced SOP Class and Instance UID", keyword)
    return class_uid, instance_uid


def keywords_of(ds: Dataset) -> list[str]:
    """Keywords of a dataset's elements; unknown (private) tags as '(gggg,eeee)'."""
    names = []
    for tag in ds.keys():
        try:
            elem = ds[tag]
            names.append(elem.keyword or f"({tag.group:04X},{tag.element:04X})")
        except Exception:
            names.append(f"({tag.group:04X},{tag.element:04X})")
    return names


def describe_dataset(ds: Dataset) -> dict[str, Any]:
    """A JSON-ready view of received attributes (pixel data summarised, not dumped)."""
    out: dict[str, Any] = {}
    for tag in ds.keys():
        try:
            elem = ds[tag]
            name = elem.keyword or f"({tag.group:04X},{tag.element:04X})"
            if elem.VR == "SQ":
                out[name] = [describe_dataset(item) for item in elem.value]
            elif elem.VR in ("OB", "OW", "OD", "OF", "OL", "OV", "UN") or name == "PixelData":
                out[name] = f"<{len(elem.value or b'')} bytes>"
            elif elem.VM > 1:
                out[name] = [_json_value(v) for v in elem.value]
            else:
                out[name] = _json_value(elem.value)
        except Exception as exc:
            out[f"({tag.group:04X},{tag.element:04X})"] = f"<undecodable: {type(exc).__name__}>"
    return out


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)

"""Bytes on the wire, built by hand so they can be wrong on purpose.

Data elements are encoded here rather than by pydicom, which refuses (or
silently repairs) the values a fuzzer wants to send: a US of 3 bytes, an IS
of "abc", an odd length, a VR that does not match the tag, a sequence item
that is not a dataset. Command sets are always Implicit VR Little Endian
(PS3.7 6.3.1); data sets follow the presentation context's transfer syntax.
PDUs and PDVs follow PS3.8 9.3 and Annex E.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

# PS3.8 9.3: PDU types
A_ASSOCIATE_RQ = 0x01
A_ASSOCIATE_AC = 0x02
A_ASSOCIATE_RJ = 0x03
P_DATA_TF = 0x04
A_RELEASE_RQ = 0x05
A_RELEASE_RP = 0x06
A_ABORT = 0x07

# PS3.8 E.2: message control header of a PDV
DATA_MORE, COMMAND_MORE, DATA_LAST, COMMAND_LAST = 0x00, 0x01, 0x02, 0x03

# PS3.7 E.1: Command Field values
N_EVENT_REPORT_RQ, N_GET_RQ, N_SET_RQ = 0x0100, 0x0110, 0x0120
N_ACTION_RQ, N_CREATE_RQ, N_DELETE_RQ = 0x0130, 0x0140, 0x0150
C_STORE_RQ, C_ECHO_RQ, C_FIND_RQ = 0x0001, 0x0030, 0x0020
RESPONSE_BIT = 0x8000
SERVICE_NAMES = {N_GET_RQ: "N-GET", N_SET_RQ: "N-SET", N_ACTION_RQ: "N-ACTION",
                 N_CREATE_RQ: "N-CREATE", N_DELETE_RQ: "N-DELETE",
                 N_EVENT_REPORT_RQ: "N-EVENT-REPORT"}
NO_DATASET = 0x0101  # Command Data Set Type (0000,0800): no data set follows
HAS_DATASET = 0x0000

# VRs whose explicit VR encoding has 2 reserved bytes and a 4-byte length (PS3.5 7.1.2)
_LONG_VRS = frozenset({"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT",
                       "UV"})
UNDEFINED_LENGTH = 0xFFFFFFFF


@dataclass(frozen=True)
class Element:
    """One data element: its tag, the VR written (explicit VR only) and its value bytes.

    A sequence (``vr == "SQ"``) holds ``items``, each a list of elements, or
    raw bytes for an item that is not a dataset. ``undefined_length`` writes
    the sequence and its items with delimiters instead of lengths.
    """

    tag: int
    vr: str
    value: bytes = b""
    items: tuple[tuple[Element, ...] | bytes, ...] = field(default=())
    undefined_length: bool = False


def _header(tag: int, vr: str, length: int, explicit: bool) -> bytes:
    group_element = struct.pack("<HH", tag >> 16, tag & 0xFFFF)
    if not explicit:
        return group_element + struct.pack("<L", length)
    code = vr.encode("ascii", "replace")[:2].ljust(2, b" ")
    if vr in _LONG_VRS:
        return group_element + code + b"\0\0" + struct.pack("<L", length)
    # A value too long for a 2-byte length is written with its length cut to 16 bits:
    # a lying length, which is one of the things a hostile peer sends anyway.
    return group_element + code + struct.pack("<H", length & 0xFFFF)


def encode_element(element: Element, explicit: bool) -> bytes:
    """The element's bytes in Explicit or Implicit VR Little Endian."""
    if element.vr != "SQ":
        return _header(element.tag, element.vr, len(element.value), explicit) + element.value
    body = b"".join(_encode_item(item, explicit, element.undefined_length)
                    for item in element.items)
    if element.undefined_length:
        return (_header(element.tag, "SQ", UNDEFINED_LENGTH, explicit) + body
                + struct.pack("<HHL", 0xFFFE, 0xE0DD, 0))
    return _header(element.tag, "SQ", len(body), explicit) + body


def _encode_item(item: tuple[Element, ...] | bytes, explicit: bool, undefined: bool) -> bytes:
    content = item if isinstance(item, bytes) else encode_dataset(item, explicit)
    if undefined:
        return (struct.pack("<HHL", 0xFFFE, 0xE000, UNDEFINED_LENGTH) + content
                + struct.pack("<HHL", 0xFFFE, 0xE00D, 0))
    return struct.pack("<HHL", 0xFFFE, 0xE000, len(content)) + content


def encode_dataset(elements: Iterable[Element], explicit: bool, *, sort: bool = True) -> bytes:
    """A data set; ``sort=False`` keeps the given (possibly wrong) tag order."""
    ordered = sorted(elements, key=lambda e: e.tag) if sort else list(elements)
    return b"".join(encode_element(e, explicit) for e in ordered)


# -- value encoders (valid encodings; the strategies decide when to break them) ------------
def us(*values: int) -> bytes:
    """US values, each masked to 16 bits."""
    return b"".join(struct.pack("<H", v & 0xFFFF) for v in values)


def ul(*values: int) -> bytes:
    return b"".join(struct.pack("<L", v & 0xFFFFFFFF) for v in values)


def text(value: str, pad: bytes = b" ") -> bytes:
    """A string value padded to even length (PS3.5 6.2); non-ASCII as Latin-1 or '?'."""
    data = value.encode("latin-1", "replace")
    return data + pad if len(data) % 2 else data


def uid(value: str) -> bytes:
    """A UI value, padded with NUL (PS3.5 6.2)."""
    return text(value, b"\0")


def sequence(tag: int, items: Iterable[tuple[Element, ...] | bytes],
             undefined_length: bool = False) -> Element:
    return Element(tag, "SQ", items=tuple(items), undefined_length=undefined_length)


# -- command sets (PS3.7 9.3, 10.3) ----------------------------------------------------------
def command_set(elements: Iterable[Element]) -> bytes:
    """A command set in Implicit VR LE, led by Command Group Length (0000,0000)."""
    body = encode_dataset(elements, explicit=False)
    return encode_element(Element(0x00000000, "UL", ul(len(body))), explicit=False) + body


def request_command(command_field: int, message_id: int, class_uid: str,
                    instance_uid: str | None, has_dataset: bool, *,
                    action_type_id: int | None = None, event_type_id: int | None = None,
                    attribute_identifiers: bytes | None = None) -> bytes:
    """A DIMSE request command set; N-CREATE names the Affected, the others the Requested."""
    affected = command_field in (N_CREATE_RQ, N_EVENT_REPORT_RQ, C_ECHO_RQ, C_STORE_RQ,
                                 C_FIND_RQ)
    elements = [
        Element(0x00000002 if affected else 0x00000003, "UI", uid(class_uid)),
        Element(0x00000100, "US", us(command_field)),
        Element(0x00000110, "US", us(message_id)),
        Element(0x00000800, "US", us(HAS_DATASET if has_dataset else NO_DATASET)),
    ]
    if instance_uid is not None:
        elements.append(Element(0x00001000 if affected else 0x00001001, "UI", uid(instance_uid)))
    if event_type_id is not None:
        elements.append(Element(0x00001002, "US", us(event_type_id)))
    if attribute_identifiers is not None:
        elements.append(Element(0x00001005, "AT", attribute_identifiers))
    if action_type_id is not None:
        elements.append(Element(0x00001008, "US", us(action_type_id)))
    if command_field == C_STORE_RQ:
        elements.append(Element(0x00000700, "US", us(0)))  # Priority
    return command_set(elements)


def response_command(command_field: int, responding_to: int, class_uid: str,
                     instance_uid: str | None, status: int = 0x0000) -> bytes:
    """A response without a data set (our answer to the printer's N-EVENT-REPORTs)."""
    elements = [
        Element(0x00000002, "UI", uid(class_uid)),
        Element(0x00000100, "US", us(command_field | RESPONSE_BIT)),
        Element(0x00000120, "US", us(responding_to)),
        Element(0x00000800, "US", us(NO_DATASET)),
        Element(0x00000900, "US", us(status)),
    ]
    if instance_uid is not None:
        elements.append(Element(0x00001000, "UI", uid(instance_uid)))
    return command_set(elements)


# -- PDUs (PS3.8 9.3) ------------------------------------------------------------------------
def pdu(pdu_type: int, payload: bytes, length: int | None = None) -> bytes:
    """A PDU; ``length`` overrides the length field (to lie about it)."""
    return struct.pack(">BBL", pdu_type, 0, len(payload) if length is None else length) + payload


def pdv(context_id: int, control: int, fragment: bytes) -> bytes:
    """One Presentation Data Value item (PS3.8 9.3.5.1)."""
    return struct.pack(">LBB", len(fragment) + 2, context_id, control) + fragment


def message_pdus(context_id: int, command: bytes, dataset: bytes | None,
                 max_pdu: int) -> list[bytes]:
    """P-DATA-TF PDUs of one message, one PDV each, none longer than ``max_pdu``.

    ``max_pdu`` is the peer's Maximum Length Received (0: unlimited), which
    bounds the PDU's variable field (PS3.8 D.1).
    """
    limit = max_pdu - 6 if max_pdu else 1 << 30
    out = []
    for data, more, last in ((command, COMMAND_MORE, COMMAND_LAST),
                             (dataset, DATA_MORE, DATA_LAST)):
        if data is None:
            continue
        chunks = [data[i:i + limit] for i in range(0, len(data), limit)] or [b""]
        for index, chunk in enumerate(chunks):
            control = last if index == len(chunks) - 1 else more
            out.append(pdu(P_DATA_TF, pdv(context_id, control, chunk)))
    return out


def release_rq() -> bytes:
    return pdu(A_RELEASE_RQ, b"\0" * 4)


def release_rp() -> bytes:
    return pdu(A_RELEASE_RP, b"\0" * 4)


def abort_pdu(source: int = 0, reason: int = 0) -> bytes:
    return pdu(A_ABORT, bytes([0, 0, source, reason]))

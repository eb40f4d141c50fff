"""Hypothesis strategies for hostile raw PDUs, and how to send one and judge the answer.

An :class:`Attack` is some bytes sent on one connection (after a valid
association, or instead of one), then a closed socket. What the printer
must do depends on the attack (:attr:`Attack.expect`):

* ``"end"``: the bytes are invalid for the Upper Layer protocol (unknown
  PDU type, garbage PDV, an A-RELEASE-RP nobody asked for): A-ABORT or a
  closed connection within the timeout (PS3.8 9.2, state machine AA-8);
* ``"answer"``: the bytes carry a valid request in an unusual but legal
  framing (tiny fragments, several PDVs in one PDU): the DIMSE response;
* ``"answer or end"``: either is acceptable (e.g. a PDU longer than the
  printer's announced maximum: it may process it or abort);
* ``"any"``: the fuzzer closes the connection itself (a truncated PDU): only
  the general checks apply (no error in the printer's log, the printer
  still prints).

Stalling peers (part of a PDU, then silence) are a test of their own: they
cost the printer's network timeout each.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from hypothesis import strategies as st

from dicomnet import uids
from fuzzing import wire
from fuzzing.oracle import check_response
from fuzzing.requests import PROPOSED, UNKNOWN_UID
from fuzzing.ul_client import (
    AssociationRefused,
    NoAnswer,
    PeerClosed,
    RawAssociation,
    associate_rq,
)

META_CONTEXT = 1  # Basic Grayscale Print Management Meta, Explicit VR LE (see PROPOSED)
VERIFICATION_CONTEXT = 2 * 2 * PROPOSED.index(uids.VERIFICATION) + 1
PRINTER_MAX_PDU = 1024 * 1024  # what print-scp announces by default (max_pdu_bytes)


@dataclass(frozen=True)
class Attack:
    family: str  # for the summary, e.g. "unknown PDU type"
    steps: tuple[bytes, ...]  # sent one after the other
    expect: str  # "end", "answer", "answer or end" or "any"
    associate: bool = True  # send a valid A-ASSOCIATE-RQ first
    max_pdu: int = 65536  # our Maximum Length Received in that A-ASSOCIATE-RQ
    pause: float = 0.0  # s between the steps

    def __repr__(self) -> str:
        shown = [step[:48].hex() + (f"...({len(step)} bytes)" if len(step) > 48 else "")
                 for step in self.steps]
        return (f"Attack({self.family!r}, expect={self.expect!r}, associate={self.associate}, "
                f"max_pdu={self.max_pdu}, steps={shown})")


def _n_get_printer(message_id: int = 1, context_id: int = META_CONTEXT) -> tuple[bytes, bytes]:
    """(command set, P-DATA-TF) of a valid N-GET of the Printer."""
    command = wire.request_command(wire.N_GET_RQ, message_id, uids.PRINTER,
                                   uids.PRINTER_INSTANCE, False)
    return command, wire.message_pdus(context_id, command, None, 0)[0]


# -- families ----------------------------------------------------------------------------------
@st.composite
def truncated(draw) -> Attack:
    """A valid PDU cut short, then the connection closed."""
    _, pdata = _n_get_printer()
    before = draw(st.booleans())
    whole = associate_rq("FILMBOX", "FUZZER", PROPOSED, 65536) if before else pdata
    cut = draw(st.integers(1, len(whole) - 1))
    return Attack("truncated PDU", (whole[:cut],), "any", associate=not before)


@st.composite
def length_beyond_data(draw) -> Attack:
    """A length field larger than the data that follows (up to 4 GiB), then a close."""
    _, pdata = _n_get_printer()
    claimed = draw(st.sampled_from([len(pdata) - 6 + 1, len(pdata) + 4096, PRINTER_MAX_PDU + 1,
                                    0x7FFFFFFF, 0xFFFFFFFF]))
    header = struct.pack(">BBL", wire.P_DATA_TF, 0, claimed)
    return Attack("length field beyond the data", (header + pdata[6:],), "any",
                  pause=draw(st.sampled_from([0.0, 0.1])))


@st.composite
def oversized(draw) -> Attack:
    """A P-DATA-TF longer than the printer's Maximum Length Received (a valid N-SET inside)."""
    extra = draw(st.sampled_from([1, 4096]))
    command = wire.request_command(wire.N_SET_RQ, 1, uids.BASIC_FILM_SESSION, UNKNOWN_UID, True)
    element = wire.Element(0x00091010, "OB", b"\0" * (PRINTER_MAX_PDU + extra))
    dataset = wire.encode_element(element, True)
    payload = wire.pdv(META_CONTEXT, wire.COMMAND_LAST, command) + wire.pdv(
        META_CONTEXT, wire.DATA_LAST, dataset)
    return Attack("PDU above the announced maximum", (wire.pdu(wire.P_DATA_TF, payload),),
                  "end")


@st.composite
def unknown_pdu_type(draw) -> Attack:
    pdu_type = draw(st.sampled_from([0x00, 0x08, 0x09, 0x10, 0x7F, 0x80, 0xFF]))
    payload = draw(st.binary(max_size=32))
    # Before association pynetdicom reads the bytes after an unknown PDU's header as the
    # next header and acts only when that read times out (the network timeout): rare.
    before = draw(st.integers(0, 9)) == 0
    return Attack("unknown PDU type", (wire.pdu(pdu_type, payload),), "end",
                  associate=not before)


@st.composite
def garbage_after_header(draw) -> Attack:
    """A valid header (type and matching length) over random bytes."""
    pdu_type = draw(st.sampled_from([wire.A_ASSOCIATE_RQ, wire.P_DATA_TF, wire.P_DATA_TF,
                                     wire.A_ASSOCIATE_AC, wire.A_RELEASE_RQ, wire.A_ABORT]))
    payload = draw(st.binary(min_size=1, max_size=96))
    associate = pdu_type != wire.A_ASSOCIATE_RQ
    expect = "answer or end" if pdu_type == wire.P_DATA_TF else "end"
    if pdu_type == wire.A_RELEASE_RQ:
        expect = "any"  # a release request whatever its reserved bytes: RP or abort
    return Attack("garbage after a valid header", (wire.pdu(pdu_type, payload),), expect,
                  associate=associate)


@st.composite
def malformed_pdv(draw) -> Attack:
    """P-DATA-TF PDUs whose PDV items are wrong in framing or in order."""
    command, _ = _n_get_printer()
    variant = draw(st.sampled_from([
        "length 0", "length 1", "length past the PDU", "context 0", "unaccepted context",
        "data before command", "two commands", "data set never sent", "trailing bytes",
        "one-byte fragments", "command and data in one PDU",
    ]))
    if variant == "length 0":
        pdus, expect = (wire.pdu(wire.P_DATA_TF, struct.pack(">L", 0)),), "end"
    elif variant == "length 1":
        pdus, expect = (wire.pdu(wire.P_DATA_TF, struct.pack(">LB", 1, META_CONTEXT)),), "end"
    elif variant == "length past the PDU":
        item = wire.pdv(META_CONTEXT, wire.COMMAND_LAST, command)
        pdus, expect = (wire.pdu(wire.P_DATA_TF, struct.pack(">L", len(item) + 50) + item[4:]),
                        ), "end"
    elif variant in ("context 0", "unaccepted context"):
        context = 0 if variant == "context 0" else draw(st.sampled_from([2, 101, 255]))
        pdus, expect = (wire.pdu(wire.P_DATA_TF, wire.pdv(context, wire.COMMAND_LAST, command)),
                        ), "end"
    elif variant == "data before command":
        pdus, expect = (wire.pdu(wire.P_DATA_TF, wire.pdv(META_CONTEXT, wire.DATA_LAST, b"\0" * 8)),
                        wire.pdu(wire.P_DATA_TF, wire.pdv(META_CONTEXT, wire.COMMAND_LAST,
                                                          command))), "answer or end"
    elif variant == "two commands":
        first = wire.pdv(META_CONTEXT, wire.COMMAND_MORE, command[:len(command) // 2])
        pdus, expect = (wire.pdu(wire.P_DATA_TF, first),
                        wire.pdu(wire.P_DATA_TF, wire.pdv(META_CONTEXT, wire.COMMAND_LAST,
                                                          command))), "answer or end"
    elif variant == "data set never sent":
        set_command = wire.request_command(wire.N_SET_RQ, 2, uids.BASIC_FILM_SESSION,
                                           UNKNOWN_UID, True)
        pdus, expect = (wire.pdu(wire.P_DATA_TF, wire.pdv(META_CONTEXT, wire.COMMAND_LAST,
                                                          set_command)),
                        wire.pdu(wire.P_DATA_TF, wire.pdv(META_CONTEXT, wire.COMMAND_LAST,
                                                          command))), "any"
    elif variant == "trailing bytes":
        item = wire.pdv(META_CONTEXT, wire.COMMAND_LAST, command)
        pdus, expect = (wire.pdu(wire.P_DATA_TF, item + draw(st.binary(min_size=1, max_size=5))),
                        ), "answer or end"
    elif variant == "one-byte fragments":
        pdus = tuple(wire.pdu(wire.P_DATA_TF, wire.pdv(
            META_CONTEXT, wire.COMMAND_LAST if i == len(command) - 1 else wire.COMMAND_MORE,
            command[i:i + 1])) for i in range(len(command)))
        expect = "answer"
    else:  # command and data in one PDU: N-CREATE of a Film Session, a legal framing
        create = wire.request_command(wire.N_CREATE_RQ, 1, uids.BASIC_FILM_SESSION, None, True)
        data = wire.encode_dataset([wire.Element(0x20000010, "IS", wire.text("1"))], True)
        pdus = (wire.pdu(wire.P_DATA_TF, wire.pdv(META_CONTEXT, wire.COMMAND_LAST, create)
                         + wire.pdv(META_CONTEXT, wire.DATA_LAST, data)),)
        expect = "answer"
    return Attack(f"malformed PDV: {variant}", pdus, expect)


@st.composite
def bad_command_set(draw) -> Attack:
    """Well-framed messages whose command set is wrong or not a print request."""
    variant = draw(st.sampled_from([
        "missing element", "unknown command field", "C-STORE on a print context",
        "C-FIND on a print context", "C-ECHO", "C-ECHO on a print context",
        "N-EVENT-REPORT from the SCU", "unsolicited response", "garbage command",
    ]))
    context, expect = META_CONTEXT, "answer or end"
    if variant == "missing element":
        keep = draw(st.lists(st.sampled_from([0x00000003, 0x00000100, 0x00000110, 0x00000800,
                                              0x00001001]), unique=True, max_size=4))
        elements = [e for e in (
            wire.Element(0x00000003, "UI", wire.uid(uids.PRINTER)),
            wire.Element(0x00000100, "US", wire.us(wire.N_GET_RQ)),
            wire.Element(0x00000110, "US", wire.us(1)),
            wire.Element(0x00000800, "US", wire.us(wire.NO_DATASET)),
            wire.Element(0x00001001, "UI", wire.uid(uids.PRINTER_INSTANCE))) if e.tag in keep]
        command, dataset = wire.command_set(elements), None
    elif variant == "unknown command field":
        field = draw(st.sampled_from([0x0000, 0x0002, 0x0FFF, 0x7FFF, 0x8FFF, 0xFFFF]))
        command = wire.command_set([wire.Element(0x00000100, "US", wire.us(field)),
                                    wire.Element(0x00000110, "US", wire.us(1)),
                                    wire.Element(0x00000800, "US", wire.us(wire.NO_DATASET))])
        dataset, expect = None, "end"
    elif variant.startswith("C-STORE"):
        command = wire.request_command(wire.C_STORE_RQ, 1, "1.2.840.10008.5.1.4.1.1.7",
                                       UNKNOWN_UID, True)
        dataset = wire.encode_dataset([wire.Element(0x00100010, "PN", wire.text("FUZZ"))], True)
    elif variant.startswith("C-FIND"):
        command = wire.request_command(wire.C_FIND_RQ, 1, uids.BASIC_FILM_SESSION, None, True)
        dataset = wire.encode_dataset([wire.Element(0x00100010, "PN", wire.text("*"))], True)
    elif variant.startswith("C-ECHO"):
        on_print = variant.endswith("print context")
        command = wire.request_command(wire.C_ECHO_RQ, 1, uids.VERIFICATION, None, False)
        dataset = None
        context = META_CONTEXT if on_print else VERIFICATION_CONTEXT
        expect = "answer or end" if on_print else "answer"
    elif variant == "N-EVENT-REPORT from the SCU":
        command = wire.request_command(wire.N_EVENT_REPORT_RQ, 1, uids.PRINTER,
                                       uids.PRINTER_INSTANCE, False, event_type_id=1)
        dataset, expect = None, "answer"
    elif variant == "unsolicited response":
        command = wire.response_command(wire.N_GET_RQ, 7, uids.PRINTER, uids.PRINTER_INSTANCE)
        dataset, expect = None, "any"
    else:
        command, dataset, expect = draw(st.binary(min_size=1, max_size=40)), None, "answer or end"
    steps = tuple(wire.message_pdus(context, command, dataset, PRINTER_MAX_PDU))
    return Attack(f"bad command set: {variant}", steps, expect)


@st.composite
def wrong_state(draw) -> Attack:
    """Association-level PDUs where the state machine does not expect them."""
    _, get = _n_get_printer()
    variant = draw(st.sampled_from([
        "release before association", "P-DATA before association", "release, then P-DATA",
        "two releases", "release while a request is pending", "release response unsolicited",
        "second association request", "association accept from the SCU", "abort, then P-DATA",
    ]))
    table = {
        "release before association": ((wire.release_rq(),), "end", False),
        "P-DATA before association": ((get,), "end", False),
        "release, then P-DATA": ((wire.release_rq(), get), "any", True),
        "two releases": ((wire.release_rq(), wire.release_rq()), "any", True),
        "release while a request is pending": ((get + wire.release_rq(),), "any", True),
        "release response unsolicited": ((wire.release_rp(),), "end", True),
        "second association request": (
            (associate_rq("FILMBOX", "FUZZER", PROPOSED, 65536),), "end", True),
        "association accept from the SCU": ((wire.pdu(wire.A_ASSOCIATE_AC, b"\0" * 68),),
                                            "end", True),
        "abort, then P-DATA": ((wire.abort_pdu(), get), "any", True),
    }
    steps, expect, associate = table[variant]
    return Attack(f"wrong state: {variant}", steps, expect, associate=associate)


@st.composite
def association_parameters(draw) -> Attack:
    """A valid request after an association with an absurd Maximum Length Received."""
    max_pdu = draw(st.sampled_from([0, 1, 6, 7, 8, 17, 100]))
    _, get = _n_get_printer()
    return Attack("tiny maximum PDU length", (get,), "answer or end", max_pdu=max_pdu)


def attacks() -> st.SearchStrategy[Attack]:
    return st.one_of(truncated(), length_beyond_data(), unknown_pdu_type(),
                     garbage_after_header(), malformed_pdv(), bad_command_set(), wrong_state(),
                     association_parameters(), oversized())


# -- running one -------------------------------------------------------------------------------
def run_attack(port: int, attack: Attack, timeout: float) -> tuple[list[str], str]:
    """Send ``attack``; (problems, outcome). Problems are what the printer did wrong."""
    try:
        conn = RawAssociation("127.0.0.1", port, PROPOSED if attack.associate else None,
                              max_pdu=attack.max_pdu, timeout=timeout)
    except (AssociationRefused, PeerClosed, NoAnswer, OSError) as exc:
        if attack.max_pdu < 16:  # an absurd A-ASSOCIATE-RQ may be refused
            return [], "association refused"
        return [f"association refused or not answered: {exc}"], "refused"
    with conn:
        try:
            for index, step in enumerate(attack.steps):
                if index and attack.pause:
                    time.sleep(attack.pause)
                conn.send(step)
        except PeerClosed:
            return [], "dropped while sending"
        if attack.expect == "any":
            return [], "closed by the fuzzer"
        if attack.expect == "end":
            if conn.closed_by_peer(timeout):
                return [], "aborted or closed"
            return [f"{attack.family}: neither aborted nor closed within {timeout:.0f} s"], \
                "no reaction"
        return _answer(conn, attack, timeout)


def _answer(conn: RawAssociation, attack: Attack, timeout: float) -> tuple[list[str], str]:
    """The response to message 1 (N-GET, N-SET, N-CREATE or C-ECHO), or an abort if allowed."""
    command_field = struct.unpack_from("<H", _command_field_bytes(attack))[0]
    try:
        reply = conn.wait_response(1, time.monotonic() + timeout)
    except PeerClosed:
        if attack.expect == "answer or end":
            return [], "aborted or closed"
        return [f"{attack.family}: dropped instead of answering"], "dropped"
    except NoAnswer:
        return [f"{attack.family}: no answer within {timeout:.0f} s"], "no answer"
    status = int(reply.command.get("Status", -1))
    if command_field in wire.SERVICE_NAMES:
        problem = check_response(command_field, 1, reply.command)
        if problem is not None:
            return [f"{attack.family}: {problem}"], f"answered 0x{status:04X}"
    return [], f"answered 0x{status & 0xFFFF:04X}"


def _command_field_bytes(attack: Attack) -> bytes:
    """The Command Field of the attack's first message, if it has a readable one."""
    data = b"".join(attack.steps)
    marker = struct.pack("<HHL", 0x0000, 0x0100, 2)
    at = data.find(marker)
    return data[at + 8:at + 10] if at >= 0 else b"\0\0"

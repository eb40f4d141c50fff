"""Command sets encoded without pydicom (dicomnet.command_sets), against pynetdicom + pydicom;
pynetdicom's message dumps unbound where nothing would log them (dicomnet.unlogged_dumps).

Every expected byte string comes from pynetdicom's own ``primitive_to_message``
and pydicom's encoder, the path the module replaces.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pytest
from pynetdicom import dimse, evt
from pynetdicom.dimse_primitives import (
    C_ECHO,
    N_ACTION,
    N_CREATE,
    N_DELETE,
    N_EVENT_REPORT,
    N_GET,
    N_SET,
)
from pynetdicom.dsutils import encode
from scp_harness import running_printer

from dicomnet import command_sets
from dicomnet.command_sets import NotEncodedHere, encode_command_set, message_fragments
from dicomnet.uids import BASIC_FILM_SESSION, PRINTER, PRINTER_INSTANCE
from dicomnet.unlogged_dumps import STANDARD_DUMPS
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation

ODD_UID = "1.2.840.10008.5.1.1.1"  # 21 characters: padded with NUL
EVEN_UID = "1.2.826.0.1.3680043.8.498.12345"  # 31: padded too
SIMPLE_UID = "1.2.3.4"


def pynetdicom_message(primitive: Any) -> Any:
    """pynetdicom's message for ``primitive``, as ``DIMSEServiceProvider.send_msg`` builds it."""
    table = (dimse._RQ_TO_MESSAGE if primitive.MessageIDBeingRespondedTo is None
             else dimse._RSP_TO_MESSAGE)
    message = table[type(primitive)]()
    message.primitive_to_message(primitive)
    return message


def pynetdicom_command_set(primitive: Any) -> bytes:
    return bytes(encode(pynetdicom_message(primitive).command_set, True, True))


def request(kind: type, **values: Any) -> Any:
    primitive = kind()
    primitive.MessageID = 7
    for keyword, value in values.items():
        setattr(primitive, keyword, value)
    return primitive


def response(kind: type, **values: Any) -> Any:
    primitive = kind()
    primitive.MessageIDBeingRespondedTo = 65535
    primitive.Status = 0
    for keyword, value in values.items():
        setattr(primitive, keyword, value)
    return primitive


DATA = io.BytesIO(b"\x10\x20\x10\x00\x04\x00\x00\x00ONE ")

PRIMITIVES = {
    "C-ECHO-RQ": lambda: request(C_ECHO, AffectedSOPClassUID="1.2.840.10008.1.1"),
    "C-ECHO-RSP": lambda: response(C_ECHO, AffectedSOPClassUID="1.2.840.10008.1.1",
                                   ErrorComment="x"),
    "N-GET-RQ": lambda: request(N_GET, RequestedSOPClassUID=PRINTER,
                                RequestedSOPInstanceUID=PRINTER_INSTANCE,
                                AttributeIdentifierList=[0x21100010, 0x00080070]),
    "N-GET-RQ without list": lambda: request(N_GET, RequestedSOPClassUID=PRINTER,
                                             RequestedSOPInstanceUID=PRINTER_INSTANCE),
    "N-GET-RSP": lambda: response(N_GET, AffectedSOPClassUID=PRINTER,
                                  AffectedSOPInstanceUID=PRINTER_INSTANCE,
                                  AttributeList=DATA),
    "N-GET-RSP error": lambda: response(N_GET, Status=0x0106, ErrorComment="odd",
                                        AttributeIdentifierList=[0x20100010],
                                        AffectedSOPClassUID=ODD_UID),
    "N-SET-RQ": lambda: request(N_SET, RequestedSOPClassUID=EVEN_UID,
                                RequestedSOPInstanceUID=SIMPLE_UID, ModificationList=DATA),
    "N-SET-RSP": lambda: response(N_SET, AffectedSOPClassUID=EVEN_UID,
                                  AffectedSOPInstanceUID=SIMPLE_UID, Status=0xB604,
                                  ErrorComment="even", ErrorID=3),
    "N-ACTION-RQ": lambda: request(N_ACTION, RequestedSOPClassUID=BASIC_FILM_SESSION,
                                   RequestedSOPInstanceUID=SIMPLE_UID, ActionTypeID=1),
    "N-ACTION-RSP": lambda: response(N_ACTION, AffectedSOPClassUID=BASIC_FILM_SESSION,
                                     AffectedSOPInstanceUID=SIMPLE_UID, ActionTypeID=1,
                                     ActionReply=DATA),
    "N-CREATE-RQ": lambda: request(N_CREATE, AffectedSOPClassUID=BASIC_FILM_SESSION,
                                   AttributeList=DATA),
    "N-CREATE-RSP": lambda: response(N_CREATE, AffectedSOPClassUID=BASIC_FILM_SESSION,
                                     AffectedSOPInstanceUID=EVEN_UID, AttributeList=DATA),
    "N-DELETE-RQ": lambda: request(N_DELETE, RequestedSOPClassUID=BASIC_FILM_SESSION,
                                   RequestedSOPInstanceUID=ODD_UID),
    "N-DELETE-RSP": lambda: response(N_DELETE, Status=0xC112),
    "N-EVENT-REPORT-RQ": lambda: request(N_EVENT_REPORT, AffectedSOPClassUID=PRINTER,
                                         AffectedSOPInstanceUID=PRINTER_INSTANCE,
                                         EventTypeID=2, EventInformation=DATA),
    "N-EVENT-REPORT-RSP": lambda: response(N_EVENT_REPORT, AffectedSOPClassUID=PRINTER,
                                           EventTypeID=2, EventReply=io.BytesIO()),
}


@pytest.mark.parametrize("name", PRIMITIVES)
def test_command_set_bytes_are_pydicom_s(name: str) -> None:
    primitive = PRIMITIVES[name]()
    assert encode_command_set(primitive) == pynetdicom_command_set(primitive)


@pytest.mark.parametrize("max_pdu", [0, 40, 1000])
@pytest.mark.parametrize("data", [None, b"", b"\x10\x20\x10\x00" * 500])
def test_fragments_are_pynetdicom_s(max_pdu: int, data: bytes | None) -> None:
    primitive = request(N_CREATE, AffectedSOPClassUID=BASIC_FILM_SESSION,
                        AttributeList=None if data is None else io.BytesIO(data))
    expected = [pdata.presentation_data_value_list[0]
                for pdata in pynetdicom_message(primitive).encode_msg(3, max_pdu)]
    got = [(context_id, bytes(pdv)) for context_id, pdv in
           message_fragments(primitive, 3, max_pdu)]
    assert got == expected
    # a data set, even empty, is announced (Command Data Set Type 0x0001), as pynetdicom does
    command = b"".join(pdv[1:] for _, pdv in got if pdv[0] & 1)
    no_data_set = b"\x00\x00\x00\x08\x02\x00\x00\x00\x01\x01"  # (0000,0800) US 0x0101
    assert (no_data_set in command) is (data is None)


@pytest.mark.parametrize("keyword, value", [
    ("ErrorComment", "Größe"),  # pydicom writes Latin-1 and may warn
    ("ErrorComment", "x" * 65),  # longer than LO allows
    ("ErrorComment", "one\\two"),  # two values
    ("ErrorID", True),
])
def test_values_not_written_exactly_as_pydicom_are_refused(keyword: str, value: Any) -> None:
    primitive = response(N_SET, AffectedSOPClassUID=EVEN_UID)
    setattr(primitive, keyword, value)
    with pytest.raises(NotEncodedHere, match=keyword):
        encode_command_set(primitive)


def test_an_association_sends_through_the_encoder_unless_a_sent_handler_is_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    encoded: list[str] = []
    fragments = command_sets.message_fragments

    def counting(primitive: Any, *args: Any) -> Any:
        encoded.append(command_sets.message_class_name(primitive))
        return fragments(primitive, *args)

    monkeypatch.setattr(command_sets, "message_fragments", counting)
    with running_printer(tmp_path) as server:
        address = PrinterAddress("127.0.0.1", server.port, "FILMBOX")
        with PrintAssociation(address) as scu:
            status, printer = scu.get_printer()
            assert status == 0x0000 and printer is not None
            assert printer.PrinterStatus == "NORMAL"  # the response's data set arrived whole
            sent = list(encoded)
            dumped: list[Any] = []
            scu._assoc.bind(evt.EVT_DIMSE_SENT, lambda event: dumped.append(event.message))
            assert scu.get_printer()[0] == 0x0000
    # request and response encoded here, on both ends of the association
    assert sent == ["N_GET_RQ", "N_GET_RSP"]
    # with a handler bound, the request went pynetdicom's way, its command set in hand
    assert encoded[2:] == ["N_GET_RSP"]
    assert [message.command_set.CommandField for message in dumped] == [0x0110]


@pytest.mark.parametrize("level", [logging.WARNING, logging.INFO])
def test_pynetdicom_s_dumps_stay_bound_only_where_its_logger_keeps_info(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, level: int) -> None:
    caplog.set_level(level, logger="pynetdicom")
    with running_printer(tmp_path) as server:
        address = PrinterAddress("127.0.0.1", server.port, "FILMBOX")
        with PrintAssociation(address) as scu:
            assert scu.verify() == 0x0000
            bound = {handler for event, _ in STANDARD_DUMPS
                     for handler, _ in scu._assoc.get_handlers(event)}
    kept = level <= logging.INFO
    assert bound == ({handler for _, handler in STANDARD_DUMPS} if kept else set())
    assert any("Received Echo Response" in r.getMessage() for r in caplog.records) is kept

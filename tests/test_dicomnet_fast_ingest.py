"""The acceptor's ingest fast path: read-ahead, P-DATA-TF PDUs in batches straight to DIMSE.

Real peers on loopback: a raw Upper Layer client (benchmarks/fuzzing) that
sends PDUs pynetdicom's SCU never would (several PDVs per PDU, command and
data set fragments in one PDU, odd sizes, lies), and DCMTK's dcmprscu
through print-scp at small PDUs. The acceptor is a pynetdicom AE hardened by
:func:`dicomnet.hardening.harden_acceptor`, whose N-SET handler keeps the
data sets it decoded, or print-scp itself.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from dcmtk_peer import dcmtk_available
from pydicom.dataset import Dataset
from pynetdicom import AE, evt
from pynetdicom.transport import ThreadedAssociationServer
from scp_harness import film_metadata, running_printer, wait_for_films

from dicomnet.hardening import harden_acceptor
from dicomnet.pdata_batches import InvalidPdv, merged_pdvs, split_pdvs, whole_pdata_pdus
from dicomnet.socket_tuning import READ_AHEAD_BYTES, ReadAhead

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import dcmtk  # noqa: E402
from fuzzing import wire  # noqa: E402
from fuzzing.ul_client import PeerClosed, RawAssociation  # noqa: E402

IMAGE_BOX = "1.2.840.10008.5.1.1.4"  # Basic Grayscale Image Box SOP Class
VERIFICATION = "1.2.840.10008.1.1"
MAX_MESSAGE_BYTES = 2 * 1024 * 1024
WAIT_S = 10.0


# -- units -------------------------------------------------------------------------------------
def test_split_pdvs_gives_each_item_s_context_and_bytes() -> None:
    body = bytearray(wire.pdv(1, 0x03, b"command") + wire.pdv(3, 0x00, b"data, not last"))
    assert [(cid, bytes(data)) for cid, data in split_pdvs(body)] == [
        (1, b"\x03command"), (3, b"\x00data, not last")]


@pytest.mark.parametrize(("body", "why"), [
    (struct.pack(">LBB", 1, 1, 0), "below 2"),
    (struct.pack(">LBB", 10, 1, 0) + b"short", "runs past the PDU"),
    (wire.pdv(1, 0, b"ok") + b"\0\0", "2 bytes left"),
    (b"", "no PDV item"),
], ids=["length-1", "past-the-end", "trailing-bytes", "empty"])
def test_split_pdvs_names_an_item_that_does_not_fit(body: bytes, why: str) -> None:
    with pytest.raises(InvalidPdv, match=why):
        split_pdvs(bytearray(body))


def _pdata(*pdvs: bytes) -> bytes:
    return wire.pdu(wire.P_DATA_TF, b"".join(pdvs))


def test_whole_pdata_pdus_split_what_lies_whole_and_stop_after_a_message_s_end() -> None:
    first, second = _pdata(wire.pdv(1, 0x00, b"abc")), _pdata(wire.pdv(1, 0x00, b"de"))
    last, after = _pdata(wire.pdv(1, 0x02, b"f")), _pdata(wire.pdv(3, 0x01, b"next"))
    data = memoryview(first + second + last + after)
    taken, pdvs, ended = whole_pdata_pdus(data, 16384, 1 << 20)
    assert (taken, ended) == (len(first + second + last), True)
    assert [(cid, bytes(pdv)) for cid, pdv in pdvs] == [
        (1, b"\x00abc"), (1, b"\x00de"), (1, b"\x02f")]


@pytest.mark.parametrize(("tail", "max_length"), [
    (_pdata(wire.pdv(1, 0x00, b"cut short"))[:-1], 16384),
    (wire.pdu(wire.A_RELEASE_RQ, b"\0" * 4), 16384),
    (_pdata(wire.pdv(1, 0x00, b"x" * 100)), 50),
    (wire.pdu(wire.P_DATA_TF, struct.pack(">LBB", 500, 1, 0x00) + b"too short"), 16384),
], ids=["partial", "other-type", "above-maximum-length", "invalid-pdv"])
def test_whole_pdata_pdus_leave_a_pdu_they_cannot_take_to_the_usual_read(
        tail: bytes, max_length: int) -> None:
    head = _pdata(wire.pdv(1, 0x00, b"whole"))
    taken, pdvs, ended = whole_pdata_pdus(memoryview(head + tail), max_length, 1 << 20)
    assert (taken, len(pdvs), ended) == (len(head), 1, False)


def test_whole_pdata_pdus_stop_once_they_hold_max_bytes() -> None:
    pdu = _pdata(wire.pdv(1, 0x00, b"y" * 90))
    taken, pdvs, _ = whole_pdata_pdus(memoryview(pdu * 10), 16384, 3 * len(pdu))
    assert (taken, len(pdvs)) == (3 * len(pdu), 3)


def test_merged_pdvs_join_each_run_of_one_message_part() -> None:
    views = [memoryview(bytes([control]) + data) for control, data in [
        (0x01, b"cmd-"), (0x03, b"end"),  # a command set: its run ends at its last fragment
        (0x00, b"data-1 "), (0x00, b"data-2 "), (0x02, b"data-3")]]
    pdvs = [(1, view) for view in views] + [(3, memoryview(b"\x00other context"))]
    merged = merged_pdvs(pdvs)
    assert [(cid, bytes(pdv)) for cid, pdv in merged] == [
        (1, b"\x03cmd-end"), (1, b"\x02data-1 data-2 data-3"), (3, b"\x00other context")]
    assert merged[2][1] is pdvs[5][1], "a run of one is kept as it is"
    assert isinstance(merged[1][1].obj, bytes), "joined into immutable bytes"


@pytest.fixture
def socket_pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, peer = socket.socketpair()
    yield ours, peer
    ours.close()
    peer.close()


class _Transport:
    def __init__(self, sock: socket.socket) -> None:
        self.socket = sock


def test_read_ahead_serves_small_reads_from_one_kernel_read(socket_pair) -> None:
    ours, peer = socket_pair
    pdus = [wire.pdu(wire.P_DATA_TF, bytes([n]) * (100 + n)) for n in range(50)]
    peer.sendall(b"".join(pdus))
    reader = ReadAhead(_Transport(ours), lambda: 5.0)  # type: ignore[arg-type]
    for n in range(50):
        header = reader.recv(6)
        assert header == pdus[n][:6]
        assert reader.recv(len(pdus[n]) - 6) == bytes([n]) * (100 + n)
    assert reader.buffered == 0


def test_read_ahead_reads_a_large_pdu_whole_after_what_it_holds(socket_pair) -> None:
    ours, peer = socket_pair
    large = np.random.default_rng(5).integers(0, 256, 3 * READ_AHEAD_BYTES, np.uint8).tobytes()
    sender = threading.Thread(target=peer.sendall, args=(b"head" + large + b"tail",))
    sender.start()
    reader = ReadAhead(_Transport(ours), lambda: 5.0)  # type: ignore[arg-type]
    try:
        assert reader.recv(4) == b"head"  # reads ahead into the large one
        assert reader.recv(len(large)) == large
        assert reader.recv(4) == b"tail"
    finally:
        sender.join(10)


def test_read_ahead_returns_what_arrived_when_the_peer_closes(socket_pair) -> None:
    ours, peer = socket_pair
    peer.sendall(b"0123456789")
    peer.close()
    reader = ReadAhead(_Transport(ours), lambda: 5.0)  # type: ignore[arg-type]
    assert reader.recv(4) == b"0123"
    assert reader.recv(100) == b"456789"


# -- a hardened pynetdicom acceptor and a raw peer ---------------------------------------------
@dataclass
class Acceptor:
    server: ThreadedAssociationServer
    port: int
    received: list[Dataset] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)


@contextmanager
def hardened_acceptor(max_pdu: int = 16384) -> Iterator[Acceptor]:
    """A pynetdicom AE on a free loopback port, hardened as print-scp's, that answers an
    Image Box N-SET with Success and keeps the data set it decoded."""
    ae = AE(ae_title="FILMBOX")
    ae.maximum_pdu_size = max_pdu
    ae.network_timeout = ae.acse_timeout = ae.dimse_timeout = WAIT_S
    ae.add_supported_context(IMAGE_BOX)
    ae.add_supported_context(VERIFICATION)
    received: list[Dataset] = []
    closed = threading.Event()

    def n_set(event: evt.Event) -> tuple[int, Dataset]:
        received.append(event.modification_list)
        return 0x0000, Dataset()

    handlers = [(evt.EVT_CONN_OPEN, harden_acceptor, [MAX_MESSAGE_BYTES]),
                (evt.EVT_N_SET, n_set), (evt.EVT_CONN_CLOSE, lambda _: closed.set())]
    server = ae.start_server(("127.0.0.1", 0), block=False, evt_handlers=handlers)
    assert server is not None
    try:
        yield Acceptor(server, server.server_address[1], received, closed)
    finally:
        server.shutdown()


def image_box_dataset(pixels: np.ndarray) -> bytes:
    """An Image Box N-SET data set (Implicit VR LE) holding ``pixels`` (8-bit)."""
    rows, columns = pixels.shape
    item = (
        wire.Element(0x00280002, "US", wire.us(1)),
        wire.Element(0x00280004, "CS", wire.text("MONOCHROME2")),
        wire.Element(0x00280010, "US", wire.us(rows)),
        wire.Element(0x00280011, "US", wire.us(columns)),
        wire.Element(0x00280100, "US", wire.us(8)),
        wire.Element(0x00280101, "US", wire.us(8)),
        wire.Element(0x00280102, "US", wire.us(7)),
        wire.Element(0x00280103, "US", wire.us(0)),
        wire.Element(0x7FE00010, "OB", pixels.tobytes()),
    )
    return wire.encode_dataset([
        wire.Element(0x20200010, "US", wire.us(1)),  # Image Box Position
        wire.sequence(0x20200110, [item]),
    ], explicit=False)


def packed_pdus(context_id: int, command: bytes, dataset: bytes, fragment: int,
                per_pdu: int) -> list[bytes]:
    """The message as PDVs of ``fragment`` bytes, ``per_pdu`` PDVs in each P-DATA-TF PDU:
    the last command fragment shares its PDU with the first data set fragments."""
    pdvs = []
    for data, more, last in ((command, 0x01, 0x03), (dataset, 0x00, 0x02)):
        chunks = [data[i:i + fragment] for i in range(0, len(data), fragment)]
        pdvs += [wire.pdv(context_id, last if i == len(chunks) - 1 else more, chunk)
                 for i, chunk in enumerate(chunks)]
    return [wire.pdu(wire.P_DATA_TF, b"".join(pdvs[i:i + per_pdu]))
            for i in range(0, len(pdvs), per_pdu)]


def n_set_command(message_id: int) -> bytes:
    return wire.request_command(wire.N_SET_RQ, message_id, IMAGE_BOX, "1.2.3.4", True)


def image_context(association: RawAssociation) -> int:
    return next(cid for cid, cx in association.accepted.items()
                if cx.abstract_syntax == IMAGE_BOX and not cx.explicit)


def pixels_of(dataset: Dataset) -> np.ndarray:
    item = dataset.BasicGrayscaleImageSequence[0]
    return np.frombuffer(item.PixelData, np.uint8).reshape(item.Rows, item.Columns)


@pytest.mark.parametrize(("fragment", "per_pdu"), [(1001, 3), (4093, 1), (7, 40), (16371, 1)])
def test_fragments_at_odd_sizes_with_several_pdvs_per_pdu_arrive_exact(
        fragment: int, per_pdu: int) -> None:
    pixels = np.random.default_rng(fragment).integers(0, 256, (301, 257), np.uint8)
    with hardened_acceptor() as acceptor, \
            RawAssociation("127.0.0.1", acceptor.port, [IMAGE_BOX]) as peer:
        context = image_context(peer)
        for pdu in packed_pdus(context, n_set_command(7), image_box_dataset(pixels),
                               fragment, per_pdu):
            peer.send(pdu)
        answer = peer.wait_response(7, time.monotonic() + WAIT_S)
        assert answer.command.Status == 0x0000
        assert peer.release(WAIT_S)
    assert len(acceptor.received) == 1
    assert acceptor.received[0].ImageBoxPosition == 1
    np.testing.assert_array_equal(pixels_of(acceptor.received[0]), pixels)


def test_messages_sent_back_to_back_in_one_write_are_all_answered() -> None:
    """The second and third requests (and the release) wait in the read-ahead buffer when
    the first message completes: the DUL must read them without new data on the socket."""
    with hardened_acceptor() as acceptor, \
            RawAssociation("127.0.0.1", acceptor.port, [VERIFICATION]) as peer:
        context = next(iter(peer.accepted))
        echo = [b"".join(wire.message_pdus(
            context, wire.request_command(wire.C_ECHO_RQ, n, VERIFICATION, None, False), None,
            peer.peer_max_pdu)) for n in (1, 2, 3)]
        peer.send(b"".join(echo))
        for n in (1, 2, 3):
            assert peer.wait_response(n, time.monotonic() + WAIT_S).command.Status == 0
        peer.send(wire.release_rq())
        assert peer.read_pdu(time.monotonic() + WAIT_S)[0] == wire.A_RELEASE_RP


def _aborted(peer: RawAssociation, acceptor: Acceptor) -> bool:
    """The acceptor sent A-ABORT or closed the connection, and let go of it once we close."""
    aborted = peer.closed_by_peer(WAIT_S)
    peer.close()
    return aborted and acceptor.closed.wait(WAIT_S)


def test_a_message_above_the_bound_aborts_in_the_middle_of_a_batch() -> None:
    pixels = np.zeros((1500, 1500), np.uint8)  # 2.25 MB > MAX_MESSAGE_BYTES
    with hardened_acceptor() as acceptor, \
            RawAssociation("127.0.0.1", acceptor.port, [IMAGE_BOX]) as peer:
        try:
            for pdu in packed_pdus(image_context(peer), n_set_command(1),
                                   image_box_dataset(pixels), 4000, 4):
                peer.send(pdu)
        except PeerClosed:
            pass  # aborted while we were still sending
        assert _aborted(peer, acceptor)
    assert acceptor.received == []


@pytest.mark.parametrize("pdu", [
    wire.pdu(wire.P_DATA_TF, struct.pack(">LBB", 500, 1, 0x03) + b"too short"),
    wire.pdu(wire.P_DATA_TF, struct.pack(">LB", 1, 1)),
    wire.pdu(wire.P_DATA_TF, b""),
    wire.pdu(0x09, b"\0" * 4),
    wire.pdu(wire.P_DATA_TF, b"\0" * 10, length=16384 + 1),
], ids=["pdv-past-pdu", "pdv-length-1", "no-pdv", "unknown-type", "above-maximum-length"])
def test_an_invalid_pdu_in_a_message_aborts_the_association(pdu: bytes) -> None:
    command = n_set_command(1)
    with hardened_acceptor() as acceptor, \
            RawAssociation("127.0.0.1", acceptor.port, [IMAGE_BOX]) as peer:
        context = image_context(peer)
        peer.send(wire.pdu(wire.P_DATA_TF, wire.pdv(context, 0x01, command[:20])))
        peer.send(pdu)
        assert _aborted(peer, acceptor)


def test_a_pdu_cut_short_by_the_peer_closes_only_that_association() -> None:
    pixels = np.arange(64 * 64, dtype=np.uint8).reshape(64, 64)
    with hardened_acceptor() as acceptor:
        with RawAssociation("127.0.0.1", acceptor.port, [IMAGE_BOX]) as peer:
            pdus = packed_pdus(image_context(peer), n_set_command(1),
                               image_box_dataset(pixels), 1000, 2)
            peer.send(b"".join(pdus[:2]) + pdus[2][:700])  # then the connection closes
        assert acceptor.closed.wait(WAIT_S)
        with RawAssociation("127.0.0.1", acceptor.port, [IMAGE_BOX]) as peer:
            for pdu in packed_pdus(image_context(peer), n_set_command(2),
                                   image_box_dataset(pixels), 1000, 2):
                peer.send(pdu)
            assert peer.wait_response(2, time.monotonic() + WAIT_S).command.Status == 0
            assert peer.release(WAIT_S)
    assert len(acceptor.received) == 1
    np.testing.assert_array_equal(pixels_of(acceptor.received[0]), pixels)


# -- DCMTK's dcmprscu through print-scp at small PDUs -----------------------------------------
@pytest.mark.skipif(not dcmtk_available(), reason="DCMTK not installed")
@pytest.mark.parametrize("max_pdu", [4096, 16384 + 6])
def test_dcmprscu_prints_a_film_in_small_pdus(tmp_path: Path, max_pdu: int) -> None:
    images = [np.random.default_rng(n).integers(0, 256, (512, 512), np.uint8)
              for n in range(4)]
    (tmp_path / "stored").mkdir()
    stored = dcmtk.build_stored_print(tmp_path / "stored", images, 2, 2)
    output = tmp_path / "out"
    output.mkdir()
    with running_printer(output, max_pdu_bytes=max_pdu) as server:  # bounds dcmprscu's PDUs
        dcmtk.send_stored_print(stored, server.port, server.profile.ae_title)
        films = wait_for_films(output, 1)
    assert len(films) == 1
    boxes = film_metadata(films[0])["image_boxes"]
    assert [box["position"] for box in boxes] == [1, 2, 3, 4]
    assert all(box["image"]["rows"] == box["image"]["columns"] == 512
               and box["image"]["bits_stored"] == 8 for box in boxes)


# -- print-scp's [network] max_pdu_bytes --------------------------------------------------------
def test_print_scp_announces_its_max_pdu_bytes_and_aborts_a_longer_pdu(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with running_printer(tmp_path, max_pdu_bytes=16384) as server:
        with RawAssociation("127.0.0.1", server.port, [VERIFICATION], timeout=WAIT_S) as peer:
            assert peer.peer_max_pdu == 16384
            fragment = bytes(16385 - 6)  # the PDU's variable field: 16385 bytes
            peer.send(wire.pdu(wire.P_DATA_TF, wire.pdv(1, wire.COMMAND_LAST, fragment)))
            assert peer.closed_by_peer(WAIT_S)
    assert "PDU of 16385 bytes announced, above the 16384 this printer accepts" in caplog.text

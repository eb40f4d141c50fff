"""A raw DICOM Upper Layer client on a plain TCP socket (PS3.8).

Only the A-ASSOCIATE-RQ is built with pynetdicom's PDU classes; everything
after it is bytes the caller chooses, so it can send what pynetdicom's own
SCU never would. Every wait has a deadline: a peer that does not answer is
reported as :class:`NoAnswer`, never waited on for ever.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass
from io import BytesIO

from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom.dsutils import decode
from pynetdicom.pdu import A_ASSOCIATE_AC as AssociateAcPDU
from pynetdicom.pdu import A_ASSOCIATE_RQ as AssociateRqPDU
from pynetdicom.pdu_primitives import A_ASSOCIATE, MaximumLengthNotification
from pynetdicom.presentation import PresentationContext

from fuzzing import wire

TRANSFER_SYNTAXES = (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


class PeerClosed(Exception):
    """The printer closed the connection or sent A-ABORT; ``aborted`` tells which."""

    def __init__(self, message: str, aborted: bool = False):
        super().__init__(message)
        self.aborted = aborted


class NoAnswer(Exception):
    """Nothing (or not all of a PDU) came before the deadline."""


class AssociationRefused(Exception):
    """The printer answered the A-ASSOCIATE-RQ with something other than an AC."""


@dataclass(frozen=True)
class AcceptedContext:
    context_id: int
    abstract_syntax: str
    transfer_syntax: str

    @property
    def explicit(self) -> bool:
        return self.transfer_syntax == ExplicitVRLittleEndian


@dataclass
class Message:
    """One DIMSE message from the printer: its context, command set and data set bytes."""

    context_id: int
    command: Dataset
    dataset: bytes | None

    def decoded_dataset(self, explicit: bool) -> Dataset | None:
        if not self.dataset:
            return None
        return decode(BytesIO(self.dataset), not explicit, True)


def associate_rq(called_ae: str, calling_ae: str, abstract_syntaxes: list[str],
                 max_pdu: int) -> bytes:
    """An A-ASSOCIATE-RQ proposing each abstract syntax once per transfer syntax.

    Context IDs are 1, 3, 5, ... in the order abstract syntax x transfer syntax.
    """
    primitive = A_ASSOCIATE()
    primitive.application_context_name = "1.2.840.10008.3.1.1.1"
    primitive.calling_ae_title = calling_ae
    primitive.called_ae_title = called_ae
    contexts = []
    for abstract in abstract_syntaxes:
        for syntax in TRANSFER_SYNTAXES:
            cx = PresentationContext()
            cx.context_id = 2 * len(contexts) + 1
            cx.abstract_syntax = abstract
            cx.transfer_syntax = [syntax]
            contexts.append(cx)
    primitive.presentation_context_definition_list = contexts
    length = MaximumLengthNotification()
    length.maximum_length_received = max_pdu
    primitive.user_information = [length]
    pdu = AssociateRqPDU()
    pdu.from_primitive(primitive)
    return pdu.encode()


class RawAssociation:
    """One association over a plain socket; close it with :meth:`close` (or ``with``)."""

    def __init__(self, host: str, port: int, abstract_syntaxes: list[str] | None, *,
                 called_ae: str = "FILMBOX", calling_ae: str = "FUZZER",
                 max_pdu: int = 65536, timeout: float = 10.0):
        """Connect, and request an association unless ``abstract_syntaxes`` is None.

        ``max_pdu`` is our Maximum Length Received (bytes), ``timeout`` the
        connection and association wait (s).
        """
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = bytearray()
        self.accepted: dict[int, AcceptedContext] = {}
        self.peer_max_pdu = 0
        if abstract_syntaxes is None:
            return
        try:
            self.send(associate_rq(called_ae, calling_ae, abstract_syntaxes, max_pdu))
            pdu_type, payload = self.read_pdu(time.monotonic() + timeout)
            if pdu_type != wire.A_ASSOCIATE_AC:
                raise AssociationRefused(f"PDU type 0x{pdu_type:02X} instead of A-ASSOCIATE-AC")
            self._read_accept(payload, abstract_syntaxes)
        except BaseException:
            self.close()
            raise

    def _read_accept(self, payload: bytes, abstract_syntaxes: list[str]) -> None:
        pdu = AssociateAcPDU()
        pdu.decode(wire.pdu(wire.A_ASSOCIATE_AC, payload))
        primitive = pdu.to_primitive()
        self.peer_max_pdu = int(primitive.maximum_length_received or 0)
        for cx in primitive.presentation_context_definition_results_list:
            if cx.result != 0:
                continue
            index = (cx.context_id - 1) // 2
            self.accepted[cx.context_id] = AcceptedContext(
                cx.context_id, abstract_syntaxes[index // len(TRANSFER_SYNTAXES)],
                str(cx.transfer_syntax[0]))

    def __enter__(self) -> RawAssociation:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- bytes -------------------------------------------------------------------------------
    def send(self, data: bytes) -> None:
        """Send bytes; a connection the printer already closed raises PeerClosed."""
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise PeerClosed(f"send failed: {exc}") from exc

    def _read_exactly(self, count: int, deadline: float) -> bytes:
        while len(self._buffer) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NoAnswer(f"{len(self._buffer)} of {count} bytes before the deadline")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(max(65536, count - len(self._buffer)))
            except TimeoutError:
                continue
            except OSError as exc:
                raise PeerClosed(f"connection reset: {exc}") from exc
            if not chunk:
                raise PeerClosed("connection closed by the printer")
            self._buffer.extend(chunk)
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def read_pdu(self, deadline: float) -> tuple[int, bytes]:
        """The next PDU's type and variable field."""
        pdu_type, _, length = struct.unpack(">BBL", self._read_exactly(6, deadline))
        return pdu_type, self._read_exactly(length, deadline)

    def closed_by_peer(self, timeout: float) -> bool:
        """True if the printer closes the connection (or aborts) within ``timeout`` s.

        PDUs that arrive meanwhile (e.g. an A-ABORT, an event report) are read
        and dropped.
        """
        deadline = time.monotonic() + timeout
        try:
            while True:
                pdu_type, _ = self.read_pdu(deadline)
                if pdu_type == wire.A_ABORT:
                    return True
        except PeerClosed:
            return True
        except NoAnswer:
            return False

    # -- DIMSE -------------------------------------------------------------------------------
    def send_message(self, context_id: int, command: bytes, dataset: bytes | None) -> None:
        for pdu in wire.message_pdus(context_id, command, dataset, self.peer_max_pdu):
            self.send(pdu)

    def receive_message(self, deadline: float) -> Message:
        """The next whole DIMSE message; A-ABORT or a closed connection raise PeerClosed."""
        command, dataset = bytearray(), bytearray()
        command_done, context_id = False, 0
        while True:
            pdu_type, payload = self.read_pdu(deadline)
            if pdu_type == wire.A_ABORT:
                raise PeerClosed("A-ABORT from the printer", aborted=True)
            if pdu_type != wire.P_DATA_TF:
                raise PeerClosed(f"unexpected PDU 0x{pdu_type:02X} from the printer")
            offset = 0
            while offset < len(payload):
                (length,) = struct.unpack_from(">L", payload, offset)
                context_id, control = payload[offset + 4], payload[offset + 5]
                fragment = payload[offset + 6:offset + 4 + length]
                offset += 4 + length
                (command if control & 1 else dataset).extend(fragment)
                if control & 1 and control & 2:
                    command_done = True
                    decoded = decode(BytesIO(bytes(command)), True, True)
                    if decoded.get("CommandDataSetType", wire.NO_DATASET) == wire.NO_DATASET:
                        return Message(context_id, decoded, None)
                elif command_done and not control & 1 and control & 2:
                    return Message(context_id, decoded, bytes(dataset))

    def request(self, context_id: int, command: bytes, dataset: bytes | None,
                message_id: int, timeout: float) -> Message:
        """Send a request and wait for the response to ``message_id``.

        N-EVENT-REPORT requests from the printer met on the way are answered
        with Success (the printer may report a Print Job before it answers
        the N-ACTION that created it). Raises NoAnswer or PeerClosed.
        """
        self.send_message(context_id, command, dataset)
        return self.wait_response(message_id, time.monotonic() + timeout)

    def wait_response(self, message_id: int, deadline: float) -> Message:
        while True:
            message = self.receive_message(deadline)
            field = int(message.command.get("CommandField", 0))
            if field == wire.N_EVENT_REPORT_RQ:
                self.send_message(message.context_id, wire.response_command(
                    wire.N_EVENT_REPORT_RQ, int(message.command.MessageID),
                    str(message.command.AffectedSOPClassUID),
                    str(message.command.get("AffectedSOPInstanceUID", "")) or None), None)
                continue
            if message.command.get("MessageIDBeingRespondedTo") == message_id:
                return message

    def release(self, timeout: float) -> bool:
        """A-RELEASE-RQ; True if A-RELEASE-RP came (event reports met are answered)."""
        deadline = time.monotonic() + timeout
        try:
            self.send(wire.release_rq())
            while True:
                pdu_type, payload = self.read_pdu(deadline)
                if pdu_type == wire.A_RELEASE_RP:
                    return True
                if pdu_type == wire.P_DATA_TF:
                    continue  # an event report sent before the printer saw our release
                return False
        except (PeerClosed, NoAnswer):
            return False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

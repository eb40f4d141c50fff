"""An acceptor reads P-DATA-TF PDUs in batches, straight into the DIMSE message.

pynetdicom 3.0.4 takes each PDU once round its DUL loop: wait in ``select``,
read the header, read the body, decode it into PDV item objects, queue an
event, run the state machine (Sta6 + Evt10 → DT-2, three events triggered),
turn the PDU into a P-DATA primitive and hand that to DIMSE. Measured on
loopback, a raw peer sending 4 MiB images as fast as it can: 36 ms of CPU
per image in 4 KiB PDUs (1024 PDUs, 36 µs each), 13 ms in 16 KiB
PDUs; read as below (with the read-ahead of :mod:`dicomnet.socket_tuning`),
11 ms and 6 ms. Most modalities send PDUs of 4 to 32 KiB.

:func:`read_pdata_in_batches` replaces the DUL's ``_read_pdu_data``. In the
established state (Sta6) the PDVs of a P-DATA-TF PDU go straight to
``DIMSEServiceProvider.receive_primitive`` in a P-DATA primitive, as
memoryviews of the bytes read (no copy), and the next PDU is read at once
while the socket has data, the message is incomplete, no primitive waits to
be sent and the association is not being stopped, up to :data:`BATCH_PDUS`
per DUL loop (the loop then runs its timers). The PDVs of consecutive PDUs
share one primitive, up to :data:`DELIVERY_BYTES` and never past a PDU that
ends a message (pynetdicom completes the message at its last fragment and
drops what follows in the primitive): DIMSE's per-primitive work is then
done once for many small PDUs (dcmprscu at 4 KiB PDUs: print-scp's CPU per
16 MiB film 80 → 58 ms). Every other PDU, and any PDU in another state,
takes pynetdicom's own way: decoded, queued with its event for the state
machine, after the PDVs read before it are given to DIMSE.

Two more steps for small PDUs (measured, the DUL thread's CPU per 16 MiB
film from dcmprscu, median of 10: 18.9 → 15.3 ms at 16 KiB PDUs, 14.3 →
12.9 ms at 32 KiB; no change at 4 KiB, where dcmprscu's PDUs arrive a few
at a time):

* the P-DATA-TF PDUs that already lie whole in the read-ahead buffer are
  split where they lie (:func:`whole_pdata_pdus`), not copied out one
  ``recv`` at a time; a PDU that is not whole there, or that anything is
  wrong with, is read the usual way below, which answers it;
* each run of fragments of one message part in a delivery becomes one PDV,
  joined once into ``bytes`` (:func:`merged_pdvs`), which the data set keeps
  without copying it again (:mod:`dicomnet.assembled_data_sets`): DIMSE
  writes one fragment where there were dozens.

What the hardening guarantees stays:

* every byte comes through the transport's ``recv`` (the per-read deadline
  of :mod:`dicomnet.socket_tuning`);
* every PDU is held to the Maximum Length announced: a PDU read the usual
  way by the ``recv`` of :mod:`dicomnet.input_guard`, one split in the
  read-ahead by the same check first (a longer one is left to that
  ``recv``, which aborts); a 6-byte PDU header comes straight from the
  read-ahead;
* every P-DATA primitive goes through ``dimse.receive_primitive`` as it is
  wrapped at that moment (the message bound and its growth accounting, the
  abort on an undecodable message, each seeing at most DELIVERY_BYTES more
  than before), looked up per primitive so that later wrappers count too.

A PDV whose item length does not fit its PDU, or is below 2 (context ID and
message control header), is an invalid PDU (Evt19: A-ABORT), as in
pynetdicom. What changes: EVT_DATA_RECV, EVT_PDU_RECV and EVT_FSM_TRANSITION
are not triggered for these P-DATA-TF PDUs (nothing in filmbox binds them;
pynetdicom's debug log of each PDU is one of them).
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import struct
from collections.abc import Callable
from typing import Any

from pynetdicom.association import Association
from pynetdicom.pdu_primitives import P_DATA

from dicomnet.idle_wait import _WaitingSocket
from dicomnet.socket_tuning import ReadAhead

LOG = logging.getLogger("dicomnet.pdata_batches")

#: Most PDUs read from the socket in one DUL loop, between two checks of its timers
#: (with the whole PDUs read ahead that are split between two of them).
BATCH_PDUS = 256
#: Most PDU bytes given to DIMSE in one P-DATA primitive (the message bound and the
#: memory budget count a message's bytes as each primitive arrives).
DELIVERY_BYTES = 256 * 1024
_LAST_FRAGMENT = 0x02  # message control header bit 1 (PS3.8 E.2)
_COMMAND = 0x01  # message control header bit 0: a command set fragment, else a data set's
P_DATA_TF_TYPE = 0x04
PDU_TYPES = range(0x01, 0x08)  # A-ASSOCIATE-RQ .. A-ABORT (PS3.8 9.3.1)
_PDU_HEADER = struct.Struct(">BxL")  # PDU type, reserved, PDU length (PS3.8 9.3.1)
_PDV_LENGTH = struct.Struct(">L")  # item length: context ID + message control header + data


class InvalidPdv(ValueError):
    """A PDV item of a P-DATA-TF PDU that does not fit the PDU (PS3.8 9.3.5.1)."""


def split_pdvs(body: bytearray | memoryview) -> list[tuple[int, memoryview]]:
    """(presentation context ID, PDV bytes from the message control header on) of each
    PDV item in a P-DATA-TF PDU's ``body`` (the bytes after its 6-byte header).

    The PDV bytes are views of ``body``. InvalidPdv names the item and why when an
    item length is below 2 or runs past the end of the PDU, or no item is there.
    """
    view = memoryview(body)
    end, offset = len(body), 0
    pdvs: list[tuple[int, memoryview]] = []
    while offset < end:
        if end - offset < 6:
            raise InvalidPdv(f"PDV item {len(pdvs) + 1}: {end - offset} bytes left, "
                             "below an item header and a message control header")
        (length,) = _PDV_LENGTH.unpack_from(body, offset)
        if length < 2 or offset + 4 + length > end:
            raise InvalidPdv(f"PDV item {len(pdvs) + 1}: item length {length} "
                             f"{'is below 2' if length < 2 else 'runs past the PDU'}")
        pdvs.append((body[offset + 4], view[offset + 5:offset + 4 + length]))
        offset += 4 + length
    if not pdvs:
        raise InvalidPdv("no PDV item")
    return pdvs


def whole_pdata_pdus(data: memoryview, max_length: int,
                     max_bytes: int) -> tuple[int, list[tuple[int, memoryview]], bool]:
    """The P-DATA-TF PDUs that lie whole at the start of ``data`` (bytes read ahead):
    (how many bytes they take, their PDVs as :func:`split_pdvs` gives them, whether the
    last of them ends a message).

    Stops after a PDU with a message's last fragment or once ``max_bytes`` are taken,
    and before a PDU that is not wholly in ``data``, is of another type, is longer
    than ``max_length`` (0: no limit) or has a PDV that does not fit: the caller reads
    that one its usual way, which answers it.
    """
    end, offset = len(data), 0
    pdvs: list[tuple[int, memoryview]] = []
    while end - offset >= 6 and offset < max_bytes:
        pdu_type, length = _PDU_HEADER.unpack_from(data, offset)
        if pdu_type != P_DATA_TF_TYPE or (max_length and length > max_length) \
                or end - offset - 6 < length:
            break
        try:
            items = split_pdvs(data[offset + 6:offset + 6 + length])
        except InvalidPdv:
            break
        pdvs += items
        offset += 6 + length
        if _ends_a_message(items):
            return offset, pdvs, True
    return offset, pdvs, False


def _ends_a_message(pdvs: list[tuple[int, memoryview]]) -> bool:
    """True if one of ``pdvs`` is the last fragment of a message (its command set, or
    data set)."""
    return any(pdv[0] & _LAST_FRAGMENT for _, pdv in pdvs)


def merged_pdvs(pdvs: list[tuple[int, memoryview]]) -> list[tuple[int, memoryview]]:
    """``pdvs`` with each run of fragments of one message part (same context ID, both
    command or both data set, none but the run's last a last fragment) joined into one
    PDV, its bytes copied once into an immutable ``bytes`` (a run of one is kept as it
    is). pynetdicom's DIMSE then writes one fragment where there were dozens, and
    :class:`~dicomnet.assembled_data_sets.AssembledDataSet` keeps it without a copy.
    """
    merged: list[tuple[int, memoryview]] = []
    run: list[memoryview] = []
    run_context = run_kind = -1

    def close_run() -> None:
        if len(run) == 1:
            merged.append((run_context, run[0]))
        elif run:
            header = bytes([run[-1][0]])  # the last one's: it may end the message
            merged.append((run_context,
                           memoryview(b"".join([header, *(pdv[1:] for pdv in run)]))))
        run.clear()

    for context_id, pdv in pdvs:
        if context_id != run_context or pdv[0] & _COMMAND != run_kind:
            close_run()
            run_context, run_kind = context_id, pdv[0] & _COMMAND
        run.append(pdv)
        if pdv[0] & _LAST_FRAGMENT:
            close_run()
    close_run()
    return merged


def read_pdata_in_batches(assoc: Association) -> None:
    """Replace ``assoc``'s DUL PDU read by one that batches P-DATA-TF PDUs (see module doc).

    Install at EVT_CONN_OPEN, before the DUL reads its first PDU.
    """
    dul, dimse = assoc.dul, assoc.dimse
    transport = dul.socket
    read_ahead = getattr(transport, "read_ahead", None)
    assert isinstance(transport, _WaitingSocket) and isinstance(read_ahead, ReadAhead), \
        "read_pdata_in_batches comes after tune_socket and wait_in_select"
    transport.__class__ = _ReadAheadSocket
    read_one_pdu = dul._read_pdu_data
    fsm = dul.state_machine
    max_length = assoc.acceptor.maximum_length or 0  # announced in A-ASSOCIATE-AC; 0: none

    def receive(read: Callable[[int], bytearray], nr_bytes: int) -> bytearray | None:
        """``read(nr_bytes)``; None, with Evt17 queued, if the connection broke or ended."""
        try:
            data = read(nr_bytes)
        except (OSError, TimeoutError) as exc:
            LOG.warning("%s: connection closed before the entire PDU was received: %s",
                        assoc.name, exc)
            dul.event_queue.put("Evt17")
            return None
        if len(data) != nr_bytes:
            dul.event_queue.put("Evt17")
            return None
        return data

    def more_to_read() -> bool:
        """True if the next PDU may be read in this batch (see the module doc)."""
        # The queues' deques, read without their locks: an item put just after this
        # check is seen at the next PDU, or by the DUL loop.
        if dimse.message is None or dul._kill_thread or dul.event_queue.queue \
                or dul.to_provider_queue.queue:
            return False
        return read_ahead.buffered > 0 or _socket_readable(transport.socket)

    def read_pdus() -> None:
        if fsm.current_state != "Sta6":
            read_one_pdu()
            return
        pending: list[tuple[int, memoryview]] = []  # PDVs read, not yet given to DIMSE
        pending_bytes = 0

        def deliver() -> None:
            nonlocal pending_bytes
            if pending:
                primitive = P_DATA()
                primitive.presentation_data_value_list.extend(
                    merged_pdvs(pending))  # type: ignore[arg-type]
                pending.clear()
                pending_bytes = 0
                dimse.receive_primitive(primitive)

        for _ in range(BATCH_PDUS):
            while read_ahead.buffered:  # whole PDUs read ahead: split where they lie
                taken, pdvs, ended = whole_pdata_pdus(read_ahead.peek(), max_length,
                                                      DELIVERY_BYTES - pending_bytes)
                if not taken:
                    break
                read_ahead.skip(taken)
                pending.extend(pdvs)
                pending_bytes += taken
                if pending_bytes >= DELIVERY_BYTES:
                    deliver()
                if ended or not more_to_read():
                    deliver()
                    return
            header = receive(read_ahead.recv, 6)  # 6 bytes: below any Maximum Length
            if header is None:
                break
            pdu_type, length = _PDU_HEADER.unpack(header)
            if pdu_type not in PDU_TYPES:
                deliver()
                LOG.warning("%s: unknown PDU type 0x%02X: aborting the association",
                            assoc.name, pdu_type)
                dul.event_queue.put("Evt19")
                return
            body = receive(transport.recv, length)
            if body is None:
                break
            if pdu_type != P_DATA_TF_TYPE:
                deliver()
                _queue_other_pdu(dul, header + body)
                return
            try:
                pdvs = split_pdvs(body)
            except InvalidPdv as exc:
                deliver()
                LOG.warning("%s: invalid P-DATA-TF PDU (%s): aborting the association",
                            assoc.name, exc)
                dul.event_queue.put("Evt19")
                return
            pending.extend(pdvs)
            pending_bytes += length
            # A message's last fragment ends a delivery: pynetdicom completes the message
            # there and would drop the PDVs after it.
            if pending_bytes >= DELIVERY_BYTES or _ends_a_message(pdvs):
                deliver()
            if not more_to_read():
                break
        deliver()

    dul._read_pdu_data = read_pdus  # type: ignore[method-assign]


class _ReadAheadSocket(_WaitingSocket):
    """A sleeping DUL's socket (:mod:`dicomnet.idle_wait`) that has data ready while bytes
    read ahead wait in its :class:`~dicomnet.socket_tuning.ReadAhead`.

    In Sta13 (the release answered, the connection to be closed) it does not
    sleep: pynetdicom looks once for data and, finding none, closes the
    connection itself. Many SCUs (DCMTK's among them) wait for that close
    after A-RELEASE-RP; the idle wait held each of them IDLE_WAIT_S (measured:
    50-60 ms of a 200 ms film from dcmprscu).
    """

    read_ahead: ReadAhead

    @property
    def ready(self) -> bool:
        if self.read_ahead.buffered > 0:
            return True
        if self.assoc.dul.state_machine.current_state == "Sta13":
            return _socket_readable(self.socket)
        return super().ready


def _socket_readable(sock: socket.socket | None) -> bool:
    """True if a read of ``sock`` would not block (TLS: decrypted bytes, or the socket)."""
    if sock is None:
        return False
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return False


def _queue_other_pdu(dul: Any, pdu_bytes: bytearray) -> None:
    """A PDU other than P-DATA-TF, read whole: decoded and queued with its event for the
    state machine, as pynetdicom's own read does (undecodable: Evt19)."""
    try:
        pdu, event = dul._decode_pdu(pdu_bytes)
    except Exception as exc:  # anything pynetdicom raises on a malformed PDU
        LOG.warning("%s: undecodable PDU (%s: %s)", dul.assoc.name, type(exc).__name__, exc)
        dul.event_queue.put("Evt19")
        return
    dul.event_queue.put(event)
    dul._recv_pdu.put(pdu)

"""What an acceptor reads from a peer is bounded, decodable, or ends the association.

Three guards, installed on a new connection before its first PDU is read:

* :func:`abort_on_undecodable_input`: input pynetdicom cannot decode, and a
  PDU longer than the Maximum Length announced, abort the association
  instead of killing pynetdicom's DUL thread;
* :func:`limit_messages`: pynetdicom 3.0.4 assembles a DIMSE message in
  memory from any number of P-DATA-TF PDUs before the handlers see it, so
  checks of an image's size come too late to protect memory on their own.
  This drops a message as soon as it grows past ``max_message_bytes`` and
  aborts the association, as for an invalid PDU (Evt19: A-ABORT to the peer).
  Given the printer's :class:`~dicomnet.memory_budget.MemoryBudget`, it also
  counts each message's bytes in it while they arrive; a message the budget
  cannot hold keeps being read, its data set dropped, and is delivered so
  that it can be answered (:func:`dropped_data_set`);
* :func:`bound_socket_reads`: a peer that stalls part-way through a PDU is
  disconnected after the network timeout.
"""

from __future__ import annotations

import logging
import weakref
from io import BytesIO
from typing import Any

from pynetdicom import evt
from pynetdicom.association import Association
from pynetdicom.dimse_messages import DIMSEMessage
from pynetdicom.fsm import TRANSITION_TABLE
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.pdu_primitives import P_DATA

from dicomnet.assembled_data_sets import AssembledDataSet
from dicomnet.memory_budget import (
    MESSAGE_OVERHEAD,
    MemoryBudget,
    Reservation,
    held_while_served,
    message_claim,
)

LOG = logging.getLogger("dicomnet.input_guard")

#: Where a request carries its data set (pynetdicom's N-CREATE, N-SET, N-ACTION and
#: N-EVENT-REPORT primitives).
_DATA_SET_FIELDS = ("AttributeList", "ModificationList", "ActionInformation",
                    "EventInformation")


class DroppedDataSet(BytesIO):
    """The data set of a message the memory budget could not hold: counted, not kept."""

    def __init__(self, received: int):
        super().__init__()
        self.received = received  # bytes of the data set that arrived (all dropped)

    def write(self, data: Any) -> int:
        self.received += len(data)
        return len(data)


class BudgetedDataSet(AssembledDataSet):
    """The data set of a message whose bytes the memory budget counts (``reservation``),
    joined once at its exact size (:mod:`dicomnet.assembled_data_sets`)."""

    def __init__(self, reservation: Reservation):
        super().__init__()
        self.reservation = reservation


def _data_set(request: Any, kind: type[BytesIO]) -> Any:
    """A request's data set if it is of ``kind``, else None."""
    for name in _DATA_SET_FIELDS:
        value = getattr(request, name, None)
        if isinstance(value, kind):
            return value
    return None


def dropped_data_set(request: Any) -> DroppedDataSet | None:
    """A request's data set if it was dropped for the memory budget, else None."""
    return _data_set(request, DroppedDataSet)


def abort_on_undecodable_input(assoc: Association) -> None:
    """Input pynetdicom cannot decode aborts the association.

    pynetdicom 3.0.4 turns some received PDUs into primitives inside its DUL
    state machine, where an exception kills the DUL thread without an
    A-ABORT; no EVT_ABORTED or EVT_CONN_CLOSE follows, so the association's
    state and event channel would never be released. Two inputs do that:

    * a DIMSE message whose command set lacks Command Field or Command Data
      Set Type, has an unknown Command Field, or whose PDV is too short for
      its message control header (``DIMSEServiceProvider.receive_primitive``);
    * an A-ABORT PDU whose source is not 0, 1 or 2 (``A_ABORT_RQ.to_primitive``),
      and likewise any other non-P-DATA PDU that cannot become a primitive.

    Both are treated as pynetdicom treats a PDU it cannot decode: Evt19
    (invalid PDU), which sends A-ABORT and ends the association the normal
    way. So is a PDU longer than the Maximum Length Received this printer
    announced (PS3.8 D.1): pynetdicom would read whatever length the peer
    announces (up to 4 GiB) into memory. An event the state machine has no
    transition for is dropped rather than raised in the DUL thread (a peer
    sending A-RELEASE-RQ twice gets the association aborted by the second
    one, and our queued A-RELEASE-RP then met state Sta13). Installed at
    connection open, before the DUL reads its first PDU.
    """
    dimse, dul = assoc.dimse, assoc.dul
    receive_message = dimse.receive_primitive
    decode_pdu = dul._decode_pdu
    transport = dul.socket
    assert transport is not None  # the connection is open: installed at EVT_CONN_OPEN
    socket_recv = transport.recv
    limit = assoc.acceptor.maximum_length  # announced in A-ASSOCIATE-AC; set before this

    def bounded_recv(nr_bytes: int) -> bytearray:
        if limit and nr_bytes > limit:
            LOG.warning("%s: PDU of %d bytes announced, above the %d this printer accepts: "
                        "aborting the association", assoc.name, nr_bytes, limit)
            dul.event_queue.put("Evt19")
            return bytearray()  # the DUL sees a short PDU and stops reading
        return socket_recv(nr_bytes)

    def receive_primitive(primitive: P_DATA) -> None:
        try:
            receive_message(primitive)
        except Exception as exc:  # anything pynetdicom raises on a malformed message
            LOG.warning("%s: undecodable DIMSE message (%s: %s): aborting the association",
                        assoc.name, type(exc).__name__, exc)
            dimse.message = None
            dul.event_queue.put("Evt19")

    def checked_decode_pdu(bytestream: bytearray) -> tuple[Any, str]:
        pdu, fsm_event = decode_pdu(bytestream)
        if not isinstance(pdu, P_DATA_TF):
            pdu.to_primitive()  # raises here, where the DUL answers Evt19, not in the FSM
        return pdu, fsm_event

    fsm = dul.state_machine
    do_action = fsm.do_action

    def do_valid_action(event: str) -> None:
        if (event, fsm.current_state) not in TRANSITION_TABLE:
            LOG.info("%s: %s ignored in state %s", assoc.name, event, fsm.current_state)
            return
        do_action(event)

    dimse.receive_primitive = receive_primitive  # type: ignore[method-assign]
    dul._decode_pdu = checked_decode_pdu  # type: ignore[method-assign]
    transport.recv = bounded_recv  # type: ignore[method-assign]
    fsm.do_action = do_valid_action  # type: ignore[method-assign]


def limit_messages(assoc: Association, max_message_bytes: int,
                   budget: MemoryBudget | None = None) -> None:
    """Abort the association when a message being received exceeds the bound (bytes).

    With a ``budget``, each message takes what it holds
    (:func:`~dicomnet.memory_budget.held_while_served`) as it arrives; one that grows past
    :data:`MESSAGE_OVERHEAD` carries an image and claims at once what the
    largest message needs (:func:`~dicomnet.memory_budget.message_claim`), so
    that images are received whole in the order they come, not all cut off
    half-way when many arrive at once; complete, it keeps what it needs. When
    the budget cannot take a message, its data set received so far is freed
    and the rest is read but not kept (:class:`DroppedDataSet`): the request
    still reaches its handler, which answers it (C605 for an Image Box N-SET)
    and the association goes on. The bytes are given back, and the data set
    freed, once its request has been served; a message never served gives
    them back when it is freed or its connection closes.
    """
    dimse, dul = assoc.dimse, assoc.dul
    receive_message = dimse.receive_primitive
    message_bytes = 0  # of the message being assembled
    unreleased: weakref.WeakSet[Reservation] = weakref.WeakSet()  # of this connection

    def budgeted_message(counted_in: MemoryBudget) -> DIMSEMessage:
        """A new message whose data set ``counted_in`` counts."""
        message = DIMSEMessage()
        data_set = BudgetedDataSet(Reservation(counted_in))
        unreleased.add(data_set.reservation)
        weakref.finalize(data_set, data_set.reservation.release)
        message.data_set = data_set
        return message

    def count(message: DIMSEMessage) -> None:
        """Count the message's bytes so far in the budget, or drop its data set."""
        data_set = message.data_set
        if not isinstance(data_set, BudgetedDataSet):
            return  # dropped already
        wanted = (held_while_served(message_bytes) if message_bytes <= MESSAGE_OVERHEAD
                  else message_claim(max_message_bytes))
        if wanted > data_set.reservation.nbytes and not data_set.reservation.resize(wanted):
            LOG.warning("%s: printer memory budget in use: data set of the message being "
                        "received dropped", assoc.name)
            message.data_set = DroppedDataSet(data_set.tell())
            data_set.reservation.release()

    def bounded_message(primitive: P_DATA) -> None:
        nonlocal message_bytes
        if dimse.message is None:  # the previous message was complete
            message_bytes = 0
            if budget is not None:
                dimse.message = budgeted_message(budget)
        message_bytes += sum(len(data) for _, data in primitive.presentation_data_value_list)
        if message_bytes > max_message_bytes:
            LOG.warning("%s: DIMSE message of more than %d bytes: dropped, association "
                        "aborted", assoc.name, max_message_bytes)
            dimse.message = None
            dul.event_queue.put("Evt19")
            return
        data_set = None
        if budget is not None:
            assert dimse.message is not None  # made above when the message began
            count(dimse.message)
            data_set = dimse.message.data_set
        receive_message(primitive)
        if dimse.message is None and isinstance(data_set, BudgetedDataSet):
            # complete: it holds this until its request has been served
            data_set.reservation.resize(held_while_served(message_bytes))

    serve_request = assoc._serve_request

    def serve_and_release(request: Any, context_id: int) -> None:
        try:
            serve_request(request, context_id)
        finally:
            data_set = _data_set(request, BudgetedDataSet)
            if data_set is not None:
                data_set.truncate(0)  # freed now, though pynetdicom still holds the request
                data_set.reservation.release()

    def release_all(_: evt.Event) -> None:
        for held in list(unreleased):
            held.release()

    dimse.receive_primitive = bounded_message  # type: ignore[method-assign]
    if budget is not None:
        assoc._serve_request = serve_and_release  # type: ignore[method-assign, assignment]
        assoc.bind(evt.EVT_CONN_CLOSE, release_all)


def bound_socket_reads(assoc: Association) -> None:
    """Give the connection's socket the network timeout (s) as its read/write timeout.

    pynetdicom 3.0.4 reads a PDU with blocking ``recv`` calls until its
    announced length has arrived. A peer that sends part of a PDU and then
    stalls would hold the DUL thread, and its association slot, for as long
    as it keeps the connection open: the network timeout is noticed, but the
    association cannot stop a DUL blocked in ``recv``. With a socket timeout
    the read fails after ``network_timeout`` s and the connection is closed.
    """
    try:
        assoc.dul.socket.socket.settimeout(assoc.network_timeout)  # type: ignore[union-attr]
    except (AttributeError, OSError) as exc:
        LOG.debug("socket timeout not set: %s", exc)

"""A bound on the DIMSE message a peer can make the printer hold while receiving it.

pynetdicom 3.0.4 assembles a DIMSE message in memory from any number of
P-DATA-TF PDUs before the printer's handlers see it, so the Image Box checks
of ``max_image_bytes`` come too late to protect memory on their own (each
PDU is bounded by the printer's Maximum Length, see
``print_scp.dimse_router.abort_on_undecodable_input``; a message is not).
:func:`limit_messages`, an EVT_CONN_OPEN handler, drops a message as soon as
it grows past ``max_message_bytes`` and aborts the association, as for an
invalid PDU (Evt19: A-ABORT to the peer).
"""

from __future__ import annotations

import logging

from pynetdicom import evt
from pynetdicom.pdu_primitives import P_DATA

LOG = logging.getLogger("print_scp.server")

#: Bytes a print message may carry besides the pixels of one image (command
#: set, Image Box attributes, a Presentation LUT of 65536 entries, ...).
MESSAGE_OVERHEAD = 1024 * 1024


def limit_messages(event: evt.Event, max_message_bytes: int) -> None:
    """EVT_CONN_OPEN handler: abort an association whose message exceeds the bound (bytes)."""
    assoc = event.assoc
    dimse, dul = assoc.dimse, assoc.dul
    receive_message = dimse.receive_primitive
    message_bytes = 0  # of the message being assembled

    def bounded_message(primitive: P_DATA) -> None:
        nonlocal message_bytes
        if dimse.message is None:  # the previous message was complete
            message_bytes = 0
        message_bytes += sum(len(data) for _, data in primitive.presentation_data_value_list)
        if message_bytes > max_message_bytes:
            LOG.warning("%s: DIMSE message of more than %d bytes: dropped, association "
                        "aborted", assoc.name, max_message_bytes)
            dimse.message = None
            dul.event_queue.put("Evt19")
            return
        receive_message(primitive)

    dimse.receive_primitive = bounded_message  # type: ignore[method-assign]

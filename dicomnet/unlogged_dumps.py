"""pynetdicom's message dumps, unbound from associations whose logger would discard them.

With ``pynetdicom._config.LOG_HANDLER_LEVEL`` at its default, "standard",
pynetdicom binds four handlers to every association that describe each DIMSE
message and PDU sent and received, in log lines at DEBUG and INFO. They
build those lines whether or not the ``pynetdicom`` logger keeps them (about
0.1 ms per message here), and the one for sent messages needs the pydicom
command set that :mod:`dicomnet.command_sets` does not build, so its
presence keeps every message on pynetdicom's slow path.

:func:`unbind_unlogged_dumps` (at EVT_CONN_OPEN) unbinds them from an
association when the ``pynetdicom`` logger discards INFO, as it does in
print-scu and in print-scp without ``--verbose``: nothing that would have
been logged is lost. Where INFO or DEBUG is on, they stay.
"""

from __future__ import annotations

import logging

from pynetdicom import evt
from pynetdicom._handlers import (
    standard_dimse_recv_handler,
    standard_dimse_sent_handler,
    standard_pdu_recv_handler,
    standard_pdu_sent_handler,
)
from pynetdicom.association import Association

#: pynetdicom's standard dump handlers and the events it binds them to.
STANDARD_DUMPS = ((evt.EVT_DIMSE_RECV, standard_dimse_recv_handler),
                  (evt.EVT_DIMSE_SENT, standard_dimse_sent_handler),
                  (evt.EVT_PDU_RECV, standard_pdu_recv_handler),
                  (evt.EVT_PDU_SENT, standard_pdu_sent_handler))


def unbind_unlogged_dumps(assoc: Association) -> None:
    """Unbind :data:`STANDARD_DUMPS` from ``assoc`` unless the ``pynetdicom`` logger keeps
    INFO. Other handlers bound to those events stay."""
    if logging.getLogger("pynetdicom").isEnabledFor(logging.INFO):
        return
    for event, handler in STANDARD_DUMPS:
        assoc.unbind(event, handler)

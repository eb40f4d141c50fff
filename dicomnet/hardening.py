"""One call per role that makes a new pynetdicom association safe for print.

pynetdicom 3.0.4, as it comes, polls every millisecond in two threads per
association, reads whatever a peer announces into memory, dies in its DUL
thread on some malformed input, and loses or interleaves messages when
N-EVENT-REPORTs cross requests (measured facts, see each module). Each fix
wraps something that another one wraps too, so they are applied in one
fixed order, by one function per role, at EVT_CONN_OPEN, before the
association's threads read a PDU:

Acceptor (:func:`harden_acceptor`, the order of :data:`ACCEPTOR_STEPS`):

1. ``tune_socket``: TCP_NODELAY and whole-PDU reads with read-ahead (replaces
   ``socket.recv``);
2. ``unbind_unlogged_dumps``: no per-message log lines built for a logger
   that discards them;
3. ``send_encoded_messages``: command sets encoded without pydicom (replaces
   ``dimse.send_msg``, which the router wraps later);
4. ``wait_in_select``: the DUL sleeps until data or work arrives;
5. ``limit_messages``: a DIMSE message larger than the bound aborts; one the
   printer's memory budget cannot hold is read but not kept;
6. ``abort_on_undecodable_input``: wraps 5's ``receive_primitive`` and 1's
   ``recv`` (a PDU above the Maximum Length aborts);
7. ``read_pdata_in_batches``: P-DATA-TF PDUs straight to DIMSE, several per
   DUL loop, their bodies through 6's ``recv``, each through 6's
   ``receive_primitive`` (both looked up per PDU);
8. ``accept_tls``: with TLS, the handshake on the connection's own thread;
   it leaves the socket without a timeout, so
9. ``bound_socket_reads`` comes after it.

Once established, the acceptor's messages are routed by
:class:`dicomnet.acceptor_router.DimseRouter` (installed by the server at
EVT_ESTABLISHED, with the requests it serves).

Requestor (:func:`harden_requestor`, :data:`REQUESTOR_STEPS`): TCP_NODELAY,
no unlogged message dumps, command sets encoded without pydicom, whole
messages, the sleeping DUL, responses kept from the reactor, the reactor's
pause flag guarded (before the reactor first writes it), and no message sent
once the release is requested.
"""

from __future__ import annotations

from pynetdicom import evt
from pynetdicom.association import Association

from dicomnet.command_sets import send_encoded_messages
from dicomnet.idle_wait import wait_in_select
from dicomnet.input_guard import abort_on_undecodable_input, bound_socket_reads, limit_messages
from dicomnet.memory_budget import MemoryBudget
from dicomnet.pdata_batches import read_pdata_in_batches
from dicomnet.pynetdicom_compat import check_pynetdicom
from dicomnet.requestor_races import (
    drop_data_after_release_request,
    guard_pause_flag,
    keep_responses_from_the_reactor,
    send_whole_messages,
)
from dicomnet.socket_tuning import set_no_delay, tune_socket
from dicomnet.tls import accept_tls
from dicomnet.unlogged_dumps import unbind_unlogged_dumps

ACCEPTOR_STEPS = ("tune_socket", "unbind_unlogged_dumps", "send_encoded_messages",
                  "wait_in_select", "limit_messages", "abort_on_undecodable_input",
                  "read_pdata_in_batches", "accept_tls", "bound_socket_reads")
check_pynetdicom()  # at import: fail here, naming what is missing, not in a DUL thread

REQUESTOR_STEPS = ("set_no_delay", "unbind_unlogged_dumps", "send_encoded_messages",
                   "send_whole_messages", "wait_in_select", "keep_responses_from_the_reactor",
                   "guard_pause_flag", "drop_data_after_release_request")


def harden_acceptor(event: evt.Event, max_message_bytes: int,
                    tls_timeout_s: float | None = None,
                    budget: MemoryBudget | None = None) -> None:
    """EVT_CONN_OPEN handler of an acceptor: apply :data:`ACCEPTOR_STEPS` in order.

    ``max_message_bytes`` bounds one DIMSE message; ``tls_timeout_s`` (the
    ACSE timeout, s) is given when the server's sockets are TLS: a
    handshake that fails or takes longer closes just this connection.
    ``budget``, the printer's memory budget, counts messages as they arrive.
    """
    assoc = event.assoc
    tune_socket(assoc)
    unbind_unlogged_dumps(assoc)
    send_encoded_messages(assoc)
    wait_in_select(assoc)
    limit_messages(assoc, max_message_bytes, budget)
    abort_on_undecodable_input(assoc)
    read_pdata_in_batches(assoc)
    if tls_timeout_s is not None:
        peer = event.address[:2]  # type: ignore[attr-defined]
        if not accept_tls(assoc, (str(peer[0]), int(peer[1])), tls_timeout_s):
            return
    bound_socket_reads(assoc)


def harden_requestor(assoc: Association) -> None:
    """Apply :data:`REQUESTOR_STEPS` in order (call at the requestor's EVT_CONN_OPEN)."""
    transport = assoc.dul.socket
    assert transport is not None, "harden_requestor needs an open connection"
    set_no_delay(transport)
    unbind_unlogged_dumps(assoc)
    send_encoded_messages(assoc)
    send_whole_messages(assoc)
    wait_in_select(assoc)
    keep_responses_from_the_reactor(assoc)
    guard_pause_flag(assoc)
    drop_data_after_release_request(assoc)

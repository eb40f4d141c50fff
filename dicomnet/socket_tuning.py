"""Per-connection tuning of pynetdicom's socket: no Nagle delay, whole-PDU reads.

Installed on a new connection of either role, before the first PDU is read:

* ``TCP_NODELAY``: each DIMSE message would otherwise wait ~40 ms for the
  peer's delayed ACK;
* :func:`receive_into`: pynetdicom 3.0.4's ``AssociationSocket.recv`` reads
  4096 bytes per system call and appends each piece to a growing
  ``bytearray``; a 4 MiB image costs about a thousand calls. This version
  reads into one buffer of the announced size, as many bytes per call as
  the kernel has (measured on loopback: 3.5-6 ms -> 1.3-1.6 ms per 4 MiB),
  and gives the whole read one deadline, the association's network timeout:
  a peer that trickles a byte now and then cannot hold the connection
  (the socket's own timeout only bounds each single read).
"""

from __future__ import annotations

import logging
import socket
import time

from pynetdicom.association import Association
from pynetdicom.transport import AssociationSocket

LOG = logging.getLogger("dicomnet.socket_tuning")


def tune_socket(assoc: Association) -> None:
    """TCP_NODELAY and whole-PDU reads on the association's new connection."""
    transport = assoc.dul.socket
    assert transport is not None, "tune_socket needs an open connection"
    set_no_delay(transport)
    transport.recv = lambda nr_bytes: receive_into(  # type: ignore[method-assign]
        transport, nr_bytes, assoc.network_timeout)


def set_no_delay(transport: AssociationSocket) -> None:
    """TCP_NODELAY on the connection: messages go out without waiting for an ACK."""
    try:
        transport.socket.setsockopt(  # type: ignore[union-attr]
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError) as exc:
        LOG.debug("TCP_NODELAY not set: %s", exc)


def receive_into(transport: AssociationSocket, nr_bytes: int,
                 timeout_s: float | None = None) -> bytearray:
    """Read ``nr_bytes`` from the connection, blocking; fewer if the peer closes it.

    Same contract as ``AssociationSocket.recv``: the bytes read so far are
    returned when the connection ends early. TimeoutError if all of them have
    not arrived within ``timeout_s`` seconds (None: no limit).

    A peer that resets the connection between two PDUs has closed it, as far
    as the association goes (some SCUs reset instead of closing once the
    association is released or aborted): that is one INFO line and no bytes,
    which pynetdicom takes as the connection closed. A reset in the middle
    of a PDU raises, as any broken read.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    buffer = bytearray(nr_bytes)
    view = memoryview(buffer)
    received = 0
    while received < nr_bytes:
        if deadline is not None and received and time.monotonic() > deadline:
            raise TimeoutError(f"{received} of {nr_bytes} bytes of a PDU in {timeout_s} s")
        try:
            count = transport.socket.recv_into(  # type: ignore[union-attr]
                view[received:], nr_bytes - received)
        except ConnectionResetError:
            if received:
                raise
            _log_reset(transport)
            count = 0
        if not count:
            del view
            return buffer[:received]
        received += count
    return buffer


def _log_reset(transport: AssociationSocket) -> None:
    """One INFO line: the peer reset the connection, and where the association stood."""
    assoc = transport.assoc
    stage = ("after the association was released" if assoc.is_released
             else "after the association was aborted" if assoc.is_aborted
             else "between two PDUs")
    LOG.info("%s: the peer reset the connection %s", assoc.name, stage)

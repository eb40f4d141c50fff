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
  (the socket's own timeout only bounds each single read);
* :class:`ReadAhead`: a read of fewer than :data:`READ_AHEAD_BYTES` asks the
  kernel for that much more, so one system call brings the PDUs a peer
  sends in small pieces (a 4 MiB image in 4 KiB PDUs from a peer sending as
  fast as it can, measured: 2048 reads become about 16). The bytes read
  ahead are kept for the next reads; ``AssociationSocket.ready`` must count
  them as data waiting (:mod:`dicomnet.pdata_batches` does).
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable

from pynetdicom.association import Association
from pynetdicom.transport import AssociationSocket

LOG = logging.getLogger("dicomnet.socket_tuning")

#: Bytes asked for beyond a read of fewer than this many (see :class:`ReadAhead`).
READ_AHEAD_BYTES = 256 * 1024


def tune_socket(assoc: Association) -> None:
    """TCP_NODELAY and whole-PDU reads with read-ahead on the association's new connection.

    The :class:`ReadAhead` is kept as the transport's ``read_ahead`` attribute.
    """
    transport = assoc.dul.socket
    assert transport is not None, "tune_socket needs an open connection"
    set_no_delay(transport)
    read_ahead = ReadAhead(transport, lambda: assoc.network_timeout)
    transport.read_ahead = read_ahead  # type: ignore[attr-defined]
    transport.recv = read_ahead.recv  # type: ignore[method-assign]


class ReadAhead:
    """``AssociationSocket.recv`` that reads ahead when asked for little.

    ``recv(nr_bytes)`` has :func:`receive_into`'s contract (all ``nr_bytes``,
    fewer if the connection ends, TimeoutError past the deadline of
    ``timeout_s()`` seconds). Asked for fewer than :data:`READ_AHEAD_BYTES`,
    it accepts up to that many more from the kernel in the same call and
    serves the next reads from them; a larger read goes straight into the
    buffer it returns, past the bytes already read ahead.
    """

    def __init__(self, transport: AssociationSocket,
                 timeout_s: Callable[[], float | None]) -> None:
        self._transport = transport
        self._timeout_s = timeout_s
        self._buffer = bytearray()
        self._start = 0  # of the bytes not yet returned

    @property
    def buffered(self) -> int:
        """Bytes read ahead and not yet returned."""
        return len(self._buffer) - self._start

    def peek(self) -> memoryview:
        """The bytes read ahead and not yet returned, without taking them (a view: the
        buffer behind it is never written again, only replaced)."""
        return memoryview(self._buffer)[self._start:]

    def skip(self, nr_bytes: int) -> None:
        """Take ``nr_bytes`` of the bytes read ahead (at most :attr:`buffered`) as read."""
        assert 0 <= nr_bytes <= self.buffered, f"skip {nr_bytes} of {self.buffered} read ahead"
        self._start += nr_bytes

    def recv(self, nr_bytes: int) -> bytearray:
        start = self._start
        if len(self._buffer) - start >= nr_bytes:
            self._start = start + nr_bytes
            return self._buffer[start:start + nr_bytes]
        head = self._buffer[start:]
        self._buffer, self._start = bytearray(), 0
        wanted = nr_bytes - len(head)
        data = receive_into(self._transport, nr_bytes, self._timeout_s(), prefix=head,
                            read_ahead=READ_AHEAD_BYTES if wanted < READ_AHEAD_BYTES else 0)
        if len(data) <= nr_bytes:
            return data
        self._buffer, self._start = data, nr_bytes
        return data[:nr_bytes]


def set_no_delay(transport: AssociationSocket) -> None:
    """TCP_NODELAY on the connection: messages go out without waiting for an ACK."""
    try:
        transport.socket.setsockopt(  # type: ignore[union-attr]
            socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (AttributeError, OSError) as exc:
        LOG.debug("TCP_NODELAY not set: %s", exc)


def receive_into(transport: AssociationSocket, nr_bytes: int, timeout_s: float | None = None,
                 *, prefix: bytes | bytearray = b"", read_ahead: int = 0) -> bytearray:
    """Read ``nr_bytes`` from the connection, blocking; fewer if the peer closes it.

    Same contract as ``AssociationSocket.recv``: the bytes read so far are
    returned when the connection ends early. TimeoutError if all of them have
    not arrived within ``timeout_s`` seconds (None: no limit). ``prefix``:
    bytes of the ``nr_bytes`` already read; ``read_ahead``: up to this many
    bytes more are taken if the kernel has them (then returned too).

    A peer that resets the connection between two PDUs has closed it, as far
    as the association goes (some SCUs reset instead of closing once the
    association is released or aborted): that is one INFO line and no bytes,
    which pynetdicom takes as the connection closed. A reset in the middle
    of a PDU raises, as any broken read.
    """
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    capacity = nr_bytes + read_ahead
    buffer = bytearray(capacity)
    received = len(prefix)
    buffer[:received] = prefix
    with memoryview(buffer) as view:
        while received < nr_bytes:
            if deadline is not None and received and time.monotonic() > deadline:
                raise TimeoutError(f"{received} of {nr_bytes} bytes of a PDU in {timeout_s} s")
            try:
                count = transport.socket.recv_into(  # type: ignore[union-attr]
                    view[received:], capacity - received)
            except ConnectionResetError:
                if received:
                    raise
                _log_reset(transport)
                count = 0
            if not count:
                break
            received += count
    del buffer[received:]
    return buffer


def _log_reset(transport: AssociationSocket) -> None:
    """One INFO line: the peer reset the connection, and where the association stood."""
    assoc = transport.assoc
    stage = ("after the association was released" if assoc.is_released
             else "after the association was aborted" if assoc.is_aborted
             else "between two PDUs")
    LOG.info("%s: the peer reset the connection %s", assoc.name, stage)

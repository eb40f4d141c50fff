"""A printer-wide budget of memory (bytes) for image data, shared by every thread.

Whoever is about to hold image bytes asks :meth:`MemoryBudget.reserve`
first and gives them back with :meth:`MemoryBudget.release`: the DIMSE
messages being received (``dicomnet.input_guard.limit_messages``), the
image boxes an association stores, the films queued for rendering. What
must be held whatever the budget says (films whose print was accepted) is
counted with :meth:`MemoryBudget.hold`, which may take the budget past its
limit: then nothing else is reserved until enough is released.

:class:`Reservation` is one holder's share, resized as the holder goes and
released once, whoever releases it first (the holder, or the garbage
collector when the memory it stands for is freed).
"""

from __future__ import annotations

import threading

#: Bytes a print message may carry besides the pixels of one image (command
#: set, Image Box attributes, a Presentation LUT of 65536 entries, ...). A
#: message growing past this carries an image: it claims its largest size at once.
MESSAGE_OVERHEAD = 1024 * 1024


#: The largest Maximum Length Received an acceptor may announce (bytes): a PDU is
#: counted in :data:`CONNECTION_BYTES` at this size.
MAX_PDU_BYTES = 1024 * 1024

#: Bytes of the budget each open association takes from its A-ASSOCIATE-RQ to the end of
#: its connection: the PDU it is reading (at most :data:`MAX_PDU_BYTES`) as read, as
#: pynetdicom decodes it and as copied into its message, and the read-ahead of
#: :mod:`dicomnet.socket_tuning` (256 KiB).
CONNECTION_BYTES = 3 * MAX_PDU_BYTES + 256 * 1024


def held_while_served(message_bytes: int) -> int:
    """Bytes of memory a DIMSE message of ``message_bytes`` takes until its request has
    been served: its data set twice, as its fragments and the buffer they are joined into
    (:mod:`dicomnet.assembled_data_sets`), or as that buffer and a copy of its Pixel Data
    (:func:`dicomnet.data_sets.pixel_bytes`), and an eighth more for the rest of what the
    handler decodes."""
    return 2 * message_bytes + message_bytes // 8


def message_claim(max_message_bytes: int) -> int:
    """Bytes of the budget a message carrying an image claims while it is received and
    served: what the largest message accepted (bytes) takes (:func:`held_while_served`)."""
    return held_while_served(max_message_bytes)


class MemoryBudget:
    """Bytes in use out of ``limit``; thread-safe."""

    def __init__(self, limit: int):
        if limit < 1:
            raise ValueError(f"memory budget limit {limit} must be at least 1 byte")
        self.limit = limit
        self._in_use = 0
        # Reentrant: a Reservation's finalizer may release while this thread holds it.
        self._lock = threading.RLock()

    @property
    def in_use(self) -> int:
        """Bytes reserved or held now (may exceed :attr:`limit` through :meth:`hold`)."""
        with self._lock:
            return self._in_use

    @property
    def free(self) -> int:
        """Bytes that can still be reserved (negative when holds took it past the limit)."""
        with self._lock:
            return self.limit - self._in_use

    def reserve(self, nbytes: int) -> bool:
        """Count ``nbytes`` more if they fit within the limit; False (nothing counted) if not."""
        _check_size(nbytes)
        with self._lock:
            if self._in_use + nbytes > self.limit:
                return False
            self._in_use += nbytes
            return True

    def hold(self, nbytes: int) -> None:
        """Count ``nbytes`` more even past the limit (memory that must be held)."""
        _check_size(nbytes)
        with self._lock:
            self._in_use += nbytes

    def release(self, nbytes: int) -> None:
        """Give back ``nbytes`` reserved or held earlier."""
        _check_size(nbytes)
        with self._lock:
            if nbytes > self._in_use:
                raise ValueError(f"releasing {nbytes} B, but only {self._in_use} B are in use")
            self._in_use -= nbytes


class Reservation:
    """One holder's bytes of a :class:`MemoryBudget`, resized as it goes, released once."""

    def __init__(self, budget: MemoryBudget):
        self._budget = budget
        self._lock = threading.RLock()  # as the budget's
        self._nbytes = 0
        self._released = False

    @property
    def nbytes(self) -> int:
        """Bytes this reservation holds now."""
        return self._nbytes

    def resize(self, nbytes: int) -> bool:
        """Hold exactly ``nbytes``: reserve the difference (False, unchanged, if the budget
        cannot, or this was released) or give it back."""
        _check_size(nbytes)
        with self._lock:
            if self._released:
                return False
            if nbytes > self._nbytes and not self._budget.reserve(nbytes - self._nbytes):
                return False
            if nbytes < self._nbytes:
                self._budget.release(self._nbytes - nbytes)
            self._nbytes = nbytes
            return True

    def release(self) -> None:
        """Give every byte back; later calls do nothing, and :meth:`resize` fails."""
        with self._lock:
            if self._released:
                return
            self._released = True
            nbytes, self._nbytes = self._nbytes, 0
        self._budget.release(nbytes)


def _check_size(nbytes: int) -> None:
    if nbytes < 0:
        raise ValueError(f"a size in bytes cannot be negative ({nbytes})")

"""Received data sets decoded with their Pixel Data left in the message, not copied out.

pydicom decodes a value by reading its bytes out of the message: a 4 MiB
Pixel Data is copied once (twice when its image sequence has a defined
length, the sequence's bytes being read first), into memory the process
touches for the first time. Measured here, that costs about 1.5 ms per
4 MiB image, most of it page faults, while the SCU waits for the N-SET
response.

:func:`decode_received` gives the same Dataset that pynetdicom's decode
gives, but every Pixel Data value, at any depth, is a read-only memoryview
of the message's own bytes: the image is where it arrived. Everything else
is as pydicom reads it (bytes, decoded when accessed). A sequence that
cannot be parsed is left to pydicom, which raises when it is accessed, as it
would have. The memoryview keeps the whole message alive:
:func:`pixel_bytes` copies a value out instead where the rest of the message
would be more than :data:`PINNED_SLACK_BYTES`.
"""

from __future__ import annotations

from io import BytesIO
from typing import BinaryIO, cast

from pydicom.datadict import dictionary_VR
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset
from pydicom.filereader import read_dataset, read_sequence
from pydicom.uid import UID
from pynetdicom.dsutils import decode

PIXEL_DATA = 0x7FE00010
#: Values at least this long are read as views of the message (and copied if not Pixel Data).
VIEW_BYTES = 64 * 1024
#: Most bytes of a message, beyond a Pixel Data value itself, that keeping the value may hold.
PINNED_SLACK_BYTES = 64 * 1024


def decode_received(data_set: BytesIO | None, transfer_syntax: UID) -> Dataset | None:
    """The data set of a received message (pynetdicom's encoded BytesIO), or None if there
    is none. Pixel Data values are views of the message (module doc); a deflated data
    set is decoded by pynetdicom, copies and all. pydicom's errors propagate."""
    if data_set is None:
        return None
    data = data_set.getvalue()  # the BytesIO's own buffer: no copy
    if not data:
        return None
    implicit, little = transfer_syntax.is_implicit_VR, transfer_syntax.is_little_endian
    if transfer_syntax.is_deflated:
        ds: Dataset = decode(data_set, implicit, little, True)
    else:
        ds = read_dataset(cast(BinaryIO, _ViewReader(memoryview(data))), implicit, little)
        _settle(ds, implicit, little)
    ds.set_original_encoding(implicit, little)
    return ds


def pixel_bytes(value: bytes | memoryview) -> bytes | memoryview:
    """A Pixel Data value to keep: itself, or a copy of it if it is a view that would
    keep more than :data:`PINNED_SLACK_BYTES` of the rest of its message alive."""
    if isinstance(value, memoryview) \
            and memoryview(value.obj).nbytes - value.nbytes > PINNED_SLACK_BYTES:
        return value.tobytes()
    return value


class _ViewReader:
    """The file-like object pydicom reads: a read of :data:`VIEW_BYTES` or more is a
    memoryview of the buffer, a shorter one bytes."""

    def __init__(self, buffer: memoryview) -> None:
        self._buffer = buffer
        self._position = 0

    def read(self, size: int = -1) -> bytes | memoryview:
        start = self._position
        end = len(self._buffer) if size < 0 else min(start + size, len(self._buffer))
        self._position = end
        chunk = self._buffer[start:end]
        return chunk if end - start >= VIEW_BYTES else chunk.tobytes()

    def seek(self, offset: int, whence: int = 0) -> int:
        base = (0, self._position, len(self._buffer))[whence]
        self._position = base + offset
        return self._position

    def tell(self) -> int:
        return self._position


def _settle(ds: Dataset, implicit: bool, little: bool) -> None:
    """Parse the sequences read as views (their items settled in turn); make every other
    view but Pixel Data's a bytes copy, as pydicom would have read it."""
    for tag in list(ds.keys()):
        element = ds.get_item(tag)
        if isinstance(element, DataElement):  # a sequence of undefined length, parsed
            for item in element.value if element.VR == "SQ" else ():
                _settle(item, implicit, little)
            continue
        if not isinstance(element.value, memoryview):
            continue
        if _is_sequence(element):
            try:
                items = read_sequence(cast(BinaryIO, _ViewReader(element.value)), implicit,
                                      little, len(element.value), ds._character_set)
                for item in items:
                    _settle(item, implicit, little)
            except Exception:  # pydicom raises many kinds: left to raise when accessed
                ds[tag] = element._replace(value=element.value.tobytes())
                continue
            ds[tag] = DataElement(tag, "SQ", items)
        elif tag != PIXEL_DATA:
            ds[tag] = element._replace(value=element.value.tobytes())


def _is_sequence(element: RawDataElement) -> bool:
    if element.VR is not None:
        return bool(element.VR == "SQ")
    try:
        return bool(dictionary_VR(element.tag) == "SQ")
    except KeyError:  # a private or unknown tag, implicit VR: not parsed here
        return False


"""AssembledDataSet: a received data set's fragments kept, then joined once.

The bytes and positions must be those of a plain BytesIO written with the
same fragments; pynetdicom's own message decoder must read the same data set
through it.
"""

from __future__ import annotations

import tracemalloc
from io import BytesIO

import pytest
from pydicom.dataset import Dataset
from pynetdicom.dimse_messages import N_SET_RQ, DIMSEMessage
from pynetdicom.dimse_primitives import N_SET
from pynetdicom.dsutils import decode, encode

from dicomnet.assembled_data_sets import AssembledDataSet

FRAGMENTS = [b"first ", memoryview(b"xsecond ")[1:], bytearray(b"third")]


def written(target: BytesIO) -> BytesIO:
    for fragment in FRAGMENTS:
        assert target.write(fragment) == len(fragment)
    return target


def test_tell_counts_the_fragments_and_getvalue_joins_them() -> None:
    data_set = written(AssembledDataSet())
    assert data_set.tell() == len(b"first second third")
    value = data_set.getvalue()
    assert value == b"first second third"
    assert data_set.getvalue() is value, "the joined bytes are held, not copied again"
    assert data_set.tell() == len(value), "positioned after the writes, as a BytesIO is"


def test_a_fragment_is_copied_when_written() -> None:
    buffer = bytearray(b"pixels")
    data_set = AssembledDataSet()
    data_set.write(memoryview(buffer)[1:])
    buffer[1:] = b"XXXXX"  # the writer reuses its buffer
    assert data_set.getvalue() == b"ixels"


@pytest.mark.parametrize(("backing", "copied"), [(bytes, False), (bytearray, True)])
def test_a_view_of_bytes_is_kept_as_it_is_any_other_copied(backing: type, copied: bool) -> None:
    """bytes cannot change under the data set: keeping a view of them costs no copy."""
    whole = backing(1 << 20)
    data_set = AssembledDataSet()
    tracemalloc.start()
    try:
        data_set.write(memoryview(whole)[1:])
        allocated = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (allocated >= (1 << 20) - 1) is copied, f"{allocated} bytes allocated"
    assert data_set.tell() == (1 << 20) - 1
    assert data_set.getvalue() == bytes((1 << 20) - 1)


@pytest.mark.parametrize("use", [
    lambda f: (f.seek(0), f.read(5))[1],
    lambda f: (f.seek(6), f.readline())[1],
    lambda f: bytes(f.getbuffer()),
    lambda f: (f.truncate(5), f.getvalue())[1],
    lambda f: (f.write(b"!"), f.getvalue())[1],
    lambda f: (f.getvalue(), f.seek(0), f.write(b"F"), f.getvalue())[3],
], ids=["read", "readline", "getbuffer", "truncate", "write-after", "overwrite"])
def test_every_use_is_a_plain_bytesio_s(use) -> None:
    assert use(written(AssembledDataSet())) == use(written(BytesIO()))


def test_a_closed_data_set_refuses_writes() -> None:
    data_set = written(AssembledDataSet())
    data_set.close()
    with pytest.raises(ValueError):
        data_set.write(b"more")


def test_pynetdicom_decodes_a_fragmented_message_through_it() -> None:
    attributes = Dataset()
    attributes.PatientName = "Fragmented^Image"
    attributes.BitsAllocated = 8
    attributes.PixelData = bytes(range(256)) * 64  # 16 KiB
    request = N_SET()
    request.MessageID = 3
    request.RequestedSOPClassUID = "1.2.840.10008.5.1.1.4"
    request.RequestedSOPInstanceUID = "1.2.3.4"
    request.ModificationList = BytesIO(encode(attributes, True, True))
    sent = N_SET_RQ()
    sent.primitive_to_message(request)
    received = DIMSEMessage()
    received.data_set = AssembledDataSet()
    pdatas = list(sent.encode_msg(1, 1000))  # many fragments of under 1000 bytes
    assert len(pdatas) > 16
    assert [received.decode_msg(pdata) for pdata in pdatas][-1] is True
    primitive = received.message_to_primitive()
    assert isinstance(primitive.ModificationList, AssembledDataSet)
    decoded = decode(primitive.ModificationList, True, True)
    assert decoded.PatientName == "Fragmented^Image"
    assert decoded.PixelData == attributes.PixelData

"""Received data sets decoded with Pixel Data left in the message (dicomnet.data_sets).

Each data set is written by pydicom, then decoded both by pynetdicom's own
decode (pydicom reading a BytesIO) and by ``decode_received``: every value
must be the same, and only Pixel Data may be a view of the message.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.sequence import Sequence
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from pynetdicom.dsutils import decode, encode

from dicomnet.data_sets import PINNED_SLACK_BYTES, decode_received, pixel_bytes

SIDE = 512  # 256 KiB of 8-bit pixels: read as a view


def image_box(undefined_length: bool, pixels: bytes) -> Dataset:
    item = Dataset()
    item.SamplesPerPixel = 1
    item.PhotometricInterpretation = "MONOCHROME2"
    item.Rows = item.Columns = SIDE
    item.BitsAllocated = item.BitsStored = 8
    item.HighBit = 7
    item.PixelRepresentation = 0
    item.PixelData = pixels
    lut = Dataset()  # a large value that is not Pixel Data: read as bytes, as pydicom does
    lut.LUTDescriptor = [0, 0, 16]
    lut.LUTData = np.arange(65536, dtype="<u2").tobytes()
    ds = Dataset()
    ds.ImageBoxPosition = 1
    ds.BasicGrayscaleImageSequence = Sequence([item])
    ds.PresentationLUTSequence = Sequence([lut])
    ds.TextValue = "x" * 70000  # a large text: bytes until accessed, then decoded text
    for keyword in ("BasicGrayscaleImageSequence", "PresentationLUTSequence"):
        ds[keyword].is_undefined_length = undefined_length
    return ds


def encoded(ds: Dataset, implicit: bool) -> io.BytesIO:
    """``ds`` as a received message's data set (written by pydicom)."""
    fp = DicomBytesIO()
    fp.is_little_endian, fp.is_implicit_VR = True, implicit
    write_dataset(fp, ds)
    return io.BytesIO(fp.getvalue())


def values(ds: Dataset) -> list[tuple[Any, Any]]:
    """(tag, value) of every element, depth first; bytes-like values as bytes."""
    out: list[tuple[Any, Any]] = []
    for element in ds:
        if element.VR == "SQ":
            out += [(element.tag, values(item)) for item in element.value]
        else:
            value = element.value
            out.append((element.tag, bytes(value) if isinstance(value, memoryview) else value))
    return out


@pytest.mark.parametrize("syntax", [ImplicitVRLittleEndian, ExplicitVRLittleEndian])
@pytest.mark.parametrize("undefined_length", [False, True])
def test_the_decoded_data_set_is_pydicom_s_with_pixel_data_a_view_of_the_message(
        syntax: Any, undefined_length: bool) -> None:
    pixels = np.random.default_rng(1).integers(0, 256, SIDE * SIDE, dtype=np.uint8).tobytes()
    message = encoded(image_box(undefined_length, pixels), syntax.is_implicit_VR)
    expected = decode(io.BytesIO(message.getvalue()), syntax.is_implicit_VR, True)
    got = decode_received(message, syntax)
    assert got is not None
    assert values(got) == values(expected)
    item = got.BasicGrayscaleImageSequence[0]
    pixel_data = item["PixelData"].value
    assert isinstance(pixel_data, memoryview) and pixel_data.readonly
    assert pixel_data.obj is message.getvalue()  # the message's bytes, not a copy
    assert isinstance(got.PresentationLUTSequence[0]["LUTData"].value, bytes)
    assert got.TextValue == "x" * 70000
    assert got.original_encoding == (syntax.is_implicit_VR, True)


def test_a_deflated_or_absent_data_set_is_decoded_as_pynetdicom_does() -> None:
    ds = Dataset()
    ds.ImageBoxPosition = 3
    deflated = io.BytesIO(encode(ds, False, True, True))
    got = decode_received(deflated, DeflatedExplicitVRLittleEndian)
    assert got is not None and got.ImageBoxPosition == 3
    assert decode_received(None, ImplicitVRLittleEndian) is None
    assert decode_received(io.BytesIO(), ImplicitVRLittleEndian) is None


def outcome(message: bytes, decoder: Any) -> tuple[str, Any]:
    """("values", every value) of the data set, or ("error", the exception's type and
    message) where decoding or reading it fails."""
    try:
        return "values", values(decoder(message))
    except Exception as exc:  # pydicom raises many kinds on malformed input
        return "error", f"{type(exc).__name__}: {exc}"


ITEM = bytes.fromhex("feff00e0")  # (FFFE,E000) Item, little endian


@pytest.mark.parametrize("damage", [
    lambda m, at: m.__setitem__(slice(at + 4, at + 8), (0xFFFFFF00).to_bytes(4, "little")),
    lambda m, at: m.__setitem__(slice(at, at + 4), b"\x01\x02\x03\x04"),
    lambda m, at: m.__delitem__(slice(at + 30, at + 40)),
], ids=["item length past the end", "not an item tag", "item cut short"])
def test_a_damaged_sequence_reads_as_pydicom_reads_it(damage: Any) -> None:
    message = bytearray(encoded(image_box(False, bytes(SIDE * SIDE)), True).getvalue())
    damage(message, message.index(ITEM))
    ours = outcome(bytes(message), lambda m: decode_received(io.BytesIO(m),
                                                             ImplicitVRLittleEndian))
    assert ours == outcome(bytes(message), lambda m: decode(io.BytesIO(m), True, True))


def test_pixel_data_is_copied_where_keeping_it_would_hold_much_more_of_the_message() -> None:
    small_rest = memoryview(bytes(PINNED_SLACK_BYTES + 1000))[1000:]
    assert pixel_bytes(small_rest) is small_rest
    large_rest = memoryview(bytes(PINNED_SLACK_BYTES + 1001))[:1000]
    kept = pixel_bytes(large_rest)
    assert isinstance(kept, bytes) and kept == bytes(1000)
    assert pixel_bytes(b"abc") == b"abc"

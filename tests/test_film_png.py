"""film.png: the PNG encoder, checked by decoding with Pillow and zlib (independent decoders)."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from film.png import PNG_SIGNATURE, encode_raster, png_file


def decode(raster_pixels: np.ndarray, dpi: float = 300) -> Image.Image:
    return Image.open(io.BytesIO(png_file(encode_raster(raster_pixels), dpi)))


def test_8_bit_gray_round_trips_with_every_row_difference():
    rng = np.random.default_rng(7)
    pixels = rng.integers(0, 256, (61, 37), dtype=np.uint8)
    pixels[1] = 255 - pixels[0]  # differences that wrap modulo 256 in the Up filter
    image = decode(pixels)
    assert image.mode == "L"
    np.testing.assert_array_equal(np.asarray(image), pixels)


def test_16_bit_gray_keeps_both_bytes_of_every_sample():
    rng = np.random.default_rng(8)
    pixels = rng.integers(0, 65536, (40, 33), dtype=np.uint16)
    pixels[0, :3] = [0, 65535, 256]  # extremes and a value whose low byte is zero
    image = decode(pixels)
    assert image.mode.startswith("I")
    np.testing.assert_array_equal(np.asarray(image).astype(np.uint16), pixels)


def test_rgb_round_trips():
    rng = np.random.default_rng(9)
    pixels = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)
    image = decode(pixels)
    assert image.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(image), pixels)


def test_a_single_row_and_a_single_column():
    row = np.arange(200, dtype=np.uint8)[np.newaxis, :]
    column = np.arange(200, dtype=np.uint8)[:, np.newaxis]
    np.testing.assert_array_equal(np.asarray(decode(row)), row)
    np.testing.assert_array_equal(np.asarray(decode(column)), column)


def test_resolution_is_in_the_phys_chunk():
    image = decode(np.zeros((4, 4), np.uint8), dpi=150)
    # pHYs stores pixels per metre as an integer: 150 dpi -> 5906 px/m -> 150.01 dpi
    assert image.info["dpi"] == pytest.approx((150, 150), abs=0.02)


def test_the_stream_is_a_standard_zlib_stream_of_up_filtered_rows():
    pixels = np.array([[10, 20, 30], [15, 15, 40]], dtype=np.uint8)
    raster = encode_raster(pixels)
    rows = zlib.decompress(raster.idat)
    # row 0 unfiltered (type 0), row 1 "Up" (type 2): 15-10, 15-20 mod 256, 40-30
    assert rows == bytes([0, 10, 20, 30, 2, 5, 251, 10])
    assert (raster.width, raster.height, raster.channels, raster.bit_depth) == (3, 2, 1, 8)


def test_file_starts_with_the_signature_and_header():
    data = png_file(encode_raster(np.zeros((5, 7), np.uint16)), 300)
    assert data.startswith(PNG_SIGNATURE)
    assert data[12:16] == b"IHDR"
    assert int.from_bytes(data[16:20], "big") == 7 and int.from_bytes(data[20:24], "big") == 5
    assert data[24] == 16  # bit depth


@pytest.mark.parametrize("pixels", [
    np.zeros((4, 4), np.float32),
    np.zeros((4, 4, 3), np.uint16),
    np.zeros((4, 4, 2), np.uint8),
    np.zeros((0, 4), np.uint8),
    np.zeros(4, np.uint8),
])
def test_unsupported_pixels_are_refused(pixels):
    with pytest.raises(ValueError, match="PNG pixels"):
        encode_raster(pixels)


def test_a_canvas_compressed_in_parallel_slices_is_one_valid_stream():
    # 3000 x 1500 x 2 bytes = 9 MB: above the slice threshold, so several slices
    rows = np.arange(3000, dtype=np.uint32)[:, np.newaxis] * 7 + np.arange(1500) * 3
    pixels = (rows % 65536).astype(np.uint16)
    raster = encode_raster(pixels)
    decompressor = zlib.decompressobj()
    rows_out = decompressor.decompress(raster.idat)
    assert decompressor.eof and decompressor.unused_data == b""  # Adler-32 checked by zlib
    assert len(rows_out) == 3000 * (1 + 1500 * 2)
    np.testing.assert_array_equal(np.asarray(decode(pixels)).astype(np.uint16), pixels)

"""film.png: the PNG encoder, checked by decoding with Pillow and zlib (independent decoders)."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest
from PIL import Image

from film import png
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


@pytest.mark.parametrize("split", [0, 1, 2, 65520, 65521, 65522, 200_000, 299_999])
def test_adler32_of_joined_strips_is_combined_from_their_own(split):
    data = np.random.default_rng(split).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
    first, second = data[:split], data[split:]
    combined = png._adler32_combine(zlib.adler32(first), zlib.adler32(second), len(second))
    assert combined == zlib.adler32(data)


def test_canvases_given_strip_by_strip_are_never_asked_for_whole(monkeypatch):
    monkeypatch.setattr(png, "_STRIP_BYTES", 1000)  # 7 rows of 140 bytes per strip
    rng = np.random.default_rng(11)
    gray = rng.integers(0, 256, (50, 140), dtype=np.uint8)
    wide = rng.integers(0, 65536, (50, 70), dtype=np.uint16)
    asked: list[tuple[int, int]] = []

    def rows(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        asked.append((start, stop))
        return gray[start:stop], wide[start:stop]

    gray_raster, wide_raster = png.encode_rasters(50, rows)
    strips = sorted(asked[1:])  # the first call is the geometry: one row
    assert asked[0] == (0, 1)
    assert [start for start, _ in strips] == [0] + [bound - 1 for bound in range(7, 50, 7)]
    assert all(stop - start <= 8 for start, stop in strips)  # 7 rows + the one above
    assert strips[-1][1] == 50
    decoded = [Image.open(io.BytesIO(png.png_file(raster, 150)))
               for raster in (gray_raster, wide_raster)]
    np.testing.assert_array_equal(np.asarray(decoded[0]), gray)
    np.testing.assert_array_equal(np.asarray(decoded[1]).astype(np.uint16), wide)


@pytest.mark.parametrize("later", [
    lambda rows: rows.astype(np.uint16),  # another dtype
    lambda rows: rows[:, :9],  # narrower
    lambda rows: rows[:1],  # fewer rows than asked for
])
def test_rows_of_another_kind_in_a_later_strip_are_refused(later, monkeypatch):
    monkeypatch.setattr(png, "_STRIP_BYTES", 10)  # one row per strip
    canvas = np.zeros((4, 10), np.uint8)
    with pytest.raises(ValueError, match=r"PNG rows 0\.\.1: got .* not 1 canvases of 2 rows"):
        png.encode_rasters(4, lambda start, stop: (canvas[start:stop] if stop == 1
                                                   else later(canvas[start:stop]),))

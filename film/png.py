"""Fast lossless PNG encoding of film canvases.

A film canvas is large (4200×5100 px at 300 dpi on 14×17 in) and encoding it
dominates the cost of writing a film. Pillow chooses a PNG filter per row by
trying all five, which costs more than the compression itself; here every
row uses the "Up" filter (the byte above, computed for the whole canvas in
one numpy subtraction) and zlib compresses at level 1 with the run-length
strategy (``Z_RLE``). On film canvases this is two to three times faster
than Pillow at ``compress_level=1`` and the files are no larger (measured by
``benchmarks/suite.py``, render section). The result is a standard PNG:
lossless, readable by any decoder.

Canvases are filtered and compressed in strips of rows (256 KiB each) on
all cores, as pigz does: each strip is an independent raw deflate stream
ended on a byte boundary (a sync flush), so their concatenation under one
zlib header and one Adler-32 (combined from the strips' own) is a single
valid zlib stream. zlib releases the GIL while it compresses. Only the
strips in hand are ever filtered, and a caller can compute each strip's rows
as they are needed (:func:`encode_rasters`): a film writer holds a few MiB of
canvas rows instead of its whole canvases.

The compressed rows (:class:`PngRaster`) are also what the PDF writer embeds
(FlateDecode with PNG predictors), so a film's pixels are compressed once.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

__all__ = ["PNG_SIGNATURE", "PngRaster", "encode_raster", "encode_rasters", "png_file",
           "read_raster"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_UP_FILTER = 2  # PNG filter type "Up": each byte minus the byte above it
_NO_FILTER = 0
_COLOR_TYPES = {1: 0, 3: 2}  # samples per pixel -> PNG colour type (gray, RGB)
_ZLIB_LEVEL = 1
_ZLIB_HEADER = b"\x78\x01"  # deflate, 32 KiB window, fastest level, no dictionary
_STRIP_BYTES = 256 << 10  # of a canvas's rows, filtered and compressed as one part
_ADLER_MODULUS = 65521  # of Adler-32 (RFC 1950)
_METRES_PER_INCH = 0.0254
_compressors = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                  thread_name_prefix="png-deflate")


@dataclass(frozen=True)
class PngRaster:
    """A canvas as PNG image data: its geometry and its zlib stream of filtered rows."""

    width: int  # px
    height: int  # px
    channels: int  # 1 gray, 3 RGB
    bit_depth: int  # 8 or 16 bits per sample
    idat: bytes  # zlib stream of the filtered rows (PNG filter method 0)


def encode_raster(pixels: np.ndarray) -> PngRaster:
    """Filter and compress H×W uint8/uint16 gray or H×W×3 uint8 RGB pixels.

    Raises ValueError for any other shape or dtype.
    """
    _check_pixels(pixels)
    return encode_rasters(len(pixels), lambda start, stop: (pixels[start:stop],))[0]


def encode_rasters(height: int, rows: Callable[[int, int], Sequence[np.ndarray]]
                   ) -> list[PngRaster]:
    """Filter and compress canvases of ``height`` rows, given a strip at a time:
    ``rows(start, stop)`` returns rows ``start`` to ``stop`` of each canvas (H×W
    uint8/uint16 gray or H×W×3 uint8 RGB, the same canvases in the same order at every
    call). It is called once per strip, from the compressor threads, and may compute
    the rows: then no canvas is ever whole in memory, only the strips being encoded.

    Raises ValueError for rows of any other shape or dtype, or canvases of no rows.
    """
    if height < 1:
        raise ValueError(f"PNG pixels must not be empty, got {height} rows")
    first = rows(0, 1)
    for pixels in first:
        _check_pixels(pixels)
    row_bytes = max(pixels[0].nbytes for pixels in first)
    strip_rows = max(1, _STRIP_BYTES // row_bytes)
    bounds = list(range(0, height, strip_rows)) + [height]
    kinds = [(pixels.shape[1:], pixels.dtype) for pixels in first]
    count = len(bounds) - 1
    strips = _compressors.map(_encode_strip, [rows] * count, [kinds] * count, bounds[:-1],
                              bounds[1:], [stop == height for stop in bounds[1:]])
    streams: list[list[bytes]] = [[_ZLIB_HEADER] for _ in first]
    checksums = [zlib.adler32(b"") for _ in first]
    for strip in strips:
        for index, (deflated, checksum, length) in enumerate(strip):
            streams[index].append(deflated)
            checksums[index] = _adler32_combine(checksums[index], checksum, length)
    return [PngRaster(pixels.shape[1], height, 1 if pixels.ndim == 2 else pixels.shape[2],
                      pixels.dtype.itemsize * 8,
                      b"".join((*stream, struct.pack(">I", checksum))))
            for pixels, stream, checksum in zip(first, streams, checksums, strict=True)]


def _check_pixels(pixels: np.ndarray) -> None:
    """Raise ValueError unless ``pixels`` are H×W uint8/uint16 gray or H×W×3 uint8 RGB."""
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG pixels must be uint8 or uint16, got {pixels.dtype}")
    channels = 1 if pixels.ndim == 2 else pixels.shape[2] if pixels.ndim == 3 else 0
    if channels not in _COLOR_TYPES or (channels == 3 and pixels.dtype != np.uint8):
        raise ValueError(f"PNG pixels must be H×W gray or H×W×3 uint8 RGB, got "
                         f"{pixels.dtype} {pixels.shape}")
    if pixels.shape[0] == 0 or pixels.shape[1] == 0:
        raise ValueError(f"PNG pixels must not be empty, got shape {pixels.shape}")


def _encode_strip(rows: Callable[[int, int], Sequence[np.ndarray]],
                  kinds: list[tuple[tuple[int, ...], np.dtype]], start: int, stop: int,
                  final: bool) -> list[tuple[bytes, int, int]]:
    """(raw deflate, Adler-32, length) of the filtered rows ``start`` to ``stop`` of each
    canvas, whose (row shape, dtype) ``kinds`` gives; the deflate stream is ended if
    ``final``, else on a byte boundary."""
    above = max(0, start - 1)  # the row above the strip, for the Up filter of its first row
    encoded = []
    given = rows(above, stop)
    if [(len(pixels), pixels.shape[1:], pixels.dtype) for pixels in given] != [
            (stop - above, *kind) for kind in kinds]:
        raise ValueError(f"PNG rows {above}..{stop - 1}: got "
                         f"{[(p.dtype.name, p.shape) for p in given]}, not "
                         f"{len(kinds)} canvases of {stop - above} rows as the first")
    for pixels in given:
        samples = np.ascontiguousarray(pixels, dtype=pixels.dtype.newbyteorder(">"))
        samples = samples.view(np.uint8).reshape(len(samples), -1)  # PNG is big-endian
        filtered = np.empty((stop - start, samples.shape[1] + 1), dtype=np.uint8)
        filtered[:, 0] = _UP_FILTER
        if start == 0:  # the canvas's first row has none above it: unfiltered
            filtered[0, 0] = _NO_FILTER
            filtered[0, 1:] = samples[0]
        # every other row minus the one above it, wrapping modulo 256 as PNG wants
        np.subtract(samples[1:], samples[:-1], out=filtered[1 if start == 0 else 0:, 1:])
        compressor = zlib.compressobj(_ZLIB_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS, 9,
                                      zlib.Z_RLE)
        # .data: numpy types ndarray as a buffer on 3.12+ only
        deflated = compressor.compress(filtered.data) + compressor.flush(
            zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)
        encoded.append((deflated, zlib.adler32(filtered.data), filtered.nbytes))
    return encoded


def _adler32_combine(first: int, second: int, second_length: int) -> int:
    """Adler-32 of two byte strings one after the other, from the checksum of each and the
    length of the second (zlib's ``adler32_combine``, which Python's zlib lacks)."""
    remainder = second_length % _ADLER_MODULUS
    low = ((first & 0xFFFF) + (second & 0xFFFF) + _ADLER_MODULUS - 1) % _ADLER_MODULUS
    high = (remainder * (first & 0xFFFF) + (first >> 16) + (second >> 16)
            + _ADLER_MODULUS - remainder) % _ADLER_MODULUS
    return low | (high << 16)


def png_file(raster: PngRaster, dpi: float) -> bytes:
    """The PNG file of ``raster``, with its resolution (dpi) in the pHYs chunk."""
    header = struct.pack(">IIBBBBB", raster.width, raster.height, raster.bit_depth,
                         _COLOR_TYPES[raster.channels], 0, 0, 0)
    pixels_per_metre = round(dpi / _METRES_PER_INCH)
    physical = struct.pack(">IIB", pixels_per_metre, pixels_per_metre, 1)  # unit: metre
    return b"".join((PNG_SIGNATURE, *_chunk(b"IHDR", header), *_chunk(b"pHYs", physical),
                     *_chunk(b"IDAT", raster.idat), *_chunk(b"IEND", b"")))


def _chunk(kind: bytes, data: bytes) -> tuple[bytes, bytes, bytes]:
    """One PNG chunk as (length and type, data, CRC-32 of type and data), joined once."""
    return (struct.pack(">I", len(data)) + kind, data,
            struct.pack(">I", zlib.crc32(data, zlib.crc32(kind))))


def read_raster(data: bytes) -> PngRaster:
    """The raster of a PNG file, its IDAT data kept compressed (a film's PNG, for the PDF).

    Raises ValueError for data that is not a non-interlaced gray or RGB PNG.
    """
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG file (no PNG signature)")
    offset, header, idat = len(PNG_SIGNATURE), None, []
    while offset + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        body = data[offset + 8:offset + 8 + length]
        if len(body) != length:
            raise ValueError(f"PNG chunk {kind!r} is cut short")
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        offset += 12 + length
    channels = {color: ch for ch, color in _COLOR_TYPES.items()}
    if header is None or not idat or header[3] not in channels or header[6] != 0:
        raise ValueError("PNG is not a non-interlaced gray or RGB image with pixel data")
    width, height, bit_depth, color_type = header[:4]
    return PngRaster(width, height, channels[color_type], bit_depth, b"".join(idat))

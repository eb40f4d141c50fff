"""Output files of a rendered film: light-box PNG, density PNG, one-page PDF, JSON.

``write_film`` turns a :class:`film.model.RenderedFilm` into four files named
from one stem:

* ``<stem>.png``: the film as it looks on a light box (8-bit gray by
  ``lut.density.lightbox_gray_levels``, RGB where the film holds color
  images), resolution in dpi in the pHYs chunk;
* ``<stem>.density.png``: 16-bit gray, one unit = 0.001 OD, same pixel grid;
* ``<stem>.pdf``: one page exactly the size of the film carrying the
  light-box PNG's own compressed pixel rows (lossless, encoded once, never
  JPEG) and the annotation text as searchable text (:mod:`film.pdf`);
* ``<stem>.json``: the caller's metadata plus what the writer knows (dpi, film
  size in mm, pixel grid, rectangles of image and annotation boxes in pixels,
  the annotation text as set, render warnings, names of the sibling files).

Every file is staged in a temporary file in the output directory, flushed and
fsync'ed; only when all four are staged are they renamed into place (the JSON
last, so its presence means the set is complete). A failure before that
leaves no file under a final name. Strings that came from the network may only
travel in ``metadata``: they end up escaped in JSON and in PDF text strings,
never in a path.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from pathlib import Path, PurePath
from typing import Any

import numpy as np

from film.model import RenderedFilm
from film.pdf import FilmPage, pdf_document
from film.png import PngRaster, encode_rasters, png_file
from film.staged_files import staging, validate_stem
from lut.density import ViewingConditions, lightbox_gray_levels

__all__ = ["CREATOR", "DENSITY_UNITS_PER_OD", "FilmFiles", "write_film"]

CREATOR = "filmbox print-scp"
DENSITY_UNITS_PER_OD = 1000  # <stem>.density.png stores thousandths of OD
MM_PER_INCH = 25.4
_JSON_RESERVED_KEY = "film"
_GRAY_TABLE_UNITS = 4096  # density units of the smallest light-box table (4.095 OD)


@dataclass(frozen=True)
class FilmFiles:
    """Paths of the four files written for one film."""

    pdf: Path
    png: Path
    density_png: Path
    json: Path


def write_film(
    film: RenderedFilm, out_dir: Path, name: str, metadata: Mapping[str, Any]
) -> FilmFiles:
    """Write ``<name>.pdf``, ``.png``, ``.density.png`` and ``.json`` into ``out_dir``.

    ``name`` must be a safe stem built by the caller from server-generated
    ids (ValueError otherwise). ``metadata`` is JSON-serialisable; its
    optional ``"pdf_info"`` entry (str -> str) adds to or overrides the PDF
    document information (Title, Author, Subject, Keywords, custom keys). The
    key ``"film"`` is reserved for what the writer records. Returns the paths.
    """
    validate_stem(name)
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        raise NotADirectoryError(f"output directory {out_dir} does not exist or is not a directory")
    if _JSON_RESERVED_KEY in metadata:
        raise ValueError(f"metadata key {_JSON_RESERVED_KEY!r} is reserved for the film writer")
    _check_film(film)
    files = FilmFiles(
        pdf=out_dir / f"{name}.pdf",
        png=out_dir / f"{name}.png",
        density_png=out_dir / f"{name}.density.png",
        json=out_dir / f"{name}.json",
    )
    pdf_info = _pdf_info(name, film, metadata.get("pdf_info", {}))
    json_document = _json_document(film, files, metadata)  # bad metadata fails before the work
    lightbox, density = _encode_canvases(film)
    with staging(out_dir) as stage:
        stage(files.png, png_file(lightbox, film.dpi))
        stage(files.density_png, png_file(density, film.dpi))
        page = FilmPage(lightbox, film.width_mm, film.height_mm, tuple(film.annotation_texts))
        stage(files.pdf, pdf_document([page], pdf_info))
        stage(files.json, json_document)
    return files


def _check_film(film: RenderedFilm) -> None:
    """Raise ValueError if the arrays of ``film`` do not describe one sheet."""
    density = film.density
    if density.ndim != 2 or density.size == 0:
        raise ValueError(f"film density must be a non-empty 2-D array, got shape {density.shape}")
    if not np.isfinite([density.min(), density.max()]).all():  # both NaN if one is
        raise ValueError("film density holds NaN or infinite values")
    if film.dpi <= 0:
        raise ValueError(f"film dpi must be positive, got {film.dpi}")
    if film.width_mm <= 0 or film.height_mm <= 0:
        raise ValueError(f"film size must be positive, got {film.width_mm} x {film.height_mm} mm")
    if (film.rgb is None) != (film.color_mask is None):
        raise ValueError("film rgb and color_mask must be given together")
    if film.rgb is not None and film.color_mask is not None:  # both or neither, checked above
        if film.rgb.shape != density.shape + (3,) or film.rgb.dtype != np.uint8:
            raise ValueError(
                f"film rgb must be uint8 of shape {density.shape + (3,)}, "
                f"got {film.rgb.dtype} {film.rgb.shape}"
            )
        if film.color_mask.shape != density.shape or film.color_mask.dtype != np.bool_:
            raise ValueError(
                f"film color_mask must be bool of shape {density.shape}, "
                f"got {film.color_mask.dtype} {film.color_mask.shape}"
            )


def _encode_canvases(film: RenderedFilm) -> list[PngRaster]:
    """The light-box and density PNG rasters of ``film``, computed and encoded a strip of
    rows at a time (:func:`film.png.encode_rasters`): neither canvas is ever whole.

    Light box: H×W uint8 gray, or H×W×3 uint8 where the film holds color. Its gray
    comes from the density as stored in the density PNG (thousandths of OD) through
    one table of ``lut.density.lightbox_gray_levels``, so the two PNGs agree exactly
    and each pixel costs one lookup.
    """
    density, rgb, color_mask = film.density, film.rgb, film.color_mask
    highest = int(_density_units(np.array([density.max()], dtype=density.dtype))[0])
    table = _gray_table(film.viewing, max(_GRAY_TABLE_UNITS, 1 << highest.bit_length()))
    color = rgb is not None and color_mask is not None and bool(color_mask.any())

    def rows(start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        units = _density_units(density[start:stop])
        gray = np.take(table, units)  # np.take: faster than table[units]
        if color and rgb is not None and color_mask is not None:
            return np.where(color_mask[start:stop, :, np.newaxis], rgb[start:stop],
                            gray[..., np.newaxis]), units
        return gray, units

    return encode_rasters(len(density), rows)


@functools.lru_cache(maxsize=16)
def _gray_table(viewing: ViewingConditions, units: int) -> np.ndarray:
    """Light-box gray level of each density unit below ``units``, read-only.

    Cached: the films of a printer are mostly viewed alike, and a table costs 1.6 ms of
    CPU (4096 units; measured), about 3 % of an 8×10 in film's render and write at
    150 dpi.
    """
    table = lightbox_gray_levels(np.arange(units) / DENSITY_UNITS_PER_OD, viewing)
    table.flags.writeable = False
    return table


def _density_units(density: np.ndarray) -> np.ndarray:
    """OD -> uint16 thousandths of OD (rounded, clipped to 0..65535)."""
    scaled = np.multiply(density, DENSITY_UNITS_PER_OD, dtype=np.float32)
    np.rint(scaled, out=scaled)
    np.clip(scaled, 0, np.iinfo(np.uint16).max, out=scaled)
    return scaled.astype(np.uint16)


def _pdf_info(name: str, film: RenderedFilm, extra: Mapping[str, str]) -> dict[str, str]:
    """PDF document information: defaults, then the caller's ``pdf_info``."""
    if not isinstance(extra, Mapping):
        raise TypeError(f"metadata['pdf_info'] must be a mapping, got {type(extra).__name__}")
    info = {
        "Title": name,
        "Author": CREATOR,
        "Creator": CREATOR,
        "Producer": CREATOR,
        "Subject": f"DICOM print film, {film.width_mm:g} x {film.height_mm:g} mm",
        "Keywords": "DICOM, print, film",
    }
    for key, value in extra.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"metadata['pdf_info'] must map str to str, got {key!r}: {value!r}")
        if not key or "\x00" in key:
            raise ValueError(f"metadata['pdf_info'] key {key!r} cannot be a PDF name")
        info[key] = value
    return info


def _json_document(film: RenderedFilm, files: FilmFiles, metadata: Mapping[str, Any]) -> bytes:
    """``metadata`` plus the writer's facts under ``"film"``, as UTF-8 JSON."""
    height_px, width_px = film.density.shape
    document = dict(metadata)
    document[_JSON_RESERVED_KEY] = {
        "width_mm": film.width_mm,
        "height_mm": film.height_mm,
        "dpi": film.dpi,
        "width_px": width_px,
        "height_px": height_px,
        "pixel_spacing_mm": MM_PER_INCH / film.dpi,
        "reflective": film.reflective,
        "illumination_cd_m2": film.viewing.illumination,
        "reflected_ambient_light_cd_m2": film.viewing.reflected_ambient_light,
        "color": film.color_mask is not None and bool(film.color_mask.any()),
        "image_box_rects_px": _rects_json(film.image_box_rects_px),
        "annotation_rects_px": _rects_json(film.annotation_rects_px),
        "annotation_texts": [placed.to_json() for placed in film.annotation_texts],
        "warnings": list(film.warnings),
        "files": {
            "pdf": files.pdf.name,
            "png": files.png.name,
            "density_png": files.density_png.name,
            "density_png_units_per_od": DENSITY_UNITS_PER_OD,
        },
    }
    text = json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False,
                      default=_json_default)
    # Lone surrogates cannot be UTF-8: "backslashreplace" writes them as \udcXX,
    # which is a valid JSON escape because JSON structure itself is ASCII.
    return text.encode("utf-8", "backslashreplace")


def _rects_json(rects: Mapping[int, tuple[int, int, int, int]]) -> list[dict[str, int]]:
    """{position: (x, y, width, height)} -> list of dicts sorted by position."""
    return [
        {"position": int(position), "x": int(x), "y": int(y), "width": int(w), "height": int(h)}
        for position, (x, y, w, h) in sorted(rects.items())
    ]


def _json_default(value: Any) -> Any:
    """JSON form of the non-JSON values a caller is likely to put in metadata."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    raise TypeError(f"metadata value of type {type(value).__name__} is not JSON serialisable")

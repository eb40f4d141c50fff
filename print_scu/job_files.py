"""A queued job's films on disk, in its directory of the spool: two files per job.

    pixels       every image's samples, one image after another, each starting at a
                 multiple of 64 bytes (C order, this host's byte order)
    films.json   {"films": [{"images": [image, ...], "annotations": [text, ...]}, ...]},
                 each image its PreparedImage.description() plus where its samples are:
                 "offset" (bytes into ``pixels``), "dtype" (numpy's, e.g. "<u2") and
                 "shape" ([rows, columns] or [rows, columns, 3]); "annotations" only
                 where the film has Annotation Box texts of its own

Both are written and fsync'ed by :func:`write_job`, and a film is read back by
reading only its own samples. Spools of earlier versions hold two files per
film, ``film-<n>.npz`` (arrays image0, image1, ...) and ``film-<n>.json``
({"images": [...], "annotations"}), and are read as they are, so that jobs
queued before an upgrade still print.
"""

from __future__ import annotations

import functools
import json
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from film.durable import write_durably
from print_scu.prepared_image import PreparedImage

__all__ = ["FILMS_NAME", "PIXELS_NAME", "MissingFilm", "load_annotations", "load_film",
           "write_job"]

PIXELS_NAME = "pixels"
FILMS_NAME = "films.json"
_ALIGNMENT = 64  # bytes: every image starts at a multiple of this in ``pixels``


class MissingFilm(LookupError):
    """A film the job's directory does not hold; the message says what is missing."""


def write_job(directory: Path, films: Sequence[Sequence[PreparedImage]],
              annotations: Sequence[Sequence[str]] = ()) -> None:
    """Write ``films`` (and each film's ``annotations``, if given) into ``directory``, fsync'ed."""
    described: list[dict[str, Any]] = []
    layout: list[tuple[int, np.ndarray]] = []
    offset = 0
    for index, film in enumerate(films):
        images = []
        for image in film:
            pixels = np.ascontiguousarray(image.pixels)
            images.append({**image.description(), "offset": offset, "dtype": pixels.dtype.str,
                           "shape": list(pixels.shape)})
            layout.append((offset, pixels))
            offset += -(-pixels.nbytes // _ALIGNMENT) * _ALIGNMENT
        entry: dict[str, Any] = {"images": images}
        if annotations:
            entry["annotations"] = list(annotations[index])
        described.append(entry)

    def samples(handle: BinaryIO) -> None:
        for start, pixels in layout:
            handle.seek(start)
            handle.write(pixels.data.cast("B"))

    write_durably(directory / PIXELS_NAME, samples)
    write_durably(directory / FILMS_NAME, json.dumps({"films": described}).encode())


def load_film(directory: Path, index: int) -> list[PreparedImage]:
    """The images of film ``index`` (0-based), in box order; MissingFilm if it is not there
    or cannot be read back."""
    with _read_errors(directory):
        film = _film(directory, index)
        if film is None:
            return _load_film_of_an_earlier_version(directory, index)
        images = []
        with (directory / PIXELS_NAME).open("rb") as handle:
            for described in film["images"]:
                pixels = np.empty(described["shape"], dtype=np.dtype(described["dtype"]))
                handle.seek(described["offset"])
                if handle.readinto(pixels.data.cast("B")) != pixels.nbytes:
                    raise MissingFilm(f"{directory / PIXELS_NAME} is cut short")
                images.append(PreparedImage.from_description(pixels, described))
        return images


def load_annotations(directory: Path, index: int) -> list[str] | None:
    """The Annotation Box texts of film ``index`` (0-based), None if the job stored none
    per film; MissingFilm if the film is not there or cannot be read back."""
    with _read_errors(directory):
        film = _film(directory, index)
        if film is None:
            film = _read_json(directory / f"film-{index}.json")
        texts = film.get("annotations")
        return None if texts is None else [str(text) for text in texts]


@contextmanager
def _read_errors(directory: Path) -> Iterator[None]:
    """A missing file, or files that are not what :func:`write_job` wrote (damaged on
    disk, edited), as MissingFilm naming what is wrong."""
    try:
        yield
    except FileNotFoundError as exc:
        raise MissingFilm(f"{exc.filename} is missing") from None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError, OSError,
            zipfile.BadZipFile) as exc:
        raise MissingFilm(f"{directory} is damaged ({type(exc).__name__}: {exc})") from None


def _film(directory: Path, index: int) -> dict[str, Any] | None:
    """Film ``index`` of ``films.json``; None if the job was written by an earlier version."""
    path = directory / FILMS_NAME
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    films = _films(str(path), (stat.st_ino, stat.st_mtime_ns, stat.st_size))
    if not 0 <= index < len(films):
        raise MissingFilm(f"the job has {len(films)} film(s)")
    return films[index]


@functools.lru_cache(maxsize=8)
def _films(path: str, version: tuple[int, int, int]) -> list[dict[str, Any]]:
    """The films of a ``films.json``, parsed once per file, not once per film (a job's
    films are loaded one by one); ``version``, its inode, mtime (ns) and size, tells a
    new file at the same path (a job id used again) from the one parsed before.
    Callers must not change what it returns."""
    films: list[dict[str, Any]] = _read_json(Path(path))["films"]
    return films


def _load_film_of_an_earlier_version(directory: Path, index: int) -> list[PreparedImage]:
    described = _read_json(directory / f"film-{index}.json")["images"]
    with np.load(directory / f"film-{index}.npz", allow_pickle=False) as arrays:
        return [PreparedImage.from_description(arrays[f"image{k}"], d)
                for k, d in enumerate(described)]


def _read_json(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_bytes())
    return document

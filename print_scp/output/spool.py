"""The output spool: films accepted by N-ACTION, kept on disk until rendered.

A print job is saved before its N-ACTION is answered, as one directory under
``<output>/.spool/``: ``job.json`` (the job and each film's specification and
metadata) and one ``.npy`` file per array (the image boxes' pixels, and
Presentation LUT tables; loaded memory-mapped, so a render reads only what its
film needs). The server writes each image ahead, at its N-SET, into
``.spool/.images/`` (``print_scp.output.image_files``); saving the job links
those files instead of writing the pixels again. The directory is written
under a temporary name and renamed into place, so a job either is in the spool
whole or not at all. It is removed only after every film of the job has been
written, so a server that dies in between renders the job again when it
restarts (rendering is idempotent: the same names are written again).

Durability: the job is written to the operating system before the N-ACTION
response, so it survives the printer process being killed at any moment.
Its files and directory are fsynced by a background thread, which takes the
~25 ms of a 16 MiB film off the N-ACTION response; a power cut in the few
milliseconds before that flush completes can lose the job. A stopping printer
closes the spool: what is queued is flushed, then the thread ends.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import queue
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from film.durable import fsync_directory, fsync_file
from film.model import (
    FilmSpec,
)
from film.spec_json import spec_from_json, spec_to_json

LOG = logging.getLogger("print_scp.spool")

FORMAT_VERSION = 2
_JOB_FILE = "job.json"
#: Where the server writes images ahead of their print (``print_scp.output.image_files``)
IMAGES_DIR = ".images"
# write() errors that mean "no room": file system full, quota, file size limit
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_disk_full(exc: OSError) -> bool:
    """True if a write failed for lack of room, not for any other reason."""
    return exc.errno in _NO_ROOM


@dataclass
class SpooledFilm:
    name: str  # output file stem
    spec: FilmSpec
    metadata: dict[str, Any]


@dataclass
class SpooledJob:
    job_uid: str
    priority: str
    originator: str
    created: str  # ISO 8601
    films: list[SpooledFilm]
    session_label: str | None = None

    @property
    def pixel_bytes(self) -> int:
        """Bytes of pixels in the job's image boxes (what the printer's memory budget counts)."""
        return sum(box.image.pixels.nbytes for film in self.films
                   for box in film.spec.image_boxes if box.image is not None)

    @property
    def copies(self) -> int:
        """Number of Copies of each film (the film session's; 1 where none is recorded)."""
        if not self.films:
            return 1
        return max(1, int(self.films[0].metadata.get("print_job", {}).get("copies") or 1))


class Spool:
    """Durable storage of jobs between N-ACTION and rendering."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.failed_dir = self.root / "failed"
        self._unflushed: queue.SimpleQueue[Path | None] = queue.SimpleQueue()  # None: stop
        self._flusher: threading.Thread | None = None  # started by the first background save
        self._flusher_lock = threading.Lock()

    def _path(self, job_uid: str) -> Path:
        return self.root / job_uid

    def save(self, job: SpooledJob,
             written: Callable[[np.ndarray], Path | None] | None = None) -> None:
        """Write the job whole (temporary directory, rename); fsync it in the background.

        ``written(array)`` names a file of this file system that already holds an
        array in the spool's format (``print_scp.output.image_files``): it is linked
        into the job instead of being written again.

        If writing fails (OSError, e.g. the disk is full) nothing of the job is left.
        """
        staging = self.root / f".{job.job_uid}.tmp"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
        try:
            self._write(job, staging, written)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        final = self._path(job.job_uid)
        os.replace(staging, final)
        self._unflushed.put(final)
        with self._flusher_lock:  # N-ACTIONs of several associations may save at once
            if self._flusher is None:
                self._flusher = threading.Thread(target=self._flush_forever,
                                                 name="spool-flush", daemon=True)
                self._flusher.start()

    def _write(self, job: SpooledJob, staging: Path,
               written: Callable[[np.ndarray], Path | None] | None) -> None:
        """The job's arrays (linked where ``written`` names their file) and ``job.json``
        into ``staging``."""
        arrays: dict[str, np.ndarray] = {}
        document = {
            "format": FORMAT_VERSION,
            "job_uid": job.job_uid, "priority": job.priority, "originator": job.originator,
            "created": job.created, "session_label": job.session_label,
            "films": [
                {"name": f.name, "spec": spec_to_json(f.spec, f"f{i}", arrays),
                 "metadata": f.metadata}
                for i, f in enumerate(job.films)
            ],
        }
        for key, array in arrays.items():
            target = staging / f"{key}.npy"
            source = written(array) if written is not None else None
            if source is not None:
                try:
                    os.link(source, target)
                    continue
                except OSError:  # removed meanwhile, or no hard links here: write it
                    pass
            save_array(target, array)
        (staging / _JOB_FILE).write_bytes(json.dumps(document, default=str).encode())

    def close(self) -> None:
        """Flush the jobs saved so far, then end the background thread (a later save
        starts another)."""
        with self._flusher_lock:
            flusher, self._flusher = self._flusher, None
        if flusher is not None:
            self._unflushed.put(None)
            flusher.join()

    def _flush_forever(self) -> None:
        """Background fsync of saved jobs, oldest first, until :meth:`close`."""
        while True:
            directory = self._unflushed.get()
            if directory is None:
                return
            try:
                _fsync_job(directory)
                fsync_directory(self.root)
            except FileNotFoundError:
                pass  # rendered and removed before the flush: nothing left to keep
            except OSError as exc:
                LOG.error("cannot flush spooled job %s to disk: %s", directory.name, exc)

    def load(self, job_uid: str) -> SpooledJob:
        """The job as saved; its arrays are memory-mapped (read when rendered)."""
        path = self._path(job_uid)
        document = json.loads((path / _JOB_FILE).read_text())
        if document.get("format") != FORMAT_VERSION:
            raise ValueError(f"spool format {document.get('format')!r}, this printer reads "
                             f"{FORMAT_VERSION}")
        arrays = {file.stem: np.load(file, mmap_mode="r", allow_pickle=False)
                  for file in path.glob("*.npy")}
        films = [SpooledFilm(f["name"], spec_from_json(f["spec"], arrays), f["metadata"])
                 for f in document["films"]]
        return SpooledJob(document["job_uid"], document["priority"], document["originator"],
                          document["created"], films, document.get("session_label"))

    def remove(self, job_uid: str) -> None:
        shutil.rmtree(self._path(job_uid), ignore_errors=True)
        fsync_directory(self.root)

    def quarantine(self, job_uid: str) -> Path:
        """Move a job that cannot be rendered aside, for a human to look at."""
        self.failed_dir.mkdir(exist_ok=True)
        target = self.failed_dir / job_uid
        shutil.rmtree(target, ignore_errors=True)
        os.replace(self._path(job_uid), target)
        return target

    def pending(self) -> list[str]:
        """Job UIDs in the spool, oldest first (left over from a previous run).

        A job directory without its ``job.json`` is what remains of a rendered job whose
        removal was cut short (jobs arrive whole, by rename): it is removed.
        """
        for leftover in self.root.glob(".*.tmp"):
            shutil.rmtree(leftover, ignore_errors=True)
        jobs = []
        for path in self.root.iterdir():
            if not path.is_dir() or path == self.failed_dir or path.name == IMAGES_DIR:
                continue
            if (path / _JOB_FILE).exists():
                jobs.append(path)
            else:
                LOG.info("spool: removing %s, a rendered job whose removal was cut short",
                         path.name)
                shutil.rmtree(path, ignore_errors=True)
        return [p.name for p in sorted(jobs, key=lambda p: p.stat().st_mtime)]


def save_array(path: Path, array: np.ndarray) -> None:
    """``np.save`` whose write errors carry their errno (ENOSPC, EFBIG, ...).

    numpy writes to a real file with ``tofile``, which reports a short write
    as an OSError without errno: a full disk could not be told from any other
    failure.
    """
    data = np.ascontiguousarray(array)
    with path.open("wb") as handle:
        np.lib.format.write_array_header_1_0(handle,
                                             np.lib.format.header_data_from_array_1_0(data))
        handle.write(data.data)  # C-contiguous: its buffer is the bytes, no copy


def _fsync_job(directory: Path) -> None:
    """fsync every file of a job directory, then the directory itself."""
    for file in directory.iterdir():
        fsync_file(file)
    fsync_directory(directory)

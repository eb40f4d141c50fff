"""Retention of rendered films: delete films older than the profile's ``retention_days``.

A film is the set ``<stem>.json``, ``.pdf``, ``.png`` and ``.density.png``
that :func:`film.writers.write_film` leaves in the output directory; its age
is the age of its JSON (written last, when the set is complete). Only a JSON
whose ``film.files`` entry names exactly those siblings counts as a film, so
other files in the directory, the spool (``.spool/``) and the writer's
staging files are never touched. The job document of a film's Print Job
(``<job>.pdf``, :mod:`print_scp.output.job_document`) goes with the job's
first film to expire.

Deleting a film first renames its JSON to the hidden tombstone
``.<stem>.json.expired``: from that instant the set no longer looks complete
to anyone listing films, and a sweep interrupted before the images are gone
(a crash, a stop) finishes the job at the next sweep. The tombstone goes last.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from pathlib import Path

from film.staged_files import validate_stem
from print_scp.output.film_names import job_document_name

LOG = logging.getLogger("print_scp.retention")

SECONDS_PER_DAY = 86400.0
SWEEP_INTERVAL_S = 3600.0  # between two sweeps of a running printer
# The siblings of <stem>.json: file suffix -> its key in the JSON's "film"/"files".
FILM_SIBLINGS = {".pdf": "pdf", ".png": "png", ".density.png": "density_png"}
TOMBSTONE_SUFFIX = ".json.expired"
_FILM_NUMBER = re.compile(r"-\d\d$")  # a film of a Print Job: <job>-01, <job>-02, ...


class RetentionJanitor:
    """Deletes expired films from ``output_dir``: at :meth:`start`, then every ``interval_s``.

    ``retention_days`` 0 keeps films forever (:meth:`start` does nothing).
    """

    def __init__(self, output_dir: Path, retention_days: float,
                 interval_s: float = SWEEP_INTERVAL_S):
        if retention_days < 0 or interval_s <= 0:
            raise ValueError(f"retention {retention_days} days must be >= 0 and the sweep "
                             f"interval {interval_s} s positive")
        self.output_dir = Path(output_dir)
        self.retention_days = retention_days
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Sweep now and then every ``interval_s`` seconds, in a thread of its own."""
        if self.retention_days == 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()
        LOG.info("films older than %g days are deleted from %s (checked every %g s)",
                 self.retention_days, self.output_dir, self.interval_s)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop sweeping; a sweep in progress finishes the film in hand first."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sweep()
            except Exception:  # the next sweep may succeed: keep the thread alive
                LOG.exception("retention sweep of %s failed", self.output_dir)
            self._stop.wait(self.interval_s)

    def sweep(self, now: float | None = None) -> list[str]:
        """Delete every film whose JSON is older than the retention period; their stems.

        ``now`` is seconds since the epoch (default: the current time).
        Tombstones of an interrupted sweep are finished first.
        """
        for tombstone in self.output_dir.glob(f".*{TOMBSTONE_SUFFIX}"):
            self._finish(tombstone)
        cutoff = (time.time() if now is None else now) - self.retention_days * SECONDS_PER_DAY
        deleted = []
        with os.scandir(self.output_dir) as entries:
            candidates = [entry for entry in entries
                          if entry.name.endswith(".json") and not entry.name.startswith(".")
                          and entry.is_file(follow_symlinks=False)
                          and entry.stat(follow_symlinks=False).st_mtime < cutoff]
        for entry in candidates:
            if self._stop.is_set():
                break
            stem = entry.name.removesuffix(".json")
            if not _is_film_json(Path(entry.path), stem):
                continue
            tombstone = self.output_dir / f".{stem}{TOMBSTONE_SUFFIX}"
            try:
                os.replace(entry.path, tombstone)
            except FileNotFoundError:  # deleted meanwhile by someone else
                continue
            self._finish(tombstone)
            deleted.append(stem)
        if deleted:
            LOG.info("deleted %d films older than %g days from %s", len(deleted),
                     self.retention_days, self.output_dir)
        return deleted

    def _finish(self, tombstone: Path) -> None:
        """Delete the images of a tombstoned film, then the tombstone."""
        stem = tombstone.name[1:].removesuffix(TOMBSTONE_SUFFIX)
        try:
            validate_stem(stem)
        except ValueError:
            LOG.warning("retention: %s is not a tombstone of a film, left alone", tombstone)
            return
        for suffix in FILM_SIBLINGS:
            (self.output_dir / f"{stem}{suffix}").unlink(missing_ok=True)
        if _FILM_NUMBER.search(stem):
            (self.output_dir / f"{job_document_name([stem])}.pdf").unlink(missing_ok=True)
        tombstone.unlink(missing_ok=True)
        LOG.debug("deleted film %s", stem)


def _is_film_json(path: Path, stem: str) -> bool:
    """True if ``path`` is the JSON of a film written by film.writers under ``stem``."""
    try:
        validate_stem(stem)
        files = json.loads(path.read_bytes())["film"]["files"]
        return all(files[key] == f"{stem}{suffix}" for suffix, key in FILM_SIBLINGS.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False

"""The durable print queue: job rows in SQLite, each job's pixels in the spool directory.

A spool directory holds::

    queue.sqlite              jobs, events, id reservations, films awaiting their Print
                              Job, printers' last status, schema version (WAL,
                              synchronous=FULL)
    jobs/<id>/                the job's films: its images' pixels and descriptions, its
                              Annotation Box texts (:mod:`print_scu.job_files`)
    jobs/.staging-<id>/       a job's films while they are being written
    jobs/.removing-<id>/      a done job's films while they are being removed

Durability: a job first reserves its id (a row in ``reservations`` naming the
submitting process). Its films are written into the staging directory, both
files and the directory fsync'ed, the directory renamed to ``jobs/<id>`` and
``jobs/`` fsync'ed; only then is the job row committed, in the transaction
that drops the reservation. A committed job therefore always has its pixels,
and a crash in between leaves a reservation of a dead process and perhaps a
directory, both removed by :meth:`JobQueue.recover`. Each change is one
transaction in WAL mode, so a kill -9 at any point loses at most the change
in flight. The commits that submit, end, defer, cancel or retry a job are
fsync'ed (synchronous=FULL); those in between, a job claimed, its progress
after each film, a printer's status, are not (NORMAL: measured, 2 ms less
per film while a printer on the same disk writes its files). A power cut
or an operating system crash may therefore undo the last of those: the job
is then printing, or queued, at an earlier film, and the films since are
printed again; none is lost.

Concurrency: each thread has a connection of its own, kept open for the
life of the :class:`JobQueue` (closing the last connection of a WAL database
checkpoints it: a cost per operation otherwise), so one queue serves any
number of threads, and the worker and the CLI (separate processes) share the
spool. Every change begins with BEGIN IMMEDIATE, which takes the
database's write lock before anything is read, so two workers never claim the
same job; the busy timeout makes a writer wait for the lock instead of failing.
Liveness of a submitting process is checked by its pid, so a spool belongs to
one host (POSIX).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from dicomnet.terms import PrintPriority
from film.durable import fsync_directory
from print_scu.job_files import MissingFilm, load_annotations, load_film, write_job
from print_scu.prepared_image import PreparedImage

if TYPE_CHECKING:
    from print_scu.config import PrinterConfig
    from print_scu.options import PrintOptions

__all__ = ["JobQueue", "JobRecord", "JobState", "PrinterPoll", "QueueError", "SCHEMA_VERSION"]

#: How long a connection waits for another process's write lock, s.
BUSY_TIMEOUT_S = 30.0

DATABASE_NAME = "queue.sqlite"
JOBS_DIR_NAME = "jobs"
STAGING_PREFIX = ".staging-"
REMOVING_PREFIX = ".removing-"

#: Claiming order of Print Priority (2000,0020): lower rank first.

#: Pixel types a job may hold: 8-bit P-Values and RGB, 12-bit P-Values.
_PIXEL_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16))


class JobState(str, Enum):
    """Where a job is in its life: queued -> printing -> done or failed (or back to queued)."""

    QUEUED = "queued"
    PRINTING = "printing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class QueueError(Exception):
    """A job, spool or database problem; the message names the job, the file or the state."""


@dataclass
class JobRecord:
    """One job row. Times are seconds since the epoch; ``films_done`` counts printed films
    from the first (films after them may be sent already, awaiting their Print Job:
    :meth:`JobQueue.films_to_send`); ``worker`` names the worker printing it (or the one
    that finished it), None while queued."""

    id: int
    printer: str
    printer_config: dict[str, Any]  # PrinterConfig.to_dict() at submission
    options: dict[str, Any]  # PrintOptions.to_dict()
    priority: str  # Print Priority (2000,0020): HIGH, MED or LOW
    state: JobState
    films_total: int
    films_done: int
    attempts: int  # deferred attempts since submission or the last retry()
    last_error: str | None
    created: float
    updated: float
    next_attempt_at: float
    worker: str | None


#: Statements taking the schema from version i to i + 1, at index i (version 0: empty database).
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE jobs (
            id INTEGER PRIMARY KEY,
            printer TEXT NOT NULL,
            printer_config TEXT NOT NULL,
            options TEXT NOT NULL,
            priority TEXT NOT NULL,
            priority_rank INTEGER NOT NULL,
            state TEXT NOT NULL,
            films_total INTEGER NOT NULL,
            films_done INTEGER NOT NULL DEFAULT 0,
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            created REAL NOT NULL,
            updated REAL NOT NULL,
            next_attempt_at REAL NOT NULL,
            worker TEXT)""",
        "CREATE INDEX jobs_by_claim_order ON jobs (printer, state, priority_rank, id)",
        """CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            job_id INTEGER,
            printer TEXT NOT NULL,
            time REAL NOT NULL,
            text TEXT NOT NULL)""",
        "CREATE INDEX events_by_job ON events (job_id, id)",
        """CREATE TABLE reservations (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            pid INTEGER NOT NULL,
            created REAL NOT NULL)""",
    ),
    (
        # Films at or after their job's films_done that the printer accepted: awaiting
        # their Print Job (done 0), or printed (done 1) while an earlier film is awaited.
        """CREATE TABLE sent_films (
            job_id INTEGER NOT NULL,
            film_index INTEGER NOT NULL,
            print_job_uid TEXT,
            done INTEGER NOT NULL,
            time REAL NOT NULL,
            PRIMARY KEY (job_id, film_index))""",
        "CREATE INDEX sent_films_by_print_job ON sent_films (print_job_uid)",
        # The last Printer N-GET of each printer; status NULL: it failed, info says why.
        """CREATE TABLE printer_polls (
            printer TEXT PRIMARY KEY,
            time REAL NOT NULL,
            status TEXT,
            info TEXT NOT NULL)""",
    ),
)

#: Version of the database layout this module reads and writes (``meta`` table).
SCHEMA_VERSION = len(_MIGRATIONS)


#: An event log entry: (job id, or None for the printer itself; printer name; text).
EventEntry = tuple[int | None, str, str]


@dataclass(frozen=True)
class PrinterPoll:
    """The last Printer N-GET of a printer: ``status`` (NORMAL, WARNING, FAILURE; None if
    the printer could not be asked) and ``info`` (Printer Status Info, or why not), taken
    at ``time`` (seconds since the epoch)."""

    printer: str
    time: float
    status: str | None
    info: str

    @property
    def summary(self) -> str:
        """E.g. "NORMAL", "FAILURE (NO FILM)", "unreachable: connection refused"."""
        if self.status is None:
            return f"unreachable: {self.info}"
        return self.status if self.info in ("", self.status) else f"{self.status} ({self.info})"


class JobQueue:
    """Print jobs of one spool directory, shared by threads and processes."""

    def __init__(self, spool_dir: Path, clock: Callable[[], float] = time.time):
        """Open (creating or upgrading) ``spool_dir/queue.sqlite`` and ``spool_dir/jobs/``.

        ``clock`` gives the time in seconds since the epoch (tests pass their own).
        """
        self.spool_dir = Path(spool_dir)
        self.db_path = self.spool_dir / DATABASE_NAME
        self.jobs_dir = self.spool_dir / JOBS_DIR_NAME
        self._clock = clock
        self._local = threading.local()  # .conn: this thread's connection, .fsync: its mode
        # Threads of one process take turns at writing here, not in SQLite's busy
        # handler, which sleeps up to 100 ms between its attempts at a held lock.
        self._write_lock = threading.Lock()
        self.jobs_dir.mkdir(parents=True, exist_ok=True)
        try:
            conn = self._connect()
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal":
                raise QueueError(f"{self.db_path}: cannot use WAL journal mode (got {mode!r}); "
                                 "put the spool on a local file system")
            self._upgrade_schema()
        except sqlite3.DatabaseError as exc:
            raise QueueError(f"{self.db_path}: not a usable job queue ({exc})") from None

    # -- submitting ---------------------------------------------------------------------

    def submit(self, printer: PrinterConfig, options: PrintOptions,
               films: list[list[PreparedImage]],
               annotations: Sequence[Sequence[str]] = ()) -> int:
        """Queue a job of ``films`` (each the images of one film, in box order); its id.

        ``annotations`` are the Annotation Box texts of each film, in box order
        (none: ``options.annotations`` on every film).

        The pixels are on disk (fsync'ed) under ``jobs/<id>/`` before the job row is
        committed, so the input files may vanish as soon as this returns.
        """
        if not films:
            raise ValueError("a print job needs at least one film")
        for film in films:
            for image in film:
                if image.pixels.dtype not in _PIXEL_DTYPES:
                    raise ValueError(f"{image.source}: pixels are {image.pixels.dtype}; "
                                     "the queue stores uint8 or uint16 P-Values/RGB")
        priority = PrintPriority(options.priority)
        printer_json = json.dumps(printer.to_dict())
        options_json = json.dumps(options.to_dict())
        now = self._clock()
        with self._write() as conn:
            job_id = conn.execute("INSERT INTO reservations (pid, created) VALUES (?, ?)",
                                  (os.getpid(), now)).lastrowid
        if job_id is None:  # sqlite3 sets it after every INSERT into a rowid table
            raise QueueError(f"{self.db_path}: no id for the reserved job")
        try:
            self._write_pixels(job_id, films, annotations)
            with self._write() as conn:
                conn.execute(
                    "INSERT INTO jobs (id, printer, printer_config, options, priority,"
                    " priority_rank, state, films_total, created, updated, next_attempt_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (job_id, printer.name, printer_json, options_json, priority.value,
                     priority.rank, JobState.QUEUED.value, len(films),
                     now, now, now))
                conn.execute("DELETE FROM reservations WHERE id = ?", (job_id,))
        except BaseException:
            self._abandon(job_id)
            raise
        return job_id

    def _abandon(self, job_id: int) -> None:
        """Undo a submission interrupted before its job row was committed (if it was not)."""
        try:
            with self._write() as conn:
                if conn.execute("SELECT 1 FROM jobs WHERE id = ?", (job_id,)).fetchone():
                    return  # interrupted just after the commit: the job stands
                conn.execute("DELETE FROM reservations WHERE id = ?", (job_id,))
        except sqlite3.Error:
            return  # recover() cleans up once this process has ended
        shutil.rmtree(self.jobs_dir / f"{STAGING_PREFIX}{job_id}", ignore_errors=True)
        shutil.rmtree(self._job_dir(job_id), ignore_errors=True)

    def _write_pixels(self, job_id: int, films: list[list[PreparedImage]],
                      annotations: Sequence[Sequence[str]]) -> None:
        staging = self.jobs_dir / f"{STAGING_PREFIX}{job_id}"
        staging.mkdir()
        write_job(staging, films, annotations)
        fsync_directory(staging)
        os.rename(staging, self._job_dir(job_id))
        fsync_directory(self.jobs_dir)

    # -- the worker's side --------------------------------------------------------------

    def claim_next(self, printer_name: str, worker: str) -> JobRecord | None:
        """Mark the next due job of ``printer_name`` printing by ``worker`` and return it.

        The next job is the queued one of highest Print Priority (HIGH, MED, LOW), then
        the oldest (lowest id), among those whose ``next_attempt_at`` has come; None if
        there is none.
        """
        now = self._clock()
        with self._write(fsync=False) as conn:
            row = conn.execute(
                "SELECT id FROM jobs WHERE printer = ? AND state = ? AND next_attempt_at <= ?"
                " ORDER BY priority_rank, id LIMIT 1",
                (printer_name, JobState.QUEUED.value, now)).fetchone()
            if row is None:
                return None
            conn.execute("UPDATE jobs SET state = ?, worker = ?, updated = ? WHERE id = ?",
                         (JobState.PRINTING.value, worker, now, row["id"]))
            return _record(_job_row(conn, row["id"]))

    def load_annotations(self, job_id: int, index: int) -> list[str] | None:
        """The Annotation Box texts of film ``index`` (0-based), None if the job stored
        none per film (it prints ``options.annotations``)."""
        try:
            return load_annotations(self._job_dir(job_id), index)
        except MissingFilm as exc:
            raise QueueError(f"job {job_id}: film {index + 1} is not in the spool "
                             f"({exc})") from None

    def load_film(self, job_id: int, index: int) -> list[PreparedImage]:
        """The images of film ``index`` (0-based) of a job, in box order."""
        try:
            return load_film(self._job_dir(job_id), index)
        except MissingFilm as exc:
            raise QueueError(f"job {job_id}: film {index + 1} is not in the spool "
                             f"({exc})") from None

    def film_done(self, job_id: int, index: int, events: Sequence[EventEntry] = ()) -> None:
        """Record film ``index`` (0-based) printed, committed now, with ``events`` (see
        :meth:`log_events`) in the same transaction.

        ``films_done`` becomes ``index + 1`` once every film before it is printed too
        (then also passing the films after it printed already). Recorded whatever the
        job's state: the film is on the printer.
        """
        self._record_sent(job_id, [index], None, events)

    def films_sent(self, job_id: int, indices: Sequence[int], print_job_uid: str,
                   events: Sequence[EventEntry] = ()) -> None:
        """Record films ``indices`` (0-based) accepted by the printer as its Print Job
        ``print_job_uid``, awaiting its outcome (:meth:`print_job_finished`); committed
        now, with ``events`` in the same transaction. ``films_done`` does not pass them."""
        self._record_sent(job_id, indices, print_job_uid, events)

    def _record_sent(self, job_id: int, indices: Sequence[int], print_job_uid: str | None,
                     events: Sequence[EventEntry]) -> None:
        done = print_job_uid is None
        with self._write(fsync=False) as conn:
            row = _job_row(conn, job_id)
            total = row["films_total"]
            for index in indices:
                if not 0 <= index < total:
                    raise QueueError(f"job {job_id}: film index {index} is outside "
                                     f"0..{total - 1}")
            conn.executemany(
                "INSERT OR REPLACE INTO sent_films (job_id, film_index, print_job_uid, done,"
                " time) VALUES (?, ?, ?, ?, ?)",
                [(job_id, index, print_job_uid, done, self._clock())
                 for index in indices if index >= row["films_done"]])
            if done:
                _advance_films_done(conn, job_id, self._clock())
            _insert_events(conn, events, self._clock())

    def print_job_finished(self, print_job_uid: str, done: bool) -> list[tuple[int, int]]:
        """The printer's Print Job ``print_job_uid`` ended: DONE (``done``) records its
        films printed, FAILURE forgets that they were sent (they are to be printed
        again). The (job id, film index) of the films it held and that awaited it."""
        with self._write() as conn:
            films = [(row["job_id"], row["film_index"]) for row in conn.execute(
                "SELECT job_id, film_index FROM sent_films WHERE print_job_uid = ? AND done = 0"
                " ORDER BY job_id, film_index", (print_job_uid,))]
            if done:
                conn.execute("UPDATE sent_films SET done = 1 WHERE print_job_uid = ?",
                             (print_job_uid,))
                for job_id in sorted({job_id for job_id, _ in films}):
                    _advance_films_done(conn, job_id, self._clock())
            else:
                conn.execute("DELETE FROM sent_films WHERE print_job_uid = ? AND done = 0",
                             (print_job_uid,))
        return films

    def awaited_print_jobs(self, job_id: int) -> dict[str, list[int]]:
        """The job's films sent and awaiting their Print Job: Print Job UID -> film indices,
        in the order they were sent."""
        conn = self._connect()
        awaited: dict[str, list[int]] = {}
        for row in conn.execute("SELECT print_job_uid, film_index FROM sent_films"
                                " WHERE job_id = ? AND done = 0 ORDER BY time, film_index",
                                (job_id,)):
            awaited.setdefault(row["print_job_uid"], []).append(row["film_index"])
        return awaited

    def films_to_send(self, job_id: int) -> list[int]:
        """Indices of the job's films still to be sent: from ``films_done`` on, neither
        printed nor awaiting their Print Job."""
        conn = self._connect()
        row = _job_row(conn, job_id)
        sent = {r[0] for r in conn.execute("SELECT film_index FROM sent_films"
                                           " WHERE job_id = ?", (job_id,))}
        return [i for i in range(row["films_done"], row["films_total"]) if i not in sent]

    def finish(self, job_id: int, state: JobState, error: str | None = None,
               events: Sequence[EventEntry] = ()) -> bool:
        """End a printing job as DONE (all films printed; its pixels are deleted) or FAILED,
        committing ``events`` with it.

        False, and nothing changes, if the job is no longer printing (given back to
        the queue by :meth:`recover`).
        """
        if state not in (JobState.DONE, JobState.FAILED):
            raise ValueError(f"finish() ends a job as done or failed, not {state.value}")
        now = self._clock()
        with self._write() as conn:
            row = _job_row(conn, job_id)
            if row["state"] != JobState.PRINTING.value:
                return False
            films_done = row["films_total"] if state is JobState.DONE else row["films_done"]
            conn.execute("UPDATE jobs SET state = ?, last_error = ?, films_done = ?, updated = ?"
                         " WHERE id = ?", (state.value, error, films_done, now, job_id))
            if state is JobState.DONE:
                conn.execute("DELETE FROM sent_films WHERE job_id = ?", (job_id,))
            _insert_events(conn, events, now)
        if state is JobState.DONE:
            self._remove_pixels(job_id)
        return True

    def defer(self, job_id: int, error: str, delay_s: float) -> bool:
        """Give a printing job back to the queue, due again in ``delay_s`` seconds.

        Counts one more attempt and records ``error``. False, and nothing changes, if
        the job is no longer printing.
        """
        if delay_s < 0:
            raise ValueError(f"delay_s {delay_s} s must not be negative")
        now = self._clock()
        with self._write() as conn:
            if _job_row(conn, job_id)["state"] != JobState.PRINTING.value:
                return False
            conn.execute("UPDATE jobs SET state = ?, worker = NULL, attempts = attempts + 1,"
                         " last_error = ?, next_attempt_at = ?, updated = ? WHERE id = ?",
                         (JobState.QUEUED.value, error, now + delay_s, now, job_id))
        return True

    # -- the user's side ----------------------------------------------------------------

    def cancel(self, job_id: int) -> bool:
        """Cancel a queued job (its pixels stay, for :meth:`retry`); False if not queued.

        A printing job cannot be cancelled: its worker owns it until it ends or is deferred.
        """
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE jobs SET state = ?, updated = ? WHERE id = ? AND state = ?",
                (JobState.CANCELLED.value, self._clock(), job_id, JobState.QUEUED.value))
            return changed.rowcount == 1

    def retry(self, job_id: int) -> bool:
        """Queue a failed or cancelled job again, due now, resuming at film ``films_done``.

        Its attempt count starts again from 0 and its last error is cleared; False if
        the job is not failed or cancelled.
        """
        now = self._clock()
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE jobs SET state = ?, worker = NULL, attempts = 0, last_error = NULL,"
                " next_attempt_at = ?, updated = ? WHERE id = ? AND state IN (?, ?)",
                (JobState.QUEUED.value, now, now, job_id,
                 JobState.FAILED.value, JobState.CANCELLED.value))
            return changed.rowcount == 1

    def reassign(self, job_id: int, printer: PrinterConfig, note: str) -> bool:
        """Move a job that is not printing (queued or failed) to ``printer``, due now.

        Its films already printed stay printed: the new printer prints the others,
        those still awaiting a Print Job of the old printer included. ``note`` (why)
        becomes its last error. False if the job is printing, done or cancelled.
        """
        now = self._clock()
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE jobs SET printer = ?, printer_config = ?, state = ?, worker = NULL,"
                " attempts = 0, last_error = ?, next_attempt_at = ?, updated = ?"
                " WHERE id = ? AND state IN (?, ?)",
                (printer.name, json.dumps(printer.to_dict()), JobState.QUEUED.value, note,
                 now, now, job_id, JobState.QUEUED.value, JobState.FAILED.value))
            if changed.rowcount != 1:
                return False
            conn.execute("DELETE FROM sent_films WHERE job_id = ? AND done = 0", (job_id,))
            return True

    def get(self, job_id: int) -> JobRecord | None:
        """The job ``job_id``, None if there is none."""
        conn = self._connect()
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else _record(row)

    def jobs(self, states: Iterable[JobState] | None = None) -> list[JobRecord]:
        """All jobs, or those in ``states``, oldest first."""
        query, parameters = "SELECT * FROM jobs", []
        if states is not None:
            parameters = [JobState(s).value for s in states]
            query += f" WHERE state IN ({', '.join('?' * len(parameters))})"
        conn = self._connect()
        rows = conn.execute(query + " ORDER BY id", parameters).fetchall()
        return [_record(row) for row in rows]

    def printers_with_work(self) -> list[str]:
        """Names of printers with queued jobs (due now or later), sorted."""
        conn = self._connect()
        rows = conn.execute("SELECT DISTINCT printer FROM jobs WHERE state = ?"
                            " ORDER BY printer", (JobState.QUEUED.value,)).fetchall()
        return [row["printer"] for row in rows]

    # -- crashes ------------------------------------------------------------------------

    def recover(self, alive: Callable[[str], bool]) -> int:
        """Repair the spool after crashes; the number of jobs given back to the queue.

        Jobs left printing by a worker for which ``alive(worker)`` is false go back to
        the queue (attempts unchanged; they resume at film ``films_done``), each with an
        event saying so. Reservations of dead submitting processes are dropped, and job
        directories without a job row or reservation (a crash between writing the pixels
        and committing the row) or of done jobs (a crash before their removal) are deleted.
        """
        now = self._clock()
        with self._write() as conn:
            stranded = [row for row in conn.execute(
                "SELECT id, printer, worker, films_done FROM jobs WHERE state = ?",
                (JobState.PRINTING.value,)).fetchall()
                if row["worker"] is None or not alive(row["worker"])]
            for row in stranded:
                conn.execute("UPDATE jobs SET state = ?, worker = NULL, updated = ? WHERE id = ?",
                             (JobState.QUEUED.value, now, row["id"]))
                _insert_event(conn, row["id"], row["printer"], now,
                              f"back in the queue: worker {row['worker']} is gone; "
                              f"printing resumes at film {row['films_done'] + 1}")
            dead = [(row["id"],) for row in conn.execute("SELECT id, pid FROM reservations")
                    if not process_alive(row["pid"])]
            conn.executemany("DELETE FROM reservations WHERE id = ?", dead)
        self._remove_orphans()
        return len(stranded)

    def _remove_orphans(self) -> None:
        # List before reading the database: a directory seen here was created after its
        # reservation was committed, so the read below sees that reservation or its job.
        entries = list(self.jobs_dir.iterdir())
        conn = self._connect()
        wanted = {row[0] for row in conn.execute(
            "SELECT id FROM jobs WHERE state != ? UNION SELECT id FROM reservations",
            (JobState.DONE.value,))}
        orphans = [entry for entry in entries
                   if (job_id := _directory_job_id(entry.name)) is not None
                   and job_id not in wanted]
        for orphan in orphans:
            shutil.rmtree(orphan, ignore_errors=True)
        if orphans:
            fsync_directory(self.jobs_dir)

    # -- printer status ------------------------------------------------------------------

    def record_printer_poll(self, printer: str, status: str | None, info: str) -> None:
        """Keep a printer's Printer N-GET answer (``status`` None: it failed, ``info`` why)
        as its last, timed now."""
        with self._write(fsync=False) as conn:
            conn.execute("INSERT OR REPLACE INTO printer_polls (printer, time, status, info)"
                         " VALUES (?, ?, ?, ?)", (printer, self._clock(), status, info))

    def printer_polls(self) -> dict[str, PrinterPoll]:
        """The last Printer N-GET of every printer asked, by printer name."""
        conn = self._connect()
        return {row["printer"]: PrinterPoll(row["printer"], row["time"], row["status"],
                                            row["info"])
                for row in conn.execute("SELECT * FROM printer_polls ORDER BY printer")}

    # -- events -------------------------------------------------------------------------

    def log_event(self, job_id: int | None, printer: str, text: str) -> None:
        """Record what happened to a job (or, with ``job_id`` None, to a printer)."""
        self.log_events([(job_id, printer, text)])

    def log_events(self, events: Sequence[EventEntry]) -> None:
        """Record (job id or None, printer, text) entries in one transaction."""
        if events:
            with self._write() as conn:
                _insert_events(conn, events, self._clock())

    def events(self, job_id: int | None) -> list[tuple[float, str]]:
        """(time, text) of a job's events (None: events of no job), oldest first."""
        conn = self._connect()
        rows = conn.execute("SELECT time, text FROM events WHERE job_id IS ? ORDER BY id",
                            (job_id,)).fetchall()
        return [(row["time"], row["text"]) for row in rows]

    # -- plumbing -----------------------------------------------------------------------

    def _job_dir(self, job_id: int) -> Path:
        return self.jobs_dir / str(job_id)

    def _remove_pixels(self, job_id: int) -> None:
        """Delete a done job's films: renamed out of the way at once, removed on a thread
        of their own (unlinking a job's 10 MiB took 5 ms here). Not fsynced: if a crash
        undoes the rename or the removal, :meth:`recover` removes them again (the
        directory of a done job is an orphan)."""
        removing = self.jobs_dir / f"{REMOVING_PREFIX}{job_id}"
        try:
            os.rename(self._job_dir(job_id), removing)
        except OSError:  # gone already
            return
        threading.Thread(target=shutil.rmtree, args=(removing,), kwargs={"ignore_errors": True},
                         name=f"remove-job-{job_id}").start()

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use: autocommit, synchronous=FULL,
        and a busy timeout (sqlite3_busy_timeout) so that waiting for another writer's
        lock is not an error. Closed when the queue object is garbage-collected."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn, self._local.fsync = conn, True
        return conn

    @contextlib.contextmanager
    def _write(self, fsync: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction: BEGIN IMMEDIATE (the write lock before any read), COMMIT,
        fsync'ed (synchronous=FULL) unless ``fsync`` is False (NORMAL: see the module doc)."""
        conn = self._connect()
        if self._local.fsync != fsync:
            conn.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
            self._local.fsync = fsync
        with self._write_lock:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _upgrade_schema(self) -> None:
        with self._write() as conn:
            has_meta = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
            version = 0 if has_meta is None else int(conn.execute(
                "SELECT value FROM meta WHERE key = 'schema_version'").fetchone()["value"])
            if version > SCHEMA_VERSION:
                raise QueueError(f"{self.db_path}: schema version {version} is newer than this "
                                 f"filmbox's ({SCHEMA_VERSION}); use a newer filmbox or "
                                 "another spool directory")
            if version == SCHEMA_VERSION:
                return
            for statements in _MIGRATIONS[version:]:
                for statement in statements:
                    conn.execute(statement)
            conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)",
                         (str(SCHEMA_VERSION),))


def _job_row(conn: sqlite3.Connection, job_id: int) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise QueueError(f"job {job_id}: no such job")
    return row


def _advance_films_done(conn: sqlite3.Connection, job_id: int, now: float) -> None:
    """``films_done`` past every printed film that follows it; their rows dropped."""
    films_done = _job_row(conn, job_id)["films_done"]
    printed = {row[0] for row in conn.execute(
        "SELECT film_index FROM sent_films WHERE job_id = ? AND done = 1", (job_id,))}
    advanced = films_done
    while advanced in printed:
        advanced += 1
    if advanced != films_done:
        conn.execute("UPDATE jobs SET films_done = ?, updated = ? WHERE id = ?",
                     (advanced, now, job_id))
        conn.execute("DELETE FROM sent_films WHERE job_id = ? AND film_index < ?",
                     (job_id, advanced))


def _record(row: sqlite3.Row) -> JobRecord:
    return JobRecord(
        id=row["id"], printer=row["printer"], printer_config=json.loads(row["printer_config"]),
        options=json.loads(row["options"]), priority=row["priority"],
        state=JobState(row["state"]), films_total=row["films_total"],
        films_done=row["films_done"], attempts=row["attempts"], last_error=row["last_error"],
        created=row["created"], updated=row["updated"],
        next_attempt_at=row["next_attempt_at"], worker=row["worker"])


def _insert_events(conn: sqlite3.Connection, events: Sequence[EventEntry], now: float) -> None:
    for job_id, printer, text in events:
        _insert_event(conn, job_id, printer, now, text)


def _insert_event(conn: sqlite3.Connection, job_id: int | None, printer: str, when: float,
                  text: str) -> None:
    conn.execute("INSERT INTO events (job_id, printer, time, text) VALUES (?, ?, ?, ?)",
                 (job_id, printer, when, text))


def _directory_job_id(name: str) -> int | None:
    """The job id of a ``jobs/`` entry (``<id>``, ``.staging-<id>`` or ``.removing-<id>``),
    None for others."""
    digits = name.removeprefix(STAGING_PREFIX).removeprefix(REMOVING_PREFIX)
    return int(digits) if digits.isdigit() else None


def process_alive(pid: int) -> bool:
    """False if no process ``pid`` runs on this host (one of another user's counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True



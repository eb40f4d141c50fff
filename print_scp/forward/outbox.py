"""The outbox: every (film, sink) delivery, durably, in SQLite (WAL) in the output directory.

A delivery is recorded when its film has been written, in the same step that
ends the film's Print Job (before the job leaves the spool), so a printer
killed at any moment either renders the job again and records its
deliveries then, or finds them here. States:

* ``pending``: waiting for its ``next_attempt_at`` (a Unix time);
* ``queueing``, then ``queued``: a film for a film printer, being put into, then
  in, print-scu's queue (``external_id``: its job there), which delivers it;
* ``running``: taken by a delivery thread (back to ``pending`` at start-up:
  a delivery cut short by a kill runs again, which sinks make idempotent);
* ``done`` and ``failed`` (with the reason) are final; ``retry`` makes a
  failed delivery pending again.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DONE", "Delivery", "FAILED", "OUTBOX_FILE", "Outbox", "PENDING", "QUEUED", "QUEUEING",
           "RUNNING", "deliveries_in"]

OUTBOX_FILE = ".forward.sqlite"
PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
QUEUEING, QUEUED = "queueing", "queued"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    film TEXT NOT NULL,              -- the film's file stem
    job_uid TEXT NOT NULL,
    sink TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    warning TEXT,                    -- of a delivery that succeeded: e.g. default identity
    external_id INTEGER,             -- a film printer's: its print-scu job
    created_at REAL NOT NULL,
    finished_at REAL,
    UNIQUE (film, sink)
)
"""


@dataclass(frozen=True)
class Delivery:
    """One row of the outbox."""

    id: int
    film: str
    job_uid: str
    sink: str
    state: str
    attempts: int
    next_attempt_at: float
    last_error: str | None
    warning: str | None
    external_id: int | None
    created_at: float
    finished_at: float | None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "sink": self.sink, "state": self.state, "attempts": self.attempts,
                "last_error": self.last_error, "warning": self.warning,
                "finished": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.finished_at))
                if self.finished_at else None}


class Outbox:
    """The deliveries of one output directory; safe to use from several threads."""

    def __init__(self, output_dir: Path):
        self.path = Path(output_dir) / OUTBOX_FILE
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None,
                                   timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a recorded delivery survives power loss
        self._db.execute(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def add(self, films: Iterable[tuple[str, str]], sinks: Iterable[str],
            state: str = PENDING) -> int:
        """Record a delivery of each (film, job UID) to each sink, once; how many are new."""
        now = time.time()
        rows = [(film, job, sink, state, now, now) for film, job in films for sink in sinks]
        with self._lock:
            before = self._db.total_changes
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR IGNORE INTO deliveries (film, job_uid, sink, state, next_attempt_at,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
            self._db.execute("COMMIT")
            return self._db.total_changes - before

    def resume(self) -> int:
        """At start-up: deliveries a killed printer left running become pending; how many."""
        with self._lock:
            return self._db.execute("UPDATE deliveries SET state = ? WHERE state = ?",
                                    (PENDING, RUNNING)).rowcount

    def take_due(self, now: float | None = None) -> Delivery | None:
        """The pending delivery due first, marked running; None if none is due."""
        now = time.time() if now is None else now
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM deliveries WHERE state = ? AND next_attempt_at <= ? "
                "ORDER BY next_attempt_at, id LIMIT 1", (PENDING, now)).fetchone()
            if row is None:
                return None
            self._db.execute("UPDATE deliveries SET state = ?, attempts = attempts + 1 "
                             "WHERE id = ?", (RUNNING, row[0]))
        return self.get(row[0])

    def finish(self, delivery_id: int, error: str | None = None,
               warning: str | None = None) -> None:
        """Done (``error`` None, perhaps with a ``warning``) or failed for good."""
        with self._lock:
            self._db.execute("UPDATE deliveries SET state = ?, last_error = ?, warning = ?, "
                             "finished_at = ? WHERE id = ?",
                             (FAILED if error else DONE, error, warning, time.time(),
                              delivery_id))

    def retry_later(self, delivery_id: int, error: str, delay_s: float) -> None:
        with self._lock:
            self._db.execute("UPDATE deliveries SET state = ?, last_error = ?, "
                             "next_attempt_at = ? WHERE id = ?",
                             (PENDING, error, time.time() + delay_s, delivery_id))

    def queued(self, delivery_id: int, external_id: int) -> None:
        """A film printer's delivery is in print-scu's queue as job ``external_id``."""
        with self._lock:
            self._db.execute("UPDATE deliveries SET state = ?, external_id = ?, attempts = 1 "
                             "WHERE id = ?", (QUEUED, external_id, delivery_id))

    def find(self, film: str, sink: str) -> Delivery | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM deliveries WHERE film = ? AND sink = ?",
                                   (film, sink)).fetchone()
        return None if row is None else Delivery(*row)

    def of_external(self, external_id: int) -> Delivery | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM deliveries WHERE external_id = ?",
                                   (external_id,)).fetchone()
        return None if row is None else Delivery(*row)

    def retry(self, delivery_id: int) -> bool:
        """Make a failed delivery pending again, now; False if there is no such failed one."""
        with self._lock:
            return self._db.execute(
                "UPDATE deliveries SET state = ?, attempts = 0, next_attempt_at = ?, "
                "finished_at = NULL WHERE id = ? AND state = ?",
                (PENDING, time.time(), delivery_id, FAILED)).rowcount == 1

    def get(self, delivery_id: int) -> Delivery:
        with self._lock:
            row = self._db.execute("SELECT * FROM deliveries WHERE id = ?",
                                   (delivery_id,)).fetchone()
        return Delivery(*row)

    def list(self, state: str | None = None, film: str | None = None,
             job_uid: str | None = None) -> list[Delivery]:
        """Deliveries in the order they were recorded, of one state, film or Print Job if
        given."""
        query, args = "SELECT * FROM deliveries WHERE 1 = 1", list[str]()
        for column, value in (("state", state), ("film", film), ("job_uid", job_uid)):
            if value is not None:
                query, args = query + f" AND {column} = ?", [*args, value]
        with self._lock:
            return [Delivery(*row) for row in self._db.execute(query + " ORDER BY id", args)]


def deliveries_in(output_dir: Path, state: str | None = None) -> list[Delivery]:
    """The deliveries recorded in ``output_dir`` (of one state if given), read from outside
    the printer; none if it has no outbox."""
    if not (Path(output_dir) / OUTBOX_FILE).exists():
        return []
    outbox = Outbox(output_dir)
    try:
        return outbox.list(state)
    finally:
        outbox.close()

"""Print Job SOP instances (PS3.3 C.13.8, PS3.4 H.4.5).

A job is created by each Film Box or Film Session N-ACTION and runs
PENDING -> PRINTING -> DONE or FAILURE. Each change is reported with a Print
Job N-EVENT-REPORT on the association that created the job, while it lasts;
jobs can be read with N-GET (by their UID) from any association.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from pydicom.dataset import Dataset

from dicomnet.terms import ExecutionStatus
from film.durable import write_durably

LOG = logging.getLogger("print_scp.jobs")


@dataclass
class PrintJob:
    uid: str
    priority: str  # HIGH, MED or LOW
    originator: str  # calling AE title
    printer_name: str
    film_names: list[str]
    session_label: str | None = None
    created: datetime = field(default_factory=datetime.now)
    status: ExecutionStatus = ExecutionStatus.PENDING
    info: str = "NORMAL"
    # the association's requests since its previous job, up to the N-ACTION that made
    # this one (JSON form)
    transcript: list[dict[str, Any]] = field(default_factory=list)

    def attributes(self) -> Dataset:
        """Print Job attributes for an N-GET (PS3.4 H.4.5.2)."""
        ds = Dataset()
        ds.ExecutionStatus = self.status.value
        ds.ExecutionStatusInfo = self.info
        ds.PrintPriority = self.priority
        ds.CreationDate = self.created.strftime("%Y%m%d")
        ds.CreationTime = self.created.strftime("%H%M%S")
        ds.PrinterName = self.printer_name
        ds.Originator = self.originator[:16]
        return ds

    def to_json(self) -> dict[str, Any]:
        """The job as JSON values (times in ISO 8601)."""
        return {"uid": self.uid, "priority": self.priority, "originator": self.originator,
                "printer_name": self.printer_name, "film_names": list(self.film_names),
                "session_label": self.session_label, "created": self.created.isoformat(),
                "status": self.status.value, "info": self.info,
                "transcript": list(self.transcript)}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> PrintJob:
        """The inverse of :meth:`to_json`; KeyError or ValueError for a broken record."""
        return cls(doc["uid"], doc["priority"], doc["originator"], doc["printer_name"],
                   list(doc["film_names"]), doc["session_label"],
                   datetime.fromisoformat(doc["created"]), ExecutionStatus(doc["status"]),
                   doc["info"], list(doc.get("transcript", [])))


Listener = Callable[[PrintJob], None]


class PrintJobRegistry:
    """The print jobs of the printer, by SOP Instance UID.

    Finished jobs (DONE or FAILURE) are forgotten, oldest first, beyond the
    most recent ``keep_finished``, so a server that runs for months does not
    grow without bound; unfinished jobs are always kept. With a ``directory``
    each finished job is also kept there as ``<uid>.json`` (within the same
    bound), and read back at start-up: N-GET answers with a job's final
    state after a restart.
    """

    def __init__(self, keep_finished: int = 1000, directory: Path | None = None) -> None:
        self._keep_finished = keep_finished
        self._directory = directory
        self._lock = threading.Lock()
        self._jobs: dict[str, PrintJob] = {}
        self._listeners: list[Listener] = []
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            for job in sorted(_read_jobs(directory), key=lambda job: job.created):
                self._jobs[job.uid] = job
            self._forget_beyond_limit()

    def subscribe(self, listener: Listener) -> None:
        """``listener(job)`` is called after every status change."""
        self._listeners.append(listener)

    def add(self, job: PrintJob) -> None:
        with self._lock:
            self._jobs[job.uid] = job
            self._forget_beyond_limit()

    def _forget_beyond_limit(self) -> None:
        """Drop the oldest finished jobs beyond ``keep_finished`` (and their records)."""
        finished = [uid for uid, j in self._jobs.items() if j.status.finished]
        for uid in finished[:max(0, len(finished) - self._keep_finished)]:
            del self._jobs[uid]
            if self._directory is not None:
                (self._directory / f"{uid}.json").unlink(missing_ok=True)

    def get(self, uid: str) -> PrintJob | None:
        with self._lock:
            return self._jobs.get(uid)

    def set_status(self, uid: str, status: ExecutionStatus, info: str = "NORMAL") -> None:
        with self._lock:
            job = self._jobs.get(uid)
            if job is None:
                return
            job.status, job.info = status, info[:64]
        LOG.info("print job %s -> %s (%s)", uid, status.value, info)
        if status.finished and self._directory is not None:
            self._keep(job)
        for listener in list(self._listeners):
            listener(job)

    def _keep(self, job: PrintJob) -> None:
        """Write the finished job's record; a failure is logged, the job stays in memory."""
        assert self._directory is not None
        final = self._directory / f"{job.uid}.json"
        staging = final.with_name(f".{final.name}.tmp")
        try:
            write_durably(staging, json.dumps(job.to_json()).encode())
            os.replace(staging, final)
        except OSError as exc:
            LOG.warning("print job %s: its record cannot be kept in %s: %s", job.uid,
                        self._directory, exc)

    def pending_films(self) -> int:
        """Films accepted and not yet rendered (PENDING or PRINTING jobs)."""
        with self._lock:
            return sum(len(job.film_names) for job in self._jobs.values()
                       if job.status in (ExecutionStatus.PENDING, ExecutionStatus.PRINTING))


def _read_jobs(directory: Path) -> list[PrintJob]:
    """The job records in ``directory``; unreadable ones are logged and left alone."""
    jobs = []
    for path in directory.glob("*.json"):
        try:
            jobs.append(PrintJob.from_json(json.loads(path.read_bytes())))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            LOG.warning("print job record %s cannot be read (%s): ignored", path.name, exc)
    return jobs

"""Print Job SOP instances (PS3.3 C.13.8, PS3.4 H.4.5).

A job is created by each Film Box or Film Session N-ACTION and runs
PENDING -> PRINTING -> DONE or FAILURE. Each change is reported with a Print
Job N-EVENT-REPORT on the association that created the job, while it lasts;
jobs can be read with N-GET (by their UID) from any association.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from pydicom.dataset import Dataset

from dicomnet.terms import ExecutionStatus

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


Listener = Callable[[PrintJob], None]


class PrintJobRegistry:
    """The print jobs of this run of the server, by SOP Instance UID.

    Finished jobs (DONE or FAILURE) are forgotten, oldest first, beyond the
    most recent ``keep_finished``, so a server that runs for months does not
    grow without bound; unfinished jobs are always kept.
    """

    def __init__(self, keep_finished: int = 1000) -> None:
        self._keep_finished = keep_finished
        self._lock = threading.Lock()
        self._jobs: dict[str, PrintJob] = {}
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """``listener(job)`` is called after every status change."""
        self._listeners.append(listener)

    def add(self, job: PrintJob) -> None:
        with self._lock:
            self._jobs[job.uid] = job
            finished = [uid for uid, j in self._jobs.items() if j.status.finished]
            for uid in finished[:max(0, len(finished) - self._keep_finished)]:
                del self._jobs[uid]

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
        for listener in list(self._listeners):
            listener(job)

    def pending_films(self) -> int:
        """Films accepted and not yet rendered (PENDING or PRINTING jobs)."""
        with self._lock:
            return sum(len(job.film_names) for job in self._jobs.values()
                       if job.status in (ExecutionStatus.PENDING, ExecutionStatus.PRINTING))

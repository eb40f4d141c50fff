"""The render worker: turns spooled print jobs into PDF, PNG, density map and JSON.

Each film of a job is written on its own, then the job document ``<job>.pdf``
(every printed sheet, copies included, and the job report:
``print_scp.output.job_document``).

``processes`` scheduler threads each take the next job, by Print Priority
(HIGH, MED, LOW) then in order of arrival, and render its films in as many
render processes (``print_scp.output.render_pool``, started with the worker),
all films of a job at once, reported in order; so rendering never runs on, or
competes with, a DIMSE thread. While
the printer is in FAILURE (e.g. FILM JAM) nothing is printed, as on a real
printer; jobs wait PENDING and resume when the printer returns to NORMAL or
WARNING. A job a profile's ``[[script]] job_failure`` picks
(:meth:`print_scp.printer.Printer.take_job_failure`) ends FAILURE with its
info, nothing written. A render process that dies (killed, out of memory)
fails its job and is replaced; a server that dies takes its render processes
with it, each once its film in hand is written.

A job's pixel bytes are held in the printer's memory budget from the moment it is
queued until it has been rendered (or failed): held even past the budget's limit,
as a film whose print was accepted is always printed; meanwhile new images are
refused (C605).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from concurrent.futures import Future, wait
from pathlib import Path
from typing import Any, Protocol

from dicomnet.memory_budget import MemoryBudget
from dicomnet.terms import ExecutionStatus, PrinterStatus, PrintPriority
from film.model import FilmSpec
from film.staged_files import remove_staging_leftovers
from print_scp.output.render_pool import DEFAULT_RENDER_PROCESSES, RenderPool, RenderProcessDied
from print_scp.output.spool import Spool, is_disk_full
from print_scp.print_jobs import PrintJob, PrintJobRegistry
from print_scp.printer import Printer

LOG = logging.getLogger("print_scp.render")

_IDLE_POLL_S = 0.2  # how often a waiting worker looks at the printer and for stop


class JobListener(Protocol):
    """What the printer tells the forwarder about a job: spooled (before its N-ACTION is
    answered), written, or failed."""

    def spooled(self, job_uid: str, films: list[tuple[str, dict[str, Any]]]) -> None:
        """Record, durably, what is to happen to the job's films that needs no rendering."""

    def abandoned(self, job_uid: str, why: str) -> None:
        """The job failed before its films were all written."""

    def sinks_for(self, metadata: dict[str, Any]) -> list[str]:
        """Where a film (its metadata) is forwarded to."""

    def record(self, job_uid: str, films: list[tuple[str, dict[str, Any], FilmSpec]]) -> bool:
        """Record, durably, what is to happen to the job's written films; True if the
        listener, not the worker, will end the job (it waits for a real printer)."""


def _abandon(submitted: list[Future]) -> None:
    """Cancel a job's films not started yet; wait for those being written to end."""
    wait([future for future in submitted if not future.cancel()])


class RenderWorker:
    """Renders spooled jobs with ``processes`` render processes until stopped."""

    def __init__(self, spool: Spool, output_dir: Path, jobs: PrintJobRegistry,
                 printer: Printer, printer_name: str, memory: MemoryBudget,
                 processes: int = DEFAULT_RENDER_PROCESSES, job_report: bool = True,
                 listener: JobListener | None = None):
        self._spool = spool
        self._memory = memory
        self._held: dict[str, int] = {}  # job UID -> bytes of the memory budget it holds
        self._held_lock = threading.Lock()
        self._output_dir = Path(output_dir)
        self._jobs = jobs
        self._printer = printer
        self._printer_name = printer_name
        self._queue: queue.PriorityQueue[tuple[int, int, str]] = queue.PriorityQueue()
        self._sequence = itertools.count()
        self._stop = threading.Event()
        self._processes = processes
        self._job_report = job_report
        self._listener = listener
        self._pool: RenderPool | None = None  # started with the worker
        self._threads = [threading.Thread(target=self._run, name=f"render-{i}", daemon=True)
                         for i in range(processes)]
        self.films_rendered = 0
        self.render_seconds = 0.0  # spent rendering and writing films, in all processes

    def start(self) -> None:
        """Clear what a killed run left half-written, queue the jobs it left in the spool
        (they are rendered again whole), then start rendering."""
        for leftover in remove_staging_leftovers(self._output_dir):
            LOG.info("removed %s, left half-written by a previous run", leftover.name)
        for job_uid in self._spool.pending():
            try:
                spooled = self._spool.load(job_uid)
            except Exception as exc:
                LOG.error("spooled job %s is unreadable (%s): moved to %s", job_uid, exc,
                          self._spool.quarantine(job_uid))
                continue
            if self._jobs.get(job_uid) is None:
                self._jobs.add(PrintJob(job_uid, spooled.priority, spooled.originator,
                                        self._printer_name, [f.name for f in spooled.films],
                                        spooled.session_label))
            LOG.info("recovered spooled job %s (%d films) from a previous run",
                     job_uid, len(spooled.films))
            self.submit(job_uid, spooled.priority, spooled.pixel_bytes)
        self._pool = RenderPool(self._processes)
        for thread in self._threads:
            thread.start()

    def submit(self, job_uid: str, priority: str, pixel_bytes: int) -> None:
        """Queue a spooled job; its ``pixel_bytes`` are held in the memory budget until
        it has been rendered."""
        self._memory.hold(pixel_bytes)
        with self._held_lock:
            self._held[job_uid] = self._held.get(job_uid, 0) + pixel_bytes
        self._queue.put((_rank(priority), next(self._sequence), job_uid))

    def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the film in hand, then stop; queued jobs stay in the spool."""
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout_s)
        if self._pool is not None:
            self._pool.shutdown(timeout_s)

    def render_process_ids(self) -> list[int]:
        """Process ids of the render processes running now."""
        return [] if self._pool is None else self._pool.pids()

    def _submit(self, operation: str, *args: Any) -> Future:
        """Run ``operation`` (``render_process.OPERATIONS``) in a render process."""
        if self._pool is None:
            raise RuntimeError("the render worker is not started")
        return self._pool.submit(operation, *args)

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                _, _, job_uid = self._queue.get(timeout=_IDLE_POLL_S)
            except queue.Empty:
                continue
            try:
                if self._wait_for_printer():
                    self._render(job_uid)
            finally:
                with self._held_lock:
                    held = self._held.pop(job_uid, 0)
                self._memory.release(held)
                self._queue.task_done()

    def _wait_for_printer(self) -> bool:
        """Block while the printer is in FAILURE; False if stopped meanwhile."""
        while self._printer.condition.status is PrinterStatus.FAILURE:
            if self._stop.wait(_IDLE_POLL_S):
                return False
        return True

    def _render(self, job_uid: str) -> None:
        try:
            spooled = self._spool.load(job_uid)
        except Exception as exc:
            self._fail(job_uid, f"spooled job unreadable: {exc}")
            return
        self._jobs.set_status(job_uid, ExecutionStatus.PRINTING)
        scripted_failure = self._printer.take_job_failure()
        if scripted_failure is not None:
            self._fail(job_uid, "a [[script]] job_failure", info=scripted_failure)
            return
        submitted: list[Future] = []
        try:
            # The UID goes as a plain str: unpickling a pydicom UID there would import
            # pydicom into the render process (measured: 12 MiB more resident memory).
            submitted = [self._submit("render_film", str(self._spool.root), str(job_uid), index,
                                      str(self._output_dir))
                         for index in range(len(spooled.films))]  # rendered in parallel
            for future in submitted:
                if self._stop.is_set():
                    _abandon(submitted)
                    return  # stays in the spool; rendered again (whole) after a restart
                name, seconds = future.result()
                self.films_rendered += 1
                self.render_seconds += seconds
                LOG.info("printed film %s (%s)", name, job_uid)
                self._printer.film_printed(spooled.copies)
            films = [(film.name, film.metadata, film.spec) for film in spooled.films]
            forwarding = {name: self._listener.sinks_for(metadata)
                          for name, metadata, _ in films} if self._listener else {}
            submitted = [self._submit("write_job_document", str(self._output_dir),
                                      [name for name, _, _ in films], self._job_report,
                                      forwarding)]
            document = submitted[0].result()
            LOG.info("job document %s: %d films x %d copies (%s)", document,
                     len(spooled.films), spooled.copies, job_uid)
            held = self._listener is not None and self._listener.record(job_uid, films)
        except RenderProcessDied as exc:
            _abandon(submitted)
            if self._stop.is_set():
                return  # stopped meanwhile: stays in the spool, rendered after a restart
            self._fail(job_uid, str(exc))
            return
        except OSError as exc:
            _abandon(submitted)
            # PS3.3 C.13.9.1 defined terms: the films' receiver (the output disk) is full
            info = "RECEIVER FULL" if is_disk_full(exc) else "PRINTER DOWN"
            self._fail(job_uid, f"cannot write output: {exc.strerror or exc}", info=info)
            return
        except Exception as exc:
            _abandon(submitted)
            LOG.exception("rendering job %s failed", job_uid)
            self._fail(job_uid, f"render failed: {exc}")
            return
        self._spool.remove(job_uid)
        if not held:
            self._jobs.set_status(job_uid, ExecutionStatus.DONE)

    def _fail(self, job_uid: str, why: str, info: str = "UNKNOWN") -> None:
        LOG.error("print job %s failed: %s", job_uid, why)
        if self._listener is not None:
            self._listener.abandoned(job_uid, why)
        try:
            self._spool.quarantine(job_uid)
        except OSError as exc:
            LOG.error("cannot move job %s out of the spool: %s", job_uid, exc)
        self._jobs.set_status(job_uid, ExecutionStatus.FAILURE, info)


def _rank(priority: str) -> int:
    """Queue order of a spooled job's Print Priority (MED for one this printer does not know)."""
    try:
        return PrintPriority(priority).rank
    except ValueError:
        return PrintPriority.MED.rank

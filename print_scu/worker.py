"""The print worker: delivers queued jobs to their printers, one thread per printer.

Each printer with work gets a thread of its own that holds at most one
association to it (a :class:`print_scu.session.PrinterSession`), so printers
print in parallel and each prints one job at a time, in the queue's order
(Print Priority, then age). Per job: Printer N-GET (NORMAL prints, WARNING
prints and records the info, FAILURE defers the job and pauses the
printer), then film after film from ``films_done`` on, each recorded in the
queue right after its successful N-ACTION, so that a crash loses no film
and prints at most the film in flight twice.

Failures: a retryable :class:`print_scu.session.PrintError` (network,
association, queue full, resource limitation, printer FAILURE) defers the
job by ``retry_backoff_s`` doubling per attempt up to
``retry_backoff_cap_s`` seconds, and fails it after ``max_attempts``; any
other fails the job at once with the status and its meaning.

N-EVENT-REPORTs are recorded as job (or printer) events. A Printer FAILURE
event pauses the printer after the film in flight; NORMAL or WARNING
resumes it. Between jobs an open association is kept for
``idle_keep_open_s``, its printer polled every ``status_poll_interval_s``.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dicomnet.terms import ExecutionStatus, PrinterStatus
from dicomnet.uids import PRINT_JOB, PRINTER
from print_scu.association import ReceivedEvent
from print_scu.config import ConfigError, PrinterConfig
from print_scu.options import OptionError, PrintOptions
from print_scu.queue import EventEntry, JobQueue, JobRecord, JobState, process_alive
from print_scu.session import PrintError, PrinterSession

__all__ = ["Worker", "describe_event", "worker_alive", "worker_name"]

LOG = logging.getLogger("print_scu.worker")

TICK_S = 0.2  # how often an idle thread looks for work and for stop, s
PRINT_JOBS_REMEMBERED = 1000  # Print Job UIDs mapped back to films, most recent


_instances = itertools.count(1)

ProgressCallback = Callable[[JobRecord, int], None]


def worker_name() -> str:
    """A name for a new worker of this process: "host:pid:n"."""
    return f"{socket.gethostname()}:{os.getpid()}:{next(_instances)}"


def worker_alive(name: str) -> bool:
    """False if ``name`` ("host:pid..." from :func:`worker_name`) is a dead process of this host.

    Workers of other hosts, and names in another form, are taken as alive.
    """
    host, _, rest = name.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return True
    return process_alive(int(pid_text))


def describe_event(event: ReceivedEvent) -> str:
    """One line for an N-EVENT-REPORT, e.g. "printer FAILURE (FILM JAM)"."""
    info = event.event_information
    if event.sop_class_uid == PRINTER:
        state = PrinterStatus.of_event(event.event_type_id)
        detail = str(info.get("PrinterStatusInfo", "") or "") if info is not None else ""
        name = state.value if state else f"event type {event.event_type_id}"
        return f"printer {name}" + (f" ({detail})" if detail else "")
    if event.sop_class_uid == PRINT_JOB:
        status = ExecutionStatus.of_event(event.event_type_id)
        detail = str(info.get("ExecutionStatusInfo", "") or "") if info is not None else ""
        name = status.value if status else f"event type {event.event_type_id}"
        return f"print job {event.sop_instance_uid} {name}" + (f" ({detail})" if detail else "")
    return (f"event type {event.event_type_id} from {event.sop_class_uid} "
            f"{event.sop_instance_uid}")


def backoff_s(printer: PrinterConfig, attempts: int) -> float:
    """Delay before attempt ``attempts + 1``: retry_backoff_s · 2^attempts, capped, in s."""
    return min(printer.retry_backoff_s * 2.0 ** min(attempts, 62), printer.retry_backoff_cap_s)


@dataclass(frozen=True)
class _Received:
    event: ReceivedEvent
    job_id: int | None  # the job in progress when it arrived


class _JobPaused(Exception):
    """The printer reported FAILURE during a job that may not wait for it."""


class Worker:
    """Delivers the jobs of one spool directory until stopped.

    ``name`` identifies the worker in job rows (default "host:pid:n",
    which :func:`worker_alive` can check). ``printers`` overrides the
    printer configuration a job was submitted with, by printer name.
    ``progress`` is called after each printed film with the job and the
    film's index (0-based), on the printer's thread. ``associations`` jobs
    are delivered to each printer at once, each over its own association.
    """

    def __init__(self, queue: JobQueue, name: str | None = None,
                 printers: dict[str, PrinterConfig] | None = None,
                 progress: ProgressCallback | None = None, associations: int = 1) -> None:
        if associations < 1:
            raise ValueError(f"associations must be at least 1, not {associations}")
        self.queue = queue
        self.name = name or worker_name()
        self.printers = dict(printers or {})
        self.progress = progress
        self.associations = associations

    def run(self, stop: threading.Event) -> None:
        """Deliver jobs until ``stop`` is set; the films in flight finish first.

        Jobs left printing by dead workers are queued again first. Jobs this
        worker has not finished when stopped go back to the queue.
        """
        self.queue.recover(worker_alive)
        threads: dict[tuple[str, int], _PrinterThread] = {}
        try:
            while not stop.is_set():
                for printer in self.queue.printers_with_work():
                    for slot in range(self.associations):
                        key = (printer, slot)
                        if key not in threads or not threads[key].is_alive():
                            threads[key] = self._start(printer, slot, stop, linger=True)
                stop.wait(TICK_S)
        finally:
            stop.set()
            self._finish(threads.values())

    def run_until_idle(self, timeout_s: float, printers: Iterable[str] | None = None,
                       stop: threading.Event | None = None) -> None:
        """Deliver every job that is due now, then return (at the latest after ``timeout_s`` s).

        Unlike :meth:`run`, a job whose printer fails (unreachable, FAILURE,
        queue full) is deferred at once and not waited for, and associations
        are released as soon as their printer has nothing due. ``printers``
        limits the work to those printers; setting ``stop`` ends it early
        (the films in flight finish first).
        """
        self.queue.recover(worker_alive)
        stop = stop or threading.Event()
        wanted = None if printers is None else set(printers)
        threads = [self._start(printer, slot, stop, linger=False)
                   for printer in self.queue.printers_with_work()
                   if wanted is None or printer in wanted
                   for slot in range(self.associations)]
        deadline = time.monotonic() + timeout_s
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stop.set()
        self._finish(threads)

    def _start(self, printer: str, slot: int, stop: threading.Event,
               linger: bool) -> _PrinterThread:
        thread = _PrinterThread(self, printer, slot, stop, linger)
        thread.start()
        return thread

    def _finish(self, threads: Iterable[_PrinterThread]) -> None:
        for thread in threads:
            thread.join()
        self.queue.recover(lambda worker: worker != self.name)

    def config_for(self, job: JobRecord) -> PrinterConfig:
        """The job's printer: this worker's configuration of it, else the one submitted."""
        return self.printers.get(job.printer) or PrinterConfig.from_dict(job.printer_config)


class _PrinterThread(threading.Thread):
    """Delivers jobs of one printer over one association at a time (``slot`` of the
    worker's ``associations`` per printer)."""

    def __init__(self, worker: Worker, printer: str, slot: int, stop: threading.Event,
                 linger: bool) -> None:
        super().__init__(name=f"print-{printer}-{slot}", daemon=True)
        self.worker = worker
        self.queue = worker.queue
        self.printer = printer
        self.stop = stop
        self.linger = linger  # keep the association and wait out printer FAILURE
        self.session: PrinterSession | None = None
        self.paused = threading.Event()  # the printer reported FAILURE
        self.current_job: int | None = None
        self.events: queue.SimpleQueue[_Received] = queue.SimpleQueue()
        self.print_jobs: dict[str, tuple[int, str]] = {}  # Print Job UID -> (job id, film)
        self.pause_step = 0  # status polls while paused
        self.last_poll = time.monotonic()

    # -- main loop --------------------------------------------------------

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                if self.paused.is_set():
                    if not self.linger:
                        return
                    self.wait_while_paused()
                    continue
                job = self.queue.claim_next(self.printer, self.worker.name)
                if job is not None:
                    self.deliver(job)
                elif not self.idle():
                    return
        finally:
            if self.session is not None:
                self.session.close()
            self.record_events()

    def idle(self) -> bool:
        """Between jobs: poll, release when idle long enough; False when there is nothing to do."""
        self.record_events()
        session = self.session
        if not self.linger:
            return False
        if session is not None and session.is_open:
            if not session.release_if_idle() and (
                time.monotonic() - self.last_poll >= session.printer.status_poll_interval_s
            ):
                self.poll_status(None)
        elif self.printer not in self.queue.printers_with_work():
            return False
        self.stop.wait(TICK_S)
        return True

    # -- one job ----------------------------------------------------------

    def deliver(self, job: JobRecord) -> None:
        """Print ``job`` from film ``films_done`` on; finish, defer or fail it."""
        self.current_job = job.id
        try:
            self.deliver_claimed(job)
        finally:
            self.record_events()
            self.current_job = None

    def deliver_claimed(self, job: JobRecord) -> None:
        try:
            printer = self.worker.config_for(job)
            options = PrintOptions.from_dict(job.options)
        except (ConfigError, OptionError) as exc:
            self.fail(job, f"the job's stored settings cannot be used: {exc}")
            return
        session = self.session_for(printer)
        try:
            session.begin_job(options, f"job {job.id}")
            if self.printer_ready(job, printer) and self.print_films(job, options, session):
                session.end_job()
                if options.session_print:
                    self.remember_print_job(session.last_print_job_uid, job.id,
                                            f"films 1-{job.films_total}")
                    self.film_printed(job, job.films_total - 1)
                self.record_warnings(job.id)
                self.queue.finish(job.id, JobState.DONE)
                self.queue.log_event(job.id, self.printer,
                                     f"done: {job.films_total} film(s) printed")
                return
        except _JobPaused as exc:
            self.defer(job, printer, str(exc))
        except PrintError as exc:
            if exc.retryable:
                self.defer(job, printer, str(exc))
            else:
                self.fail(job, str(exc))
        except Exception as exc:  # noqa: BLE001 - a job must not stay claimed by a live worker
            LOG.exception("job %d: unexpected error", job.id)
            self.fail(job, f"unexpected error: {exc}")
        session.abandon_job()
        self.record_warnings(job.id)

    def printer_ready(self, job: JobRecord, printer: PrinterConfig) -> bool:
        """Printer N-GET before the job: True to print; FAILURE defers the job and pauses."""
        status, info = self.session.printer_status()  # type: ignore[union-attr]
        self.last_poll = time.monotonic()
        if status == PrinterStatus.FAILURE:
            self.pause(status, info)
            self.defer(job, printer, f"printer {self.printer} reports FAILURE ({info})")
            return False
        if status == PrinterStatus.WARNING:
            LOG.warning("printer %s: WARNING (%s)", self.printer, info)
            self.queue.log_event(job.id, self.printer, f"printer WARNING ({info}): printing")
        return True

    def print_films(self, job: JobRecord, options: PrintOptions,
                    session: PrinterSession) -> bool:
        """Print the films not yet done; False if stopped before the last one."""
        for index in range(job.films_done, job.films_total):
            if self.stop.is_set():
                return False
            if self.paused.is_set():
                if not self.linger:
                    raise _JobPaused(f"printer {self.printer} reported FAILURE after "
                                     f"{index} of {job.films_total} films")
                if not self.wait_while_paused():
                    return False
            images = self.queue.load_film(job.id, index)
            session.print_film(images, options, index, f"job {job.id}")
            if not options.session_print:
                self.remember_print_job(session.last_print_job_uid, job.id,
                                        f"film {index + 1}/{job.films_total}")
            notes = self.collect_warnings(job.id) + self.collect_events()
            if options.session_print:
                self.queue.log_events(notes)
            else:
                self.film_printed(job, index, notes)  # one commit: progress and what it said
        return True

    def film_printed(self, job: JobRecord, index: int, notes: Sequence[EventEntry] = ()) -> None:
        self.queue.film_done(job.id, index, notes)
        # The printer's Print Job UID ties the film to the printer's output (its file names
        # and metadata): the copy the printer acknowledged, should it hold two.
        LOG.info("job %d: film %d/%d printed on %s (print job %s)", job.id, index + 1,
                 job.films_total, self.printer,
                 self.session.last_print_job_uid)  # type: ignore[union-attr]
        if self.worker.progress is not None:
            self.worker.progress(job, index)

    def defer(self, job: JobRecord, printer: PrinterConfig, error: str) -> None:
        """Back to the queue with backoff, or FAILED once max_attempts are used up."""
        attempts = job.attempts + 1
        if attempts >= printer.max_attempts:
            self.fail(job, f"{error} (gave up after {attempts} attempts)")
            return
        delay = backoff_s(printer, job.attempts)
        LOG.warning("job %d deferred by %.1f s: %s", job.id, delay, error)
        self.queue.defer(job.id, error, delay)
        self.queue.log_event(job.id, self.printer, f"attempt {attempts} failed, next in "
                                                   f"{delay:g} s: {error}")

    def fail(self, job: JobRecord, error: str) -> None:
        LOG.error("job %d failed: %s", job.id, error)
        self.queue.finish(job.id, JobState.FAILED, error)
        self.queue.log_event(job.id, self.printer, f"failed: {error}")

    # -- printer state ----------------------------------------------------

    def session_for(self, printer: PrinterConfig) -> PrinterSession:
        """This thread's session, new if the printer's configuration changed."""
        if self.session is None or self.session.printer != printer:
            if self.session is not None:
                self.session.close()
            self.session = PrinterSession(printer, on_event=self.on_event)
        return self.session

    def on_event(self, event: ReceivedEvent) -> None:
        """pynetdicom's event thread: note the event, pause or resume; no queue access here."""
        self.events.put(_Received(event, self.current_job))
        if event.sop_class_uid == PRINTER:
            state = PrinterStatus.of_event(event.event_type_id)
            if state is PrinterStatus.FAILURE:
                self.paused.set()
            elif state is not None:
                self.paused.clear()

    def pause(self, status: str, info: str) -> None:
        if not self.paused.is_set():
            LOG.warning("printer %s paused: %s (%s)", self.printer, status, info)
        self.paused.set()

    def poll_status(self, job_id: int | None) -> str | None:
        """Printer N-GET; pause on FAILURE, resume otherwise; the status, None if unreachable."""
        self.last_poll = time.monotonic()
        try:
            status, info = self.session.printer_status()  # type: ignore[union-attr]
        except PrintError as exc:
            LOG.warning("printer %s: status poll failed: %s", self.printer, exc)
            self.session.close()  # type: ignore[union-attr]
            return None
        if status == PrinterStatus.FAILURE:
            self.pause(status, info)
        else:
            if self.paused.is_set():
                self.queue.log_event(job_id, self.printer, f"printer {status} ({info}): resumed")
            self.paused.clear()
        return status

    def wait_while_paused(self) -> bool:
        """Wait for a NORMAL/WARNING event or status poll; False if stopped meanwhile.

        The printer is polled after retry_backoff_s, doubling per poll up to
        retry_backoff_cap_s.
        """
        printer = self.session.printer  # type: ignore[union-attr]
        next_poll = time.monotonic() + backoff_s(printer, self.pause_step)
        while self.paused.is_set() and not self.stop.is_set():
            self.record_events()
            if time.monotonic() >= next_poll:
                self.pause_step += 1
                self.poll_status(self.current_job)
                next_poll = time.monotonic() + backoff_s(printer, self.pause_step)
            else:
                self.stop.wait(TICK_S)
        self.pause_step = 0
        self.record_events()
        return not self.stop.is_set()

    # -- records ----------------------------------------------------------

    def remember_print_job(self, uid: str | None, job_id: int, label: str) -> None:
        """Map a Print Job UID (from an N-ACTION reply, if any) to the job and its films."""
        if uid is None:
            return
        self.print_jobs[uid] = (job_id, label)
        while len(self.print_jobs) > PRINT_JOBS_REMEMBERED:
            del self.print_jobs[next(iter(self.print_jobs))]

    def record_events(self) -> None:
        """Write the N-EVENT-REPORTs received so far to the queue's event log."""
        self.queue.log_events(self.collect_events())

    def collect_events(self) -> list[EventEntry]:
        """Log and take the N-EVENT-REPORTs received so far, as event log entries."""
        entries: list[EventEntry] = []
        while True:
            try:
                received = self.events.get_nowait()
            except queue.Empty:
                return entries
            event, job_id = received.event, received.job_id
            text = describe_event(event)
            if event.sop_class_uid == PRINT_JOB and event.sop_instance_uid in self.print_jobs:
                job_id, label = self.print_jobs[event.sop_instance_uid]
                text += f" [{label}]"
            LOG.info("printer %s: %s", self.printer, text)
            entries.append((job_id, self.printer, text))

    def record_warnings(self, job_id: int) -> None:
        self.queue.log_events(self.collect_warnings(job_id))

    def collect_warnings(self, job_id: int) -> list[EventEntry]:
        """Log and take the session's warning statuses so far, as event log entries."""
        session = self.session
        if session is None:
            return []
        warnings, session.warnings = session.warnings, []
        for text in warnings:
            LOG.warning("printer %s: %s", self.printer, text)
        return [(job_id, self.printer, f"warning: {text}") for text in warnings]

"""The print worker: delivers queued jobs to their printers, one thread per printer.

Each printer with work gets a thread of its own that holds at most one
association to it (a :class:`print_scu.session.PrinterSession`), so printers
print in parallel and each prints one job at a time, in the queue's order
(Print Priority, then age). Per job: Printer N-GET (NORMAL prints, WARNING
prints and records the info, FAILURE defers the job and pauses the
printer), then film after film from ``films_done`` on.

When is a film printed? On a printer that negotiates the Print Job SOP
Class, once its Print Job reports DONE: by N-EVENT-REPORT, or by a Print Job
N-GET every ``print_job_poll_interval_s`` while no event comes. Each film is
recorded as sent (with its Print Job UID) right after its N-ACTION, and the
next film is sent without waiting; the job is DONE once every Print Job is.
A Print Job FAILURE makes its films unsent again and defers the job (its
films printed again on the next attempt), or fails it at once for the
Execution Status Infos of :data:`FINAL_EXECUTION_STATUS_INFOS`. A job none
of whose Print Jobs finishes for ``print_job_timeout_s`` is deferred; its
films stay sent and are asked about again (N-GET) before the next attempt
sends anything, so after a crash a film is sent twice only if it was in
flight. A printer without Print Job counts a film printed once its N-ACTION
is accepted. Session printing sends one N-ACTION, so one Print Job holds all
the films of the job.

Failures: a retryable :class:`print_scu.session.PrintError` (network,
association, queue full, resource limitation, printer FAILURE) defers the
job by ``retry_backoff_s`` doubling per attempt up to
``retry_backoff_cap_s`` seconds, and fails it after ``max_attempts``; any
other fails the job at once with the status and its meaning.

N-EVENT-REPORTs are recorded as job (or printer) events. A Printer FAILURE
event pauses the printer after the film in flight; NORMAL or WARNING
resumes it. Between jobs an open association is kept for
``idle_keep_open_s``, its printer polled every ``status_poll_interval_s``;
:class:`print_scu.idle_poll.IdlePoller` polls the printers without one.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dicomnet.terms import ExecutionStatus, PrinterStatus
from dicomnet.uids import PRINT_JOB, PRINTER
from print_scu.association import ReceivedEvent
from print_scu.config import ConfigError, PrinterConfig
from print_scu.idle_poll import IdlePoller
from print_scu.options import OptionError, PrintOptions
from print_scu.prepared_image import PreparedImage
from print_scu.queue import (
    EventEntry,
    JobQueue,
    JobRecord,
    JobState,
    QueueError,
    process_alive,
)
from print_scu.session import PrintError, PrinterSession

__all__ = ["FINAL_EXECUTION_STATUS_INFOS", "Worker", "describe_event", "worker_alive",
           "worker_name"]

LOG = logging.getLogger("print_scu.worker")

TICK_S = 0.2  # how often an idle thread looks for work and for stop, s
PRINT_JOBS_REMEMBERED = 1000  # Print Job UIDs mapped back to films, most recent

#: Execution Status Info (2100,0030) of a failed Print Job that fails the job at once: the
#: terms PS3.3 C.13.8 defines for the job itself (its page description cannot be printed,
#: the printer lacks the memory for it), which would fail again the same way. The others
#: (PS3.3 C.13.9.1: NO FILM, FILM JAM, PRINTER DOWN, ...) name a condition of the printer
#: that passes once attended to, so the job is retried with backoff.
FINAL_EXECUTION_STATUS_INFOS = frozenset({"INVALID PAGE DES", "INSUFFIC MEMORY"})


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


class _FilmFailed(Exception):
    """A Print Job of the job ended FAILURE; ``final`` if printing again would not help."""

    def __init__(self, message: str, final: bool) -> None:
        super().__init__(message)
        self.final = final


@dataclass(frozen=True)
class _Outcome:
    """A Print Job's final status, as an N-EVENT-REPORT or an N-GET gave it."""

    print_job_uid: str
    status: ExecutionStatus
    info: str


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
        worker has not finished when stopped go back to the queue. Every printer
        of ``printers`` is polled meanwhile (:class:`print_scu.idle_poll.IdlePoller`).
        """
        self.queue.recover(worker_alive)
        threads: dict[tuple[str, int], _PrinterThread] = {}
        poller = IdlePoller(self.queue, self.printers, busy=lambda printer: any(
            thread.printer == printer and thread.is_alive() and thread.association_open
            for thread in threads.values()))
        try:
            while not stop.is_set():
                for printer in self.queue.printers_with_work():
                    for slot in range(self.associations):
                        key = (printer, slot)
                        if key not in threads or not threads[key].is_alive():
                            threads[key] = self._start(printer, slot, stop, linger=True)
                poller.poll_due()
                stop.wait(TICK_S)
        finally:
            stop.set()
            self._finish(threads.values())
            poller.join()

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
        self.outcomes: queue.SimpleQueue[_Outcome] = queue.SimpleQueue()  # from events
        self.outcome_arrived = threading.Event()
        self.failure: _FilmFailed | None = None  # a Print Job of the current job failed
        self.print_jobs: dict[str, tuple[int, str]] = {}  # Print Job UID -> (job id, film)
        self.pause_step = 0  # status polls while paused
        self.last_poll = time.monotonic()

    @property
    def association_open(self) -> bool:
        """True while this thread holds an association to its printer."""
        session = self.session
        return session is not None and session.is_open

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
        self.current_job, self.failure = job.id, None
        try:
            self.deliver_claimed(job)
        finally:
            self.record_events()
            self.current_job, self.failure = None, None

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
            if (self.printer_ready(job, printer) and self.print_films(job, options, session)
                    and self.await_print_jobs(job, printer)):
                done = (job.id, self.printer, f"done: {job.films_total} film(s) printed")
                self.queue.finish(job.id, JobState.DONE,
                                  events=[*self.collect_warnings(job.id), done])
                return
        except _FilmFailed as exc:
            if exc.final:
                self.fail(job, str(exc))
            else:
                self.defer(job, printer, str(exc))
        except _JobPaused as exc:
            self.defer(job, printer, str(exc))
        except PrintError as exc:
            if exc.retryable:
                self.defer(job, printer, str(exc))
            else:
                self.fail(job, str(exc))
        except QueueError as exc:  # its films are missing or damaged: it can never print
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
        self.queue.record_printer_poll(self.printer, status, info)
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
        """Send the films not yet sent, and end the job on the printer; False if stopped first.

        Films an earlier attempt sent are asked about first (Print Job N-GET).
        """
        self.poll_print_jobs(job)
        self.raise_if_failed()
        indices = self.queue.films_to_send(job.id)
        for index, images, texts in self.films(job.id, indices):
            if self.stop.is_set():
                return False
            if self.paused.is_set():
                if not self.linger:
                    raise _JobPaused(f"printer {self.printer} reported FAILURE after "
                                     f"{index} of {job.films_total} films")
                if not self.wait_while_paused():
                    return False
            self.raise_if_failed()
            session.print_film(images, options, index, f"job {job.id}", texts)
            notes = self.collect_warnings(job.id) + self.collect_events()
            if options.session_print:
                self.queue.log_events(notes)
            else:
                self.films_accepted(job, [index], notes)
        session.end_job()
        if options.session_print and indices:
            self.films_accepted(job, indices, self.collect_warnings(job.id))
        return True

    def films(self, job_id: int, indices: list[int]
              ) -> Iterator[tuple[int, list[PreparedImage], list[str] | None]]:
        """(index, images, Annotation Box texts) of films ``indices`` of a job, each read
        from the spool on a loader thread while the caller sends the one before."""
        with ThreadPoolExecutor(1, thread_name_prefix=f"load-{self.printer}") as loader:
            upcoming = None
            for position, index in enumerate(indices):
                loading = upcoming or loader.submit(self.load_film, job_id, index)
                following = indices[position + 1:position + 2]
                upcoming = (loader.submit(self.load_film, job_id, following[0]) if following
                            else None)
                images, texts = loading.result()
                yield index, images, texts

    def load_film(self, job_id: int, index: int) -> tuple[list[PreparedImage], list[str] | None]:
        """Film ``index`` of a job from the spool: its images and Annotation Box texts."""
        return self.queue.load_film(job_id, index), self.queue.load_annotations(job_id, index)

    def films_accepted(self, job: JobRecord, indices: list[int],
                       notes: Sequence[EventEntry]) -> None:
        """The printer accepted films ``indices`` (their N-ACTION): sent, awaiting their
        Print Job, or printed if the printer reports none; ``notes`` are committed with it."""
        uid = self.session.last_print_job_uid  # type: ignore[union-attr]
        label = (f"film {indices[0] + 1}/{job.films_total}" if len(indices) == 1
                 else f"films {indices[0] + 1}-{indices[-1] + 1}")
        if uid is None:
            for index in indices:  # one commit each: progress and what it said
                self.queue.film_done(job.id, index, notes if index == indices[0] else ())
                self.film_printed(job, index)
            return
        self.remember_print_job(uid, job.id, label)
        self.queue.films_sent(job.id, indices, uid, notes)
        for index in indices:
            LOG.info("job %d: film %d/%d sent to %s (print job %s)", job.id, index + 1,
                     job.films_total, self.printer, uid)
        self.settle_print_jobs()

    def film_printed(self, job: JobRecord, index: int) -> None:
        """Log a film printed and report it to the worker's ``progress``."""
        LOG.info("job %d: film %d/%d printed on %s", job.id, index + 1, job.films_total,
                 self.printer)
        if self.worker.progress is not None:
            self.worker.progress(job, index)

    # -- Print Jobs -------------------------------------------------------

    def await_print_jobs(self, job: JobRecord, printer: PrinterConfig) -> bool:
        """Wait until every film of ``job`` sent is printed; False if stopped meanwhile.

        Events settle Print Jobs as they come; while none comes, the Print Jobs
        awaited are asked about (N-GET) every ``print_job_poll_interval_s``.
        Raises :class:`_FilmFailed` for a FAILURE, a retryable PrintError when no
        Print Job finished for ``print_job_timeout_s``, and :class:`_JobPaused` if the
        printer reports FAILURE and the thread may not wait for it.
        """
        self.raise_if_failed()  # a Print Job failed while films were being sent
        awaited = self.queue.awaited_print_jobs(job.id)
        deadline = time.monotonic() + printer.print_job_timeout_s
        next_poll = time.monotonic() + printer.print_job_poll_interval_s
        while awaited:
            if self.stop.is_set():
                return False
            if self.paused.is_set() and not self.linger:
                raise _JobPaused(f"printer {self.printer} reported FAILURE while film(s) of "
                                 f"job {job.id} awaited their print job")
            self.outcome_arrived.wait(TICK_S)
            self.outcome_arrived.clear()
            self.record_events()
            if time.monotonic() >= next_poll:
                self.poll_print_jobs(job)
                next_poll = time.monotonic() + printer.print_job_poll_interval_s
            self.raise_if_failed()
            still = self.queue.awaited_print_jobs(job.id)
            if still.keys() != awaited.keys():
                deadline = time.monotonic() + printer.print_job_timeout_s
            elif time.monotonic() >= deadline:
                films = sum(len(indices) for indices in still.values())
                first, *others = still
                more = f" and {len(others)} more" if others else ""
                raise PrintError(f"{films} film(s) of job {job.id} sent to {self.printer} "
                                 f"not printed yet: none of their print jobs ({first}{more}) "
                                 f"finished within {printer.print_job_timeout_s:g} s",
                                 retryable=True)
            awaited = still
        return True

    def poll_print_jobs(self, job: JobRecord) -> None:
        """Print Job N-GET of each Print Job the job's sent films await; settle the finished.

        A Print Job the printer does not know (it forgot it, or cannot be asked)
        is taken as DONE, with an event saying so.
        """
        for uid in self.queue.awaited_print_jobs(job.id):
            answer = self.session.print_job_status(uid)  # type: ignore[union-attr]
            if answer is None:
                self.queue.log_event(job.id, self.printer, f"print job {uid} is unknown to "
                                     "the printer: its film(s) taken as printed")
                self.print_job_ended(_Outcome(uid, ExecutionStatus.DONE, ""))
            elif answer[0].finished:
                self.print_job_ended(_Outcome(uid, *answer))

    def settle_print_jobs(self) -> None:
        """Apply the Print Job outcomes N-EVENT-REPORTs brought so far."""
        while True:
            try:
                outcome = self.outcomes.get_nowait()
            except queue.Empty:
                return
            self.print_job_ended(outcome)

    def print_job_ended(self, outcome: _Outcome) -> None:
        """Record a finished Print Job's films printed (DONE) or to print again (FAILURE).

        A FAILURE of the job being delivered is raised by :meth:`raise_if_failed`.
        """
        films = self.queue.print_job_finished(outcome.print_job_uid,
                                              outcome.status is ExecutionStatus.DONE)
        for job_id in dict.fromkeys(job_id for job_id, _ in films):
            job = self.queue.get(job_id)
            assert job is not None  # jobs are never deleted
            indices = [index for other, index in films if other == job_id]
            if outcome.status is ExecutionStatus.DONE:
                for index in indices:
                    self.film_printed(job, index)
                continue
            numbers = ", ".join(str(index + 1) for index in indices)
            text = (f"print job {outcome.print_job_uid} FAILURE ({outcome.info}): film(s) "
                    f"{numbers} of {job.films_total} not printed")
            LOG.warning("job %d: %s", job_id, text)
            self.queue.log_event(job_id, self.printer, f"{text}; to be printed again")
            if job_id == self.current_job and self.failure is None:
                self.failure = _FilmFailed(
                    text, final=outcome.info.strip().upper() in FINAL_EXECUTION_STATUS_INFOS)

    def raise_if_failed(self) -> None:
        """Raise the FAILURE of a Print Job of the job being delivered, if one came."""
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure

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
        self.queue.finish(job.id, JobState.FAILED, error,
                          events=[(job.id, self.printer, f"failed: {error}")])

    # -- printer state ----------------------------------------------------

    def session_for(self, printer: PrinterConfig) -> PrinterSession:
        """This thread's session, new if the printer's configuration changed."""
        if self.session is None or self.session.printer != printer:
            if self.session is not None:
                self.session.close()
            self.session = PrinterSession(printer, on_event=self.on_event)
        return self.session

    def on_event(self, event: ReceivedEvent) -> None:
        """pynetdicom's event thread: note the event (and a Print Job's outcome), pause or
        resume; no queue access here."""
        self.events.put(_Received(event, self.current_job))
        if event.sop_class_uid == PRINT_JOB:
            status = ExecutionStatus.of_event(event.event_type_id)
            if status is not None and status.finished:
                info = event.event_information
                detail = str(info.get("ExecutionStatusInfo", "") or "") if info else ""
                self.outcomes.put(_Outcome(event.sop_instance_uid, status,
                                           detail or status.value))
                self.outcome_arrived.set()
        elif event.sop_class_uid == PRINTER:
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
            self.queue.record_printer_poll(self.printer, None, str(exc))
            self.session.close()  # type: ignore[union-attr]
            return None
        self.queue.record_printer_poll(self.printer, status, info)
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
        """Write the N-EVENT-REPORTs received so far to the queue's event log; settle the
        Print Jobs they finished."""
        self.queue.log_events(self.collect_events())
        self.settle_print_jobs()

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

"""The forwarder: records each printed film's deliveries and runs them on its own threads.

Deliveries never run on a DIMSE thread nor in the render worker: the render
worker only records them (:meth:`Forwarder.record`, in the outbox, before the
job leaves the spool), and ``threads`` delivery threads take them from the
outbox. A delivery that fails is retried with exponential backoff
(``RetryPolicy``) until it succeeds, fails for good (a permanent reason, or
the last attempt), or the printer stops; a stopped or killed printer resumes
the unfinished ones at its next start. Each film's JSON is rewritten with
its deliveries (``"forwarding"``) whenever one of them ends or waits to be
retried.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from dicomnet.terms import ExecutionStatus
from film.model import FilmSpec
from film.staged_files import write_atomically
from print_scp.forward.film_printer import FilmPrinters, execution_status_info
from print_scp.forward.outbox import QUEUED, QUEUEING, Delivery, Outbox
from print_scp.forward.programs import deliver_command, deliver_paper
from print_scp.forward.sinks import (
    Ack,
    CommandSink,
    PaperSink,
    PrinterSink,
    RetryPolicy,
    Sink,
    StoreSink,
)
from print_scp.forward.store import deliver_store
from print_scp.forward.written_film import DeliveryError, WrittenFilm, film_facts

__all__ = ["Forwarder"]

LOG = logging.getLogger("print_scp.forward")

_IDLE_POLL_S = 0.5
_THREAD_PREFIX = "forward-"


class _ConnectFailuresOfDeliveries(logging.Filter):
    """Drops pynetdicom's ERROR lines for a connection a delivery thread could not make:
    the delivery's own line says it once, with the retry."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not ((record.threadName or "").startswith(_THREAD_PREFIX)
                    and record.levelno >= logging.ERROR)


_PYNETDICOM_TRANSPORT = logging.getLogger("pynetdicom.transport")
_PYNETDICOM_TRANSPORT.addFilter(_ConnectFailuresOfDeliveries())


def _deliver(film: WrittenFilm, sink: Sink) -> str | None:
    """Run one delivery; the warning it gives, if any. DeliveryError if it failed."""
    if isinstance(sink, StoreSink):
        return deliver_store(film, sink)
    if isinstance(sink, PaperSink):
        deliver_paper(film, sink)
    elif isinstance(sink, CommandSink):
        deliver_command(film, sink)
    return None


JobResult = Callable[[str, ExecutionStatus, str], None]


class Forwarder:
    """The deliveries of the films in ``output_dir`` to ``sinks``.

    ``job_result(print job UID, DONE or FAILURE, Execution Status Info)`` ends a
    modality's Print Job held for a film printer sink with ``ack = "printed"``.
    """

    def __init__(self, sinks: Sequence[Sink], output_dir: Path, retry: RetryPolicy = RetryPolicy(),
                 threads: int = 2, job_result: JobResult | None = None):
        self._sinks = {sink.name: sink for sink in sinks}
        self._output_dir = Path(output_dir)
        self._retry = retry
        self._job_result = job_result
        self.outbox = Outbox(self._output_dir)
        printer_sinks = {s.name: s for s in sinks if isinstance(s, PrinterSink)}
        self._film_printers = (FilmPrinters(self._output_dir, printer_sinks, self._printed)
                               if printer_sinks else None)
        self._stop = threading.Event()
        self._json_lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"{_THREAD_PREFIX}{i}",
                                          daemon=True) for i in range(threads)]

    def start(self) -> None:
        resumed = self.outbox.resume()
        if resumed:
            LOG.info("resuming %d deliveries a previous run left unfinished", resumed)
        if self._film_printers is not None:
            for delivery in self.outbox.list(QUEUED):
                if delivery.external_id is not None:
                    self._film_printers.watch(delivery.external_id, delivery.sink)
            self._film_printers.start()
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop taking deliveries; those running finish (or time out) first."""
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout_s)
        if self._film_printers is not None:
            self._film_printers.stop(timeout_s)
        self.outbox.close()

    def sinks_for(self, metadata: dict[str, Any]) -> list[str]:
        """The names of the sinks a film (its metadata) goes to."""
        facts = film_facts(metadata)
        return [name for name, sink in self._sinks.items() if sink.match.fits(facts)]

    def spooled(self, job_uid: str, films: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Record the film printer deliveries of a job just spooled (before its N-ACTION is
        answered); they go into print-scu's queue when :meth:`record` is called."""
        for name, metadata in films:
            printers = [s for s in self.sinks_for(metadata)
                        if isinstance(self._sinks[s], PrinterSink)]
            if printers:
                self.outbox.add([(name, job_uid)], printers, state=QUEUEING)

    def abandoned(self, job_uid: str, why: str) -> None:
        """The job failed before its films were written: its film printer deliveries too."""
        for delivery in self.outbox.list(QUEUEING, job_uid=job_uid):
            self.outbox.finish(delivery.id, f"the print job failed: {why}")

    def record(self, job_uid: str, films: Sequence[tuple[str, dict[str, Any], FilmSpec]]) -> bool:
        """Record the deliveries of a job's written films (once each, whatever happens),
        and put those for film printers into print-scu's queue.

        True if the job waits for a film printer (``ack = "printed"``): then
        ``job_result`` ends it, not the caller.
        """
        held = False
        for name, metadata, spec in films:
            sinks = [self._sinks[s] for s in self.sinks_for(metadata)]
            self.outbox.add([(name, job_uid)],
                            [s.name for s in sinks if not isinstance(s, PrinterSink)])
            for sink in sinks:
                if isinstance(sink, PrinterSink):
                    held |= self._queue_print(job_uid, name, metadata, spec, sink)
        return held

    def _queue_print(self, job_uid: str, name: str, metadata: dict[str, Any], spec: FilmSpec,
                     sink: PrinterSink) -> bool:
        """Hand one film to print-scu's queue (once); True if its Print Job waits for it."""
        assert self._film_printers is not None  # there is a printer sink
        self.outbox.add([(name, job_uid)], [sink.name], state=QUEUEING)
        delivery = self.outbox.find(name, sink.name)
        if delivery is None or delivery.state != QUEUEING:
            return sink.ack is Ack.PRINTED and delivery is not None and delivery.state == QUEUED
        try:
            job_id = self._film_printers.submit(sink, spec, metadata)
        except DeliveryError as exc:
            self.outbox.finish(delivery.id, str(exc))
            LOG.error("film %s not forwarded to %s: %s", name, sink.name, exc)
            return False
        self.outbox.queued(delivery.id, job_id)
        LOG.info("film %s queued for printer %s (print-scu job %d)", name,
                 sink.printers[0].name, job_id)
        return sink.ack is Ack.PRINTED

    def _printed(self, job_id: int, error: str | None) -> None:
        """A print-scu job ended: its delivery too, and the Print Job if it waited."""
        delivery = self.outbox.of_external(job_id)
        if delivery is None:
            return
        self.outbox.finish(delivery.id, error)
        if error:
            LOG.error("film %s not printed by %s: %s", delivery.film, delivery.sink, error)
        else:
            LOG.info("film %s printed by %s", delivery.film, delivery.sink)
        self._update_json(WrittenFilm(self._output_dir, delivery.film))
        sink = self._sinks.get(delivery.sink)
        if self._job_result is None or not isinstance(sink, PrinterSink) \
                or sink.ack is not Ack.PRINTED:
            return
        deliveries = [d for d in self.outbox.list(job_uid=delivery.job_uid)
                      if isinstance(self._sinks.get(d.sink), PrinterSink)]
        if any(d.state in (QUEUEING, QUEUED) for d in deliveries):
            return
        errors = [d.last_error for d in deliveries if d.last_error and d.state == "failed"]
        self._job_result(delivery.job_uid,
                         ExecutionStatus.FAILURE if errors else ExecutionStatus.DONE,
                         execution_status_info(errors[0] if errors else None))

    def _run(self) -> None:
        while not self._stop.is_set():
            delivery = self.outbox.take_due()
            if delivery is None:
                self._stop.wait(_IDLE_POLL_S)
                continue
            self._attempt(delivery)

    def _attempt(self, delivery: Delivery) -> None:
        film = WrittenFilm(self._output_dir, delivery.film)
        sink = self._sinks.get(delivery.sink)
        try:
            if sink is None:
                raise DeliveryError(f"sink {delivery.sink!r} is no longer in the profile",
                                    permanent=True)
            if isinstance(sink, PrinterSink):
                self._print_again(delivery)
                return
            warning = _deliver(film, sink)
        except DeliveryError as exc:
            self._failed(delivery, str(exc), exc.permanent)
        except Exception as exc:  # a bug must not stop the delivery thread
            LOG.exception("delivery %d of %s to %s", delivery.id, delivery.film, delivery.sink)
            self._failed(delivery, f"internal error: {exc}", permanent=True)
        else:
            self.outbox.finish(delivery.id, warning=warning)
            if warning:
                LOG.warning("film %s delivered to %s: %s", delivery.film, delivery.sink, warning)
            else:
                LOG.info("film %s delivered to %s", delivery.film, delivery.sink)
        self._update_json(film)

    def _print_again(self, delivery: Delivery) -> None:
        """A failed film printer delivery made pending (print-scp forwards --retry): its
        print-scu job is queued again, from its first unprinted film."""
        queue = self._film_printers.queue if self._film_printers is not None else None
        if queue is None or delivery.external_id is None \
                or not queue.retry(delivery.external_id):
            raise DeliveryError("its print-scu job is gone or not failed: it cannot be sent "
                                "again", permanent=True)
        self.outbox.queued(delivery.id, delivery.external_id)
        assert self._film_printers is not None
        self._film_printers.watch(delivery.external_id, delivery.sink)

    def _failed(self, delivery: Delivery, reason: str, permanent: bool) -> None:
        attempts = delivery.attempts
        if permanent or attempts >= self._retry.attempts:
            self.outbox.finish(delivery.id, reason)
            LOG.error("film %s not delivered to %s after %d attempt(s): %s", delivery.film,
                      delivery.sink, attempts, reason)
            return
        delay = self._retry.delay_s(attempts)
        self.outbox.retry_later(delivery.id, reason, delay)
        LOG.warning("film %s to %s: %s; retry %d of %d in %g s", delivery.film, delivery.sink,
                    reason, attempts + 1, self._retry.attempts, delay)

    def _update_json(self, film: WrittenFilm) -> None:
        """Rewrite the film's JSON with its deliveries (no JSON: the film was deleted)."""
        with self._json_lock:
            try:
                document = json.loads(film.path(".json").read_bytes())
            except (OSError, ValueError):
                return
            document["forwarding"] = [d.to_json() for d in self.outbox.list(film=film.name)]
            text = json.dumps(document, ensure_ascii=False, indent=2)
            try:
                write_atomically(film.directory, f"{film.name}.json",
                                 text.encode("utf-8", "backslashreplace"))
            except OSError as exc:
                LOG.warning("film %s: deliveries not written to its JSON: %s", film.name, exc)

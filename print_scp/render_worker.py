"""The render worker: turns spooled print jobs into PDF, PNG, density map and JSON.

``processes`` scheduler threads each take the next job, by Print Priority
(HIGH, MED, LOW) then in order of arrival, and render its films one by one in
a pool of as many processes (``print_scp.render_process``), so rendering
uses every core and never runs on, or competes with, a DIMSE thread. While
the printer is in FAILURE (e.g. FILM JAM) nothing is printed, as on a real
printer; jobs wait PENDING and resume when the printer returns to NORMAL or
WARNING. A render process that dies (killed, out of memory) fails its job
and is replaced.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import queue
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from print_scp.print_jobs import ExecutionStatus, PrintJob, PrintJobRegistry
from print_scp.printer import Printer, PrinterStatus
from print_scp.render_process import render_spooled_film
from print_scp.spool import Spool

LOG = logging.getLogger("print_scp.render")

_PRIORITY_RANK = {"HIGH": 0, "MED": 1, "LOW": 2}
_IDLE_POLL = 0.2  # s, how often a waiting worker looks at the printer and for stop


def _process_context() -> multiprocessing.context.BaseContext:
    """forkserver where there is one (no fork of a threaded server), else spawn.

    The fork server preloads the render modules once, so a new render
    process starts in milliseconds.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["print_scp.render_process"])
    return context


class RenderWorker:
    """Renders spooled jobs with ``processes`` render processes until stopped."""

    def __init__(self, spool: Spool, output_dir: Path, jobs: PrintJobRegistry,
                 printer: Printer, printer_name: str, processes: int = 2):
        self._spool = spool
        self._output_dir = Path(output_dir)
        self._jobs = jobs
        self._printer = printer
        self._printer_name = printer_name
        self._queue: queue.PriorityQueue[tuple[int, int, str]] = queue.PriorityQueue()
        self._sequence = itertools.count()
        self._stop = threading.Event()
        self._processes = processes
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, name=f"render-{i}", daemon=True)
                         for i in range(processes)]
        self.films_rendered = 0

    def start(self) -> None:
        """Queue the jobs a previous run left in the spool, then start rendering."""
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
            self.submit(job_uid, spooled.priority)
        for thread in self._threads:
            thread.start()

    def submit(self, job_uid: str, priority: str) -> None:
        self._queue.put((_PRIORITY_RANK.get(priority, 1), next(self._sequence), job_uid))

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the film in hand, then stop; queued jobs stay in the spool."""
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():
                thread.join(timeout)
        with self._pool_lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None

    def _render_in_process(self, job_uid: str, index: int) -> str:
        """Run one film in the pool (started on first use); the film's name."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(self._processes, mp_context=_process_context())
            pool = self._pool
        future = pool.submit(render_spooled_film, str(self._spool.root), job_uid, index,
                             str(self._output_dir))
        try:
            return future.result()
        except BrokenProcessPool:
            with self._pool_lock:  # replace the pool once, whichever thread sees it first
                if self._pool is pool:
                    pool.shutdown(wait=False, cancel_futures=True)
                    self._pool = None
            raise

    def idle(self) -> bool:
        return self._queue.unfinished_tasks == 0

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                _, _, job_uid = self._queue.get(timeout=_IDLE_POLL)
            except queue.Empty:
                continue
            try:
                if self._wait_for_printer():
                    self._render(job_uid)
            finally:
                self._queue.task_done()

    def _wait_for_printer(self) -> bool:
        """Block while the printer is in FAILURE; False if stopped meanwhile."""
        while self._printer.condition.status is PrinterStatus.FAILURE:
            if self._stop.wait(_IDLE_POLL):
                return False
        return True

    def _render(self, job_uid: str) -> None:
        try:
            spooled = self._spool.load(job_uid)
        except Exception as exc:
            self._fail(job_uid, f"spooled job unreadable: {exc}")
            return
        self._jobs.set_status(job_uid, ExecutionStatus.PRINTING)
        try:
            for index in range(len(spooled.films)):
                if self._stop.is_set():
                    return  # stays in the spool; rendered again (whole) after a restart
                name = self._render_in_process(job_uid, index)
                self.films_rendered += 1
                LOG.info("printed film %s (%s)", name, job_uid)
                self._printer.film_printed()
        except BrokenProcessPool:
            self._fail(job_uid, "the render process died (killed, or out of memory)")
            return
        except OSError as exc:
            self._fail(job_uid, f"cannot write output: {exc.strerror or exc}", info="PRINTER DOWN")
            return
        except Exception as exc:
            LOG.exception("rendering job %s failed", job_uid)
            self._fail(job_uid, f"render failed: {exc}")
            return
        self._spool.remove(job_uid)
        self._jobs.set_status(job_uid, ExecutionStatus.DONE)

    def _fail(self, job_uid: str, why: str, info: str = "UNKNOWN") -> None:
        LOG.error("print job %s failed: %s", job_uid, why)
        try:
            self._spool.quarantine(job_uid)
        except OSError as exc:
            LOG.error("cannot move job %s out of the spool: %s", job_uid, exc)
        self._jobs.set_status(job_uid, ExecutionStatus.FAILURE, info)

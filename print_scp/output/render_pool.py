"""Render processes, started and fed by the printer: each renders one film at a time.

A render process is a fresh interpreter running ``python -m
print_scp.output.render_process`` (:func:`render_command`). It imports what
rendering needs and nothing of the network, and talks to the printer over
two pipes, its standard input and output: a task is ``(operation, args)``, an
answer ``("done", result)`` or ``("failed", exception)``, each pickled by
:class:`multiprocessing.connection.Connection`. There is no fork server and
no multiprocessing resource tracker: a printer with one render process is two
processes (measured, 100 films of 8×10 in over 16 associations, peak RSS
summed: 142 MiB with one render process, 204 MiB with two; 280 MiB with two
forked from a multiprocessing fork server, its resource tracker included).

Each process has a feeder thread here that takes the next task from a queue
shared by all of them, so a film goes to whichever process is free. A
process that dies (killed, out of memory) fails the task it had, with
:class:`RenderProcessDied`, and is started again for the next one; one that
died while idle is started again before it is given a task. A render process
ends when its standard input closes, once the film in hand is written:
when :meth:`RenderPool.shutdown` closes it, or when the printer's process
ends, however it ended (SIGKILL included), since only the printer holds the
write end.
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import subprocess
import sys
import threading
from concurrent.futures import Future
from multiprocessing.connection import Connection
from typing import Any

LOG = logging.getLogger("print_scp.render")

#: Render processes a printer starts unless told otherwise: one keeps the printer within
#: 150 MiB of resident memory with its render process (two: 190-205 MiB, and 8-18 %
#: more films per minute on two cores).
DEFAULT_RENDER_PROCESSES = 1
#: How long :meth:`RenderPool.shutdown` waits for a render process to finish its film, s.
STOP_TIMEOUT_S = 30.0


class RenderProcessDied(RuntimeError):
    """A render process ended (killed, out of memory) before answering its task, or none
    could be started for it."""


def render_command() -> list[str]:
    """The command line of a render process."""
    return [sys.executable, "-m", "print_scp.output.render_process"]


class _RenderProcess:
    """One running render process and the two pipe ends the printer holds."""

    def __init__(self) -> None:
        task_read, task_write = os.pipe()
        answer_read, answer_write = os.pipe()
        try:
            self.popen = subprocess.Popen(render_command(), stdin=task_read,
                                          stdout=answer_write, close_fds=True)
        except BaseException:
            for fd in (task_read, task_write, answer_read, answer_write):
                os.close(fd)
            raise
        os.close(task_read)
        os.close(answer_write)
        self._tasks = Connection(task_write, readable=False)
        self._answers = Connection(answer_read, writable=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def call(self, operation: str, args: tuple[Any, ...]) -> Any:
        """Run ``operation`` in the process; its result, or the exception it raised there.

        Raises :class:`RenderProcessDied` if the process ends before it answers.
        """
        try:
            self._tasks.send((operation, args))
            outcome, value = self._answers.recv()
        except (EOFError, OSError):
            status = self.stop(timeout_s=STOP_TIMEOUT_S)
            raise RenderProcessDied(f"render process {self.pid} ended ({_described(status)}) "
                                    f"during {operation}") from None
        if outcome == "failed":
            raise value
        return value

    def stop(self, timeout_s: float) -> int | None:
        """Close the pipes: the process ends after the task in hand; kill it if it has not
        ended within ``timeout_s``. Its exit status."""
        self._tasks.close()
        self._answers.close()
        try:
            return self.popen.wait(timeout_s)
        except subprocess.TimeoutExpired:
            LOG.warning("render process %d did not end within %.0f s: killed", self.pid,
                        timeout_s)
            self.popen.kill()
            return self.popen.wait()


def _described(status: int | None) -> str:
    """How a process ended, from its exit status (negative: the signal that ended it)."""
    if status is None:
        return "still running"
    if status < 0:
        try:
            return signal.Signals(-status).name
        except ValueError:
            return f"signal {-status}"
    return f"exit status {status}"


_Task = tuple[Future, str, tuple[Any, ...]]


class RenderPool:
    """``processes`` render processes; :meth:`submit` runs an operation in the first free one.

    The processes start with the pool, in the background: their imports take a
    few hundred milliseconds, which the first film would otherwise wait for.
    """

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError(f"render processes: {processes}; at least 1")
        self._tasks: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._processes: list[_RenderProcess | None] = [None] * processes
        self._lock = threading.Lock()
        self._stopped = False
        self._feeders = [threading.Thread(target=self._feed, args=(slot,),
                                          name=f"render-feed-{slot}", daemon=True)
                         for slot in range(processes)]
        for feeder in self._feeders:
            feeder.start()

    def pids(self) -> list[int]:
        """Process ids of the render processes running now."""
        with self._lock:
            return [p.pid for p in self._processes if p is not None and p.popen.poll() is None]

    def submit(self, operation: str, *args: Any) -> Future:
        """Run ``operation`` (a name in ``render_process.OPERATIONS``) with ``args``."""
        future: Future = Future()
        with self._lock:
            if self._stopped:
                raise RuntimeError("the render processes are stopped")
            self._tasks.put((future, operation, args))
        return future

    def shutdown(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Cancel the tasks not started, let each process finish the one in hand, stop them."""
        with self._lock:
            self._stopped = True
        for _ in self._feeders:
            self._tasks.put(None)
        for feeder in self._feeders:
            feeder.join(timeout_s)

    def _feed(self, slot: int) -> None:
        try:
            try:
                self._started(slot)
            except RenderProcessDied as exc:  # the first task will try again, and report
                LOG.warning("%s", exc)
            while (task := self._tasks.get()) is not None:
                future, operation, args = task
                if self._stopped:
                    future.cancel()
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(self._started(slot).call(operation, args))
                except BaseException as exc:  # the task's outcome, whatever it is
                    future.set_exception(exc)
        finally:
            with self._lock:
                process, self._processes[slot] = self._processes[slot], None
            if process is not None:
                process.stop(STOP_TIMEOUT_S)

    def _started(self, slot: int) -> _RenderProcess:
        """The slot's process, started (again) if it is not running."""
        with self._lock:
            process = self._processes[slot]
        if process is not None and process.popen.poll() is None:
            return process
        if process is not None:
            LOG.warning("render process %d ended (%s); starting another", process.pid,
                        _described(process.stop(0)))
        try:
            process = _RenderProcess()
        except OSError as exc:  # out of processes, memory or file descriptors
            raise RenderProcessDied(f"no render process could be started: {exc}") from exc
        with self._lock:
            self._processes[slot] = process
        LOG.debug("render process %d started", process.pid)
        return process

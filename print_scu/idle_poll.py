"""Status polls of idle printers, so that their status is fresh before the next job.

``print-scu worker`` asks every configured printer for its status (Printer
N-GET) every ``status_poll_interval_s`` seconds, the first time at start-up,
as modalities such as syngo MR do. A printer whose delivery thread holds an
association is polled by that thread; the others get a short association
of their own (open, Printer N-GET, release), each on a thread of its own so
that an unreachable printer delays no other. Every answer, or why there was
none, is kept in the queue as the printer's last status (``print-scu
printers`` shows it); a change is logged as a printer event. A printer seen
in FAILURE is not paused from here: the Printer N-GET before each job holds
its jobs while it lasts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from dicomnet.terms import PrinterStatus
from print_scu.config import PrinterConfig
from print_scu.queue import JobQueue
from print_scu.session import PrintError, PrinterSession

__all__ = ["IdlePoller", "poll_printer"]

LOG = logging.getLogger("print_scu.idle_poll")


def poll_printer(printer: PrinterConfig) -> tuple[str | None, str]:
    """One Printer N-GET over an association of its own: (Printer Status, Printer Status
    Info), or (None, why) if the printer could not be asked."""
    session = PrinterSession(printer)
    try:
        return session.printer_status()
    except PrintError as exc:
        return None, str(exc)
    finally:
        session.close()


class IdlePoller:
    """Polls ``printers`` (by name) that ``busy(name)`` says hold no association.

    Call :meth:`poll_due` regularly (it only starts the polls that are due),
    and :meth:`join` before the queue is closed.
    """

    def __init__(self, queue: JobQueue, printers: dict[str, PrinterConfig],
                 busy: Callable[[str], bool],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.queue = queue
        self.printers = dict(printers)
        self.busy = busy
        self._clock = clock
        self._due_at = {name: clock() for name in self.printers}  # monotonic s
        self._polls: dict[str, threading.Thread] = {}

    def poll_due(self) -> None:
        """Start a poll of each printer whose interval has passed since its last one."""
        now = self._clock()
        for name, printer in self.printers.items():
            running = self._polls.get(name)
            if now < self._due_at[name] or (running is not None and running.is_alive()):
                continue
            self._due_at[name] = now + printer.status_poll_interval_s
            if self.busy(name):
                continue  # its delivery thread polls it
            thread = threading.Thread(target=self._poll, args=(printer,),
                                      name=f"status-poll-{name}", daemon=True)
            self._polls[name] = thread
            thread.start()

    def join(self) -> None:
        """Wait for the polls under way (each bounded by the printer's timeouts)."""
        for thread in self._polls.values():
            thread.join()

    def _poll(self, printer: PrinterConfig) -> None:
        status, info = poll_printer(printer)
        before = self.queue.printer_polls().get(printer.name)
        self.queue.record_printer_poll(printer.name, status, info)
        now = self.queue.printer_polls()[printer.name]
        if before is None or before.summary != now.summary:
            level = logging.WARNING if status in (None, PrinterStatus.FAILURE) else logging.INFO
            LOG.log(level, "printer %s: status poll: %s", printer.name, now.summary)
            self.queue.log_event(None, printer.name, f"status poll: {now.summary}")

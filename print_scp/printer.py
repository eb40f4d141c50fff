"""The printer's own state (Printer SOP Class, PS3.3 C.13.9) and its changes.

Printer Status is NORMAL, WARNING or FAILURE; Printer Status Info a defined
term such as FILM JAM (PS3.3 C.13.9.1). Every change is handed to the
listeners, which broadcast a Printer N-EVENT-REPORT (event type 1 NORMAL,
2 WARNING, 3 FAILURE).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from pydicom.dataset import Dataset

from dicomnet.terms import PrinterStatus
from print_scp.profile import PrinterProfile

LOG = logging.getLogger("print_scp.printer")


@dataclass(frozen=True)
class PrinterCondition:
    status: PrinterStatus
    info: str


Listener = Callable[[PrinterCondition], None]


class Printer:
    """The printer's status, identity attributes and scripted behaviour."""

    def __init__(self, profile: PrinterProfile):
        self._profile = profile
        self._lock = threading.Lock()
        self._condition = PrinterCondition(PrinterStatus.NORMAL, "NORMAL")
        self._listeners: list[Listener] = []
        self._films_printed = 0
        self._pending_script = [e for e in profile.script
                                if e.after_films is not None and e.status]
        # scripted Print Job failures: script entry index -> Print Jobs it has still to fail
        self._job_failures_left = {i: e.jobs for i, e in enumerate(profile.script)
                                   if e.job_failure}
        self._started = time.monotonic()
        self._timers: list[threading.Timer] = []

    @property
    def condition(self) -> PrinterCondition:
        with self._lock:
            return self._condition

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def set_status(self, status: PrinterStatus | str, info: str | None = None) -> PrinterCondition:
        """Change the printer's state and tell every listener (even if unchanged)."""
        status = PrinterStatus(status)
        info = (info or status.value).strip().upper()[:64]
        condition = PrinterCondition(status, info)
        with self._lock:
            self._condition = condition
        LOG.info("printer status -> %s (%s)", status.value, info)
        for listener in list(self._listeners):
            listener(condition)
        return condition

    def start_script(self) -> None:
        """Arm the profile's time-based scripted events."""
        self._started = time.monotonic()
        for event in self._profile.script:
            if event.after_s is not None and event.status:
                timer = threading.Timer(event.after_s, self.set_status,
                                        args=(event.status, event.info))
                timer.daemon = True
                timer.start()
                self._timers.append(timer)

    def stop_script(self) -> None:
        for timer in self._timers:
            timer.cancel()

    def film_printed(self, sheets: int = 1) -> None:
        """Count the ``sheets`` a printed film took (its copies); fire the scripted events due."""
        with self._lock:
            self._films_printed += sheets
            # (every pending event has after_films: see __init__)
            due = [e for e in self._pending_script
                   if e.after_films is not None and e.after_films <= self._films_printed]
            self._pending_script = [e for e in self._pending_script if e not in due]
        for event in due:
            self.set_status(event.status, event.info)

    def take_job_failure(self) -> str | None:
        """The Execution Status Info a Print Job about to print must fail with, if a
        scripted ``job_failure`` is due (that entry then has one job fewer to fail);
        None to print it."""
        elapsed_s = time.monotonic() - self._started
        with self._lock:
            for index, left in self._job_failures_left.items():
                event = self._profile.script[index]
                due = (event.after_films <= self._films_printed if event.after_films is not None
                       else event.after_s is not None and event.after_s <= elapsed_s)
                if due and left > 0:
                    self._job_failures_left[index] = left - 1
                    return event.job_failure.strip().upper()
        return None

    def attributes(self) -> Dataset:
        """Every Printer attribute (PS3.3 C.13.9) for an N-GET."""
        p = self._profile
        condition = self.condition
        ds = Dataset()
        ds.PrinterStatus = condition.status.value
        ds.PrinterStatusInfo = condition.info
        ds.PrinterName = p.printer_name
        ds.Manufacturer = p.manufacturer
        ds.ManufacturerModelName = p.model_name
        ds.DeviceSerialNumber = p.serial_number
        ds.SoftwareVersions = p.software_versions
        today = datetime.now()
        ds.DateOfLastCalibration = today.strftime("%Y%m%d")
        ds.TimeOfLastCalibration = "080000"
        return ds

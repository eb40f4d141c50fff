"""Printer sinks: each film, as the modality sent it, to real DICOM printers.

A film goes on as one print-scu job (:mod:`print_scu.queue`, in
``<output>/.forward-print/``): the same Film Box settings, image pixels (as
received, not our rendering: the real printer renders with its own
calibration), Presentation LUT, annotation texts and Number of Copies.
:func:`print_job` builds it; a Film Size ID, Image Display Format or Medium
Type the target printer's profile does not list is replaced by the sink's
``map_*`` rule, or the film fails with the reason.

:class:`FilmPrinters` runs a print-scu :class:`~print_scu.worker.Worker` in
this process and watches the jobs: a job whose printer has failed it (FAILURE,
unreachable) for ``failover_after_s`` goes to the next printer of the sink,
from its first unprinted film on, so each film prints once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dicomnet.terms import PRINTER_STATUS_INFO
from film.model import FilmSpec
from print_scp.forward.sinks import PrinterSink
from print_scp.forward.written_film import DeliveryError
from print_scu.config import PrinterConfig
from print_scu.options import OptionError, PrintOptions
from print_scu.prepared_image import PreparedImage
from print_scu.queue import JobQueue, JobRecord, JobState
from print_scu.worker import Worker

__all__ = ["FORWARD_PRINT_DIRECTORY", "FilmPrinters", "print_job"]

LOG = logging.getLogger("print_scp.forward")

FORWARD_PRINT_DIRECTORY = ".forward-print"  # print-scu's spool, inside the output directory
_WATCH_S = 0.5


def print_job(spec: FilmSpec, metadata: dict[str, Any], sink: PrinterSink,
              printer: PrinterConfig) -> tuple[PrintOptions, list[list[PreparedImage]]]:
    """The print-scu job that prints this film on ``printer`` as the modality asked.

    Only what the modality sent goes on (the target applies its own defaults
    to the rest); Illumination, Reflected Ambient Light and the Presentation
    LUT only to a printer that supports the Presentation LUT SOP Class, and
    annotation texts only to one that supports annotation boxes. Raises
    DeliveryError (permanent) for what the printer cannot take and no rule maps.
    """
    name = metadata.get("name", "?")
    dropped = set(sink.drop_attributes)
    box = {k: v for k, v in metadata.get("film_box", {}).get("received", {}).items()
           if k not in dropped}
    session = {k: v for k, v in metadata.get("film_session", {}).get("received", {}).items()
               if k not in dropped}
    film_size = box.get("FilmSizeID")
    if film_size is not None:
        film_size = _mapped(film_size, sink.map_film_size, printer.film_sizes, "Film Size ID",
                            printer)
    display_format = spec.image_display_format
    if printer.display_formats and display_format.split("\\")[0] not in printer.display_formats:
        display_format = _mapped(display_format, sink.map_display_format, (),
                                 "Image Display Format", printer)
    medium = session.get("MediumType")
    medium = sink.map_medium.get(medium, medium) if medium is not None else None
    boxes = sorted(spec.image_boxes, key=lambda b: b.position)
    filled = [b for b in boxes if b.image is not None]
    if [b.position for b in filled] != list(range(1, len(filled) + 1)):
        raise DeliveryError(f"film {name}: image boxes {[b.position for b in filled]} hold "
                            "images with an empty box before one of them, which print-scu "
                            "cannot send", permanent=True)
    prepared = [PreparedImage(b.image.pixels, b.image.photometric, b.image.bits_stored,
                              f"{name}#box{b.position}") for b in filled if b.image is not None]
    bits = max((p.bits for p in prepared if p.photometric != "RGB"), default=8)
    lut = printer.presentation_lut
    try:
        options = PrintOptions(
            film_size=film_size, display_format=display_format,
            orientation=box.get("FilmOrientation"),
            copies=int(metadata.get("print_job", {}).get("copies", 1)),
            priority=str(metadata.get("print_job", {}).get("priority", "MED")),
            medium=medium, destination=session.get("FilmDestination"),
            label=session.get("FilmSessionLabel"),
            magnification=box.get("MagnificationType"), smoothing=box.get("SmoothingType"),
            min_density=box.get("MinDensity"), max_density=box.get("MaxDensity"),
            border_density=_text(box.get("BorderDensity")),
            empty_density=_text(box.get("EmptyImageDensity")),
            trim=None if box.get("Trim") is None else box.get("Trim") == "YES",
            polarity=filled[0].polarity.value if filled else "NORMAL",
            plut=_plut(spec) if lut else None,
            illumination=box.get("Illumination") if lut else None,
            reflected_ambient_light=box.get("ReflectedAmbientLight") if lut else None,
            bits=12 if bits > 8 else 8, color=any(p.photometric == "RGB" for p in prepared),
            annotations=[a.text for a in sorted(spec.annotations, key=lambda a: a.position)
                         if a.text] if printer.annotation else [],
            keep_monochrome1=True)
    except OptionError as exc:
        raise DeliveryError(f"film {name}: {exc}", permanent=True) from None
    return options, [prepared]


def _mapped(value: str, rules: dict[str, str] | Any, supported: tuple[str, ...], what: str,
            printer: PrinterConfig) -> str:
    if not supported or value in supported:
        return value
    if value in rules:
        return str(rules[value])
    raise DeliveryError(f"{what} {value} is not supported by printer {printer.name} "
                        f"({', '.join(supported) or 'any'}) and no map rule replaces it",
                        permanent=True)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _plut(spec: FilmSpec) -> str | None:
    """The film's Presentation LUT as print-scu takes it: a shape, or a table inline."""
    lut = spec.presentation_lut
    if lut is None:
        return None
    if lut.shape is not None:
        return lut.shape.value
    if lut.descriptor is None or lut.data is None:
        return None
    numbers = [*lut.descriptor, *(int(v) for v in lut.data)]
    return "TABLE:" + " ".join(str(n) for n in numbers)


class FilmPrinters:
    """print-scu's queue and worker for the printer sinks, and their failover."""

    def __init__(self, output_dir: Path, sinks: dict[str, PrinterSink],
                 ended: Callable[[int, str | None], None]):
        """``ended(job id, error)`` is called once per print-scu job that ends (error None:
        every film printed)."""
        self.queue = JobQueue(Path(output_dir) / FORWARD_PRINT_DIRECTORY)
        self._sinks = sinks
        self._ended = ended
        self._printers = {p.name: p for sink in sinks.values() for p in sink.printers}
        self._worker = Worker(self.queue, printers=self._printers)
        self._stop = threading.Event()
        self._failing_since: dict[int, float] = {}  # job id -> when it was first seen deferred
        self._jobs: dict[int, str] = {}  # job id -> sink name, of the jobs being watched
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._worker.run, args=(self._stop,),
                                          name="forward-print-worker", daemon=True),
                         threading.Thread(target=self._watch, name="forward-print-watch",
                                          daemon=True)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._stop.set()
        for thread in self._threads:
            if thread.is_alive():  # not started when the printer failed to start
                thread.join(timeout_s)

    def submit(self, sink: PrinterSink, spec: FilmSpec, metadata: dict[str, Any]) -> int:
        """Queue the film for the sink's primary printer; the print-scu job id."""
        options, films = print_job(spec, metadata, sink, sink.printers[0])
        job_id = self.queue.submit(sink.printers[0], options, films)
        self.watch(job_id, sink.name)
        return job_id

    def watch(self, job_id: int, sink_name: str) -> None:
        """Follow a queued job of ``sink_name`` until it ends (at start-up: those queued before)."""
        with self._lock:
            self._jobs[job_id] = sink_name

    def _watch(self) -> None:
        while not self._stop.wait(_WATCH_S):
            with self._lock:
                watched = dict(self._jobs)
            for job_id, sink_name in watched.items():
                job = self.queue.get(job_id)
                if job is not None:
                    self._follow(job, self._sinks.get(sink_name))

    def _follow(self, job: JobRecord, sink: PrinterSink | None) -> None:
        if job.state is JobState.DONE:
            self._end(job.id, None)
        elif job.state is JobState.CANCELLED:
            self._end(job.id, "cancelled in print-scu's queue")
        elif job.state is JobState.FAILED and not self._fail_over(job, sink):
            self._end(job.id, f"printer {job.printer}: {job.last_error}")
        elif job.state is JobState.QUEUED and job.attempts > 0:
            since = self._failing_since.setdefault(job.id, time.monotonic())
            if sink is not None and sink.failover_after_s is not None \
                    and time.monotonic() - since >= sink.failover_after_s:
                self._fail_over(job, sink)
        elif job.state is JobState.PRINTING or job.attempts == 0:
            self._failing_since.pop(job.id, None)

    def _fail_over(self, job: JobRecord, sink: PrinterSink | None) -> bool:
        """Move the job to the sink's next printer; False if it has none or no failover."""
        if sink is None or sink.failover_after_s is None:
            return False
        names = [p.name for p in sink.printers]
        index = names.index(job.printer) if job.printer in names else len(names)
        if index + 1 >= len(names):
            return False
        target = sink.printers[index + 1]
        note = f"failed over from {job.printer}: {job.last_error}"
        if self.queue.reassign(job.id, target, note):
            self._failing_since.pop(job.id, None)
            LOG.warning("print-scu job %d (%d of %d films printed) moved from printer %s to "
                        "%s: %s", job.id, job.films_done, job.films_total, job.printer,
                        target.name, job.last_error)
        return True

    def _end(self, job_id: int, error: str | None) -> None:
        with self._lock:
            self._jobs.pop(job_id, None)
        self._failing_since.pop(job_id, None)
        self._ended(job_id, error)


def execution_status_info(error: str | None) -> str:
    """An Execution Status Info defined term for a failed forward (PS3.3 C.13.9.1)."""
    if error is None:
        return "NORMAL"
    return next((term for term in PRINTER_STATUS_INFO if term in error.upper()), "UNKNOWN")

"""One printer's association, kept open between jobs, and how films are printed on it.

:class:`PrinterSession` drives :class:`print_scu.association.PrintAssociation` for
one printer (PS3.4 Annex H, SCU side). Per job it creates one Film Session
and, if asked for and supported, one Presentation LUT; per film one Film Box
whose Image Boxes (and Annotation Boxes) it fills, prints (Film Box N-ACTION)
and deletes. With session printing the Film Boxes are kept and printed
together by one Film Session N-ACTION when the job ends.

Every DIMSE status is checked: Success goes on, a Warning (0xBxxx, 0x0107,
0x0116, 0x0001) is recorded in :attr:`PrinterSession.warnings`, a Failure
raises :class:`PrintError` naming the operation, the status, its meaning
and the printer's Error Comment. The association stays open between jobs
until :meth:`PrinterSession.release_if_idle` finds it unused for the
printer's ``idle_keep_open_s`` seconds; a dropped association is reopened
by the next call.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydicom.dataset import Dataset
from pydicom.tag import BaseTag, Tag

from dicomnet.status import Status
from dicomnet.terms import ExecutionStatus, PrinterStatus
from dicomnet.uids import (
    BASIC_ANNOTATION_BOX,
    PRESENTATION_LUT,
    PRINT_JOB,
    PRINTER_CONFIGURATION_RETRIEVAL,
)
from print_scu import request_attributes
from print_scu.association import PrintAssociation, PrintAssociationError, ReceivedEvent
from print_scu.config import PrinterConfig
from print_scu.image_box_requests import color_image_box, grayscale_image_box
from print_scu.options import OptionError, PrintOptions
from print_scu.prepare import PrepareError, load_plut
from print_scu.prepared_image import PreparedImage
from print_scu.request_attributes import prints_color

__all__ = [
    "PrintError", "PrinterSession", "RETRYABLE_STATUSES", "supported_film_sizes",
]

#: Failure statuses worth another attempt later: print queue full (0xC601,
#: 0xC602, PS3.4 H.4.1.2.4 and H.4.2.2.4) and resource limitation (0x0213).
#: Every other Failure (0x0105 no such attribute, 0x0106 invalid value, 0x0120
#: missing attribute, 0xC603 image larger than box, 0xC605 insufficient
#: memory, ...) would fail again the same way.
RETRYABLE_STATUSES = frozenset({0xC601, 0xC602, 0x0213})

PRINTER_STATUS = Tag(0x2110, 0x0010)  # Printer Status
PRINTER_STATUS_INFO = Tag(0x2110, 0x0020)  # Printer Status Info
TEXT_STRING_MAX = 64  # characters of Text String (2030,0020), LO


class PrintError(Exception):
    """A film or job could not be printed.

    ``status`` is the DIMSE status code (None for association and network
    problems); ``retryable`` says whether trying again later may succeed.
    """

    def __init__(self, message: str, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass(frozen=True)
class _Mode:
    """What an association is negotiated for: color or grayscale, transfer syntaxes."""

    color: bool
    implicit_only: bool


@dataclass
class _Job:
    """The print job in progress on this session: its Film Session and what it holds."""

    options: PrintOptions
    label: str
    mode: _Mode
    association: PrintAssociation | None = None  # where the Film Session lives
    film_session_uid: str | None = None
    plut_uid: str | None = None
    collected: list[str] = field(default_factory=list)  # Film Boxes awaiting session print


class PrinterSession:
    """One association to one printer, kept open between jobs for ``idle_keep_open_s``.

    Use from one thread: :meth:`begin_job`, :meth:`printer_status`,
    :meth:`print_film` per film, then :meth:`end_job` (or :meth:`abandon_job`
    after an error). ``on_event`` is called on pynetdicom's thread for each
    N-EVENT-REPORT and must not use this session.
    """

    def __init__(
        self,
        printer: PrinterConfig,
        on_event: Callable[[ReceivedEvent], None] | None = None,
    ) -> None:
        self.printer = printer
        self.warnings: list[str] = []  # DIMSE warnings and skipped features, oldest first
        # from the last print N-ACTION reply; None if there was none, or if the
        # association cannot ask about Print Jobs (Print Job SOP Class not accepted)
        self.last_print_job_uid: str | None = None
        self._on_event = on_event
        self._assoc: PrintAssociation | None = None
        self._mode_of_assoc: _Mode | None = None
        self._mode = _Mode(color=printer.color, implicit_only=printer.implicit_only)
        self._job: _Job | None = None
        self._last_used = time.monotonic()

    # -- association ------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """True while an association with the printer is established."""
        return self._assoc is not None and self._assoc.is_established

    @property
    def idle_s(self) -> float:
        """Seconds since the association was opened or last used for a job (polls do not count)."""
        return time.monotonic() - self._last_used

    def release_if_idle(self) -> bool:
        """Release the association if no job runs and it was unused for idle_keep_open_s.

        True if it was released.
        """
        if self._job is None and self._assoc is not None and (
            self.idle_s >= self.printer.idle_keep_open_s or not self.is_open
        ):
            self.close()
            return True
        return False

    def close(self) -> None:
        """Release the association (abort it if the release fails); forget any job."""
        assoc, self._assoc, self._job = self._assoc, None, None
        if assoc is None:
            return
        try:
            assoc.release()
        except Exception:  # noqa: BLE001 - the peer is gone or misbehaves: cut the link
            assoc.abort()

    # -- printer ----------------------------------------------------------

    def printer_status(self) -> tuple[str, str]:
        """Printer N-GET: (Printer Status, Printer Status Info); opens the association if needed.

        A printer that leaves Printer Status out is taken as NORMAL.
        """
        reply = self._get_printer([PRINTER_STATUS, PRINTER_STATUS_INFO])
        status = str(reply.get("PrinterStatus", "") or PrinterStatus.NORMAL.value)
        info = str(reply.get("PrinterStatusInfo", "") or status)
        return status, info

    def print_job_status(self, uid: str) -> tuple[ExecutionStatus, str] | None:
        """Print Job N-GET: (Execution Status, Execution Status Info); None if the printer
        does not know the job (0x0112, e.g. forgotten once finished) or cannot be asked
        (Print Job SOP Class not accepted).

        Opens the association if needed; raises a retryable :class:`PrintError` for
        other failures (the job's films stay unconfirmed, to be asked about again).
        """
        assoc = self._open(self._mode)
        if not assoc.accepts(PRINT_JOB):
            return None
        _status, reply = self._call(assoc.get_print_job, uid)
        result = assoc.last_result
        if result is not None and result.status == Status.NO_SUCH_SOP_INSTANCE:
            return None
        if result is not None and result.category == "Failure":
            raise PrintError(f"{self.printer.name}: print job {uid}: {result}",
                             status=result.status, retryable=True)
        reply = reply if reply is not None else Dataset()
        text = str(reply.get("ExecutionStatus", "") or "")
        try:
            status = ExecutionStatus(text)
        except ValueError:
            raise PrintError(f"{self.printer.name}: print job {uid}: Execution Status "
                             f"(2100,0020) {text!r} is not one of "
                             f"{', '.join(s.value for s in ExecutionStatus)}",
                             retryable=True) from None
        return status, str(reply.get("ExecutionStatusInfo", "") or status.value)

    def printer_attributes(self) -> Dataset:
        """Printer N-GET of every attribute the printer reports (PS3.3 C.13.9)."""
        return self._get_printer([])

    def printer_configuration(self) -> Dataset | None:
        """Printer Configuration Retrieval N-GET, None if the printer does not offer it."""
        assoc = self._open(self._mode)
        if not assoc.accepts(PRINTER_CONFIGURATION_RETRIEVAL):
            return None
        _status, reply = self._call(assoc.get_printer_configuration)
        self._check(assoc, "printer configuration")
        return reply

    # -- jobs -------------------------------------------------------------

    def begin_job(self, options: PrintOptions, label: str) -> None:
        """Start a job: later calls use the association mode it needs (no network yet)."""
        try:
            color = prints_color(options, self.printer)
        except OptionError as exc:
            raise PrintError(f"{label}: {exc}") from exc
        self._mode = _Mode(color=color,
                           implicit_only=self.printer.implicit_only or options.implicit_only)
        self._job = _Job(options=options, label=label, mode=self._mode)

    def print_film(self, images: list[PreparedImage], options: PrintOptions, film_index: int,
                   label: str, annotations: list[str] | None = None) -> None:
        """Print one film of the job begun with :meth:`begin_job`.

        Film Session (and Presentation LUT) once per job, Film Box, its Image
        Boxes in position order, its Annotation Boxes, then Film Box N-ACTION
        and N-DELETE; with ``options.session_print`` the Film Box is kept for
        :meth:`end_job`. Returns once the printer accepted the film; raises
        :class:`PrintError` otherwise. ``label`` (e.g. "job 7") and
        ``film_index`` (0-based) name the film in messages. ``annotations``
        are the film's Annotation Box texts (None: ``options.annotations``).
        Each image with a ``requested_size_mm`` is sent with that Requested
        Image Size.
        """
        job = self._require_job()
        what = f"{label} film {film_index + 1}"
        assoc = self._open(job.mode)
        if job.association is not assoc:
            self._start_film_session(job, assoc, images)
        refs = self._create_film_box(job, assoc, what)
        if len(images) > len(refs.image_boxes):
            raise PrintError(f"{what}: {len(images)} images but the printer created only "
                             f"{len(refs.image_boxes)} image boxes for Image Display Format "
                             f"{refs.attributes.get('ImageDisplayFormat', '?')}")
        boxes = zip(images, refs.image_box_uids, strict=False)
        for position, (image, box_uid) in enumerate(boxes, start=1):
            box_attributes = request_attributes.image_box_attributes(options,
                                                                     image.requested_size_mm)
            modification = _image_box(position, image, job.mode.color, box_attributes)
            self._call(assoc.set_image_box, box_uid, modification)
            self._check(assoc, f"{what}, image box {position} ({image.source})")
        texts = options.annotations if annotations is None else annotations
        self._set_annotations(texts, assoc, refs.annotation_boxes, what)
        if options.session_print:
            job.collected.append(refs.film_box_uid)
            return
        _status, reply = self._call(assoc.print_film_box, refs.film_box_uid)
        self._check(assoc, what)
        self.last_print_job_uid = _print_job_uid(assoc, reply)
        # The film is printed: a failing N-DELETE must not make anyone print it again.
        self._tidy(assoc, what, assoc.delete_film_box, refs.film_box_uid)

    def end_job(self) -> None:
        """Finish the job: print the collected Film Boxes (session print), delete its objects.

        Raises :class:`PrintError` if the session N-ACTION fails (nothing of
        the job was printed then).
        """
        job = self._require_job()
        assoc = job.association
        if job.collected:
            if assoc is None or assoc is not self._assoc or not assoc.is_established:
                raise PrintError(f"{job.label}: the association was lost before the Film "
                                 "Session N-ACTION; the job has to be sent again", retryable=True)
            _status, reply = self._call(assoc.print_film_session, job.film_session_uid)
            self._check(assoc, f"{job.label} ({len(job.collected)} films)")
            self.last_print_job_uid = _print_job_uid(assoc, reply)
        self.abandon_job()

    def abandon_job(self) -> None:
        """Delete what the job created on the printer, as far as possible; forget the job."""
        job, self._job = self._job, None
        if job is None or job.association is None or job.association is not self._assoc:
            return
        assoc = job.association
        if job.film_session_uid is not None:
            self._tidy(assoc, job.label, assoc.delete_film_session, job.film_session_uid)
        if job.plut_uid is not None:
            self._tidy(assoc, job.label, assoc.delete_presentation_lut, job.plut_uid)

    # -- internals --------------------------------------------------------

    def _require_job(self) -> _Job:
        if self._job is None:
            raise RuntimeError("no job begun: call begin_job() first")
        return self._job

    def _open(self, mode: _Mode) -> PrintAssociation:
        """The open association for ``mode``, opening (or reopening) it if needed."""
        if self._assoc is not None and (
            not self._assoc.is_established or self._mode_of_assoc != mode
        ):
            self._drop()
        if self._assoc is None:
            address = self.printer.address()
            if mode.implicit_only:
                address = dataclasses.replace(address, implicit_only=True)
            try:
                self._assoc = PrintAssociation(
                    address,
                    color=mode.color,
                    print_job=self.printer.print_job,
                    presentation_lut=self.printer.presentation_lut,
                    annotation=self.printer.annotation,
                    configuration_retrieval=self.printer.configuration_retrieval,
                    on_event=self._on_event,
                )
            except PrintAssociationError as exc:
                raise PrintError(str(exc), retryable=True) from exc
            self._mode_of_assoc = mode
            self._last_used = time.monotonic()
        return self._assoc

    def _drop(self) -> None:
        """Forget a dead or unsuitable association (releasing it if it still stands)."""
        job = self._job
        self.close()
        self._job = job

    def _call(self, operation: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run one DIMSE operation; a lost association becomes a retryable PrintError."""
        try:
            result = operation(*args, **kwargs)
        except (PrintAssociationError, RuntimeError, OSError) as exc:
            self._drop()
            raise PrintError(f"{self.printer.name}: {exc}", retryable=True) from exc
        if self._job is not None:
            self._last_used = time.monotonic()
        return result

    def _check(self, assoc: PrintAssociation, what: str) -> None:
        """Record a Warning, raise PrintError for a Failure of the last operation."""
        result = assoc.last_result
        if result is None or result.category == "Success":
            return
        if result.category == "Warning":
            self.warnings.append(f"{what}: {result}")
            return
        raise PrintError(f"{what}: {result}", status=result.status,
                         retryable=result.status in RETRYABLE_STATUSES)

    def _tidy(self, assoc: PrintAssociation, what: str, delete: Callable, uid: str) -> None:
        """An N-DELETE whose failure is only recorded."""
        try:
            self._call(delete, uid)
        except PrintError as exc:
            self.warnings.append(f"{what}: {exc}")
            return
        result = assoc.last_result
        if result is not None and result.category != "Success":
            self.warnings.append(f"{what}: {result}")

    def _get_printer(self, tags: list[BaseTag]) -> Dataset:
        assoc = self._open(self._mode)
        _status, reply = self._call(assoc.get_printer, tags)
        self._check(assoc, f"{self.printer.name}: printer status")
        return reply if reply is not None else Dataset()

    def _start_film_session(self, job: _Job, assoc: PrintAssociation,
                            images: list[PreparedImage]) -> None:
        """Film Session N-CREATE and the job's Presentation LUT on a new association."""
        if job.collected:
            raise PrintError(f"{job.label}: the association was lost while collecting films "
                             "for the Film Session N-ACTION; the job has to be sent again",
                             retryable=True)
        job.association, job.film_session_uid, job.plut_uid = assoc, None, None
        try:
            attributes = request_attributes.session_attributes(job.options, self.printer)
            film_size = request_attributes.film_box_attributes(job.options, self.printer).get(
                "FilmSizeID")
        except OptionError as exc:
            raise PrintError(f"{job.label}: {exc}") from exc
        self._check_film_size(job, film_size)
        _status, job.film_session_uid = self._call(assoc.create_film_session, attributes)
        self._check(assoc, f"{job.label}: film session")
        if job.options.plut is not None:
            job.plut_uid = self._create_plut(job, assoc, images)

    def _check_film_size(self, job: _Job, film_size: str | None) -> None:
        """Refuse a film size the printer's Printer Configuration does not list.

        Asked only of a printer with ``configuration_retrieval`` and no
        ``film_sizes`` in its profile, for a job that names its film size;
        a printer that lists no sizes is not restricted. The PrintError is
        final: the printer will not grow the size.
        """
        if film_size is None or self.printer.film_sizes or not self.printer.configuration_retrieval:
            return
        supported = supported_film_sizes(self.printer_configuration())
        if supported and film_size not in supported:
            raise PrintError(f"{job.label}: Film Size ID (2010,0050) {film_size} is not "
                             f"supported by printer {self.printer.name} (its Printer "
                             f"Configuration lists {', '.join(supported)})")

    def _create_plut(self, job: _Job, assoc: PrintAssociation,
                     images: list[PreparedImage]) -> str | None:
        """Presentation LUT N-CREATE, None (with a warning) if the printer cannot take one."""
        spec = job.options.plut
        if job.mode.color:
            self.warnings.append(f"{job.label}: Presentation LUT {spec} not sent: it applies "
                                 "to grayscale printing only")
            return None
        if not (self.printer.presentation_lut and assoc.accepts(PRESENTATION_LUT)):
            self.warnings.append(f"{job.label}: Presentation LUT {spec} not sent: printer "
                                 f"{self.printer.name} does not support Presentation LUT")
            return None
        bits = images[0].bits if images else self.printer.bits
        try:
            dataset = load_plut(spec, bits)
        except (PrepareError, OSError) as exc:
            raise PrintError(f"{job.label}: Presentation LUT {spec}: {exc}") from exc
        if dataset is None:
            return None
        _status, uid = self._call(assoc.create_presentation_lut, dataset)
        self._check(assoc, f"{job.label}: Presentation LUT")
        return uid

    def _create_film_box(self, job: _Job, assoc: PrintAssociation, what: str):  # noqa: ANN202
        try:
            attributes = request_attributes.film_box_attributes(job.options, self.printer)
        except OptionError as exc:
            raise PrintError(f"{what}: {exc}") from exc
        if job.plut_uid is not None:
            reference = Dataset()
            reference.ReferencedSOPClassUID = PRESENTATION_LUT
            reference.ReferencedSOPInstanceUID = job.plut_uid
            attributes.ReferencedPresentationLUTSequence = [reference]
        _status, refs = self._call(assoc.create_film_box, attributes,
                                        film_session_uid=job.film_session_uid)
        self._check(assoc, f"{what}: film box")
        if refs is None:
            raise PrintError(f"{what}: the printer's Film Box N-CREATE reply has no data set")
        return refs

    def _set_annotations(self, texts: list[str], assoc: PrintAssociation, box_uids: list[str],
                         what: str) -> None:
        if not texts:
            return
        if not assoc.accepts(BASIC_ANNOTATION_BOX):
            self.warnings.append(f"{what}: annotations not printed: printer "
                                 f"{self.printer.name} refused the Basic Annotation Box "
                                 "SOP Class")
            return
        if len(texts) > len(box_uids):
            self.warnings.append(
                f"{what}: {len(texts)} annotations but the printer created {len(box_uids)} "
                f"annotation boxes: {', '.join(repr(t) for t in texts[len(box_uids):])} "
                "not printed")
        for position, (text, uid) in enumerate(zip(texts, box_uids, strict=False), start=1):
            modification = Dataset()
            modification.AnnotationPosition = position
            modification.TextString = text[:TEXT_STRING_MAX]
            self._call(assoc.set_annotation_box, uid, modification)
            self._check(assoc, f"{what}, annotation box {position}")


def _image_box(position: int, image: PreparedImage, color: bool,
               attributes: dict[str, Any]) -> Dataset:
    """The Image Box N-SET for ``image``: Basic Color for RGB, else Basic Grayscale.

    Raises PrintError if the image's kind is not the association's (a job
    prepared for a color printer that is now configured grayscale, or the
    reverse).
    """
    is_rgb = image.photometric == "RGB"
    if is_rgb != color:
        raise PrintError(
            f"{image.source}: prepared as {image.photometric} but the job prints "
            f"{'color' if color else 'grayscale'}; the printer's configuration changed "
            "since the job was submitted: submit it again")
    if is_rgb:
        return color_image_box(position, image.pixels, **attributes)
    return grayscale_image_box(position, image.pixels, image.bits, image.photometric,
                               **attributes)


def supported_film_sizes(configuration: Dataset | None) -> tuple[str, ...]:
    """Film Size IDs of a Printer Configuration Retrieval reply, in order, without repeats.

    From the Film Size ID (2010,0050) of every Supported Image Display
    Formats Sequence (2000,00A8) item of every Printer Configuration Sequence
    (2000,001E) item (PS3.3 C.13.10); empty if there are none.
    """
    if configuration is None:
        return ()
    sizes = (str(display_format.FilmSizeID)
             for item in configuration.get("PrinterConfigurationSequence", [])
             for display_format in item.get("SupportedImageDisplayFormatsSequence", [])
             if display_format.get("FilmSizeID"))
    return tuple(dict.fromkeys(sizes))


def _print_job_uid(assoc: PrintAssociation, reply: Dataset | None) -> str | None:
    """The Print Job SOP Instance UID of an N-ACTION reply (Referenced Print Job Sequence);
    None without one, or if the association cannot ask about Print Jobs."""
    if reply is None or not assoc.accepts(PRINT_JOB):
        return None
    items = reply.get(Tag(0x2100, 0x0500))
    if items is None or not items.value:
        return None
    return str(items.value[0].get("ReferencedSOPInstanceUID", "")) or None

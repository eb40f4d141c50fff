"""Per-association state: who is printing, what they created, what they got wrong."""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

from pydicom.uid import generate_uid

from dicomnet.memory_budget import MemoryBudget
from dicomnet.status import Status
from film.model import ImagePixels
from print_scp.output.image_files import ImageFiles
from print_scp.profile import PrinterProfile
from print_scp.service.objects import (
    AnnotationBox,
    FilmBox,
    FilmSession,
    ImageBox,
    PresentationLUTInstance,
)
from print_scp.service.outcome import DicomStatusError

LOG = logging.getLogger("print_scp.session")
# Digits and dots, at most 64 characters (PS3.5 9.1); leading zeros in a
# component are tolerated, as some older SCUs send them.
_UID_SYNTAX = re.compile(r"[0-9]+(\.[0-9]+)*\Z")

def new_uid() -> str:
    """A new SOP Instance UID under pydicom's registered root."""
    return generate_uid()


TRANSCRIPT_LENGTH = 10_000  # requests an association's transcript keeps, most recent


@dataclass(frozen=True)
class TranscriptEntry:
    """One DIMSE request of the association and the printer's answer."""

    at: datetime  # when the request arrived
    operation: str  # e.g. "N-SET Grayscale Image Box"
    sop_class_uid: str
    instance_uid: str | None
    status: int
    error_comment: str | None
    duration_ms: float  # from the request's arrival to its answer

    def to_json(self) -> dict[str, object]:
        return {"at": self.at.isoformat(timespec="milliseconds"), "operation": self.operation,
                "sop_class_uid": self.sop_class_uid, "instance_uid": self.instance_uid,
                "status": f"0x{self.status:04X}", "error_comment": self.error_comment,
                "duration_ms": round(self.duration_ms, 3)}


@dataclass
class AssociationContext:
    """The print objects of one association, looked up by SOP Instance UID."""

    profile: PrinterProfile
    calling_ae: str
    called_ae: str
    peer: str  # "address:port"
    memory: MemoryBudget  # the printer's, shared by every association and the render worker
    image_files: ImageFiles | None = None  # where images are written ahead of their print
    print_job_negotiated: bool = False
    started: datetime = field(default_factory=datetime.now)
    session: FilmSession | None = None
    film_boxes: dict[str, FilmBox] = field(default_factory=dict)
    image_boxes: dict[str, tuple[FilmBox, ImageBox]] = field(default_factory=dict)
    annotation_boxes: dict[str, tuple[FilmBox, AnnotationBox]] = field(default_factory=dict)
    presentation_luts: dict[str, PresentationLUTInstance] = field(default_factory=dict)
    deviations: list[str] = field(default_factory=list)
    films_printed: int = 0
    # The association's requests, the most recent TRANSCRIPT_LENGTH of them
    transcript: deque[TranscriptEntry] = field(
        default_factory=lambda: deque(maxlen=TRANSCRIPT_LENGTH))
    requests_recorded: int = 0  # in all, including those the transcript no longer keeps
    requests_in_jobs: int = 0  # how many of them a Print Job's record holds already
    ended: bool = field(default=False, init=False)  # gone: its images are counted no more
    _memory_lock: threading.Lock = field(default_factory=threading.Lock, init=False,
                                         repr=False, compare=False)

    def record(self, entry: TranscriptEntry) -> None:
        """Add a request and its answer to the transcript."""
        self.transcript.append(entry)
        self.requests_recorded += 1

    def requests_since_last_job(self) -> list[TranscriptEntry]:
        """The requests recorded since the previous call (for a new Print Job's record)."""
        new = min(self.requests_recorded - self.requests_in_jobs, len(self.transcript))
        self.requests_in_jobs = self.requests_recorded
        return list(self.transcript)[len(self.transcript) - new:]

    def deviation(self, message: str, strict_status: Status, attribute: str | None = None) -> None:
        """A departure from the standard that real SCUs commit.

        Strict profiles fail the request with ``strict_status``; lenient ones
        accept it and record the message for the film's JSON and the log.
        """
        if self.profile.strict:
            raise DicomStatusError(strict_status, message, attribute)
        if message not in self.deviations:
            self.deviations.append(message)
            LOG.warning("%s: accepted deviation: %s", self.calling_ae, message)

    def instance_uid(self, requested: str | None) -> str:
        """The SCU's instance UID if it gave one (must be new), else a fresh one."""
        if not requested:
            return new_uid()
        if len(requested) > 64 or not _UID_SYNTAX.match(requested):
            raise DicomStatusError(Status.INVALID_OBJECT_INSTANCE,
                                   f"SOP Instance UID {requested!r} is not a UID (PS3.5 9.1)")
        if requested in self.film_boxes or requested in self.image_boxes or (
            self.session is not None and self.session.uid == requested
        ) or requested in self.presentation_luts:
            raise DicomStatusError(Status.DUPLICATE_SOP_INSTANCE,
                                   f"SOP Instance UID {requested} already exists")
        return requested

    def film_box(self, uid: str) -> FilmBox:
        box = self.film_boxes.get(uid)
        if box is None:
            raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE, f"no Film Box {uid}")
        return box

    def require_session(self, uid: str) -> FilmSession:
        if self.session is None or self.session.uid != uid:
            raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE, f"no Film Session {uid}")
        return self.session

    def presentation_lut(self, uid: str) -> PresentationLUTInstance:
        instance = self.presentation_luts.get(uid)
        if instance is None:
            raise DicomStatusError(
                Status.INVALID_ATTRIBUTE_VALUE,
                f"ReferencedPresentationLUTSequence: no Presentation LUT {uid}",
                "ReferencedPresentationLUTSequence")
        return instance

    def reserve_image(self, nbytes: int) -> None:
        """Count an image about to be stored in the printer's memory budget (C605 if full)."""
        if not self.memory.reserve(nbytes):
            raise DicomStatusError(Status.INSUFFICIENT_MEMORY,
                                   f"printer memory full (max_memory_bytes {self.memory.limit}):"
                                   f" {self.memory.in_use} B in use, image {nbytes} B",
                                   "PixelData")

    def keep_image(self, box: ImageBox, image: ImagePixels) -> None:
        """Store ``image`` (reserved with :meth:`reserve_image`) in ``box``, freeing the
        image it replaces; its pixels are written ahead to the spool (``image_files``)."""
        with self._memory_lock:
            self._free_image(box)
            box.content.image = image
            box.held_bytes = image.pixels.nbytes
            if self.ended:  # aborted while the N-SET was served: held no longer
                self._free_image(box)
            elif self.image_files is not None:
                self.image_files.write(image.pixels)

    def end(self) -> None:
        """The association is gone: give its images' bytes back to the memory budget."""
        with self._memory_lock:
            self.ended = True
            for _, box in self.image_boxes.values():
                self._free_image(box)

    def _free_image(self, box: ImageBox) -> None:
        image = box.content.image
        if box.held_bytes and image is not None and self.image_files is not None:
            self.image_files.forget(image.pixels)
        self.memory.release(box.held_bytes)
        box.held_bytes = 0

    def drop_film_box(self, box: FilmBox) -> None:
        """Forget a film box and its image and annotation boxes (their images' bytes
        go back to the memory budget)."""
        self.film_boxes.pop(box.uid, None)
        for image_box in box.image_boxes.values():
            self.image_boxes.pop(image_box.uid, None)
            with self._memory_lock:
                self._free_image(image_box)
        for annotation in box.annotation_boxes.values():
            self.annotation_boxes.pop(annotation.uid, None)
        if self.session is not None and box in self.session.film_boxes:
            self.session.film_boxes.remove(box)

    def drop_session(self) -> None:
        if self.session is not None:
            for box in list(self.session.film_boxes):
                self.drop_film_box(box)
        self.session = None

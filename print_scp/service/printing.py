"""Film Box and Film Session N-ACTION: turning film boxes into spooled print jobs.

At N-ACTION each film box becomes a :class:`film.model.FilmSpec` (densities in
OD, BLACK/WHITE resolved) plus the metadata of its JSON, saved to the spool
before the response is sent. The render worker does the rest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicomnet.status import Status
from dicomnet.terms import DensityTerm, Trim
from dicomnet.uids import PRINT_JOB
from film.layout import annotation_format_of
from film.model import FilmSpec
from film.staged_files import safe_stem
from print_scp.output.film_names import film_name
from print_scp.output.image_files import ImageFiles
from print_scp.output.render_worker import JobListener, RenderWorker
from print_scp.output.spool import Spool, SpooledFilm, SpooledJob, is_disk_full
from print_scp.print_jobs import PrintJob, PrintJobRegistry
from print_scp.profile import PrinterProfile
from print_scp.service.context import AssociationContext, new_uid
from print_scp.service.objects import FilmBox, FilmSession
from print_scp.service.outcome import DicomStatusError, Outcome

PRINT_ACTION = 1  # Action Type ID of "print" for Film Session and Film Box


@dataclass
class PrintQueue:
    """Where N-ACTION puts jobs: the spool, the job registry and the worker."""

    profile: PrinterProfile
    spool: Spool
    jobs: PrintJobRegistry
    worker: RenderWorker
    listener: JobListener | None = None  # the forwarder, told of each job once it is spooled
    image_files: ImageFiles | None = None  # images written ahead, linked into their job

    def submit(self, ctx: AssociationContext, session: FilmSession,
               boxes: list[FilmBox], queue_full: Status) -> PrintJob:
        """Spool the films (durably) and queue them.

        ``queue_full`` answers when they cannot be queued: the queue holds
        ``queue_capacity`` films, or the spool's disk is full.
        """
        pending = self.jobs.pending_films()
        if pending + len(boxes) > self.profile.queue_capacity:
            raise DicomStatusError(queue_full,
                                   f"print queue full ({pending} films waiting, capacity "
                                   f"{self.profile.queue_capacity})")
        job_uid = new_uid()
        created = datetime.now()
        stem = _job_stem(ctx, job_uid, created)
        films = []
        for index, box in enumerate(boxes, start=1):
            name = film_name(stem, index)
            films.append(SpooledFilm(name, film_spec(ctx.profile, session, box),
                                     film_metadata(ctx, session, box, job_uid, name, created)))
        settings = session.settings
        priority = settings.print_priority.value
        spooled = SpooledJob(job_uid, priority, ctx.calling_ae, created.isoformat(), films,
                             settings.film_session_label)
        try:
            self.spool.save(spooled, None if self.image_files is None
                            else self.image_files.written)
        except OSError as exc:
            if not is_disk_full(exc):
                raise
            raise DicomStatusError(queue_full, f"print queue full: no room to spool "
                                   f"({exc.strerror})") from exc
        if self.listener is not None:
            self.listener.spooled(job_uid, [(film.name, film.metadata) for film in films])
        job = PrintJob(job_uid, priority, ctx.calling_ae,
                       self.profile.printer_name, [f.name for f in films],
                       settings.film_session_label, created,
                       transcript=[e.to_json() for e in ctx.requests_since_last_job()])
        self.jobs.add(job)
        self.worker.submit(job_uid, priority, spooled.pixel_bytes)
        for box in boxes:
            box.printed = True
        ctx.films_printed += len(boxes)
        return job


def print_film_box(ctx: AssociationContext, queue: PrintQueue, uid: str,
                   action_type: int) -> tuple[Outcome, PrintJob]:
    """Film Box N-ACTION: print this film (B603 if it holds no image)."""
    _check_action(action_type)
    box = ctx.film_box(uid)
    session = ctx.require_session(box.session_uid)
    outcome = Outcome()
    if not box.has_images():
        outcome.warn(Status.FILM_BOX_EMPTY_PAGE, "film box holds no image: empty page printed")
    # PS3.4 Table H.4-9: C602 "Unable to create Print Job SOP Instance; print queue is full"
    job = queue.submit(ctx, session, [box], Status.PRINT_QUEUE_FULL_ALT)
    outcome.dataset = _reply(ctx, job)
    return outcome, job


def print_film_session(ctx: AssociationContext, queue: PrintQueue, uid: str,
                       action_type: int) -> tuple[Outcome, PrintJob]:
    """Film Session N-ACTION: print every film box of the session as one job."""
    _check_action(action_type)
    session = ctx.require_session(uid)
    if not session.film_boxes:
        raise DicomStatusError(Status.SESSION_HAS_NO_FILM_BOX, "film session has no film box")
    outcome = Outcome()
    boxes = list(session.film_boxes)
    if not ctx.profile.session_print:
        outcome.warn(Status.SESSION_PRINTING_NOT_SUPPORTED,
                     "film session printing (collation) not supported: unprinted film "
                     "boxes printed one by one")
        boxes = [box for box in boxes if not box.printed]
    elif not any(box.has_images() for box in boxes):
        outcome.warn(Status.SESSION_EMPTY_PAGE, "film session holds no image: empty pages")
    if not boxes:
        raise DicomStatusError(Status.SESSION_HAS_NO_FILM_BOX, "no unprinted film box left")
    # PS3.4 H.4.1.2.4.2: C601 "Unable to create Print Job SOP Instance; print queue is full"
    job = queue.submit(ctx, session, boxes, Status.PRINT_QUEUE_FULL)
    outcome.dataset = _reply(ctx, job)
    return outcome, job


def _check_action(action_type: int) -> None:
    if action_type != PRINT_ACTION:
        raise DicomStatusError(Status.NO_SUCH_ACTION,
                               f"Action Type ID {action_type} (only 1 = print)")


# PS3.4 H.4.1.2.4 and H.4.2.2.4: the N-ACTION reply holds Referenced Print Job
# Sequence (2100,0500). pydicom's keyword ReferencedPrintJobSequence names another
# tag, (2120,0070), so the tag is used directly.
REFERENCED_PRINT_JOB_SEQUENCE = 0x21000500


def _reply(ctx: AssociationContext, job: PrintJob) -> Dataset | None:
    """N-ACTION reply: Referenced Print Job Sequence when Print Job was negotiated."""
    if not ctx.print_job_negotiated:
        return None
    item = Dataset()
    item.ReferencedSOPClassUID = PRINT_JOB
    item.ReferencedSOPInstanceUID = job.uid
    ds = Dataset()
    ds.add_new(REFERENCED_PRINT_JOB_SEQUENCE, "SQ", Sequence([item]))
    return ds


def _job_stem(ctx: AssociationContext, job_uid: str, created: datetime) -> str:
    """Output file stem: time, calling AE (made safe) and a token of the job UID."""
    token = hashlib.sha1(job_uid.encode()).hexdigest()[:8]
    return f"{created:%Y%m%d-%H%M%S}-{safe_stem(ctx.calling_ae, 'SCU')[:16]}-{token}"


def _density_od(value: DensityTerm | float, low: float, high: float) -> float:
    """Border/Empty Image Density in OD: BLACK = Max Density, WHITE = Min Density."""
    return value.od(low, high) if isinstance(value, DensityTerm) else float(value)


def film_spec(profile: PrinterProfile, session: FilmSession, box: FilmBox) -> FilmSpec:
    """What the renderer needs for one film box, in OD, cd/m² and dpi."""
    s = box.settings
    medium = session.settings.medium_type
    illumination = float(s.illumination)
    if medium.is_reflective and "Illumination" not in box.received:
        illumination = profile.paper_illumination
    return FilmSpec(
        film_size_id=s.film_size_id.value,
        orientation=s.film_orientation.value,
        image_display_format=s.image_display_format,
        image_boxes=[b.content for _, b in sorted(box.image_boxes.items())],
        annotations=[a.content for _, a in sorted(box.annotation_boxes.items())],
        annotation_display_format_id=s.annotation_display_format_id,
        annotation_format=annotation_format_of(s.annotation_display_format_id,
                                               profile.annotation_formats),
        annotation_fonts=profile.annotation_fonts,
        margins_mm=profile.margins_mm(s.film_size_id, s.film_orientation),
        magnification_type=s.magnification_type,
        smoothing_type=s.smoothing_type,
        border_density=_density_od(s.border_density, s.min_density, s.max_density),
        empty_image_density=_density_od(s.empty_image_density, s.min_density, s.max_density),
        min_density=s.min_density,
        max_density=s.max_density,
        trim=s.trim is Trim.YES,
        illumination=illumination,
        reflected_ambient_light=float(s.reflected_ambient_light),
        medium_type=medium,
        resolution_dpi=profile.dpi_for(s.requested_resolution_id.value),
        presentation_lut=s.presentation_lut,
        custom_layouts=dict(profile.custom_layouts),
        smoothing_filters=dict(profile.smoothing_filters),
        contrast_gamma=profile.configuration_values.get(s.configuration_information or "", 1.0),
    )


def film_metadata(ctx: AssociationContext, session: FilmSession, box: FilmBox, job_uid: str,
                  name: str, created: datetime) -> dict[str, Any]:
    """Everything received for this film, for its JSON and PDF information."""
    s = session.settings
    warnings = [w.describe() for w in session.warnings + box.warnings]
    return {
        "name": name,
        "printer": {"name": ctx.profile.printer_name, "ae_title": ctx.called_ae,
                    "strict": ctx.profile.strict},
        "association": {"calling_ae": ctx.calling_ae, "called_ae": ctx.called_ae,
                        "peer": ctx.peer, "started": ctx.started.isoformat()},
        "print_job": {"uid": job_uid, "priority": s.print_priority.value,
                      "created": created.isoformat(), "copies": s.number_of_copies},
        "film_session": {"uid": session.uid, "received": session.received,
                         "in_force": s.wire_values()},
        "film_box": {"uid": box.uid, "received": box.received,
                     "in_force": box.settings.wire_values()},
        "image_boxes": [_image_box_json(b) for _, b in sorted(box.image_boxes.items())],
        "annotation_boxes": [{"position": a.content.position, "uid": a.uid,
                              "text": a.content.text, "received": a.received}
                             for _, a in sorted(box.annotation_boxes.items())],
        "presentation_luts": {uid: p.received for uid, p in ctx.presentation_luts.items()},
        "warnings": warnings,
        "deviations": list(ctx.deviations),
        "transcript": film_transcript(ctx, session, box),
        "pdf_info": {
            "Title": f"Film {name}",
            "Subject": f"{s.film_session_label or 'DICOM print'} from {ctx.calling_ae}",
            "Keywords": f"{box.settings.film_size_id.value} {box.settings.image_display_format}",
            "CallingAE": ctx.calling_ae,
            "PrintJobUID": job_uid,
            "Copies": str(s.number_of_copies),
        },
    }


def film_transcript(ctx: AssociationContext, session: FilmSession,
                    box: FilmBox) -> list[dict[str, Any]]:
    """The requests that led to this film: those on its session, film box, image and
    annotation boxes and Presentation LUTs, and every request that did not succeed."""
    instances = {session.uid, box.uid, box.settings.presentation_lut_uid,
                 session.settings.presentation_lut_uid}
    instances.update(b.uid for b in box.image_boxes.values())
    instances.update(b.presentation_lut_uid for b in box.image_boxes.values())
    instances.update(a.uid for a in box.annotation_boxes.values())
    instances.discard(None)
    return [entry.to_json() for entry in ctx.transcript
            if entry.instance_uid in instances or entry.status != Status.SUCCESS]


def _image_box_json(box) -> dict[str, Any]:
    image = box.content.image
    return {
        "position": box.position, "uid": box.uid, "sop_class_uid": box.sop_class_uid,
        "received": box.received,
        "image": None if image is None else {
            "rows": image.rows, "columns": image.columns, "bits_stored": image.bits_stored,
            "photometric": image.photometric, "pixel_aspect_ratio": list(image.pixel_aspect_ratio)},
        "polarity": box.content.polarity.value,
        "presentation_lut_uid": box.presentation_lut_uid,
    }

"""The virtual printer: a pynetdicom AE with the print handlers, spool and worker.

:class:`PrintServer` ties the parts together: it negotiates the print SOP
classes the profile allows, keeps one :class:`AssociationContext` and one
event channel per association, broadcasts Printer events when the printer's
state changes, reports each Print Job's progress to the association that
created it, and renders in a background worker.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from pydicom.dataset import Dataset
from pydicom.uid import UID, ExplicitVRLittleEndian, ImplicitVRLittleEndian
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.transport import ThreadedAssociationServer

from dicomnet.acceptor_router import DimseRouter
from dicomnet.admission import refuse_for_local_limit
from dicomnet.character_set import declare_character_set
from dicomnet.hardening import harden_acceptor
from dicomnet.input_guard import MESSAGE_OVERHEAD
from dicomnet.memory_budget import CONNECTION_BYTES, MemoryBudget, message_claim
from dicomnet.status import Status
from dicomnet.terms import PrinterStatus
from dicomnet.tls import server_context
from dicomnet.uids import (
    BASIC_ANNOTATION_BOX,
    BASIC_COLOR_IMAGE_BOX,
    BASIC_COLOR_PRINT_META,
    BASIC_GRAYSCALE_PRINT_META,
    INDIVIDUAL_META_MEMBERS,
    PRESENTATION_LUT,
    PRINT_JOB,
    PRINTER,
    PRINTER_CONFIGURATION_RETRIEVAL,
    PRINTER_INSTANCE,
    VERIFICATION,
)
from print_scp.events import EventHub, OutboundEvent
from print_scp.forward.forwarder import Forwarder
from print_scp.output.image_files import ImageFiles
from print_scp.output.render_pool import DEFAULT_RENDER_PROCESSES
from print_scp.output.render_worker import RenderWorker
from print_scp.output.retention import SWEEP_INTERVAL_S, RetentionJanitor
from print_scp.output.spool import Spool
from print_scp.print_jobs import PrintJob, PrintJobRegistry
from print_scp.printer import Printer, PrinterCondition
from print_scp.profile import PrinterProfile
from print_scp.service import printer_configuration
from print_scp.service.context import AssociationContext
from print_scp.service.dispatch import Handlers, serves
from print_scp.service.printing import PrintQueue

LOG = logging.getLogger("print_scp.server")

TRANSFER_SYNTAXES = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
#: Where finished Print Jobs are kept, inside the output directory.
JOBS_DIRECTORY = ".jobs"


class PrintServer:
    """A running (or ready to run) virtual printer."""

    def __init__(self, profile: PrinterProfile, output_dir: Path, *,
                 render_processes: int = DEFAULT_RENDER_PROCESSES,
                 acse_timeout_s: float | None = None, dimse_timeout_s: float | None = None,
                 network_timeout_s: float | None = None,
                 retention_interval_s: float = SWEEP_INTERVAL_S):
        """Timeouts (s) given here replace the profile's ``[network]`` ones."""
        overrides: dict[str, Any] = {
            key: value for key, value in (("acse_timeout_s", acse_timeout_s),
                                          ("dimse_timeout_s", dimse_timeout_s),
                                          ("network_timeout_s", network_timeout_s))
            if value is not None}
        profile = replace(profile, **overrides)
        self.profile = profile
        self.output_dir = Path(output_dir)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self.printer = Printer(profile)
        self.jobs = PrintJobRegistry(directory=self.output_dir / JOBS_DIRECTORY)
        self.spool = Spool(self.output_dir / ".spool")
        self.image_files = ImageFiles(self.spool.root)
        self.memory = MemoryBudget(profile.max_memory_bytes)
        self.forwarder = (Forwarder(profile.forward, self.output_dir, profile.forward_retry,
                                    job_result=self.jobs.set_status)
                          if profile.forward else None)
        self.worker = RenderWorker(self.spool, self.output_dir, self.jobs, self.printer,
                                   profile.printer_name, self.memory,
                                   processes=render_processes,
                                   job_report=profile.job_report, listener=self.forwarder)
        self.print_queue = PrintQueue(profile, self.spool, self.jobs, self.worker,
                                      self.forwarder, self.image_files)
        self.handlers = Handlers(self, self.context_of)
        self.retention = RetentionJanitor(self.output_dir, profile.retention_days,
                                          retention_interval_s)
        self.hub = EventHub()
        self._contexts: dict[Association, AssociationContext] = {}
        self._connections: set[Association] = set()  # admitted: holding CONNECTION_BYTES
        self._job_associations: dict[str, Association] = {}
        self._rejections: Counter[str] = Counter()  # associations refused, by reason
        self._lock = threading.Lock()
        self._server: ThreadedAssociationServer | None = None
        self.printer.subscribe(self._printer_changed)
        self.jobs.subscribe(self._job_changed)
        self.ae = self._make_ae()

    # -- AE ---------------------------------------------------------------------------------
    def _make_ae(self) -> AE:
        p = self.profile
        ae = AE(ae_title=p.ae_title)
        ae.maximum_pdu_size = p.max_pdu_bytes
        # One more is refused with A-ASSOCIATE-RJ rejected-transient, source service-provider
        # (presentation related function), reason 2 local-limit-exceeded, PS3.8 9.3.4.
        ae.maximum_associations = p.max_associations
        ae.acse_timeout, ae.dimse_timeout = p.acse_timeout_s, p.dimse_timeout_s
        ae.network_timeout = p.network_timeout_s
        # Refused with A-ASSOCIATE-RJ rejected-permanent, service-user, reason 3 (calling
        # AE title not recognised) or 7 (called AE title not recognised), PS3.8 9.3.4.
        ae.require_calling_aet = list(p.allowed_calling_aes)
        ae.require_called_aet = p.require_called_ae
        abstract = [BASIC_GRAYSCALE_PRINT_META, PRINTER, PRINT_JOB,
                    PRINTER_CONFIGURATION_RETRIEVAL, VERIFICATION]
        if p.color:
            abstract.append(BASIC_COLOR_PRINT_META)
        if p.presentation_lut:
            abstract.append(PRESENTATION_LUT)
        if p.annotation:
            abstract.append(BASIC_ANNOTATION_BOX)
        if not p.strict:
            abstract.extend(uid for uid in INDIVIDUAL_META_MEMBERS
                            if p.color or uid != BASIC_COLOR_IMAGE_BOX)
        for uid in abstract:
            ae.add_supported_context(uid, TRANSFER_SYNTAXES)
        return ae

    def metrics(self) -> dict[str, Any]:
        """The counters the web console's /metrics reports."""
        with self._lock:
            rejected = dict(self._rejections)
        return {"films_printed": self.worker.films_rendered,
                "render_seconds": self.worker.render_seconds,
                "requests_by_status": dict(self.handlers.requests_by_status),
                "associations": self.hub.associations,
                "associations_rejected": rejected,
                "queue_depth": self.jobs.pending_films(),
                "memory_limit_bytes": self.memory.limit,
                "memory_in_use_bytes": self.memory.in_use}

    def _handlers(self) -> list:
        h = self.handlers
        tls_timeout_s = self.ae.acse_timeout if self.profile.tls is not None else None
        return [
            (evt.EVT_CONN_OPEN, harden_acceptor,
             [self.profile.max_image_bytes + MESSAGE_OVERHEAD, tls_timeout_s, self.memory]),
            (evt.EVT_REQUESTED, self._requested),
            (evt.EVT_REJECTED, self._rejected),
            (evt.EVT_ESTABLISHED, self._established),
            (evt.EVT_RELEASED, self._ended),
            (evt.EVT_ABORTED, self._ended),
            (evt.EVT_CONN_CLOSE, self._ended),
            (evt.EVT_N_CREATE, h.n_create),
            (evt.EVT_N_SET, h.n_set),
            (evt.EVT_N_ACTION, h.n_action),
            (evt.EVT_N_DELETE, h.n_delete),
            (evt.EVT_N_GET, h.n_get),
            (evt.EVT_N_EVENT_REPORT, h.n_event_report),
        ]

    def start(self, host: str = "127.0.0.1", port: int | None = None) -> tuple[str, int]:
        """Start serving in the background; returns the bound (host, port)."""
        tls = self.profile.tls
        ssl_context = server_context(tls) if tls is not None else None
        self.worker.start()
        self.printer.start_script()
        self.retention.start()
        try:
            server = self.ae.start_server(
                (host, self.profile.port if port is None else port),
                block=False, evt_handlers=self._handlers(), ssl_context=ssl_context)
        except BaseException:  # e.g. the port is taken: stop what was started
            self.stop()
            raise
        assert server is not None  # start_server returns the server when block=False
        self._server = server
        # Forwarding starts last: its film printer worker opens associations of its own
        # (status polls), which must not race the creation of this server.
        if self.forwarder is not None:
            self.forwarder.start()
        bound = server.server_address
        LOG.info("printer %r (%s) listening on %s:%s%s, output in %s, memory budget %d MiB "
                 "(max_memory_bytes %d), PDUs up to %d bytes", self.profile.printer_name,
                 self.profile.ae_title, bound[0], bound[1], " (TLS)" if tls else "",
                 self.output_dir, self.memory.limit // (1024 * 1024), self.memory.limit,
                 self.profile.max_pdu_bytes)
        return bound[0], bound[1]

    def stop(self) -> None:
        """Stop accepting, abort the open associations, finish the films being rendered."""
        self.printer.stop_script()
        if self._server is not None:
            self._server.shutdown()
            self._server = None
        with self._lock:
            open_associations = list(self._contexts)
        for assoc in open_associations:
            assoc.abort()
        self.image_files.stop()
        self.retention.stop()
        self.worker.stop()
        self.spool.close()
        if self.forwarder is not None:
            self.forwarder.stop()
        LOG.info("printer stopped")

    # -- associations -----------------------------------------------------------------------
    def _requested(self, event: evt.Event) -> None:
        """EVT_REQUESTED: refuse, transiently, while the memory budget could not take one
        more association (its :data:`CONNECTION_BYTES`, held until its connection closes)
        and one more message carrying an image of ``max_image_bytes``."""
        free = self.memory.free
        claim = message_claim(self.profile.max_image_bytes + MESSAGE_OVERHEAD)
        if free < claim + CONNECTION_BYTES or not self.memory.reserve(CONNECTION_BYTES):
            refuse_for_local_limit(event.assoc, f"memory budget: {free} B free, an "
                                   f"association takes {CONNECTION_BYTES} B and an image "
                                   f"message claims {claim} B")
            return
        with self._lock:
            self._connections.add(event.assoc)

    def _rejected(self, event: evt.Event) -> None:
        """EVT_REJECTED: one line per refused association: who, from where, and why."""
        assoc = event.assoc
        request, answer = assoc.requestor.primitive, assoc.acceptor.primitive
        # Both are set before EVT_REJECTED: the A-ASSOCIATE-RQ received, the -RJ sent
        assert request is not None and answer is not None
        LOG.warning("association from %r (called AE %r) at %s:%s rejected: %s, source: %s, "
                    "reason: %s", request.calling_ae_title, request.called_ae_title,
                    assoc.requestor.address, assoc.requestor.port, answer.result_str,
                    answer.source_str, answer.reason_str)
        with self._lock:
            self._rejections[answer.reason_str] += 1

    def context_of(self, assoc: Association) -> AssociationContext | None:
        with self._lock:
            return self._contexts.get(assoc)

    def _established(self, event: evt.Event) -> None:
        assoc = event.assoc
        DimseRouter.install(assoc, serves=serves)  # before the reactor takes a request
        # An accepted context always has the abstract syntax that was proposed
        accepted = {cast(UID, cx.abstract_syntax) for cx in assoc.accepted_contexts}
        ctx = AssociationContext(
            profile=self.profile,
            calling_ae=assoc.requestor.ae_title.strip(),
            called_ae=assoc.acceptor.ae_title.strip(),
            peer=f"{assoc.requestor.address}:{assoc.requestor.port}",
            memory=self.memory,
            image_files=self.image_files,
            print_job_negotiated=PRINT_JOB in accepted,
        )
        with self._lock:
            self._contexts[assoc] = ctx
        self.hub.open(assoc, self.profile.events.for_calling_ae(ctx.calling_ae))
        individual = sorted(accepted & set(INDIVIDUAL_META_MEMBERS))
        if individual:
            ctx.deviation("individual print SOP classes proposed instead of the meta SOP class: "
                          + ", ".join(individual), Status.SOP_CLASS_NOT_SUPPORTED)
        LOG.info("association from %s (%s) accepted: %d contexts", ctx.calling_ae, ctx.peer,
                 len(accepted))

    def _ended(self, event: evt.Event) -> None:
        assoc = event.assoc
        with self._lock:
            ctx = self._contexts.pop(assoc, None)
            admitted = assoc in self._connections
            self._connections.discard(assoc)
        if admitted:
            self.memory.release(CONNECTION_BYTES)
        self.hub.close(assoc)
        if ctx is not None:
            ctx.end()
            unprinted = sum(1 for box in ctx.film_boxes.values() if not box.printed)
            LOG.info("association from %s ended (%s): %d films printed, %d unprinted film "
                     "boxes dropped", ctx.calling_ae, event.event.name, ctx.films_printed,
                     unprinted)

    # -- events -----------------------------------------------------------------------------
    def _printer_changed(self, condition: PrinterCondition) -> None:
        info = None
        if condition.status is not PrinterStatus.NORMAL:
            info = Dataset()
            info.PrinterStatusInfo = condition.info
            info.PrinterName = self.profile.printer_name
            declare_character_set(info)
        event = OutboundEvent(PRINTER, PRINTER_INSTANCE, condition.status.event_type_id, info,
                              f"Printer {condition.status.value} ({condition.info})")
        count = self.hub.broadcast(event)
        LOG.info("printer event %s sent to %d associations", event.description, count)

    def job_created(self, assoc: Association, job: PrintJob) -> None:
        """Called by the N-ACTION handler: PENDING follows its response."""
        with self._lock:
            self._job_associations[job.uid] = assoc
        self._job_changed(job, after_current_response=True)

    def _job_changed(self, job: PrintJob, after_current_response: bool = False) -> None:
        with self._lock:
            assoc = self._job_associations.get(job.uid)
            if job.status.finished:
                self._job_associations.pop(job.uid, None)
        if assoc is None:
            return
        info = Dataset()
        info.ExecutionStatusInfo = job.info
        info.PrinterName = self.profile.printer_name
        if job.session_label:
            info.FilmSessionLabel = job.session_label
        declare_character_set(info)
        self.hub.post(assoc, OutboundEvent(PRINT_JOB, job.uid, job.status.event_type_id, info,
                                           f"Print Job {job.status.value} ({job.info})"),
                      after_current_response=after_current_response)

    # -- what the request handlers may ask (print_scp.service.request.PrinterServices) --------
    def printer_attributes(self) -> Dataset:
        return self.printer.attributes()

    def print_job(self, uid: str) -> PrintJob | None:
        return self.jobs.get(uid)

    def configuration(self) -> Dataset:
        """Printer Configuration Sequence (2000,001E) for the N-GET of PS3.4 H.4.11."""
        return printer_configuration.configuration(self.profile, self._offers)

    def _offers(self, uid: str) -> bool:
        return any(cx.abstract_syntax == uid for cx in self.ae.supported_contexts)

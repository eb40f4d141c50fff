"""Runs fuzz cases against a printer, checks every answer, and counts what happened.

A *case* is one hypothesis example: one request script on one association
(:meth:`FuzzRunner.run_script`) or one raw PDU attack on one connection
(:meth:`FuzzRunner.run_attack`). After each case the runner checks the
printer's health: a fresh association prints a film (:func:`print_film`).
:class:`SteadyPrinter` keeps a second, well-behaved association printing
films throughout, to show that hostile peers do not disturb others.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from dicomnet import uids
from fuzzing import wire
from fuzzing.oracle import Finding, LogWatch, check_response
from fuzzing.pdu_attacks import Attack, run_attack
from fuzzing.requests import (
    NATURAL_CONTEXT,
    PROPOSED,
    UNKNOWN_UID,
    Ref,
    RefSequence,
    Request,
)
from fuzzing.ul_client import AcceptedContext, NoAnswer, PeerClosed, RawAssociation
from fuzzing.wire import Element
from print_scp.profile import PrinterProfile
from print_scp.server import PrintServer
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation, PrintAssociationError
from print_scu.image_box_requests import grayscale_image_box

# A fast printer: small films at 20 dpi keep rendering cheap; short timeouts (s) so a
# stalled connection is dropped within a case.
FUZZ_PROFILE = replace(PrinterProfile(), standard_dpi=20, high_dpi=30,
                       default_film_size="8INX10IN", max_associations=64,
                       queue_capacity=100_000)
NETWORK_TIMEOUT = 3.0  # s, the printer's network (idle and socket) timeout
RESPONSE_TIMEOUT = 10.0  # s the fuzzer waits for any one answer
LEAK_WAIT = NETWORK_TIMEOUT + 2.0  # s for the printer to notice a connection ended
REFERENCED_PRINT_JOB_SEQUENCE = 0x21000500  # N-ACTION reply (PS3.4 H.4.1.2.4)


@contextmanager
def fuzz_printer(output_dir: Path, profile: PrinterProfile = FUZZ_PROFILE
                 ) -> Iterator[PrintServer]:
    """A PrintServer on a free 127.0.0.1 port with short timeouts; stopped afterwards."""
    server = PrintServer(profile, output_dir, acse_timeout_s=NETWORK_TIMEOUT,
                         dimse_timeout_s=RESPONSE_TIMEOUT, network_timeout_s=NETWORK_TIMEOUT)
    _, port = server.start("127.0.0.1", 0)
    server.port = port  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


def print_film(port: int, calling_ae: str = "HEALTH") -> str | None:
    """Print one 8×10 in film of one 8×8 image on a fresh association; None or what failed."""
    address = PrinterAddress("127.0.0.1", port, "FILMBOX", calling_ae=calling_ae,
                             acse_timeout_s=RESPONSE_TIMEOUT, dimse_timeout_s=RESPONSE_TIMEOUT,
                             network_timeout_s=RESPONSE_TIMEOUT)
    try:
        with PrintAssociation(address, print_job=False, presentation_lut=False,
                              annotation=False) as scu:
            return _print_on(scu)
    except PrintAssociationError as exc:
        return f"health check: {exc}"


def _print_on(scu: PrintAssociation) -> str | None:
    """Session, film box, an 8×8 ramp image, N-ACTION, N-DELETE; None or what failed."""
    image = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    session = Dataset()
    session.NumberOfCopies = 1
    status, session_uid = scu.create_film_session(session)
    if status != 0:
        return f"health check: {scu.last_result}"
    box = Dataset()
    box.ImageDisplayFormat = "STANDARD\\1,1"
    status, refs = scu.create_film_box(box, film_session_uid=session_uid)
    if status != 0 or refs is None:
        return f"health check: {scu.last_result}"
    for step in (lambda: scu.set_image_box(refs.image_box_uids[0],
                                           grayscale_image_box(1, image, 8)),
                 lambda: scu.print_film_box(refs.film_box_uid)[0],
                 lambda: scu.delete_film_session(session_uid)):
        if step() != 0:
            return f"health check: {scu.last_result}"
    return None


class SteadyPrinter:
    """A well-behaved SCU printing films on one association in a thread, until stopped.

    ``films`` counts films printed; ``failures`` says what went wrong (must stay empty).
    """

    def __init__(self, port: int, pause: float = 1.0):
        self._port = port
        self._pause = pause
        self._stop = threading.Event()
        self._ready = threading.Event()  # set once the association is up (or failed)
        self.films = 0
        self.failures: list[str] = []
        self._thread = threading.Thread(target=self._run, name="steady-printer", daemon=True)

    def __enter__(self) -> SteadyPrinter:
        self._thread.start()
        self._ready.wait(RESPONSE_TIMEOUT)
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join(timeout=4 * RESPONSE_TIMEOUT)

    def _run(self) -> None:
        address = PrinterAddress("127.0.0.1", self._port, "FILMBOX", calling_ae="STEADY",
                                 acse_timeout_s=RESPONSE_TIMEOUT, dimse_timeout_s=RESPONSE_TIMEOUT,
                                 network_timeout_s=600)
        try:
            with PrintAssociation(address, print_job=True, presentation_lut=False,
                                  annotation=False) as scu:
                self._ready.set()
                while not self._stop.wait(self._pause):
                    failure = _print_on(scu)
                    if failure is not None:
                        self.failures.append(failure.replace("health check", "steady SCU"))
                        return
                    self.films += 1
        except PrintAssociationError as exc:
            self.failures.append(f"steady SCU: {exc}")
        finally:
            self._ready.set()


@dataclass
class Tally:
    """What a fuzz run did: cases, requests by kind, statuses and outcomes, findings."""

    cases: Counter = field(default_factory=Counter)  # by case kind ("script", attack name)
    requests: Counter = field(default_factory=Counter)  # by request kind
    statuses: Counter = field(default_factory=Counter)  # "N-SET 0x0106", ...
    outcomes: Counter = field(default_factory=Counter)  # "answered", "aborted", ...
    findings: list[Finding] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def total_cases(self) -> int:
        return sum(self.cases.values())

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


class _Instances:
    """UIDs of the instances the printer created on one association, by kind.

    Deleted instances stay listed: a later reference to one is a request for
    an instance that no longer exists, which the printer must refuse.
    """

    def __init__(self) -> None:
        self._uids: dict[str, list[str]] = {}

    def add(self, kind: str, uid: str) -> None:
        self._uids.setdefault(kind, []).append(uid)

    def uid(self, ref: Ref) -> str:
        found = self._uids.get(ref.kind)
        if not found:
            return f"{UNKNOWN_UID}.{len(ref.kind)}"
        return found[ref.index % len(found)]


class FuzzRunner:
    """Sends cases to ``server`` (in this process) and checks every answer.

    ``others`` is the number of associations that are not the fuzzer's (e.g.
    a :class:`SteadyPrinter`): after each case the printer must be back to
    that many, or it leaked the state of an association that ended.
    """

    def __init__(self, server: PrintServer, tally: Tally, logs: LogWatch, others: int = 0):
        self.server = server
        self.port: int = server.port  # type: ignore[attr-defined]
        self.tally = tally
        self.logs = logs
        self.others = others

    # -- one case ------------------------------------------------------------------------------
    def run_script(self, script: list[Request]) -> list[Finding]:
        """Send a request script on one association; the findings (none if all was well)."""
        findings: list[str] = []
        with self.tally.lock:
            self.tally.cases["request script"] += 1
        try:
            assoc = RawAssociation("127.0.0.1", self.port, PROPOSED, timeout=RESPONSE_TIMEOUT)
        except (PeerClosed, NoAnswer, OSError) as exc:
            return self._finish([f"association refused or not answered: {exc}"], script)
        instances = _Instances()
        with assoc:
            for message_id, request in enumerate(script, start=1):
                outcome = self._send(assoc, request, message_id, instances, findings)
                self._count(request, outcome)
                if outcome != "answered":
                    break
            else:
                if not assoc.release(RESPONSE_TIMEOUT):
                    findings.append("A-RELEASE-RQ not answered with A-RELEASE-RP")
        return self._finish(findings, script)

    def run_attack(self, attack: Attack) -> list[Finding]:
        """Send one raw PDU attack on its own connection."""
        with self.tally.lock:
            self.tally.cases[attack.family] += 1
        problems, outcome = run_attack(self.port, attack, RESPONSE_TIMEOUT)
        with self.tally.lock:
            self.tally.outcomes[f"{attack.family}: {outcome}"] += 1
        return self._finish(problems, attack)

    def _finish(self, problems: list[str], case: object) -> list[Finding]:
        """Add log errors and the health check to the case's problems."""
        problems = problems + [f"printer log: {record}" for record in self.logs.take()]
        leaked = self.leaked_associations()
        if leaked:
            problems.append(f"{leaked} ended associations still held by the printer")
        health = print_film(self.port)
        if health is not None:
            problems.append(health)
        problems += [f"printer log: {record}" for record in self.logs.take()]
        found = [Finding(problem, repr(case)) for problem in problems]
        with self.tally.lock:
            self.tally.findings.extend(found)
        return found

    def leaked_associations(self) -> int:
        """Associations beyond ``others`` still open after LEAK_WAIT s (0 if none)."""
        deadline = time.monotonic() + LEAK_WAIT
        while True:
            extra = self.server.hub.associations - self.others
            if extra <= 0 or time.monotonic() > deadline:
                return max(0, extra)
            time.sleep(0.01)

    # -- one request ---------------------------------------------------------------------------
    def _send(self, assoc: RawAssociation, request: Request, message_id: int,
              instances: _Instances, findings: list[str]) -> str:
        """Send one request and check the answer; the outcome, for the tally."""
        context = _context_for(assoc, request)
        explicit = context.explicit if context else request.context.explicit
        context_id = context.context_id if context else request.context.index
        instance = (instances.uid(request.instance) if isinstance(request.instance, Ref)
                    else request.instance)
        dataset = _encode(request.dataset, instances, explicit)
        command = wire.request_command(
            request.service, message_id, request.class_uid, instance, dataset is not None,
            action_type_id=request.action_type_id,
            attribute_identifiers=request.attribute_identifiers)
        try:
            reply = assoc.request(context_id, command, dataset, message_id, RESPONSE_TIMEOUT)
        except NoAnswer:
            findings.append(f"{request.kind}: no answer within {RESPONSE_TIMEOUT:.0f} s")
            return "no answer"
        except PeerClosed as exc:
            if context is None:  # an unaccepted context: PS3.8 wants the association aborted
                return "aborted (unaccepted context)"
            if _invalid_command(request, instance):
                return "aborted (invalid command set)"
            findings.append(f"{request.kind} (class {request.class_uid!r}, instance "
                            f"{instance!r}): association dropped instead of a response "
                            f"({exc})")
            return "dropped"
        if context is None:
            findings.append(f"{request.kind}: answered on unaccepted context {context_id}")
        problem = check_response(request.service, message_id, reply.command)
        if problem is not None:
            findings.append(problem)
            return "answered"
        status = int(reply.command.Status)
        with self.tally.lock:
            self.tally.statuses[f"{wire.SERVICE_NAMES[request.service]} 0x{status:04X}"] += 1
        if status in (0x0000, 0x0107, 0x0116) or 0xB000 <= status < 0xC000:  # done, warnings
            _remember(request, instance, reply, explicit, instances)
        return "answered"

    def _count(self, request: Request, outcome: str) -> None:
        with self.tally.lock:
            self.tally.requests[request.kind] += 1
            self.tally.outcomes[f"request {outcome}"] += 1


def _invalid_command(request: Request, instance: str | None) -> bool:
    """True if the command set itself is not a valid DIMSE message (PS3.7 10.3).

    A required UID missing or empty, or longer than the 64 characters of VR
    UI (PS3.5 6.2): pynetdicom cannot turn such a command into a request and
    aborts the association, which PS3.8 allows for input it cannot parse.
    """
    required_instance = request.service != wire.N_CREATE_RQ
    return (not request.class_uid or len(request.class_uid) > 64
            or (required_instance and not instance) or len(instance or "") > 64)


def _context_for(assoc: RawAssociation, request: Request) -> AcceptedContext | None:
    """The accepted context the request goes on; None for a deliberately unaccepted one."""
    choice = request.context
    accepted = sorted(assoc.accepted.values(), key=lambda cx: cx.context_id)
    if choice.how == "unaccepted" or not accepted:
        return None
    if choice.how == "other":
        return accepted[choice.index % len(accepted)]
    wanted = NATURAL_CONTEXT.get(request.class_uid, PROPOSED[0])
    matching = [cx for cx in accepted if cx.abstract_syntax == wanted] or accepted
    return next((cx for cx in matching if cx.explicit == choice.explicit), matching[0])


def _encode(dataset, instances: _Instances, explicit: bool) -> bytes | None:
    if dataset is None or isinstance(dataset, bytes):
        return dataset
    return wire.encode_dataset(_resolve(dataset, instances), explicit)


def _resolve(parts, instances: _Instances) -> list[Element]:
    """Elements with every symbolic reference replaced by the instance's UID."""
    out = []
    for part in parts:
        if isinstance(part, RefSequence):
            item = (Element(0x00081150, "UI", wire.uid(part.class_uid)),
                    Element(0x00081155, "UI", wire.uid(instances.uid(part.ref))))
            out.append(wire.sequence(part.tag, [item]))
        else:
            out.append(part)
    return out


def _remember(request: Request, instance: str | None, reply, explicit: bool,
              instances: _Instances) -> None:
    """Record the instances a successful request created (from the printer's answer)."""
    if request.service == wire.N_CREATE_RQ:
        kind = {uids.BASIC_FILM_SESSION: "session", uids.BASIC_FILM_BOX: "film_box",
                uids.PRESENTATION_LUT: "plut"}.get(request.class_uid)
        created = str(reply.command.get("AffectedSOPInstanceUID", "") or instance or "")
        if kind and created:
            instances.add(kind, created)
    try:
        answer = reply.decoded_dataset(explicit)
    except Exception:  # the printer's answer itself is checked elsewhere; keep fuzzing
        return
    if answer is None:
        return
    for item in answer.get("ReferencedImageBoxSequence", []):
        instances.add("image_box", str(item.ReferencedSOPInstanceUID))
    for item in answer.get("ReferencedBasicAnnotationBoxSequence", []):
        instances.add("annotation_box", str(item.ReferencedSOPInstanceUID))
    if REFERENCED_PRINT_JOB_SEQUENCE in answer:
        for item in answer[REFERENCED_PRINT_JOB_SEQUENCE].value:
            instances.add("job", str(item.ReferencedSOPInstanceUID))

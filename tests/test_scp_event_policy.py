"""Events never stall a print, and each SCU gets the events its profile entry allows.

* PENDING follows the N-ACTION response: an SCU that never answers
  N-EVENT-REPORT still gets its response at once, not after the printer's
  event timeout.
* ``[events] send`` and ``[events.per_calling_ae]`` choose which events each
  calling AE title receives: all, Printer, Print Job, or none (syngo MR-style
  SCUs that cannot receive events during a print session).
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from scp_harness import running_printer
from test_scp_feat_support import (
    PRINT_JOB_CLASS,
    PRINTER_CLASS,
    SUCCESS,
    connect,
    new_film_box,
    new_session,
    print_job_uid,
    uniform,
    wait_until,
)

from print_scp.profile import EventPolicy, EventScope, ProfileError, profile_from_dict
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation
from print_scu.image_box_requests import grayscale_image_box

PRINTER_EVENT_TIMEOUT_S = 30.0  # how long the printer waits for an event's reply
SCU_DIMSE_TIMEOUT_S = 10.0  # how long the SCU waits for a response: shorter than that
EVENT_WAIT_S = 20.0


def print_one_film(assoc: PrintAssociation) -> str:
    """A one-image film, printed by Film Box N-ACTION; its Print Job UID."""
    refs = new_film_box(assoc, new_session(assoc), "STANDARD\\1,1")
    assert assoc.set_image_box(refs.image_box_uids[0],
                               grayscale_image_box(1, uniform(100), 8)) == SUCCESS
    status, reply = assoc.print_film_box(refs.film_box_uid)
    assert status == SUCCESS, str(assoc.last_result)
    return print_job_uid(reply)


def test_an_scu_that_never_answers_events_gets_its_n_action_response(tmp_path: Path) -> None:
    never = threading.Event()  # the SCU's event handler waits on it: no reply is sent
    with running_printer(tmp_path, dimse_timeout_s=PRINTER_EVENT_TIMEOUT_S) as server:
        address = PrinterAddress("127.0.0.1", server.port, server.profile.ae_title,
                                 calling_ae="DEAF_SCU", acse_timeout_s=10,
                                 dimse_timeout_s=SCU_DIMSE_TIMEOUT_S, network_timeout_s=60)
        try:
            with PrintAssociation(address, on_event=lambda _event: never.wait(60)) as assoc:
                job = print_one_film(assoc)  # no timeout: the response did not wait
                pending = assoc.events.wait_for(
                    lambda e: e.sop_instance_uid == job and e.event_type_id == 1, EVENT_WAIT_S)
                assert pending is not None, "PENDING follows the N-ACTION response"
        finally:
            never.set()


@pytest.mark.parametrize(("scope", "printer_events", "job_events"), [
    ("all", True, True), ("printer", True, False), ("job", False, True), ("none", False, False),
])
def test_each_calling_ae_gets_the_events_of_its_scope(
        tmp_path: Path, scope: str, printer_events: bool, job_events: bool) -> None:
    policy = EventPolicy(EventScope.ALL, {"SCOPED_SCU": EventScope(scope)})
    with running_printer(tmp_path, events=policy) as server:
        with connect(server, calling_ae="SCOPED_SCU") as scoped, \
                connect(server, calling_ae="OTHER_SCU") as other:
            scoped_job, other_job = print_one_film(scoped), print_one_film(other)
            server.printer.set_status("WARNING", "SUPPLY LOW")
            # The other SCU, with every event, shows both kinds were sent ...
            assert other.events.wait_for(
                lambda e: e.sop_instance_uid == other_job and e.event_type_id == 3, EVENT_WAIT_S)
            assert other.events.wait_for(lambda e: e.sop_class_uid == PRINTER_CLASS,
                                         EVENT_WAIT_S)
            # ... and the scoped SCU's own job is done before we look at what it got.
            assert wait_until(lambda: scoped.get_print_job(scoped_job)[1].ExecutionStatus
                              == "DONE", EVENT_WAIT_S)
            if job_events:
                assert scoped.events.wait_for(
                    lambda e: e.sop_instance_uid == scoped_job and e.event_type_id == 3,
                    EVENT_WAIT_S)
            if printer_events:
                assert scoped.events.wait_for(lambda e: e.sop_class_uid == PRINTER_CLASS,
                                              EVENT_WAIT_S)
            received = scoped.events.snapshot()
    kinds = {e.sop_class_uid for e in received}
    assert (PRINTER_CLASS in kinds, PRINT_JOB_CLASS in kinds) == (printer_events, job_events)


def test_the_events_section_of_a_profile() -> None:
    profile = profile_from_dict({"events": {"send": "job",
                                            "per_calling_ae": {"MRC40257": "none"}}})
    assert profile.events.for_calling_ae("MRC40257") is EventScope.NONE
    assert profile.events.for_calling_ae("CT_ROOM_1") is EventScope.JOB
    assert profile_from_dict({}).events.for_calling_ae("ANY") is EventScope.ALL


@pytest.mark.parametrize(("events", "named"), [
    ({"send": "some"}, r"\[events\] send 'some' is not one of all, printer, job, none"),
    ({"per_calling_ae": {"MRC": "quiet"}}, r"per_calling_ae\.MRC 'quiet'"),
    ({"sned": "all"}, r"unknown key 'sned' in \[events\]"),
    ({"per_calling_ae": {"A_TITLE_LONGER_THAN_16": "none"}}, r"is not an AE title"),
])
def test_a_wrong_events_section_is_named(events: dict, named: str) -> None:
    with pytest.raises(ProfileError, match=named):
        profile_from_dict({"events": events})

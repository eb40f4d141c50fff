"""Loopback N-EVENT-REPORTs: Print Job progress and Printer status, alone and under load.

PS3.4 H.4.5 (Print Job): Event Type ID 1 PENDING, 2 PRINTING, 3 DONE,
4 FAILURE, reported to the association that created the job. PS3.4 H.4.6
(Printer): 1 NORMAL, 2 WARNING, 3 FAILURE, the last two with Printer Status
Info; reported to every association. A printer in FAILURE prints nothing:
its jobs stay PENDING until it is NORMAL again.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from scp_harness import running_printer
from test_scp_feat_support import (
    DENSITY_TOLERANCE_OD,
    PRINTER_CLASS,
    PRINTER_INSTANCE,
    REFERENCED_PRINT_JOB_SEQUENCE,
    SUCCESS,
    TIMEOUT_S,
    centre_density,
    connect,
    density_map,
    expected_od,
    job_done,
    job_events,
    new_film_box,
    new_session,
    print_film_box,
    print_job_uid,
    printed_films,
    printer_events,
    rects,
    uniform,
    wait_until,
)

from print_scu.association import PrintAssociation
from print_scu.image_box_requests import grayscale_image_box

DPI = 75
NO_SUCH_SOP_INSTANCE = 0x0112
PENDING, PRINTING, DONE = 1, 2, 3  # Print Job Event Type IDs
NORMAL, WARNING, FAILURE = 1, 2, 3  # Printer Event Type IDs


def print_one_film(assoc: PrintAssociation, value: int, session: str | None = None):
    """Film Box STANDARD\\1,1 with a uniform image of ``value``, printed; the N-ACTION reply."""
    refs = new_film_box(assoc, session or new_session(assoc), "STANDARD\\1,1")
    status = assoc.set_image_box(refs.image_box_uids[0], grayscale_image_box(1, uniform(value), 8))
    assert status == SUCCESS, str(assoc.last_result)
    return refs, print_film_box(assoc, refs)


def wait_for_printer_event(assoc: PrintAssociation, count: int) -> list:
    """The association's Printer events once it has at least ``count`` of them."""
    assert wait_until(lambda: len(printer_events(assoc)) >= count), (
        f"{len(printer_events(assoc))} Printer events, expected {count}")
    return printer_events(assoc)


def test_print_job_reports_pending_printing_done_to_its_association(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI, printer_name="JOB TEST") as server:
        with connect(server, calling_ae="CREATOR") as assoc, connect(server) as bystander:
            bystander.get_printer()
            _, reply = print_one_film(assoc, 100)
            job = print_job_uid(reply)
            assert wait_until(lambda: job_done(assoc, job)), "no DONE event"
            events = job_events(assoc, job)
            assert [e.event_type_id for e in events] == [PENDING, PRINTING, DONE]
            for event in events:
                info = event.event_information
                if info is not None and "PrinterName" in info:
                    assert info.PrinterName == "JOB TEST"
            status, attributes = assoc.get_print_job(job)
            assert status == SUCCESS, str(assoc.last_result)
            assert attributes.ExecutionStatus == "DONE"
            assert attributes.PrinterName == "JOB TEST"
            assert attributes.Originator == "CREATOR"
            # Another association may read the job, but got none of its events.
            status, attributes = bystander.get_print_job(job)
            assert status == SUCCESS and attributes.ExecutionStatus == "DONE"
            assert job_events(bystander, job) == []
            assert assoc.get_print_job("1.2.3.4.5.6.7.8.9")[0] == NO_SUCH_SOP_INSTANCE
        printed_films(tmp_path, 1)


def test_without_print_job_context_there_is_no_job_reference_and_no_job_event(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server, print_job=False) as assoc:
            _, reply = print_one_film(assoc, 100)
            assert reply is None or REFERENCED_PRINT_JOB_SEQUENCE not in reply
            printed_films(tmp_path, 1)
            assoc.get_printer()  # one more round trip for any stray event
            assert [e for e in assoc.events if e.sop_class_uid != PRINTER_CLASS] == []


def test_printer_status_changes_reach_every_association_and_failure_holds_printing(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as a, connect(server) as b, connect(server) as c:
            scus = (a, b, c)
            for scu in scus:
                # A request first: pynetdicom may abort an association whose
                # first message is an event that overtakes its A-ASSOCIATE-AC.
                assert scu.get_printer()[0] == SUCCESS

            server.printer.set_status("FAILURE", "FILM JAM")
            for scu in scus:
                [event] = wait_for_printer_event(scu, 1)
                assert (event.sop_instance_uid, event.event_type_id) == (PRINTER_INSTANCE, FAILURE)
                assert event.event_information.PrinterStatusInfo == "FILM JAM"
            status, printer = b.get_printer()
            assert (printer.PrinterStatus, printer.PrinterStatusInfo) == ("FAILURE", "FILM JAM")

            # Accepted while jammed, but not printed: the job waits PENDING.
            _, reply = print_one_film(a, 60)
            job = print_job_uid(reply)
            status, attributes = a.get_print_job(job)
            assert attributes.ExecutionStatus == "PENDING"
            assert list(tmp_path.glob("*.json")) == []

            server.printer.set_status("NORMAL")
            for scu in scus:
                events = wait_for_printer_event(scu, 2)
                assert [e.event_type_id for e in events] == [FAILURE, NORMAL]
            assert wait_until(lambda: job_done(a, job)), "job not DONE after NORMAL"
            assert [e.event_type_id for e in job_events(a, job)] == [PENDING, PRINTING, DONE]
            assert a.get_print_job(job)[1].ExecutionStatus == "DONE"
            [film] = printed_films(tmp_path, 1)
            density, _ = density_map(tmp_path, film)
            assert centre_density(density, rects(film)[1]) == pytest.approx(
                float(expected_od(60)), abs=DENSITY_TOLERANCE_OD)

            server.printer.set_status("WARNING", "SUPPLY LOW")
            for scu in scus:
                events = wait_for_printer_event(scu, 3)
                assert [e.event_type_id for e in events] == [FAILURE, NORMAL, WARNING]
                assert events[2].event_information.PrinterStatusInfo == "SUPPLY LOW"


SCUS = 6
FILMS_PER_SCU = 3
TOGGLE_PERIOD_S = 0.02
MIN_TOGGLES = 6
MAX_TOGGLES = int(TIMEOUT_S / TOGGLE_PERIOD_S)
STATES = (("FAILURE", "FILM JAM"), ("NORMAL", None), ("WARNING", "SUPPLY LOW"))


class _LoadClient:
    """One SCU of the load test: connects, prints its films, waits for the word to release."""

    def __init__(self, server, index: int, start: threading.Barrier, release: threading.Event):
        self.server, self.index = server, index
        self.start, self.release = start, release
        self.printed = threading.Event()
        self.values = [10 + 80 * index // SCUS + 5 * k for k in range(FILMS_PER_SCU)]
        self.film_boxes: dict[str, int] = {}  # Film Box UID -> its image's value
        self.jobs: list[str] = []
        self.statuses: list[int] = []
        self.error: BaseException | None = None
        self.assoc: PrintAssociation | None = None
        self.thread = threading.Thread(target=self._run, name=f"load-scu-{index}")

    def all_jobs_done(self) -> bool:
        return all(job_done(self.assoc, job) for job in self.jobs)

    def last_printer_event_is_normal(self) -> bool:
        events = printer_events(self.assoc)
        return bool(events) and events[-1].event_type_id == NORMAL

    def _run(self) -> None:
        try:
            with connect(self.server, calling_ae=f"LOAD{self.index}") as assoc:
                self.assoc = assoc
                assert assoc.get_printer()[0] == SUCCESS
                self.start.wait(TIMEOUT_S)
                session = new_session(assoc)
                for value in self.values:
                    refs, reply = print_one_film(assoc, value, session)
                    self.jobs.append(print_job_uid(reply))
                    self.film_boxes[refs.film_box_uid] = value
                    self.statuses.append(assoc.delete_film_box(refs.film_box_uid))
                self.printed.set()
                assert self.release.wait(TIMEOUT_S), "never told to release"
                assert assoc.is_established
        except BaseException as exc:  # re-raised by the test thread
            self.error = exc
            self.printed.set()


def test_event_router_under_load_of_concurrent_printing_and_status_changes(tmp_path: Path):
    with running_printer(tmp_path, standard_dpi=50) as server:
        start = threading.Barrier(SCUS + 1)
        release = threading.Event()
        clients = [_LoadClient(server, i, start, release) for i in range(SCUS)]
        for client in clients:
            client.thread.start()
        toggles = 0
        try:
            start.wait(TIMEOUT_S)
            # Toggle the printer's status until every SCU has printed (bounded).
            while toggles < MIN_TOGGLES or not all(c.printed.is_set() for c in clients):
                assert toggles < MAX_TOGGLES, "the SCUs never finished printing"
                server.printer.set_status(*STATES[toggles % len(STATES)])
                toggles += 1
                time.sleep(TOGGLE_PERIOD_S)
            server.printer.set_status("NORMAL")

            for client in clients:
                assert client.error is None, f"SCU {client.index}: {client.error!r}"
                assert wait_until(client.all_jobs_done), (
                    f"SCU {client.index}: not every job reported DONE")
                assert wait_until(client.last_printer_event_is_normal), (
                    f"SCU {client.index}: the final NORMAL event did not arrive last")
        finally:
            release.set()
            for client in clients:
                client.thread.join(TIMEOUT_S)
        films = printed_films(tmp_path, SCUS * FILMS_PER_SCU)

    for client in clients:
        assert client.error is None, f"SCU {client.index}: {client.error!r}"
        raw = client.assoc._assoc
        assert raw.is_released and not raw.is_aborted, f"SCU {client.index} aborted"
        assert client.statuses == [SUCCESS] * FILMS_PER_SCU
        for job in client.jobs:
            assert [e.event_type_id for e in job_events(client.assoc, job)] == [
                PENDING, PRINTING, DONE], f"SCU {client.index}, job {job}"
        types = {e.event_type_id for e in printer_events(client.assoc)}
        assert {FAILURE, NORMAL} <= types, f"SCU {client.index} saw Printer events {types}"

    # Every film carries its own image: no request went to the wrong place.
    expected = {uid: value for c in clients for uid, value in c.film_boxes.items()}
    assert {film["film_box"]["uid"] for film in films} == set(expected)
    for film in films:
        density, _ = density_map(tmp_path, film)
        assert centre_density(density, rects(film)[1]) == pytest.approx(
            float(expected_od(expected[film["film_box"]["uid"]])), abs=DENSITY_TOLERANCE_OD)

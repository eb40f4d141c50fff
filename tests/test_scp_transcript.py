"""The session transcript: every request with the printer's answer, in each film's JSON
and in the job's record; and Film Session warnings in the film's warnings."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from scp_harness import running_printer
from test_scp_feat_support import (
    SUCCESS,
    connect,
    dataset,
    new_film_box,
    print_job_uid,
    printed_films,
    uniform,
    wait_until,
)

from print_scu.image_box_requests import grayscale_image_box

NO_SUCH_SOP_INSTANCE = 0x0112
MEMORY_ALLOCATION_NOT_SUPPORTED = 0xB600
UNKNOWN_JOB = "1.2.3.4.5.6.7.8.9"


def test_each_request_is_in_the_film_s_transcript_and_the_job_record(tmp_path: Path) -> None:
    with running_printer(tmp_path) as server:
        with connect(server) as assoc:
            status, session = assoc.create_film_session(
                dataset(NumberOfCopies=1, MemoryAllocation=1024))
            assert status == MEMORY_ALLOCATION_NOT_SUPPORTED
            refs = new_film_box(assoc, session, "STANDARD\\1,1")
            assert assoc.set_image_box(refs.image_box_uids[0],
                                       grayscale_image_box(1, uniform(90), 8)) == SUCCESS
            assert assoc.get_print_job(UNKNOWN_JOB)[0] == NO_SUCH_SOP_INSTANCE
            status, reply = assoc.print_film_box(refs.film_box_uid)
            assert status == SUCCESS
            job = print_job_uid(reply)
            assert wait_until(lambda: assoc.get_print_job(job)[1].ExecutionStatus == "DONE")
            second = new_film_box(assoc, session, "STANDARD\\1,1")
            assert assoc.set_image_box(second.image_box_uids[0],
                                       grayscale_image_box(1, uniform(90), 8)) == SUCCESS
            status, reply = assoc.print_film_box(second.film_box_uid)
            assert status == SUCCESS
            second_job = print_job_uid(reply)
            assert wait_until(
                lambda: assoc.get_print_job(second_job)[1].ExecutionStatus == "DONE")
        film = next(f for f in printed_films(tmp_path, 2)
                    if f["print_job"]["uid"] == job)
    transcript = film["transcript"]
    assert [(e["operation"], e["status"]) for e in transcript] == [
        ("N-CREATE Film Session", "0xB600"),
        ("N-CREATE Film Box", "0x0000"),
        ("N-SET Grayscale Image Box", "0x0000"),
        ("N-GET Print Job", "0x0112"),  # not this film's, but every failure is listed
    ]
    assert [e["instance_uid"] for e in transcript] == [
        session, refs.film_box_uid, refs.image_box_uids[0], UNKNOWN_JOB]
    assert transcript[0]["error_comment"].startswith("MemoryAllocation")
    assert transcript[3]["error_comment"] == f"no Print Job {UNKNOWN_JOB}"
    for entry in transcript:
        datetime.fromisoformat(entry["at"])
        assert entry["duration_ms"] >= 0
    times = [datetime.fromisoformat(e["at"]) for e in transcript]
    assert times == sorted(times)
    # The Film Session's warning is among the film's warnings
    assert any(w.startswith("0xB600") for w in film["warnings"]), film["warnings"]
    # The first job's record holds the association's requests up to its N-ACTION
    record = json.loads((tmp_path / ".jobs" / f"{job}.json").read_text())
    assert [e["operation"] for e in record["transcript"]] == [
        "N-CREATE Film Session", "N-CREATE Film Box", "N-SET Grayscale Image Box",
        "N-GET Print Job"]
    # ... and the next job's record only the requests since then (each kept once)
    record = json.loads((tmp_path / ".jobs" / f"{second_job}.json").read_text())
    operations = [e["operation"] for e in record["transcript"]]
    assert operations[0] == "N-ACTION Film Box"
    assert operations[-2:] == ["N-CREATE Film Box", "N-SET Grayscale Image Box"]
    assert "N-CREATE Film Session" not in operations

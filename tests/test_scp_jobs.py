"""Print Job registry: status changes reach listeners; finished jobs are pruned and kept;
scripted Print Job failures ([[script]] job_failure)."""

import pytest
from scp_harness import film_metadata, running_printer, wait_for_films
from test_scp_event_policy import print_one_film
from test_scp_feat_support import SUCCESS, connect, job_events, wait_until

from dicomnet.terms import ExecutionStatus
from print_scp.print_jobs import PrintJob, PrintJobRegistry
from print_scp.profile import ProfileError, ScriptedEvent, load_profile

DONE_EVENT, FAILURE_EVENT = 3, 4  # Print Job Event Type IDs (PS3.4 H.4.5.1.1)


def _job(uid: str, films: int = 1) -> PrintJob:
    return PrintJob(uid, "MED", "SCU", "PRINTER", [f"{uid}-{i}" for i in range(films)])


def test_listeners_see_every_change_in_order() -> None:
    registry = PrintJobRegistry()
    seen: list[tuple[str, str]] = []
    registry.subscribe(lambda job: seen.append((job.uid, job.status.value)))
    registry.add(_job("a"))
    registry.set_status("a", ExecutionStatus.PRINTING)
    registry.set_status("a", ExecutionStatus.DONE)
    registry.set_status("unknown", ExecutionStatus.DONE)
    assert seen == [("a", "PRINTING"), ("a", "DONE")]
    assert registry.get("a").attributes().ExecutionStatus == "DONE"


def test_pending_films_counts_unfinished_jobs_only() -> None:
    registry = PrintJobRegistry()
    registry.add(_job("a", films=3))
    registry.add(_job("b", films=2))
    registry.set_status("b", ExecutionStatus.PRINTING)
    assert registry.pending_films() == 5
    registry.set_status("a", ExecutionStatus.FAILURE, "FILM JAM")
    assert registry.pending_films() == 2


def test_finished_jobs_beyond_the_limit_are_forgotten_oldest_first() -> None:
    registry = PrintJobRegistry(keep_finished=2)
    registry.add(_job("open"))
    for uid in ("d1", "d2", "d3", "d4"):
        registry.add(_job(uid))
        registry.set_status(uid, ExecutionStatus.DONE)
    registry.add(_job("last"))
    assert registry.get("open") is not None
    assert [registry.get(u) is not None for u in ("d1", "d2", "d3", "d4")] == [
        False, False, True, True]


def test_finished_jobs_are_kept_in_their_directory_and_read_back(tmp_path) -> None:
    registry = PrintJobRegistry(keep_finished=2, directory=tmp_path)
    registry.add(_job("open"))
    for uid in ("d1", "d2", "d3"):
        registry.add(_job(uid))
        registry.set_status(uid, ExecutionStatus.DONE if uid != "d3" else ExecutionStatus.FAILURE,
                            "NORMAL" if uid != "d3" else "FILM JAM")
    registry.add(_job("next"))  # adding trims the finished jobs to the newest two
    assert sorted(path.name for path in tmp_path.iterdir()) == ["d2.json", "d3.json"]

    reloaded = PrintJobRegistry(keep_finished=2, directory=tmp_path)
    assert reloaded.get("open") is None  # an unfinished job is the spool's to restore
    assert reloaded.get("d1") is None
    d3 = reloaded.get("d3")
    assert d3 is not None and (d3.status, d3.info) == (ExecutionStatus.FAILURE, "FILM JAM")
    assert d3.attributes() == registry.get("d3").attributes()


def test_a_broken_job_record_is_ignored(tmp_path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "partial.json").write_text('{"uid": "x"}')
    assert PrintJobRegistry(directory=tmp_path).get("x") is None


def test_n_get_of_a_finished_job_answers_after_a_restart(tmp_path) -> None:
    with running_printer(tmp_path) as server:
        with connect(server) as assoc:
            job = print_one_film(assoc)
            assert wait_until(lambda: assoc.get_print_job(job)[1].ExecutionStatus == "DONE")
            status, before = assoc.get_print_job(job)
            assert status == SUCCESS
    with running_printer(tmp_path) as restarted:
        with connect(restarted) as assoc:
            status, after = assoc.get_print_job(job)
    assert status == SUCCESS
    assert (after.ExecutionStatus, after.ExecutionStatusInfo) == ("DONE", "NORMAL")
    assert after == before


# -- scripted Print Job failures ([[script]] job_failure) ---------------------------------


def test_scripted_job_failures_fail_the_next_jobs_after_n_films(tmp_path) -> None:
    """after_films = 1, jobs = 2: films 2 and 3 fail with their info, not written; 4 prints."""
    script = (ScriptedEvent(job_failure="out of film", after_films=1, jobs=2),)
    jobs, answers, last_events = [], [], []
    with running_printer(tmp_path, script=script) as server:
        for _ in range(4):  # one at a time: the script counts the films printed before
            with connect(server) as assoc:
                job = print_one_film(assoc)
                assert wait_until(lambda: any(
                    e.event_type_id in (DONE_EVENT, FAILURE_EVENT)
                    for e in job_events(assoc, job)))  # the association that made it hears
                status, answer = assoc.get_print_job(job)
                assert status == SUCCESS
                event = job_events(assoc, job)[-1]
            jobs.append(job)
            answers.append((answer.ExecutionStatus, answer.ExecutionStatusInfo))
            last_events.append((event.event_type_id,
                                event.event_information.get("ExecutionStatusInfo")
                                if event.event_information else None))
        written = wait_for_films(tmp_path, 2)

    assert answers == [("DONE", "NORMAL"), ("FAILURE", "OUT OF FILM"),
                       ("FAILURE", "OUT OF FILM"), ("DONE", "NORMAL")]
    assert [event_type for event_type, _ in last_events] == [
        DONE_EVENT, FAILURE_EVENT, FAILURE_EVENT, DONE_EVENT]
    assert [info for _, info in last_events[1:3]] == ["OUT OF FILM"] * 2
    assert len(written) == 2  # the failed jobs' films were not written
    assert {film_metadata(path)["print_job"]["uid"] for path in written} == {jobs[0], jobs[3]}


def test_a_time_scripted_job_failure_fails_the_first_job_after_it(tmp_path) -> None:
    script = (ScriptedEvent(job_failure="INSUFFIC MEMORY", after_s=0.0),)
    answers = []
    with running_printer(tmp_path, script=script) as server:
        for _ in range(2):
            with connect(server) as assoc:
                job = print_one_film(assoc)
                assert wait_until(lambda: assoc.get_print_job(job)[1].ExecutionStatus
                                  in ("DONE", "FAILURE"))
                answer = assoc.get_print_job(job)[1]
            answers.append((answer.ExecutionStatus, answer.ExecutionStatusInfo))
    assert answers == [("FAILURE", "INSUFFIC MEMORY"), ("DONE", "NORMAL")]


@pytest.mark.parametrize(("toml", "words"), [
    ('job_failure = "OUT OF FILM"\nstatus = "FAILURE"\nafter_films = 1', "exactly one of status"),
    ('after_films = 1', "exactly one of status"),
    ('job_failure = "OUT OF FILM"\njobs = 0\nafter_films = 1', "jobs must be an integer >= 1"),
    ('job_failure = "OUT OF FILM"\njobs = "two"\nafter_films = 1', "jobs must be an integer"),
    ('status = "FAILURE"\njobs = 2\nafter_films = 1', "given with job_failure"),
    ('job_failure = "OUT OF FILM"\ninfo = "FILM JAM"\nafter_films = 1', "info goes with status"),
    ('job_failure = " "\nafter_films = 1', "job_failure must be an Execution Status Info"),
    (f'job_failure = "{"X" * 65}"\nafter_films = 1', "1 to 64 characters"),
    ('job_failure = "OUT OF FILM"', "exactly one of after_films, after_s"),
])
def test_a_bad_scripted_job_failure_is_a_profile_error(tmp_path, toml: str, words: str) -> None:
    path = tmp_path / "printer.toml"
    path.write_text(f"[[script]]\n{toml}\n")
    with pytest.raises(ProfileError, match=words) as error:
        load_profile(path)
    assert str(path) in str(error.value)


def test_a_scripted_job_failure_is_read_from_the_profile(tmp_path) -> None:
    path = tmp_path / "printer.toml"
    path.write_text('[[script]]\njob_failure = "NO FILM"\nafter_films = 3\njobs = 2\n')
    assert load_profile(path).script == (
        ScriptedEvent(job_failure="NO FILM", after_films=3, jobs=2),)

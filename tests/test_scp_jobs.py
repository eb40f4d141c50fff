"""Print Job registry: status changes reach listeners; finished jobs are pruned and kept."""

from scp_harness import running_printer
from test_scp_event_policy import print_one_film
from test_scp_feat_support import SUCCESS, connect, wait_until

from dicomnet.terms import ExecutionStatus
from print_scp.print_jobs import PrintJob, PrintJobRegistry


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

"""Print Job registry: status changes reach listeners; finished jobs are pruned."""

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

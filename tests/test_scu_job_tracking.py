"""The worker tracks each film to its Print Job's DONE, against print-scp on 127.0.0.1.

print-scp's ``[[script]] job_failure`` makes chosen Print Jobs end FAILURE
after their N-ACTION was accepted (their films are not written), as a
printer that runs out of film would. Each film's image has a row count of
its own (test_scu_worker.films), so the rendered films map back to film
indices, however often each was printed.
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from dcmtk_peer import read_stored_films
from scp_harness import running_printer
from test_scp_event_policy import print_one_film
from test_scp_feat_support import connect, wait_until
from test_scu_worker import (
    FIRST_ROWS,
    WAIT_S,
    event_texts,
    film_indices,
    films,
    printer_for,
    running_worker,
    wait_for_state,
)

from print_scp.profile import EventPolicy, EventScope, ScriptedEvent
from print_scu.config import ConfigError, adhoc_printer
from print_scu.options import PrintOptions
from print_scu.queue import JobQueue, JobState
from print_scu.worker import Worker

DPI = 50
#: The event recording a failed Print Job: the number of the film it held.
FAILED_FILM = re.compile(r"film\(s\) (\d+) of \d+ not printed; to be printed again$")
HAND_PRINTED_ROWS = 8  # of test_scp_event_policy.print_one_film's image
FAST_TRACKING = dict(print_job_poll_interval_s=0.2, retry_backoff_s=0.2,
                     retry_backoff_cap_s=0.4)  # s


def fail_jobs(info: str, after_films: int, jobs: int = 1) -> tuple[ScriptedEvent, ...]:
    return (ScriptedEvent(job_failure=info, after_films=after_films, jobs=jobs),)


def test_a_print_job_failure_after_n_action_is_retried_until_the_film_really_printed(
        tmp_path: Path) -> None:
    """A Print Job after the first two films fails (OUT OF FILM) after its N-ACTION was
    accepted: the job is deferred, that film printed again, and the job is done once it
    really printed. (print-scp renders two jobs at once: which film fails may vary.)"""
    queue = JobQueue(tmp_path / "spool")
    progress: list[tuple[int, int]] = []
    with running_printer(tmp_path / "out", standard_dpi=DPI,
                         script=fail_jobs("OUT OF FILM", after_films=2)) as server:
        job_id = queue.submit(printer_for(server, **FAST_TRACKING), PrintOptions(), films(4))
        with running_worker(queue, progress=lambda job, index: progress.append(
                (job.id, index))):
            done = wait_for_state(queue, job_id, JobState.DONE)
        rendered = film_indices(tmp_path / "out", 4)

    assert rendered == Counter(range(4))  # each film once: the failed one was not written
    assert (done.films_done, done.attempts) == (4, 1)  # one failed attempt, then done
    texts = event_texts(queue, job_id)
    failures = [text for text in texts if FAILED_FILM.search(text)]
    assert len(failures) == 1 and "FAILURE (OUT OF FILM)" in failures[0]
    assert int(FAILED_FILM.search(failures[0])[1]) >= 3  # not before two films printed
    assert any(text.startswith("attempt 1 failed, next in 0.2 s: ") and "OUT OF FILM" in text
               for text in texts)
    assert texts[-1] == "done: 4 film(s) printed"
    assert sorted(index for _, index in progress) == [0, 1, 2, 3]  # reported once printed


def test_a_failure_that_will_not_pass_fails_the_job_at_once(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "spool")
    with running_printer(tmp_path / "out", standard_dpi=DPI,
                         script=fail_jobs("INVALID PAGE DES", after_films=0)) as server:
        job_id = queue.submit(printer_for(server, **FAST_TRACKING), PrintOptions(), films(1))
        Worker(queue).run_until_idle(WAIT_S)
    failed = queue.get(job_id)
    assert (failed.state, failed.films_done, failed.attempts) == (JobState.FAILED, 0, 0)
    assert "FAILURE (INVALID PAGE DES)" in failed.last_error


def test_without_print_job_events_the_worker_asks_with_n_get(tmp_path: Path) -> None:
    """Print Job events off: DONE and FAILURE are learnt by Print Job N-GET polling."""
    queue = JobQueue(tmp_path / "spool")
    with running_printer(tmp_path / "out", standard_dpi=DPI,
                         events=EventPolicy(EventScope.PRINTER),
                         script=fail_jobs("NO FILM", after_films=1)) as server:
        job_id = queue.submit(printer_for(server, **FAST_TRACKING), PrintOptions(), films(3))
        with running_worker(queue):
            done = wait_for_state(queue, job_id, JobState.DONE)
        rendered = film_indices(tmp_path / "out", 3)

    assert rendered == Counter(range(3))
    assert (done.films_done, done.attempts) == (3, 1)
    texts = event_texts(queue, job_id)
    assert not any(text.startswith("print job ") and text.endswith("]") for text in texts), \
        "no Print Job N-EVENT-REPORT was expected"
    assert len([text for text in texts if "FAILURE (NO FILM): film(s)" in text
                and FAILED_FILM.search(text)]) == 1


def test_a_session_print_is_one_print_job_tracked_to_done(tmp_path: Path) -> None:
    """--session-print: one N-ACTION, one Print Job; its FAILURE sends every film again."""
    queue = JobQueue(tmp_path / "spool")
    with running_printer(tmp_path / "out", standard_dpi=DPI,
                         script=fail_jobs("OUT OF FILM", after_films=0)) as server:
        job_id = queue.submit(printer_for(server, **FAST_TRACKING),
                              PrintOptions(session_print=True), films(3))
        with running_worker(queue):
            done = wait_for_state(queue, job_id, JobState.DONE)
        rendered = film_indices(tmp_path / "out", 3)

    assert rendered == Counter(range(3))
    assert (done.films_done, done.attempts) == (3, 1)
    assert any("FAILURE (OUT OF FILM): film(s) 1, 2, 3 of 3 not printed" in text
               for text in event_texts(queue, job_id))


def test_films_sent_before_a_crash_are_asked_about_not_sent_again(tmp_path: Path) -> None:
    """A worker died after film 1's N-ACTION was accepted (recorded as sent with its Print
    Job): the next worker asks the printer (N-GET) and sends film 2 only. A film sent
    under a Print Job the printer does not know is taken as printed."""
    queue = JobQueue(tmp_path / "spool")
    with running_printer(tmp_path / "out", standard_dpi=DPI) as server:
        printer = printer_for(server, **FAST_TRACKING)
        known = queue.submit(printer, PrintOptions(), films(2))
        unknown = queue.submit(printer, PrintOptions(), films(2))
        with connect(server) as assoc:  # the film the dead worker had sent: printed
            print_job = print_one_film(assoc)
            assert wait_until(lambda: assoc.get_print_job(print_job)[1].ExecutionStatus
                              == "DONE")
        for job_id, uid in ((known, print_job), (unknown, "1.2.826.0.1.3680043.8.498.1")):
            assert queue.claim_next(printer.name, "dead-worker").id == job_id
            queue.films_sent(job_id, [0], uid)
        assert queue.recover(lambda worker: worker != "dead-worker") == 2
        Worker(queue).run_until_idle(WAIT_S)
        rendered = film_indices(tmp_path / "out", 3)

    assert [queue.get(job_id).state for job_id in (known, unknown)] == [JobState.DONE] * 2
    # film 2 of each job, and the hand-printed film (8 rows: "index" 8 - FIRST_ROWS)
    assert rendered == Counter({1: 2, HAND_PRINTED_ROWS - FIRST_ROWS: 1})
    assert "is unknown to the printer: its film(s) taken as printed" in " ".join(
        event_texts(queue, unknown))


def test_a_print_job_that_does_not_finish_in_time_defers_the_job_not_the_film(
        tmp_path: Path) -> None:
    """No event, no N-GET before print_job_timeout_s: the job is deferred; the next attempt
    finds the Print Job DONE and does not send the film again."""
    queue = JobQueue(tmp_path / "spool")
    with running_printer(tmp_path / "out", standard_dpi=DPI,
                         events=EventPolicy(EventScope.NONE)) as server:
        slow = printer_for(server, print_job_poll_interval_s=60.0, print_job_timeout_s=0.01,
                           retry_backoff_s=0.2, retry_backoff_cap_s=0.4)
        job_id = queue.submit(slow, PrintOptions(), films(1))
        Worker(queue).run_until_idle(WAIT_S)
        deferred = queue.get(job_id)
        # The next attempt asks (N-GET) once before it would wait a minute: the job is DONE.
        assert film_indices(tmp_path / "out", 1) == Counter([0])
        assert wait_until(lambda: server.jobs.pending_films() == 0, WAIT_S)
        assert wait_until(lambda: time.time() >= deferred.next_attempt_at)
        Worker(queue).run_until_idle(WAIT_S)
        rendered = film_indices(tmp_path / "out", 1)  # a film sent again would be a second

    assert (deferred.state, deferred.films_done, deferred.attempts) == (JobState.QUEUED, 0, 1)
    assert "not printed yet" in deferred.last_error and "within 0.01 s" in deferred.last_error
    assert queue.get(job_id).state is JobState.DONE
    assert rendered == Counter([0])


def test_a_printer_that_names_no_print_job_counts_films_at_their_n_action(
        tmp_path: Path, dcmprscp) -> None:  # noqa: ANN001 - the conftest fixture
    """DCMTK's dcmprscp names no Print Job in its N-ACTION replies: as before Print Job
    tracking, each film counts as printed once its N-ACTION succeeds."""
    endpoint = dcmprscp.endpoint
    queue = JobQueue(tmp_path / "spool")
    printer = adhoc_printer(endpoint.host, endpoint.port, endpoint.aetitle, **FAST_TRACKING)
    job_id = queue.submit(printer, PrintOptions(), films(2))
    progress: list[int] = []
    Worker(queue, progress=lambda job, index: progress.append(index)).run_until_idle(WAIT_S)
    stored = read_stored_films(endpoint.storage_dir)
    done = queue.get(job_id)
    assert (done.state, done.films_done, done.attempts) == (JobState.DONE, 2, 0)
    assert progress == [0, 1] and len(stored) == 2


def test_printer_failure_while_print_jobs_are_awaited_defers_a_job_that_may_not_wait(
        tmp_path: Path) -> None:
    """`print` (run_until_idle) does not wait out a printer FAILURE that comes while its
    films await their Print Jobs: the job is deferred, its films stay sent."""
    queue = JobQueue(tmp_path / "spool")
    with running_printer(tmp_path / "out", standard_dpi=DPI,
                         events=EventPolicy(EventScope.PRINTER)) as server:
        # no Print Job events and no N-GET for a minute: the film stays awaited
        printer = printer_for(server, print_job_poll_interval_s=60.0, retry_backoff_s=0.2,
                              retry_backoff_cap_s=0.4)
        job_id = queue.submit(printer, PrintOptions(), films(1))
        delivery = threading.Thread(target=Worker(queue).run_until_idle, args=(WAIT_S,))
        delivery.start()
        try:
            assert wait_until(lambda: queue.awaited_print_jobs(job_id) != {}, WAIT_S)
            server.printer.set_status("FAILURE", "COVER OPEN")
        finally:
            delivery.join(WAIT_S)
        assert not delivery.is_alive()
        deferred, awaited = queue.get(job_id), queue.awaited_print_jobs(job_id)
        server.printer.set_status("NORMAL")
        # The next attempt asks about the film (N-GET) once, before it would wait a minute
        # for the next poll: it must find the job DONE, its film rendered.
        assert film_indices(tmp_path / "out", 1) == Counter([0])
        assert wait_until(lambda: server.jobs.pending_films() == 0, WAIT_S)
        assert wait_until(lambda: time.time() >= deferred.next_attempt_at)
        Worker(queue).run_until_idle(WAIT_S)
        rendered = film_indices(tmp_path / "out", 1)  # a film sent again would be a second

    assert (deferred.state, deferred.attempts) == (JobState.QUEUED, 1)
    assert "reported FAILURE while film(s)" in deferred.last_error
    assert list(awaited.values()) == [[0]]  # still sent: asked about, not sent again
    assert queue.get(job_id).state is JobState.DONE and rendered == Counter([0])


def test_print_job_times_must_be_positive() -> None:
    for key in ("print_job_poll_interval_s", "print_job_timeout_s"):
        with pytest.raises(ConfigError, match=rf"{key}: 0\.0 s must be positive"):
            adhoc_printer("127.0.0.1", 104, "ANY", **{key: 0})

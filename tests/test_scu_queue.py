"""The print client's job queue: order, claims under concurrency, progress, crashes.

Expected orders and states are worked out by hand from the queue's rules
(HIGH > MED > LOW, then submission order; next_attempt_at gates claims);
expected pixels are regenerated from the seed each image's source names.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from print_scu import job_files
from print_scu.config import PrinterConfig
from print_scu.options import PrintOptions
from print_scu.prepared_image import PreparedImage
from print_scu.queue import JobQueue, JobState, QueueError

REPO = Path(__file__).resolve().parents[1]
CHILD_ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests")])}
CHILD_TIMEOUT_S = 60


class FakeClock:
    """Seconds since the epoch, moved by hand."""

    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


def printer(name: str = "lab") -> PrinterConfig:
    return PrinterConfig(name=name, host="127.0.0.1", port=10400, called_ae="LAB_PRINTER")


def seeded_films(seed: int, films: int = 2) -> list[list[PreparedImage]]:
    """Films whose images are drawn from ``seed``: 8-bit, 12-bit and RGB boxes.

    Each image's source is "seed<seed>#<film>.<box>", so a reader can rebuild
    what was submitted from the spool alone.
    """
    rng = np.random.default_rng(seed)
    result = []
    for film in range(films):
        result.append([
            PreparedImage(rng.integers(0, 256, (24, 32), dtype=np.uint8),
                          "MONOCHROME2", 8, f"seed{seed}#{film}.0"),
            PreparedImage(rng.integers(0, 4096, (16, 8), dtype=np.uint16),
                          "MONOCHROME1", 12, f"seed{seed}#{film}.1"),
            PreparedImage(rng.integers(0, 256, (10, 12, 3), dtype=np.uint8),
                          "RGB", 8, f"seed{seed}#{film}.2"),
        ])
    return result


def tiny_film() -> list[list[PreparedImage]]:
    return [[PreparedImage(np.zeros((2, 2), np.uint8), "MONOCHROME2", 8, "tiny#1")]]


def assert_same_images(loaded: list[PreparedImage], expected: list[PreparedImage]) -> None:
    assert [(i.photometric, i.bits, i.source) for i in loaded] == [
        (i.photometric, i.bits, i.source) for i in expected]
    for got, want in zip(loaded, expected, strict=True):
        assert got.pixels.dtype == want.pixels.dtype
        np.testing.assert_array_equal(got.pixels, want.pixels)


def seed_of(queue: JobQueue, job_id: int) -> int:
    source = queue.load_film(job_id, 0)[0].source
    return int(source.removeprefix("seed").split("#")[0])


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def queue(tmp_path: Path, clock: FakeClock) -> JobQueue:
    return JobQueue(tmp_path / "spool", clock=clock)


# -- order ------------------------------------------------------------------------------

def test_claims_take_highest_priority_first_then_oldest(queue: JobQueue) -> None:
    ids = {label: queue.submit(printer(), PrintOptions(priority=priority), tiny_film())
           for label, priority in [("low1", "LOW"), ("med1", "MED"), ("high1", "HIGH"),
                                   ("med2", "MED"), ("high2", "HIGH"), ("low2", "LOW")]}
    claimed = []
    while (job := queue.claim_next("lab", "w")) is not None:
        claimed.append(job.id)
    assert claimed == [ids[label] for label in
                       ("high1", "high2", "med1", "med2", "low1", "low2")]


def test_claims_serve_only_the_named_printer(queue: JobQueue) -> None:
    first = queue.submit(printer("a"), PrintOptions(priority="LOW"), tiny_film())
    second = queue.submit(printer("b"), PrintOptions(priority="HIGH"), tiny_film())
    assert queue.printers_with_work() == ["a", "b"]
    job = queue.claim_next("a", "w")
    assert job is not None and job.id == first
    assert queue.claim_next("a", "w") is None
    assert queue.printers_with_work() == ["b"]
    assert queue.claim_next("b", "w").id == second
    assert queue.claim_next("nobody", "w") is None


# -- what a job holds -------------------------------------------------------------------

def test_a_submitted_job_holds_its_printer_options_and_pixels(
        queue: JobQueue, clock: FakeClock) -> None:
    films = seeded_films(7)
    options = PrintOptions(priority="HIGH", film_size="8INX10IN", display_format="STANDARD\\1,3",
                           window=(40.0, 400.0), annotations=["left", "right"])
    lab = printer()
    job_id = queue.submit(lab, options, films)

    job = queue.get(job_id)
    assert (job.printer, job.priority, job.state, job.films_total, job.films_done,
            job.attempts, job.last_error, job.worker) == (
        "lab", "HIGH", JobState.QUEUED, 2, 0, 0, None, None)
    assert job.created == job.updated == job.next_attempt_at == clock.now
    assert PrinterConfig.from_dict(job.printer_config) == lab
    assert PrintOptions.from_dict(job.options) == options
    for index, film in enumerate(films):
        assert_same_images(queue.load_film(job_id, index), film)
    stored = sorted(p.name for p in (queue.spool_dir / "jobs" / str(job_id)).iterdir())
    assert stored == ["films.json", "pixels"]


def test_pixels_survive_the_input_arrays_changing(queue: JobQueue) -> None:
    films = seeded_films(3, films=1)
    job_id = queue.submit(printer(), PrintOptions(), films)
    films[0][0].pixels[:] = 0  # the caller reuses its buffers once submit returns
    assert_same_images(queue.load_film(job_id, 0)[1:], seeded_films(3, films=1)[0][1:])
    assert queue.load_film(job_id, 0)[0].pixels.max() > 0


def test_a_job_without_films_or_with_unstorable_pixels_is_refused(queue: JobQueue) -> None:
    with pytest.raises(ValueError, match="at least one film"):
        queue.submit(printer(), PrintOptions(), [])
    floats = PreparedImage(np.zeros((2, 2)), "MONOCHROME2", 8, "scan.dcm#1")
    with pytest.raises(ValueError, match=r"scan\.dcm#1: pixels are float64"):
        queue.submit(printer(), PrintOptions(), [[floats]])
    assert queue.jobs() == []
    assert list((queue.spool_dir / "jobs").iterdir()) == []


def test_a_submission_that_cannot_write_its_pixels_leaves_nothing(
        queue: JobQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    writes = []
    real_write_durably = job_files.write_durably

    def full_disk(path: Path, content) -> None:
        writes.append(path.name)
        if len(writes) == 2:
            raise OSError(28, "No space left on device", str(path))
        real_write_durably(path, content)

    monkeypatch.setattr(job_files, "write_durably", full_disk)
    with pytest.raises(OSError, match="No space left"):
        queue.submit(printer(), PrintOptions(), seeded_films(9))
    assert writes == ["pixels", "films.json"]
    assert queue.jobs() == []
    assert list((queue.spool_dir / "jobs").iterdir()) == []
    with sqlite3.connect(queue.spool_dir / "queue.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM reservations").fetchone() == (0,)


def test_a_job_queued_by_an_earlier_version_still_loads(queue: JobQueue) -> None:
    # Earlier versions stored two files per film: the arrays in an .npz, the rest in JSON.
    films = seeded_films(12)
    job_id = queue.submit(printer(), PrintOptions(), tiny_film() * 2)
    directory = queue.spool_dir / "jobs" / str(job_id)
    for path in directory.iterdir():
        path.unlink()
    for index, film in enumerate(films):
        np.savez(directory / f"film-{index}.npz",
                 **{f"image{k}": image.pixels for k, image in enumerate(film)})
        described = {"images": [image.description() for image in film]}
        if index == 1:
            described["annotations"] = ["second", "film"]
        (directory / f"film-{index}.json").write_text(json.dumps(described))
    for index, film in enumerate(films):
        assert_same_images(queue.load_film(job_id, index), film)
    assert queue.load_annotations(job_id, 0) is None
    assert queue.load_annotations(job_id, 1) == ["second", "film"]
    (directory / "film-1.npz").unlink()
    with pytest.raises(QueueError, match=rf"job {job_id}: film 2 is not in the spool "
                                         r"\(.*film-1\.npz is missing\)"):
        queue.load_film(job_id, 1)


@pytest.mark.parametrize("damage, reason", [
    (lambda job: (job / "films.json").write_text("{not json"), r"is damaged \(JSONDecodeError"),
    (lambda job: (job / "films.json").write_text('{"films": [{"images": [{"shape": "x"}]}]}'),
     r"is damaged \((KeyError|TypeError|ValueError)"),
    (lambda job: (job / "pixels").unlink(), r"pixels is missing"),
])
def test_a_damaged_job_is_a_queue_error_naming_the_film(queue: JobQueue, damage,
                                                         reason: str) -> None:
    job_id = queue.submit(printer(), PrintOptions(), seeded_films(14))
    damage(queue.spool_dir / "jobs" / str(job_id))
    with pytest.raises(QueueError, match=rf"job {job_id}: film 1 is not in the spool .*{reason}"):
        queue.load_film(job_id, 0)


def test_pixels_cut_short_or_a_film_beyond_the_job_are_queue_errors(queue: JobQueue) -> None:
    job_id = queue.submit(printer(), PrintOptions(), seeded_films(13))
    pixels = queue.spool_dir / "jobs" / str(job_id) / "pixels"
    with pytest.raises(QueueError, match=rf"job {job_id}: film 3 is not in the spool "
                                         r"\(the job has 2 film\(s\)\)"):
        queue.load_film(job_id, 2)
    with pixels.open("r+b") as handle:
        handle.truncate(pixels.stat().st_size - 1)
    assert_same_images(queue.load_film(job_id, 0), seeded_films(13)[0])
    with pytest.raises(QueueError, match=rf"job {job_id}: film 2 is not in the spool "
                                         r"\(.*pixels is cut short\)"):
        queue.load_film(job_id, 1)


def test_a_job_s_films_json_is_parsed_once_for_all_its_films(
        queue: JobQueue, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[Path] = []
    read_json = job_files._read_json
    monkeypatch.setattr(job_files, "_read_json",
                        lambda path: parsed.append(path) or read_json(path))
    films = seeded_films(15) + seeded_films(16) + seeded_films(17)
    job_id = queue.submit(printer(), PrintOptions(), films)
    for index, film in enumerate(films):
        assert_same_images(queue.load_film(job_id, index), film)
        assert queue.load_annotations(job_id, index) is None
    assert len(parsed) == 1
    # a new films.json at the same path (a job id used again) is read afresh
    document = queue.spool_dir / "jobs" / str(job_id) / "films.json"
    replacement = document.with_name("replacement")
    replacement.write_text(document.read_text().replace("seed15#", "again#"))
    replacement.replace(document)
    assert queue.load_film(job_id, 0)[0].source.startswith("again#")
    assert len(parsed) == 2


# -- progress ---------------------------------------------------------------------------

def test_film_progress_survives_reopening_the_queue(queue: JobQueue, tmp_path: Path) -> None:
    job_id = queue.submit(printer(), PrintOptions(), seeded_films(11, films=3))
    assert queue.claim_next("lab", "w1").id == job_id
    queue.film_done(job_id, 0)
    queue.film_done(job_id, 1)

    reopened = JobQueue(tmp_path / "spool")
    job = reopened.get(job_id)
    assert (job.state, job.films_done, job.worker) == (JobState.PRINTING, 2, "w1")
    assert_same_images(reopened.load_film(job_id, 2), seeded_films(11, films=3)[2])
    with pytest.raises(QueueError, match=rf"job {job_id}: film index 3 is outside 0\.\.2"):
        reopened.film_done(job_id, 3)


def removals_finished() -> None:
    """Wait for the threads that remove done jobs' films."""
    for thread in threading.enumerate():
        if thread.name.startswith("remove-job-"):
            thread.join(timeout=30)


def test_done_records_every_film_and_removes_the_pixels(queue: JobQueue) -> None:
    job_id = queue.submit(printer(), PrintOptions(), seeded_films(5))
    queue.claim_next("lab", "w")
    assert queue.finish(job_id, JobState.DONE) is True
    job = queue.get(job_id)
    assert (job.state, job.films_done, job.worker) == (JobState.DONE, 2, "w")
    assert not (queue.spool_dir / "jobs" / str(job_id)).exists()
    removals_finished()
    assert list((queue.spool_dir / "jobs").iterdir()) == []
    with pytest.raises(QueueError, match=rf"job {job_id}: film 1 is not in the spool"):
        queue.load_film(job_id, 0)
    with pytest.raises(ValueError, match="not queued"):
        queue.finish(job_id, JobState.QUEUED)



def test_finishing_commits_its_events_only_if_the_job_was_printing(queue: JobQueue) -> None:
    job_id = queue.submit(printer(), PrintOptions(), seeded_films(6))
    queue.claim_next("lab", "w")
    assert queue.finish(job_id, JobState.FAILED, "FILM JAM",
                        events=[(job_id, "lab", "warning: low film"),
                                (job_id, "lab", "failed: FILM JAM")]) is True
    assert queue.finish(job_id, JobState.DONE, events=[(job_id, "lab", "done")]) is False
    assert [text for _, text in queue.events(job_id)] == ["warning: low film",
                                                          "failed: FILM JAM"]
    assert queue.get(job_id).state is JobState.FAILED

# -- films awaiting their Print Job -----------------------------------------------------

def four_film_job(queue: JobQueue) -> int:
    job_id = queue.submit(printer(), PrintOptions(), [tiny_film()[0]] * 4)
    assert queue.claim_next("lab", "w").id == job_id
    return job_id


def test_a_sent_film_counts_once_its_print_job_is_done_in_film_order(queue: JobQueue) -> None:
    job_id = four_film_job(queue)
    for index, uid in enumerate(("1.1", "1.2", "1.3")):
        queue.films_sent(job_id, [index], uid)
    assert queue.films_to_send(job_id) == [3]
    assert queue.awaited_print_jobs(job_id) == {"1.1": [0], "1.2": [1], "1.3": [2]}

    assert queue.print_job_finished("1.2", done=True) == [(job_id, 1)]
    assert queue.get(job_id).films_done == 0  # film 1 is not confirmed yet
    assert queue.print_job_finished("1.1", done=True) == [(job_id, 0)]
    assert queue.get(job_id).films_done == 2  # past film 1 and film 2, printed before it
    assert queue.print_job_finished("1.1", done=True) == []  # told twice: nothing more
    assert queue.print_job_finished("9.9", done=True) == []  # not ours
    assert queue.awaited_print_jobs(job_id) == {"1.3": [2]}

    reopened = JobQueue(queue.spool_dir)  # durable: a new worker sees the same
    assert (reopened.get(job_id).films_done, reopened.films_to_send(job_id)) == (2, [3])


def test_a_failed_print_job_makes_its_films_unsent_and_holds_films_done(
        queue: JobQueue) -> None:
    job_id = four_film_job(queue)
    queue.films_sent(job_id, [0], "2.1")
    queue.films_sent(job_id, [1], "2.2")
    queue.films_sent(job_id, [2], "2.3")
    assert queue.print_job_finished("2.2", done=False) == [(job_id, 1)]
    queue.print_job_finished("2.1", done=True)
    queue.print_job_finished("2.3", done=True)
    assert queue.get(job_id).films_done == 1  # film 2 failed: not past it
    assert queue.films_to_send(job_id) == [1, 3]
    queue.film_done(job_id, 1)  # printed again, on a printer without Print Job
    assert (queue.get(job_id).films_done, queue.films_to_send(job_id)) == (3, [3])


def test_session_print_films_share_one_print_job(queue: JobQueue) -> None:
    job_id = four_film_job(queue)
    queue.films_sent(job_id, [0, 1, 2, 3], "3.1")
    assert queue.awaited_print_jobs(job_id) == {"3.1": [0, 1, 2, 3]}
    assert queue.print_job_finished("3.1", done=False) == [(job_id, i) for i in range(4)]
    assert queue.films_to_send(job_id) == [0, 1, 2, 3]
    queue.films_sent(job_id, [0, 1, 2, 3], "3.2")
    queue.print_job_finished("3.2", done=True)
    assert queue.get(job_id).films_done == 4 and queue.awaited_print_jobs(job_id) == {}


def test_done_and_reassign_forget_the_films_awaited(queue: JobQueue) -> None:
    done = four_film_job(queue)
    queue.films_sent(done, [0], "4.1")
    assert queue.finish(done, JobState.DONE)
    assert queue.awaited_print_jobs(done) == {} and queue.get(done).films_done == 4

    moved = four_film_job(queue)
    queue.films_sent(moved, [0], "4.2")
    queue.film_done(moved, 1)  # printed ahead of film 1, which is awaited
    assert queue.finish(moved, JobState.FAILED, "FAILURE (FILM JAM)")
    assert queue.reassign(moved, printer("other"), "lab is jammed")
    # the new printer cannot be asked about the old one's Print Job: film 1 goes again
    assert queue.films_to_send(moved) == [0, 2, 3]
    with pytest.raises(QueueError, match=rf"job {moved}: film index 4 is outside 0\.\.3"):
        queue.films_sent(moved, [4], "4.3")


def test_the_last_printer_poll_is_kept_per_printer(queue: JobQueue, clock: FakeClock) -> None:
    queue.record_printer_poll("lab", "NORMAL", "NORMAL")
    clock.now += 5.0
    queue.record_printer_poll("lab", "FAILURE", "NO FILM")
    queue.record_printer_poll("far", None, "no association: connection refused")
    polls = queue.printer_polls()
    assert (polls["lab"].time, polls["lab"].summary) == (clock.now, "FAILURE (NO FILM)")
    assert polls["far"].summary == "unreachable: no association: connection refused"
    queue.record_printer_poll("lab", "WARNING", "")
    assert queue.printer_polls()["lab"].summary == "WARNING"


# -- deferral ---------------------------------------------------------------------------

def test_a_deferred_job_waits_for_its_time_and_others_pass_it(
        queue: JobQueue, clock: FakeClock) -> None:
    urgent = queue.submit(printer(), PrintOptions(priority="HIGH"), tiny_film())
    routine = queue.submit(printer(), PrintOptions(priority="LOW"), tiny_film())
    queue.claim_next("lab", "w")
    assert queue.defer(urgent, "C601: Film Session SOP Instance hierarchy queue full", 30.0)

    job = queue.get(urgent)
    assert (job.state, job.attempts, job.worker, job.next_attempt_at) == (
        JobState.QUEUED, 1, None, clock.now + 30.0)
    assert job.last_error.startswith("C601")
    assert queue.printers_with_work() == ["lab"]

    clock.now += 10.0
    assert queue.claim_next("lab", "w").id == routine  # the HIGH job is not due yet
    clock.now += 19.9
    assert queue.claim_next("lab", "w") is None
    clock.now += 0.1
    assert queue.claim_next("lab", "w").id == urgent
    assert queue.defer(urgent, "association aborted", 60.0)
    assert queue.get(urgent).attempts == 2
    with pytest.raises(ValueError, match="negative"):
        queue.defer(urgent, "x", -1.0)


# -- cancel and retry -------------------------------------------------------------------

def test_cancel_takes_a_queued_job_out_of_the_queue(queue: JobQueue) -> None:
    queued = queue.submit(printer(), PrintOptions(), tiny_film())
    printing = queue.submit(printer(), PrintOptions(), tiny_film())
    assert queue.cancel(queued) is True
    assert queue.get(queued).state is JobState.CANCELLED
    assert queue.claim_next("lab", "w").id == printing
    assert queue.cancel(printing) is False  # its worker owns it
    assert queue.cancel(queued) is False
    assert queue.cancel(9999) is False
    assert queue.claim_next("lab", "w") is None
    assert (queue.spool_dir / "jobs" / str(queued)).is_dir()  # kept for a retry
    assert [j.id for j in queue.jobs([JobState.CANCELLED])] == [queued]


def test_retry_resumes_a_failed_job_at_the_next_film(queue: JobQueue, clock: FakeClock) -> None:
    films = seeded_films(21, films=3)
    job_id = queue.submit(printer(), PrintOptions(), films)
    queue.claim_next("lab", "w")
    queue.film_done(job_id, 0)
    queue.defer(job_id, "printer busy", 0.0)
    queue.claim_next("lab", "w")
    queue.film_done(job_id, 1)
    error = "0106: Invalid Attribute Value (MagnificationType)"
    assert queue.finish(job_id, JobState.FAILED, error)
    job = queue.get(job_id)
    assert (job.state, job.films_done, job.attempts, job.last_error) == (
        JobState.FAILED, 2, 1, error)
    assert queue.retry(queue.submit(printer(), PrintOptions(), tiny_film())) is False  # queued

    clock.now += 100.0
    assert queue.retry(job_id) is True
    job = queue.get(job_id)
    assert (job.state, job.films_done, job.attempts, job.last_error, job.next_attempt_at) == (
        JobState.QUEUED, 2, 0, None, clock.now)
    assert queue.claim_next("lab", "w2").id == job_id
    assert_same_images(queue.load_film(job_id, 2), films[2])
    assert queue.retry(job_id) is False  # printing


def test_retry_of_a_cancelled_job_keeps_its_progress(queue: JobQueue, clock: FakeClock) -> None:
    job_id = queue.submit(printer(), PrintOptions(), seeded_films(4))
    queue.claim_next("lab", "w")
    queue.film_done(job_id, 0)
    queue.defer(job_id, "printer FAILURE: FILM JAM", 300.0)
    assert queue.cancel(job_id)
    clock.now += 1.0
    assert queue.retry(job_id)
    job = queue.get(job_id)
    assert (job.state, job.films_done, job.next_attempt_at) == (JobState.QUEUED, 1, clock.now)
    assert queue.claim_next("lab", "w").id == job_id  # due now, not in 300 s


# -- crashes ----------------------------------------------------------------------------

def test_recover_returns_jobs_of_dead_workers_to_the_queue(queue: JobQueue) -> None:
    orphaned = queue.submit(printer("a"), PrintOptions(), seeded_films(1))
    owned = queue.submit(printer("b"), PrintOptions(), tiny_film())
    queue.claim_next("a", "dead-worker")
    queue.film_done(orphaned, 0)
    queue.claim_next("b", "live-worker")

    assert queue.recover(alive=lambda worker: worker == "live-worker") == 1
    job = queue.get(orphaned)
    assert (job.state, job.worker, job.films_done, job.attempts) == (JobState.QUEUED, None, 1, 0)
    assert queue.get(owned).state is JobState.PRINTING
    assert "dead-worker" in queue.events(orphaned)[-1][1]
    assert "film 2" in queue.events(orphaned)[-1][1]
    # the dead worker's late report changes nothing
    assert queue.finish(orphaned, JobState.DONE) is False
    assert queue.defer(orphaned, "late", 1.0) is False
    assert queue.get(orphaned).state is JobState.QUEUED
    assert queue.claim_next("a", "new-worker").id == orphaned


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=CHILD_TIMEOUT_S)
    return child.pid


def test_recover_deletes_pixels_that_no_job_owns(queue: JobQueue) -> None:
    kept = queue.submit(printer(), PrintOptions(), tiny_film())
    done = queue.submit(printer(), PrintOptions(), tiny_film())
    queue.claim_next("lab", "w")
    queue.claim_next("lab", "w")
    jobs_dir = queue.spool_dir / "jobs"
    # a crash after the directory was renamed into place, before the row was committed
    with sqlite3.connect(queue.spool_dir / "queue.sqlite") as conn:
        crashed = conn.execute("INSERT INTO reservations (pid, created) VALUES (?, 0)",
                               (dead_pid(),)).lastrowid
        staging = conn.execute("INSERT INTO reservations (pid, created) VALUES (?, 0)",
                               (dead_pid(),)).lastrowid
        in_progress = conn.execute("INSERT INTO reservations (pid, created) VALUES (?, 0)",
                                   (os.getpid(),)).lastrowid
    for name in (str(crashed), f".staging-{staging}", f".staging-{in_progress}", "777"):
        (jobs_dir / name).mkdir()
        (jobs_dir / name / "film-0.npz").write_bytes(b"partial")
    # a crash after a job was committed done, before its pixels were removed or while
    # they were being removed
    queue.finish(done, JobState.DONE)
    removals_finished()
    (jobs_dir / str(done)).mkdir()
    (jobs_dir / f".removing-{done}").mkdir()
    (jobs_dir / f".removing-{done}" / "pixels").write_bytes(b"partly removed")

    assert queue.recover(alive=lambda worker: True) == 0
    assert sorted(p.name for p in jobs_dir.iterdir()) == sorted(
        [str(kept), f".staging-{in_progress}"])
    with sqlite3.connect(queue.spool_dir / "queue.sqlite") as conn:
        assert conn.execute("SELECT id FROM reservations").fetchall() == [(in_progress,)]
    next_id = queue.submit(printer(), PrintOptions(), tiny_film())
    assert next_id > in_progress  # reserved ids are never reused


# -- database ---------------------------------------------------------------------------

def test_the_database_is_wal_with_a_schema_version(queue: JobQueue) -> None:
    with sqlite3.connect(queue.spool_dir / "queue.sqlite") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "2",)


def test_a_version_1_database_is_upgraded_keeping_its_jobs(tmp_path: Path) -> None:
    old = JobQueue(tmp_path / "old")
    job_id = old.submit(printer(), PrintOptions(), tiny_film())
    with sqlite3.connect(tmp_path / "old" / "queue.sqlite") as conn:  # as version 1 left it
        conn.execute("DROP TABLE sent_films")
        conn.execute("DROP TABLE printer_polls")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    upgraded = JobQueue(tmp_path / "old")
    assert upgraded.get(job_id).state is JobState.QUEUED
    assert upgraded.films_to_send(job_id) == [0] and upgraded.printer_polls() == {}
    with sqlite3.connect(tmp_path / "old" / "queue.sqlite") as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            "2",)


def test_a_newer_or_foreign_database_is_refused_by_name(tmp_path: Path) -> None:
    JobQueue(tmp_path / "new")
    with sqlite3.connect(tmp_path / "new" / "queue.sqlite") as conn:
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    with pytest.raises(QueueError, match=r"queue\.sqlite: schema version 3 is newer"):
        JobQueue(tmp_path / "new")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "queue.sqlite").write_bytes(b"not a database, really" * 100)
    with pytest.raises(QueueError, match=r"foreign/queue\.sqlite: not a usable job queue"):
        JobQueue(tmp_path / "foreign")


def test_events_are_kept_per_job_in_order(queue: JobQueue, clock: FakeClock) -> None:
    job_id = queue.submit(printer(), PrintOptions(), tiny_film())
    queue.log_event(job_id, "lab", "Printer N-GET: WARNING (SUPPLY LOW)")
    clock.now += 1.5
    queue.log_event(job_id, "lab", "film 1: Print Job DONE")
    queue.log_event(None, "lab", "printer FAILURE (FILM JAM): queue paused")
    assert queue.events(job_id) == [(clock.now - 1.5, "Printer N-GET: WARNING (SUPPLY LOW)"),
                                    (clock.now, "film 1: Print Job DONE")]
    assert queue.events(None) == [(clock.now, "printer FAILURE (FILM JAM): queue paused")]


# -- concurrency ------------------------------------------------------------------------

def test_threads_sharing_a_queue_never_claim_the_same_job(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "spool")
    submitted = {queue.submit(printer(), PrintOptions(), tiny_film()) for _ in range(40)}
    start = threading.Barrier(4)
    claims: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        mine = claims.setdefault(name, [])
        try:
            start.wait(timeout=CHILD_TIMEOUT_S)
            while (job := queue.claim_next("lab", name)) is not None:
                mine.append(job.id)
        except BaseException as exc:  # noqa: B036 - reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(f"t{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=CHILD_TIMEOUT_S)
    assert errors == []
    all_claims = [job_id for mine in claims.values() for job_id in mine]
    assert sorted(all_claims) == sorted(submitted)
    for name, mine in claims.items():
        assert all(queue.get(job_id).worker == name for job_id in mine)


CLAIMING_CHILD = """
import sys, time
from pathlib import Path
from print_scu.queue import JobQueue
spool, name = Path(sys.argv[1]), sys.argv[2]
queue = JobQueue(spool)
print("ready", flush=True)
deadline = time.monotonic() + 30
while not (spool / "go").exists() and time.monotonic() < deadline:
    time.sleep(0.002)
while (job := queue.claim_next("lab", name)) is not None:
    print(job.id, flush=True)
"""


def test_two_processes_never_claim_the_same_job(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    queue = JobQueue(spool)
    submitted = {queue.submit(printer(), PrintOptions(), tiny_film()) for _ in range(40)}
    children = [subprocess.Popen([sys.executable, "-c", CLAIMING_CHILD, str(spool), f"p{n}"],
                                 stdout=subprocess.PIPE, text=True, env=CHILD_ENV, cwd=REPO)
                for n in range(2)]
    try:
        for child in children:
            assert child.stdout.readline() == "ready\n"
        (spool / "go").touch()
        claims = {f"p{n}": [int(line) for line in child.communicate(timeout=CHILD_TIMEOUT_S)[0]
                            .split()] for n, child in enumerate(children)}
    finally:
        for child in children:
            child.kill()
            child.wait()
    assert [child.returncode for child in children] == [0, 0]
    assert sorted(claims["p0"] + claims["p1"]) == sorted(submitted)
    for name, mine in claims.items():
        assert all(queue.get(job_id).worker == name for job_id in mine)


SUBMITTING_CHILD = """
import sys
from print_scu.options import PrintOptions
from print_scu.queue import JobQueue, JobState
from test_scu_queue import printer, seeded_films
queue = JobQueue(sys.argv[1])
for seed in range(int(sys.argv[2]), int(sys.argv[2]) + 100000):
    job_id = queue.submit(printer(), PrintOptions(priority=("HIGH", "MED", "LOW")[seed % 3]),
                          seeded_films(seed))
    print("submitted", job_id, seed, flush=True)
    job = queue.claim_next("lab", "child")
    queue.film_done(job.id, 0)
    queue.log_event(job.id, "lab", "film 1 printed")
    if job.id % 3 == 0:
        queue.finish(job.id, JobState.DONE)
    elif job.id % 3 == 1:
        queue.defer(job.id, "C602: queue full", 0.0)
    else:
        queue.finish(job.id, JobState.FAILED, "0120: missing attribute")
        queue.retry(job.id)
"""


def test_the_queue_survives_kill_9_at_random_points(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    rng = random.Random(20240601)
    reported: dict[int, int] = {}  # job id -> seed, printed by the child after commit
    for kill in range(5):
        child = subprocess.Popen(
            [sys.executable, "-c", SUBMITTING_CHILD, str(spool), str(kill * 100000)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CHILD_ENV, cwd=REPO)
        try:
            for _ in range(rng.randint(1, 6)):
                line = child.stdout.readline()
                assert line, f"child ended early: {child.stderr.read()}"
                _, job_id, seed = line.split()
                reported[int(job_id)] = int(seed)
            time.sleep(rng.uniform(0.0, 0.03))
            child.send_signal(signal.SIGKILL)
            remainder, _ = child.communicate(timeout=CHILD_TIMEOUT_S)
        finally:
            child.kill()
            child.wait()
        for line in remainder.split("\n")[:-1]:  # whole lines only
            _, job_id, seed = line.split()
            reported[int(job_id)] = int(seed)

        with sqlite3.connect(spool / "queue.sqlite") as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        queue = JobQueue(spool)
        queue.recover(alive=lambda worker: False)
        jobs = {job.id: job for job in queue.jobs()}
        assert set(reported) <= set(jobs), f"kill {kill}: reported jobs missing"
        assert not any(job.state is JobState.PRINTING for job in jobs.values())
        undone = {job_id for job_id, job in jobs.items() if job.state is not JobState.DONE}
        assert {p.name for p in (spool / "jobs").iterdir()} == {str(i) for i in undone}
        for job_id in undone:  # reported or committed just before the kill
            seed = seed_of(queue, job_id)
            assert reported.get(job_id, seed) == seed
            for index, film in enumerate(seeded_films(seed)):
                assert_same_images(queue.load_film(job_id, index), film)
    assert len(reported) >= 5

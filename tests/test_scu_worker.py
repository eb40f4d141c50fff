"""The print worker against the project's print-scp on 127.0.0.1: pauses, retries, crashes.

Jobs are queued directly (JobQueue.submit with hand-made P-Values), except in
the crash test, which drives the `print-scu` console script. Each film of a
job gets an image with a row count of its own (rows = FIRST_ROWS + film
index), so every film the printer rendered maps back to its film index
through its JSON, whatever order or how often it arrived.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from dcmtk_peer import write_grayscale_image
from scp_harness import running_printer
from test_scp_feat_support import printed_films, wait_until
from test_scu_cli import write_printers

from print_scu import cli
from print_scu.config import PrinterConfig, adhoc_printer
from print_scu.options import PrintOptions
from print_scu.prepared_image import PreparedImage
from print_scu.queue import JobQueue, JobRecord, JobState
from print_scu.worker import Worker, backoff_s, worker_alive

DPI = 50
FIRST_ROWS = 4
WAIT_S = 30.0  # bound of every wait for the worker or the printer
FAST = dict(retry_backoff_s=0.2, retry_backoff_cap_s=0.4, acse_timeout_s=10.0,
            dimse_timeout_s=20.0, network_timeout_s=10.0)  # s


def films(count: int) -> list[list[PreparedImage]]:
    """``count`` one-image films; film i's image has FIRST_ROWS + i rows."""
    return [[PreparedImage(np.full((FIRST_ROWS + i, 8), 10 * i % 256, dtype=np.uint8),
                           "MONOCHROME2", 8, f"film{i}")] for i in range(count)]


def film_indices(output_dir: Path, count: int) -> Counter[int]:
    """How often the printer rendered each film index, once ``count`` films are there."""
    return Counter(film["image_boxes"][0]["image"]["rows"] - FIRST_ROWS
                   for film in printed_films(output_dir, count))


def printer_for(server, **changes) -> PrinterConfig:  # noqa: ANN001 - a running print-scp
    return adhoc_printer("127.0.0.1", server.port, server.profile.ae_title,
                         **{**FAST, **changes})


def wait_for_state(queue: JobQueue, job_id: int, state: JobState) -> JobRecord:
    assert wait_until(lambda: queue.get(job_id).state is state, WAIT_S), queue.get(job_id)
    return queue.get(job_id)


def event_texts(queue: JobQueue, job_id: int | None) -> list[str]:
    return [text for _when, text in queue.events(job_id)]


@contextmanager
def running_worker(queue: JobQueue, **kwargs) -> Iterator[Worker]:
    """Worker.run on a thread of its own; stopped (and joined) afterwards."""
    worker = Worker(queue, **kwargs)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        stop.set()
        thread.join(WAIT_S)
        assert not thread.is_alive()


# -- printer state ---------------------------------------------------------------------


def test_film_jam_mid_job_pauses_the_printer_until_it_is_normal_again(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "spool")
    jammed = threading.Event()
    with running_printer(tmp_path / "out", standard_dpi=DPI) as server:

        def jam_after_second_film(job: JobRecord, index: int) -> None:
            if index == 1:
                server.printer.set_status("FAILURE", "FILM JAM")
                jammed.set()
                time.sleep(0.5)  # let the Printer N-EVENT-REPORT arrive before the next film

        # Without Print Job a film counts as printed at its N-ACTION, so the jam comes
        # right after the second film is sent (with it, the worker sends ahead).
        job_id = queue.submit(printer_for(server, print_job=False), PrintOptions(), films(6))
        with running_worker(queue, progress=jam_after_second_film):
            assert jammed.wait(WAIT_S)
            assert wait_until(lambda: "printer FAILURE (FILM JAM)" in event_texts(queue, job_id))
            time.sleep(1.0)  # a worker that ignored the jam would print the rest meanwhile
            paused = queue.get(job_id)
            server.printer.set_status("NORMAL")
            done = wait_for_state(queue, job_id, JobState.DONE)
        rendered = film_indices(tmp_path / "out", 6)

    # The film in flight when the event arrived may finish; nothing after it.
    assert paused.state is JobState.PRINTING and paused.films_done in (2, 3)
    assert (done.films_done, done.attempts) == (6, 0)
    assert rendered == Counter(range(6))
    texts = event_texts(queue, job_id)
    normal = next(i for i, text in enumerate(texts) if text.startswith("printer NORMAL"))
    assert texts.index("printer FAILURE (FILM JAM)") < normal


def test_printer_failure_before_a_job_defers_it(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "spool")
    with running_printer(tmp_path / "out", standard_dpi=DPI) as server:
        job_id = queue.submit(printer_for(server), PrintOptions(), films(2))
        server.printer.set_status("FAILURE", "COVER OPEN")
        Worker(queue).run_until_idle(WAIT_S)
        deferred = queue.get(job_id)
        server.printer.set_status("NORMAL")
        assert wait_until(lambda: time.time() >= deferred.next_attempt_at)
        Worker(queue).run_until_idle(WAIT_S)
        rendered = film_indices(tmp_path / "out", 2)

    assert (deferred.state, deferred.films_done, deferred.attempts) == (JobState.QUEUED, 0, 1)
    assert "FAILURE (COVER OPEN)" in deferred.last_error
    assert queue.get(job_id).state is JobState.DONE
    assert rendered == Counter(range(2))


def test_a_job_whose_films_are_damaged_fails_with_the_reason_and_no_traceback(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    queue = JobQueue(tmp_path / "spool")
    with running_printer(tmp_path / "out", standard_dpi=DPI) as server:
        job_id = queue.submit(printer_for(server), PrintOptions(), films(2))
        (tmp_path / "spool" / "jobs" / str(job_id) / "films.json").write_text("{damaged")
        with caplog.at_level(logging.INFO):
            Worker(queue).run_until_idle(WAIT_S)
    job = queue.get(job_id)
    assert (job.state, job.films_done) == (JobState.FAILED, 0)
    assert job.last_error.startswith(f"job {job_id}: film 1 is not in the spool (")
    assert "is damaged (JSONDecodeError" in job.last_error
    assert [record for record in caplog.records if record.exc_info] == []


# -- DIMSE statuses ----------------------------------------------------------------------


def test_queue_full_is_retried_with_doubling_backoff_then_fails(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "spool")
    with running_printer(tmp_path / "out", queue_capacity=0) as server:
        printer = printer_for(server, retry_backoff_s=0.05, retry_backoff_cap_s=0.15,
                              max_attempts=4)
        job_id = queue.submit(printer, PrintOptions(), films(1))
        with running_worker(queue):
            failed = wait_for_state(queue, job_id, JobState.FAILED)

    assert failed.attempts == 3  # deferred three times, the fourth attempt gives up
    # The worker prints with Film Box N-ACTION: C602 when the queue is full (PS3.4 Table H.4-9)
    assert "0xC602 Failure" in failed.last_error and "print queue is full" in failed.last_error
    assert "gave up after 4 attempts" in failed.last_error
    delays = [text.split("next in ")[1].split(" s:")[0] for text in event_texts(queue, job_id)
              if text.startswith("attempt ")]
    assert delays == ["0.05", "0.1", "0.15"]  # 0.05 · 2^n, capped at 0.15


@pytest.mark.parametrize(("profile", "options", "state", "words"), [
    ({"strict": True, "film_sizes": ("8INX10IN",)}, {"film_size": "14INX17IN"},
     JobState.FAILED, "0x0106 Failure (Invalid Attribute Value)"),
    ({}, {"max_density": 400}, JobState.DONE, "0xB605 Warning"),
])
def test_invalid_values_fail_at_once_and_warnings_are_recorded(
    tmp_path: Path, profile: dict, options: dict, state: JobState, words: str
) -> None:
    queue = JobQueue(tmp_path / "spool")
    with running_printer(tmp_path / "out", standard_dpi=DPI, **profile) as server:
        job_id = queue.submit(printer_for(server), PrintOptions(**options), films(1))
        Worker(queue).run_until_idle(WAIT_S)
    job = queue.get(job_id)
    assert (job.state, job.attempts) == (state, 0)
    assert any(words in text for text in event_texts(queue, job_id))


# -- associations ----------------------------------------------------------------------


def test_printers_in_parallel_association_kept_open_then_released(tmp_path: Path) -> None:
    queue = JobQueue(tmp_path / "spool")
    with running_printer(tmp_path / "a", standard_dpi=DPI) as a, \
            running_printer(tmp_path / "b", standard_dpi=DPI) as b:
        printer_a = printer_for(a, idle_keep_open_s=2.0, status_poll_interval_s=0.2)
        first = queue.submit(printer_a, PrintOptions(), films(1))
        other = queue.submit(printer_for(b), PrintOptions(), films(2))
        with running_worker(queue):
            wait_for_state(queue, first, JobState.DONE)
            second = queue.submit(printer_a, PrintOptions(), films(1))
            wait_for_state(queue, second, JobState.DONE)
            wait_for_state(queue, other, JobState.DONE)
            a.printer.set_status("FAILURE", "FILM JAM")  # while the association idles
            # (an event arriving while the job is being closed is recorded with the job)
            assert wait_until(lambda: "printer FAILURE (FILM JAM)" in
                              event_texts(queue, None) + event_texts(queue, second))
            a.printer.set_status("NORMAL")
            released = wait_until(lambda: not a.ae.active_associations, WAIT_S)
        films_a = printed_films(tmp_path / "a", 2)
        printed_films(tmp_path / "b", 2)

    assert len({film["association"]["started"] for film in films_a}) == 1  # one association
    assert released


# -- crashes -----------------------------------------------------------------------------


def test_worker_killed_three_times_prints_every_film(tmp_path: Path) -> None:
    """SIGKILL at three points, then SIGTERM mid-job: every film printed, none lost."""
    total = 40  # films: enough that each signal lands mid-job (a film takes a few ms)
    spool = tmp_path / "spool"
    queue = JobQueue(spool)
    with running_printer(tmp_path / "out", standard_dpi=DPI) as server:
        config = write_printers(tmp_path / "printers.toml", {"virtual": {
            "host": "127.0.0.1", "port": server.port, "called_ae": server.profile.ae_title,
            **FAST, "idle_keep_open_s": 0.5}})
        (tmp_path / "in").mkdir()
        files = [write_grayscale_image(tmp_path / "in" / f"{i:02d}.dcm",
                                       np.zeros((FIRST_ROWS + i, 8), dtype=np.uint8))
                 for i in range(total)]
        assert cli.main(["submit", "--config", str(config), "--spool", str(spool),
                         "--printer", "virtual", *map(str, files)]) == 0
        [job] = queue.jobs()
        worker_args = ["worker", "--config", str(config), "--spool", str(spool)]

        def interrupt(films: int | None, sig: int) -> tuple[int, int]:
            """Start a worker; once it has claimed the job (its signal handlers are in
            place by then) and printed ``films`` more films (None: the whole job), send it
            ``sig``; (films done then, exit status)."""
            with _worker_process(worker_args, tmp_path / "worker.log") as process:
                mine = f":{process.pid}:"

                def taken(j: JobRecord) -> bool:
                    return j.state is JobState.DONE or mine in (j.worker or "")

                assert wait_until(lambda: taken(queue.get(job.id)), WAIT_S), queue.get(job.id)
                start = queue.get(job.id).films_done
                assert wait_until(lambda: _printed(queue.get(job.id), start, films),
                                  WAIT_S), queue.get(job.id)
                done = queue.get(job.id).films_done
                process.send_signal(sig)
                return done, process.wait(WAIT_S)

        claimed = interrupt(0, signal.SIGKILL)
        early = interrupt(3, signal.SIGKILL)
        late = interrupt(3, signal.SIGKILL)
        stopped = interrupt(3, signal.SIGTERM)
        after_sigterm = queue.get(job.id)
        last = interrupt(None, signal.SIGTERM)
        assert wait_until(lambda: server.worker.idle(), WAIT_S)
        found = sorted((tmp_path / "out").glob("*.json"))
        rendered = film_indices(tmp_path / "out", len(found))

    assert [status for _, status in (claimed, early, late)] == [-signal.SIGKILL] * 3
    assert early[0] < total and late[0] < total  # the kills landed mid-job
    assert stopped[1] == 0 and last[1] == 0  # SIGTERM: a clean exit
    assert after_sigterm.state is JobState.QUEUED and after_sigterm.films_done < total
    assert queue.get(job.id).state is JobState.DONE
    assert set(rendered) == set(range(total))  # no film lost
    duplicates = {index: n for index, n in rendered.items() if n > 1}
    assert len(duplicates) <= 3 and set(duplicates.values()) <= {2}  # one per kill at most


def _printed(job: JobRecord, start: int, films: int | None) -> bool:
    """True once ``job`` has ``films`` more films done than ``start`` (None: it is done)."""
    if films is None:
        return job.state is JobState.DONE
    return job.films_done >= start + films


@contextmanager
def _worker_process(args: list[str], log: Path) -> Iterator[subprocess.Popen]:
    """`print-scu worker` in a child process, killed by id if still running afterwards."""
    with log.open("a") as out:
        process = subprocess.Popen([sys.executable, "-m", "print_scu.cli", *args],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(WAIT_S)


# -- pure functions ----------------------------------------------------------------------


def test_backoff_doubles_from_retry_backoff_up_to_the_cap() -> None:
    printer = adhoc_printer("127.0.0.1", 104, "ANY", retry_backoff_s=2.0,
                            retry_backoff_cap_s=10.0)
    assert [backoff_s(printer, n) for n in range(5)] == [2.0, 4.0, 8.0, 10.0, 10.0]


def test_worker_liveness_is_read_from_the_process_id() -> None:
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True, timeout=WAIT_S)
    host = socket.gethostname()
    assert worker_alive(f"{host}:{os.getpid()}:1")
    assert not worker_alive(f"{host}:{int(finished.stdout)}:1")
    assert worker_alive(f"elsewhere.example:{int(finished.stdout)}:1")  # cannot tell: alive

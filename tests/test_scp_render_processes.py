"""Render processes: what they import, their priority and signals, their failures and ends.

The tests start real render processes as print-scp does
(``print_scp.output.render_pool.RenderPool``) and give them real spooled films, or
run a real printer and print to it.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from harness import process_cpu_s, wait_until_quiet  # noqa: E402 - benchmarks/ on sys.path
from scp_harness import running_printer
from test_scp_access import address_of
from test_scp_cli import Serve
from test_scp_disk_full import noise, print_image
from test_scp_feat_support import SUCCESS, TIMEOUT_S, new_session, printed_films

from film.model import AnnotationContent, FilmSpec, ImageBoxContent, ImagePixels
from lut.presentation import PresentationLUT, PresentationLUTShape
from print_scp.output import render_pool
from print_scp.output.render_pool import RenderPool, RenderProcessDied
from print_scp.output.render_process import NICE_INCREMENT, _sendable
from print_scp.output.spool import Spool, SpooledFilm, SpooledJob
from print_scu.association import PrintAssociation

WAIT_S = 60.0  # for a render process to start, render a small film, or end
RENDERING_CPU_S = 0.03  # CPU a render process has used once it is surely rendering
PRINT_JOB_FAILURE = 4  # Print Job N-EVENT-REPORT Event Type ID (PS3.4 H.4.7)

#: Packages of the network side that rendering must not load.
NOT_FOR_RENDERING = ("pydicom", "pynetdicom", "highdicom", "rich", "print_scu",
                     "print_scp.server", "print_scp.service", "lut.windowing")


def _spool_film(spool: Spool, job_uid: str = "1.2.826.0.1.3680043.8.498.1",
                dpi: int = 50) -> str:
    """Spool a one-film job (an image, a LIN OD Presentation LUT, an annotation); its UID."""
    ramp = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (64, 1))
    spec = FilmSpec(film_size_id="8INX10IN", orientation="PORTRAIT",
                    image_display_format="STANDARD\\1,1",
                    image_boxes=[ImageBoxContent(1, ImagePixels(ramp, "MONOCHROME2", 8))],
                    annotations=[AnnotationContent(1, "render process")],
                    presentation_lut=PresentationLUT(PresentationLUTShape.LIN_OD),
                    resolution_dpi=dpi)
    spool.save(SpooledJob(job_uid, "MED", "TEST", datetime.now().isoformat(),
                          [SpooledFilm(f"film-{job_uid.rsplit('.', 1)[1]}", spec, {})]))
    return job_uid


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def _ended(pid: int) -> bool:
    """True once ``pid`` has exited (gone, or a zombie waiting to be reaped)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, f"not within {WAIT_S:.0f} s: {what}"
        time.sleep(0.02)


def _one_pid(pool: RenderPool) -> int:
    _wait_until(lambda: len(pool.pids()) == 1, "a render process running")
    return pool.pids()[0]


@pytest.fixture
def spool(tmp_path: Path):
    spool = Spool(tmp_path / "spool")
    yield spool
    spool.close()


@pytest.fixture
def pool():
    pool = RenderPool(1)
    yield pool
    pool.shutdown()


def _render(pool: RenderPool, spool: Spool, job_uid: str, output: Path):
    output.mkdir(exist_ok=True)
    return pool.submit("render_film", str(spool.root), job_uid, 0, str(output))


# -- what a render process is ----------------------------------------------------------

def test_a_render_process_renders_without_the_network_packages(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    # Python lists every module it imports, as it imports it, on standard error, which
    # the render processes of a printer in this process share with it. The film comes
    # over a real association, so the render process gets what a printer really sends it.
    monkeypatch.setenv("PYTHONPROFILEIMPORTTIME", "1")
    output = tmp_path / "films"
    with running_printer(output) as server, PrintAssociation(address_of(server)) as scu:
        status, _ = print_image(scu, new_session(scu), noise(64, seed=1))
        assert status == SUCCESS, str(scu.last_result)
        [film] = printed_films(output, 1)
    assert (output / f"{film['name']}.png").is_file()
    modules = {line.rsplit("|", 1)[1].strip() for line in capfd.readouterr().err.splitlines()
               if line.startswith("import time:") and "|" in line}
    assert {"film.render", "film.writers", "film.pdf", "reportlab"} <= modules
    loaded = sorted(module for module in modules
                    if any(module == name or module.startswith(f"{name}.")
                           for name in NOT_FOR_RENDERING))
    assert loaded == []


def test_the_printer_leaves_the_libraries_of_rendering_to_its_render_processes() -> None:
    # What print-scp serve imports before it starts: the server, its CLI, forwarding.
    probe = ("import sys, print_scp.cli, print_scp.server, print_scp.forward.forwarder; "
             "print(' '.join(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=WAIT_S, check=True)
    modules = set(done.stdout.split())
    assert {"print_scp.server", "print_scp.output.render_pool", "pynetdicom"} <= modules
    rendering = ("reportlab", "film.render", "film.writers", "film.pdf", "film.png",
                 "film.annotation_text", "print_scp.output.render_process",
                 "print_scp.output.job_document")
    assert sorted(module for module in modules
                  if any(module == name or module.startswith(f"{name}.")
                         for name in rendering)) == []


def test_a_render_process_runs_at_a_lower_cpu_priority_than_the_server(
        tmp_path: Path, spool: Spool, pool: RenderPool) -> None:
    _render(pool, spool, _spool_film(spool), tmp_path / "out").result(WAIT_S)  # started
    assert _nice(_one_pid(pool)) == min(19, os.nice(0) + NICE_INCREMENT)


def test_sigint_and_sigterm_leave_a_render_process_rendering(
        tmp_path: Path, spool: Spool, pool: RenderPool) -> None:
    # A Ctrl-C or a service manager's stop reaches the whole process group: the server
    # decides when its render processes end.
    pid = _one_pid(pool)
    _render(pool, spool, _spool_film(spool), tmp_path / "out").result(WAIT_S)  # started
    os.kill(pid, signal.SIGINT)
    os.kill(pid, signal.SIGTERM)
    job_uid = _spool_film(spool, "1.2.826.0.1.3680043.8.498.2")
    assert _render(pool, spool, job_uid, tmp_path / "out").result(WAIT_S)[0] == "film-2"
    assert pool.pids() == [pid]


# -- failures ---------------------------------------------------------------------------

def test_an_error_in_a_render_process_reaches_the_server_as_raised_with_its_traceback(
        tmp_path: Path, spool: Spool, pool: RenderPool) -> None:
    missing = _render(pool, spool, "1.2.826.0.1.3680043.8.498.404", tmp_path / "out")
    error = missing.exception(WAIT_S)
    assert isinstance(error, FileNotFoundError)
    assert "1.2.826.0.1.3680043.8.498.404" in str(error)
    [note] = error.__notes__
    assert note.startswith("Traceback (most recent call last):")
    assert "render_spooled_film" in note
    # the process goes on with the next film
    pid = pool.pids()
    assert _render(pool, spool, _spool_film(spool), tmp_path / "out").result(WAIT_S)[0] == "film-1"
    assert pool.pids() == pid


class _TwoArguments(Exception):
    """An exception that pickles but cannot be unpickled (its __init__ needs two arguments)."""

    def __init__(self, first: str, second: str) -> None:
        super().__init__(f"{first} and {second}")


def test_an_exception_that_cannot_travel_is_sent_as_a_runtime_error_that_names_it() -> None:
    try:
        raise _TwoArguments("this", "that")
    except _TwoArguments as raised:
        sent = _sendable(raised)
    assert type(sent) is RuntimeError
    assert str(sent) == "_TwoArguments: this and that"
    assert sent.__notes__[0].startswith("Traceback")
    assert isinstance(pickle.loads(pickle.dumps(sent)), RuntimeError)


def test_a_render_process_killed_mid_film_fails_that_film_and_is_replaced(
        tmp_path: Path, spool: Spool, pool: RenderPool) -> None:
    pid = _one_pid(pool)
    idle = wait_until_quiet(pid, WAIT_S)
    slow = _render(pool, spool, _spool_film(spool, "1.2.826.0.1.3680043.8.498.7", dpi=600),
                   tmp_path / "out")
    _wait_until(lambda: process_cpu_s(pid) >= idle + RENDERING_CPU_S,
                    "the render process rendering")
    os.kill(pid, signal.SIGKILL)
    error = slow.exception(WAIT_S)
    assert isinstance(error, RenderProcessDied)
    assert str(error) == f"render process {pid} ended (SIGKILL) during render_film"
    assert not (tmp_path / "out" / "film-7.json").exists()
    job_uid = _spool_film(spool, "1.2.826.0.1.3680043.8.498.8")
    assert _render(pool, spool, job_uid, tmp_path / "out").result(WAIT_S)[0] == "film-8"
    [new_pid] = pool.pids()
    assert new_pid != pid


def test_a_render_process_that_died_idle_is_replaced_before_its_next_film(
        tmp_path: Path, spool: Spool, pool: RenderPool) -> None:
    pid = _one_pid(pool)
    os.kill(pid, signal.SIGKILL)
    _wait_until(lambda: _ended(pid), f"render process {pid} ending")
    assert _render(pool, spool, _spool_film(spool), tmp_path / "out").result(WAIT_S)[0] == "film-1"
    assert pool.pids() not in ([], [pid])


def test_a_render_process_that_cannot_be_started_fails_the_film_with_why(
        tmp_path: Path, spool: Spool, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "no-such-python"
    monkeypatch.setattr(render_pool, "render_command", lambda: [str(missing)])
    pool = RenderPool(1)
    try:
        error = _render(pool, spool, _spool_film(spool), tmp_path / "out").exception(WAIT_S)
    finally:
        pool.shutdown()
    assert isinstance(error, RenderProcessDied)
    assert str(error).startswith("no render process could be started: [Errno 2]")
    assert str(missing) in str(error)


def test_a_print_job_whose_render_process_is_killed_fails_and_the_printer_prints_on(
        tmp_path: Path) -> None:
    output = tmp_path / "films"
    # Standard resolution 600 dpi: a film renders for seconds, long enough to be killed.
    with running_printer(output, standard_dpi=600) as server, \
            PrintAssociation(address_of(server)) as scu:
        session = new_session(scu)
        [pid] = server.worker.render_process_ids()
        idle = wait_until_quiet(pid, WAIT_S)
        status, job_uid = print_image(scu, session, noise(256, seed=1))
        assert status == SUCCESS, str(scu.last_result)
        _wait_until(lambda: process_cpu_s(pid) >= idle + RENDERING_CPU_S,
                    "the render process rendering")
        os.kill(pid, signal.SIGKILL)
        event = scu.events.wait_for(lambda e: e.sop_instance_uid == job_uid
                                    and e.event_type_id == PRINT_JOB_FAILURE, TIMEOUT_S)
        assert event is not None, "no Print Job FAILURE event"
        assert (output / ".spool" / "failed" / job_uid / "job.json").is_file()
        status, _ = print_image(scu, session, noise(64, seed=2))
        assert status == SUCCESS, str(scu.last_result)
        [film] = printed_films(output, 1)
        assert film["print_job"]["uid"] != job_uid


# -- ends -------------------------------------------------------------------------------

def test_shutdown_cancels_films_not_started_and_ends_the_processes(
        tmp_path: Path, spool: Spool) -> None:
    pool = RenderPool(1)
    pid = _one_pid(pool)
    futures = [_render(pool, spool, _spool_film(spool, f"1.2.826.0.1.3680043.8.498.{n}"),
                       tmp_path / "out") for n in range(1, 6)]
    pool.shutdown()
    assert all(future.done() for future in futures)
    rendered = [future.result()[0] for future in futures if not future.cancelled()]
    assert len(rendered) < len(futures)  # some were cancelled, never started
    assert rendered == [f"film-{n}" for n in range(1, len(rendered) + 1)]
    assert _ended(pid)
    assert pool.pids() == []
    with pytest.raises(RuntimeError, match="stopped"):
        _render(pool, spool, "1.2.826.0.1.3680043.8.498.1", tmp_path / "out")


def test_render_processes_end_with_a_killed_server(tmp_path: Path) -> None:
    serve = Serve(tmp_path / "films")
    children: list[int] = []
    try:
        tasks = Path(f"/proc/{serve.process.pid}/task")
        _wait_until(lambda: any((task / "children").read_text().split()
                                for task in tasks.iterdir()), "a render process started")
        children = [int(pid) for task in tasks.iterdir()
                    for pid in (task / "children").read_text().split()]
        serve.stop(signal.SIGKILL)
        for child in children:
            _wait_until(lambda child=child: _ended(child), f"render process {child} ending")
    finally:
        serve.stop()
        for child in children:  # left running only if the test failed
            if not _ended(child):
                os.kill(child, signal.SIGKILL)

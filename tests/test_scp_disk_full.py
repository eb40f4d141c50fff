"""A full disk while a film is written: the film fails cleanly, the printer goes on.

What must hold when the output cannot be written for lack of room:

* the Print Job ends FAILURE with Execution Status Info RECEIVER FULL (PS3.3
  C.13.9.1 defined term, which C.13.8 lists for Execution Status Info: the
  virtual printer's receiver is its output directory), reported by
  N-EVENT-REPORT and by N-GET;
* no film file exists under a final name and no temporary is left behind;
* the spooled job is moved to ``.spool/failed/<job UID>`` for a human;
* a job that cannot even be spooled is refused at N-ACTION with C602
  ("print queue is full", PS3.4 Table H.4-9), leaving nothing in the spool;
* once there is room again, the printer prints.

Two ways to run out of room, both real write errors in the render process:

* ``RLIMIT_FSIZE`` on a ``print-scp serve`` child process (and, through
  inheritance, its render processes): ``write`` fails with EFBIG for a file
  that would grow past the limit. Works unprivileged (Linux);
* a real 4 MiB tmpfs filled by a ballast file (ENOSPC), when the test may
  mount one (root); skipped otherwise.
"""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from scp_harness import running_printer
from test_scp_access import address_of
from test_scp_cli import Serve
from test_scp_feat_support import (
    SUCCESS,
    TIMEOUT_S,
    centre_density,
    density_map,
    expected_od,
    new_film_box,
    new_session,
    print_job_uid,
    printed_films,
    rects,
    uniform,
)

from print_scp.output.spool import IMAGES_DIR
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation
from print_scu.image_box_requests import grayscale_image_box

PRINT_JOB_FAILURE = 4  # Print Job N-EVENT-REPORT Event Type ID (PS3.4 H.4.7)
FILM_BOX_QUEUE_FULL = 0xC602
NOISE_SIDE = 256  # px: a noise image whose film files take ~0.75 MB, spooled in 64 KiB
FILE_SIZE_LIMIT = 128 * 1024  # bytes: the spool fits, the film's PNGs do not


def noise(side: int, seed: int) -> np.ndarray:
    """Incompressible 8-bit pixels: the film's PNGs cannot be small."""
    return np.random.default_rng(seed).integers(0, 256, (side, side), dtype=np.uint8)


def print_image(scu: PrintAssociation, session: str,
                pixels: np.ndarray) -> tuple[int, str | None]:
    """One 8INX10IN STANDARD\\1,1 film of ``pixels``: (N-ACTION status, Print Job UID)."""
    refs = new_film_box(scu, session, "STANDARD\\1,1")
    assert scu.set_image_box(refs.image_box_uids[0],
                             grayscale_image_box(1, pixels, 8)) == SUCCESS
    status, reply = scu.print_film_box(refs.film_box_uid)
    return status, print_job_uid(reply) if status == SUCCESS else None


def assert_failed_cleanly(scu: PrintAssociation, output: Path, job_uid: str) -> None:
    """FAILURE / RECEIVER FULL reported; nothing written but the quarantined job."""
    event = scu.events.wait_for(lambda e: e.sop_instance_uid == job_uid
                                and e.event_type_id == PRINT_JOB_FAILURE, TIMEOUT_S)
    assert event is not None, "no Print Job FAILURE event"
    assert event.event_information.ExecutionStatusInfo == "RECEIVER FULL"
    status, job = scu.get_print_job(job_uid)
    assert status == SUCCESS, str(scu.last_result)
    assert (job.ExecutionStatus, job.ExecutionStatusInfo) == ("FAILURE", "RECEIVER FULL")
    films = [p.name for p in output.iterdir() if not p.name.startswith(".")]
    assert films == [], f"film files left behind: {films}"
    temporaries = [str(p) for p in output.rglob("*.tmp")]
    assert temporaries == [], f"temporaries left behind: {temporaries}"
    assert (output / ".spool" / "failed" / job_uid / "job.json").is_file()
    assert not (output / ".spool" / job_uid).exists()


def assert_prints(scu: PrintAssociation, session: str, output: Path, value: int) -> None:
    """A uniform film of P-Value ``value`` prints, with the PS3.14 density of ``value``."""
    status, _job = print_image(scu, session, uniform(value, 64, 64))
    assert status == SUCCESS, str(scu.last_result)
    [film] = printed_films(output, 1)
    density, _dpi = density_map(output, film)
    assert centre_density(density, rects(film)[1]) == pytest.approx(float(expected_od(value)),
                                                                      abs=0.002)


# -- file size limit (any user) -----------------------------------------------------------

def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (Linux /proc)."""
    tree, index = [pid], 0
    while index < len(tree):
        for children in Path(f"/proc/{tree[index]}/task").glob("*/children"):
            tree.extend(int(child) for child in children.read_text().split())
        index += 1
    return tree


def limit_file_size(pid: int) -> None:
    """RLIMIT_FSIZE of FILE_SIZE_LIMIT bytes on ``pid`` and every process below it."""
    for member in process_tree(pid):
        try:
            resource.prlimit(member, resource.RLIMIT_FSIZE,
                             (FILE_SIZE_LIMIT, resource.RLIM_INFINITY))
        except ProcessLookupError:
            pass  # ended meanwhile


@pytest.mark.skipif(not hasattr(resource, "prlimit"), reason="needs Linux prlimit")
def test_film_larger_than_the_file_size_limit_fails_cleanly(tmp_path: Path) -> None:
    output = tmp_path / "films"
    serve = Serve(output)
    try:
        # On the printer and its render processes (and the fork server that starts
        # them), before the first film; once more after the association is up, for a
        # render process that was being started meanwhile.
        limit_file_size(serve.process.pid)
        address = PrinterAddress("127.0.0.1", serve.port, "CLITEST", acse_timeout_s=10,
                                 dimse_timeout_s=TIMEOUT_S, network_timeout_s=TIMEOUT_S)
        with PrintAssociation(address) as scu:
            limit_file_size(serve.process.pid)
            session = new_session(scu)
            status, job_uid = print_image(scu, session, noise(NOISE_SIDE, seed=1))
            assert status == SUCCESS, str(scu.last_result)
            assert_failed_cleanly(scu, output, job_uid)

            # 512 x 512 pixels do not fit the spool's file size limit: refused at once.
            status, _ = print_image(scu, session, noise(2 * NOISE_SIDE, seed=2))
            assert status == FILM_BOX_QUEUE_FULL
            assert "no room to spool" in scu.last_result.error_comment
            spool = output / ".spool"
            assert [p.name for p in spool.iterdir() if p.name != IMAGES_DIR] == ["failed"]
            # written ahead: the first film's image only (the second's did not fit either)
            assert len(list((spool / IMAGES_DIR).iterdir())) == 1

            for pid in process_tree(serve.process.pid):  # room again, for every process
                resource.prlimit(pid, resource.RLIMIT_FSIZE,
                                 (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            assert_prints(scu, session, output, value=40)
    finally:
        assert serve.stop() == 0


# -- a real full file system (root) -------------------------------------------------------

@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs mounted on a fresh directory; skips if mounting is not allowed."""
    point = tmp_path / "disk"
    point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(point)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield point
    finally:
        # Lazy: the stopped printer's process may still map a spooled file for a moment.
        subprocess.run(["umount", "--lazy", str(point)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """A ballast file taking all but ``leave`` bytes of ``disk``."""
    stats = os.statvfs(disk)
    ballast = disk / "ballast"
    ballast.write_bytes(bytes(stats.f_bavail * stats.f_frsize - leave))
    return ballast


def test_full_file_system_fails_the_film_cleanly_and_printing_resumes(small_disk: Path) -> None:
    output = small_disk / "films"
    with running_printer(output) as server, PrintAssociation(address_of(server)) as scu:
        session = new_session(scu)
        ballast = fill(small_disk, leave=160 * 1024)  # the spool fits, the film does not
        status, job_uid = print_image(scu, session, noise(NOISE_SIDE, seed=3))
        assert status == SUCCESS, str(scu.last_result)
        assert_failed_cleanly(scu, output, job_uid)
        ballast.unlink()
        assert_prints(scu, session, output, value=200)

"""`print-scu submit` over every file that ships with pydicom (pydicom/data/test_files).

Each file ends with a defined exit status (0 queued, 2 input error), never a
traceback; an input error is one line naming the file. Whether pydicom can
decode a file is decided here on its own (``dcmread(force=True)`` and
``pixel_array``); every such file must be queued, with one film per frame,
read with ``--force`` when it has no 'DICM' prefix. The table of what each
file gave is printed (pytest -s shows it). Files run in-process
(``cli.main``) for speed; a few also through the installed `print-scu`. The
whole directory is then printed on print-scp as one job: every decodable
frame reaches an image box.
"""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pydicom
import pytest
from dcmtk_peer import free_port
from scp_harness import running_printer
from test_scp_feat_support import printed_films

from print_scu import cli
from print_scu.queue import JobQueue

TEST_FILES = Path(pydicom.__file__).parent / "data" / "test_files"
DEFINED_STATUSES = {cli.EXIT_OK, cli.EXIT_USAGE}
CLI_TIMEOUT_S = 60  # bound of every print-scu subprocess
BOXES = 4  # columns and rows of the films printing the whole corpus


def corpus() -> list[Path]:
    return sorted(path for path in TEST_FILES.rglob("*") if path.is_file())


def has_file_meta(path: Path) -> bool:
    with path.open("rb") as stream:
        return stream.read(132)[128:] == b"DICM"


def frames_pydicom_decodes(path: Path) -> int | None:
    """Number of frames if pydicom reads and decodes the file's pixel data, else None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ds = pydicom.dcmread(path, force=True)
            ds.pixel_array  # noqa: B018 - decoding is the question
            return int(ds.get("NumberOfFrames") or 1)
        except Exception:  # noqa: BLE001 - any failure means "pydicom cannot decode it"
            return None


def nowhere() -> list[str]:
    """A printer that is never contacted: submit only queues."""
    return ["--host", "127.0.0.1", "--port", str(free_port()), "--called-ae", "NOBODY"]


@pytest.mark.timeout(300)
def test_every_pydicom_test_file_prints_or_is_one_line_error(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    rows = [("FILE", "DECODES", "STATUS", "MESSAGE")]
    failures = []
    for path in corpus():
        name = str(path.relative_to(TEST_FILES))
        frames = frames_pydicom_decodes(path)
        force = [] if has_file_meta(path) else ["--force"]
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            status = cli.main(["submit", "--spool", str(spool), *nowhere(), *force, str(path)])
        lines = err.getvalue().splitlines()
        rows.append((name + (" (--force)" if force else ""),
                     "-" if frames is None else f"{frames} frame(s)", str(status),
                     lines[-1].replace(str(TEST_FILES) + "/", "") if lines else ""))
        if "Traceback" in err.getvalue() or status not in DEFINED_STATUSES:
            failures.append(f"{name}: status {status}: {err.getvalue()}")
        elif status == cli.EXIT_USAGE and (
                len(lines) != 1 or not lines[0].startswith(f"print-scu: error: {path}: ")):
            failures.append(f"{name}: not one line naming the file: {lines}")
        elif frames is not None:
            job = JobQueue(spool).get(int(out.getvalue())) if status == cli.EXIT_OK else None
            if job is None or job.films_total != frames:
                failures.append(f"{name}: pydicom decodes {frames} frame(s), print-scu gave "
                                f"status {status}: {err.getvalue()}")
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    print()
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)), row[3][:100])
    assert not failures, "\n".join(failures)
    assert sum(row[1] != "-" for row in rows[1:]) > 80  # the corpus holds images, not only errors


@pytest.mark.timeout(300)
@pytest.mark.parametrize(("name", "extra", "status", "words"), [
    ("badVR.dcm", [], 2, "Number of Frames (0028,0008) '1A' is not an integer"),
    ("no_meta.dcm", [], 2, "not a DICOM file"),
    ("no_meta.dcm", ["--force"], 2, "has no pixel data"),
    ("JPEG-lossy.dcm", [], 2, "cannot decode or convert frame 1 of 1"),
    ("MR_small.dcm", ["--window", "auto-job", "--overlays"], 0, "queued"),
])
def test_the_installed_command_never_shows_a_traceback(
        tmp_path: Path, name: str, extra: list[str], status: int, words: str) -> None:
    script = Path(sys.executable).with_name("print-scu")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "print_scu.cli"]
    result = subprocess.run([*command, "submit", "--spool", str(tmp_path / "spool"),
                             *nowhere(), *extra, str(TEST_FILES / name)],
                            capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False)
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("\n") == 1 and words in result.stderr


@pytest.mark.timeout(300)
def test_the_whole_corpus_prints_on_print_scp_with_skip_invalid(tmp_path: Path) -> None:
    """Every frame pydicom decodes is printed on print-scp, in one job; each other file is
    one 'skipped' line."""
    printable = {path: frames for path in corpus()
                 if (frames := frames_pydicom_decodes(path)) is not None}
    frames = sum(printable.values())
    out, err = io.StringIO(), io.StringIO()
    with running_printer(tmp_path / "out", standard_dpi=25) as server:
        with redirect_stdout(out), redirect_stderr(err):
            status = cli.main(["print", "--spool", str(tmp_path / "spool"), "--host",
                               "127.0.0.1", "--port", str(server.port), "--called-ae",
                               server.profile.ae_title, "--format", f"{BOXES}x{BOXES}",
                               "--film-size", "8INX10IN", "--force", "--skip-invalid",
                               str(TEST_FILES)])
        films = printed_films(tmp_path / "out", -(-frames // BOXES**2))
    assert status == cli.EXIT_OK, err.getvalue()
    skipped = [line for line in err.getvalue().splitlines() if "skipped:" in line]
    skipped_paths = {Path(line.split(": ")[2]) for line in skipped}
    assert skipped_paths.isdisjoint(printable)
    assert len(skipped) + len(printable) == len(corpus())
    printed = sum(box["image"] is not None for film in films for box in film["image_boxes"])
    assert printed == frames

"""`--copies N --copies-as-jobs`: N jobs of Number of Copies 1, as syngo MR sends copies,
for printers that ignore Number of Copies; against print-scp on 127.0.0.1."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from scp_harness import running_printer
from test_scp_feat_support import printed_films
from test_scu_cli import DPI, printer_args, uniform_files

from print_scu import cli
from print_scu.options import OptionError, PrintOptions
from print_scu.queue import JobQueue, JobState


def test_copies_as_jobs_prints_each_copy_as_a_print_job_of_its_own(
        tmp_path: Path, capsys) -> None:
    # two films told apart by their image's rows
    files = uniform_files(tmp_path / "a", [40], rows=6) + uniform_files(tmp_path / "b", [200],
                                                                        rows=9)
    spool = tmp_path / "spool"
    with running_printer(tmp_path / "out", standard_dpi=DPI) as server:
        assert cli.main(["print", "--spool", str(spool), *printer_args(server),
                         "--format", "1x1", "--copies", "3", "--copies-as-jobs",
                         *map(str, files)]) == 0
        films = printed_films(tmp_path / "out", 6)
    report = capsys.readouterr().err

    jobs = JobQueue(spool).jobs()
    assert [(job.state, job.films_total, job.options["copies"]) for job in jobs] == [
        (JobState.DONE, 2, 1)] * 3
    assert all(f"job {job.id}: done, 2/2 film(s) printed" in report for job in jobs)
    # every film arrives three times, each time with Number of Copies 1 in a Print Job
    # of its own
    assert [film["film_session"]["in_force"]["number_of_copies"] for film in films] == [1] * 6
    assert len({film["print_job"]["uid"] for film in films}) == 6
    assert Counter(film["image_boxes"][0]["image"]["rows"] for film in films) == {6: 3, 9: 3}


def test_submit_with_copies_as_jobs_queues_and_prints_one_id_per_copy(
        tmp_path: Path, capsys) -> None:
    files = uniform_files(tmp_path / "in", [90])
    spool = tmp_path / "spool"
    assert cli.main(["submit", "--spool", str(spool), "--host", "127.0.0.1", "--port", "104",
                     "--called-ae", "ANY", "--copies", "2", "--copies-as-jobs",
                     *map(str, files)]) == 0
    captured = capsys.readouterr()
    jobs = JobQueue(spool).jobs()
    assert captured.out.split() == [str(job.id) for job in jobs] and len(jobs) == 2
    assert [job.options["copies"] for job in jobs] == [1, 1]
    assert "one job per copy" in captured.err


def test_without_copies_as_jobs_copies_are_number_of_copies(tmp_path: Path, capsys) -> None:
    files = uniform_files(tmp_path / "in", [90])
    spool = tmp_path / "spool"
    assert cli.main(["submit", "--spool", str(spool), "--host", "127.0.0.1", "--port", "104",
                     "--called-ae", "ANY", "--copies", "2", *map(str, files)]) == 0
    [job] = JobQueue(spool).jobs()
    assert job.options["copies"] == 2 and capsys.readouterr().out.split() == [str(job.id)]


def test_copies_as_jobs_must_be_true_or_false() -> None:
    with pytest.raises(OptionError, match="copies_as_jobs: must be true or false, not 'yes'"):
        PrintOptions(copies_as_jobs="yes")

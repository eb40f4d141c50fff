"""Retention: films older than the profile's [output] retention_days are deleted.

Films are printed over the network by a real printer, then aged by setting
their files' modification times back (os.utime), so nothing waits for a
clock: a film counts as old when its JSON is older than the period.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest
from scp_harness import running_printer
from test_scp_access import address_of, print_one_film
from test_scp_feat_support import TIMEOUT_S, printed_films, wait_until

from print_scp.output.retention import RetentionJanitor
from print_scp.profile import PrinterProfile, ProfileError, profile_from_dict
from print_scp.server import PrintServer

DAY_S = 86400.0
FILM_SUFFIXES = (".json", ".pdf", ".png", ".density.png")


def _print_films(output: Path, count: int) -> list[str]:
    """Print ``count`` films into ``output``; their stems."""
    with running_printer(output) as server:
        for value in range(count):
            print_one_film(address_of(server), value=value)
        films = printed_films(output, count)
    return [film["name"] for film in films]


def _age(output: Path, stem: str, days: float) -> None:
    """Set the modification time of a film's four files ``days`` days back."""
    then = time.time() - days * DAY_S
    for suffix in FILM_SUFFIXES:
        os.utime(output / f"{stem}{suffix}", (then, then))


def _film_files(output: Path, stem: str) -> list[str]:
    return sorted(p.name for p in output.iterdir() if p.name.startswith(stem))


# -- profile ------------------------------------------------------------------------------

def test_retention_days_from_the_profile() -> None:
    assert PrinterProfile().retention_days == 0
    assert profile_from_dict({"output": {"retention_days": 30}}).retention_days == 30
    assert profile_from_dict({"output": {"retention_days": 0.5}}).retention_days == 0.5


@pytest.mark.parametrize("value", [-1, float("nan"), float("inf"), "30", True])
def test_bad_retention_days_are_refused(value: object) -> None:
    with pytest.raises(ProfileError, match="retention_days"):
        profile_from_dict({"output": {"retention_days": value}})


# -- sweeping -----------------------------------------------------------------------------

def test_sweep_deletes_old_films_whole_and_nothing_else(tmp_path: Path) -> None:
    output = tmp_path / "out"
    old, fresh = _print_films(output, 2)
    _age(output, old, days=3)
    _age(output, fresh, days=1)
    # Things in the output directory that are not films, all old:
    strangers = {
        "notes.json": "{}",
        "notes.pdf": "%PDF-1.4",
        "broken.json": "{not json",
        "other.json": json.dumps({"film": {"files": {"pdf": "x.pdf", "png": "x.png",
                                                     "density_png": "x.density.png"}}}),
        "other.pdf": "", "other.png": "", "other.density.png": "",
    }
    for name, text in strangers.items():
        (output / name).write_text(text)
    (output / ".spool" / "job").mkdir()
    (output / ".spool" / "job" / "job.json").write_text("{}")
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    (output / "link.json").symlink_to(outside)
    long_ago = time.time() - 30 * DAY_S
    for path in [*(output / name for name in strangers), output / ".spool" / "job" / "job.json",
                 outside]:
        os.utime(path, (long_ago, long_ago))

    deleted = RetentionJanitor(output, retention_days=2).sweep()

    assert deleted == [old]
    assert _film_files(output, old) == []
    assert _film_files(output, fresh) == sorted(f"{fresh}{s}" for s in FILM_SUFFIXES)
    # each film was its own Print Job: the old job's document went with its film
    assert not (output / f"{old.rsplit('-', 1)[0]}.pdf").exists()
    assert (output / f"{fresh.rsplit('-', 1)[0]}.pdf").exists()
    assert all((output / name).exists() for name in strangers)
    assert (output / ".spool" / "job" / "job.json").exists()
    assert (output / "link.json").is_symlink() and outside.exists()
    assert not list(output.glob(".*.expired"))


def test_an_interrupted_deletion_is_finished_by_the_next_sweep(tmp_path: Path) -> None:
    """A sweep stopped after the JSON (a crash): the film no longer looks complete."""
    output = tmp_path / "out"
    [stem] = _print_films(output, 1)
    (output / f"{stem}.json").rename(output / f".{stem}.json.expired")
    (output / f"{stem}.pdf").unlink()
    assert RetentionJanitor(output, retention_days=365).sweep() == []
    assert _film_files(output, stem) == []
    assert not (output / f".{stem}.json.expired").exists()


def test_zero_retention_keeps_films_forever(tmp_path: Path) -> None:
    output = tmp_path / "out"
    [stem] = _print_films(output, 1)
    _age(output, stem, days=3650)
    janitor = RetentionJanitor(output, retention_days=0)
    janitor.start()
    try:
        assert not any(t.name == "retention" for t in threading.enumerate())
    finally:
        janitor.stop()
    assert len(_film_files(output, stem)) == 4


def test_the_printer_sweeps_at_start_up_and_then_periodically(tmp_path: Path) -> None:
    output = tmp_path / "out"
    [before_start] = _print_films(output, 1)
    _age(output, before_start, days=2)
    profile = PrinterProfile(retention_days=1)
    server = PrintServer(profile, output, retention_interval_s=0.2)
    _, server.port = server.start("127.0.0.1", 0)  # type: ignore[attr-defined]
    try:
        assert wait_until(lambda: not _film_files(output, before_start), TIMEOUT_S)
        print_one_film(address_of(server), value=10)
        print_one_film(address_of(server), value=20)
        printed = printed_films(output, 2)
        aged, kept = printed[0]["name"], printed[1]["name"]
        _age(output, aged, days=1.5)
        assert wait_until(lambda: not _film_files(output, aged), TIMEOUT_S)
        assert len(_film_files(output, kept)) == 4
    finally:
        server.stop()
    assert not any(t.name == "retention" for t in threading.enumerate())

"""The spool's background flush: every saved job is fsynced, and closing the spool (as a
stopping printer does) flushes what is queued and ends its thread."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from scp_harness import running_printer

from film.model import FilmSpec, ImageBoxContent, ImagePixels
from print_scp.output import spool as spool_module
from print_scp.output.spool import Spool, SpooledFilm, SpooledJob


def job(uid: str) -> SpooledJob:
    pixels = np.zeros((4, 4), np.uint8)
    spec = FilmSpec(film_size_id="8INX10IN", orientation="PORTRAIT",
                    image_display_format="STANDARD\\1,1",
                    image_boxes=[ImageBoxContent(1, ImagePixels(pixels, "MONOCHROME2", 8))])
    return SpooledJob(uid, "MED", "TEST", "2026-12-05T10:00:00", [SpooledFilm("f-01", spec, {})])


def flush_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "spool-flush"]


def test_close_flushes_every_saved_job_then_ends_the_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flushed: list[str] = []
    release = threading.Event()

    def slow_fsync(directory: Path) -> None:
        release.wait(10.0)  # the jobs queue up behind the first flush
        flushed.append(directory.name)

    monkeypatch.setattr(spool_module, "_fsync_job", slow_fsync)
    before = flush_threads()
    spool = Spool(tmp_path / "spool")
    for uid in ("1.1", "1.2", "1.3"):
        spool.save(job(uid))
    assert len(flush_threads()) == len(before) + 1
    release.set()
    spool.close()
    assert flushed == ["1.1", "1.2", "1.3"]
    assert flush_threads() == before
    spool.save(job("1.4"))  # a save after close starts a new flush
    spool.close()
    assert flushed[-1] == "1.4" and flush_threads() == before


def test_a_stopped_printer_leaves_no_flush_thread(tmp_path: Path) -> None:
    before = flush_threads()
    with running_printer(tmp_path) as server:
        server.spool.save(job("2.1"))
        assert len(flush_threads()) == len(before) + 1
    assert flush_threads() == before

"""A running print-scp on a free loopback port, for tests that talk DICOM to it."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Iterator

from print_scp.profile import PrinterProfile
from print_scp.server import PrintServer


@contextmanager
def running_printer(output_dir: Path, profile: PrinterProfile | None = None,
                    **changes) -> Iterator[PrintServer]:
    """Start a PrintServer on 127.0.0.1 with a free port; stop it afterwards.

    ``changes`` override profile fields (e.g. ``strict=True``). The bound port
    is ``server.port``.
    """
    profile = replace(profile or PrinterProfile(), **changes)
    server = PrintServer(profile, output_dir)
    _, port = server.start("127.0.0.1", 0)
    server.port = port  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.stop()


def wait_for_films(output_dir: Path, count: int, timeout: float = 30.0) -> list[Path]:
    """The JSON files of ``count`` rendered films, once their jobs are finished.

    A film's JSON is written last of its four files, and a job's document
    (``<job>.pdf``) after all its films: the wait ends when ``count`` JSONs
    and the documents of their jobs are there.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = sorted(Path(output_dir).glob("*.json"))
        jobs_done = all(path.with_name(f"{path.stem.rsplit('-', 1)[0]}.pdf").exists()
                        for path in found)
        if (len(found) >= count and jobs_done) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def film_metadata(json_path: Path) -> dict:
    return json.loads(Path(json_path).read_text())

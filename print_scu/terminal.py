"""What ``print-scu`` shows: tables, notes and film progress, rich on a terminal, plain in a pipe.

On a terminal, tables are drawn by rich and a multi-film ``print`` shows a
progress bar per job. When the output goes to a file or a pipe, the same
information is plain text: tables as columns two spaces apart, progress as
one line per printed film, so that scripts and logs can read it.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TextIO

from rich.box import SIMPLE_HEAD
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

__all__ = ["FilmProgress", "film_progress", "note", "print_table"]

PREFIX = "print-scu: "


def _console(stream: TextIO) -> Console:
    """A rich console on ``stream``; markup and highlighting off (cells are data, not markup)."""
    return Console(file=stream, markup=False, highlight=False, emoji=False, soft_wrap=False)


def note(text: str) -> None:
    """One line on stderr, "print-scu: TEXT"."""
    print(PREFIX + text, file=sys.stderr, flush=True)


def print_table(rows: Sequence[tuple[str, ...]], header: bool = True,
                stream: TextIO | None = None) -> None:
    """``rows`` as a table on ``stream`` (stdout); the first row is the header if ``header``.

    A terminal gets a rich table; a pipe or file gets left-aligned columns two
    spaces apart, trailing spaces removed.
    """
    if not rows:
        return
    stream = stream or sys.stdout
    console = _console(stream)
    if not console.is_terminal:
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            line = "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            print(line.rstrip(), file=stream)
        return
    table = Table(box=SIMPLE_HEAD, show_header=header, header_style="bold", pad_edge=False)
    for name in rows[0] if header else ("",) * len(rows[0]):
        table.add_column(name, overflow="fold")
    for row in rows[1:] if header else rows:
        table.add_row(*row)
    console.print(table)


class FilmProgress:
    """Progress of the films of several jobs: one bar each on a terminal, else one line per film.

    :meth:`film_printed` may be called from any thread (the worker's printer
    threads call it).
    """

    def __init__(self, progress: Progress | None) -> None:
        self._progress = progress
        self._tasks: dict[int, TaskID] = {}
        self._lock = threading.Lock()

    def add_job(self, job_id: int, films: int, printer: str) -> None:
        """Announce job ``job_id`` of ``films`` films for ``printer``."""
        if self._progress is None:
            note(f"job {job_id}: {films} film(s) for {printer}")
            return
        with self._lock:
            self._tasks[job_id] = self._progress.add_task(f"job {job_id} → {printer}",
                                                          total=films)

    def film_printed(self, job_id: int, index: int, films: int) -> None:
        """Film ``index`` (0-based) of ``films`` of job ``job_id`` was printed."""
        if self._progress is None:
            note(f"job {job_id}: film {index + 1}/{films} printed")
            return
        with self._lock:
            task = self._tasks.get(job_id)
        if task is not None:
            self._progress.update(task, completed=index + 1)


@contextmanager
def film_progress() -> Iterator[FilmProgress]:
    """A :class:`FilmProgress` on stderr, its bars removed from the screen when the block ends."""
    console = _console(sys.stderr)
    if not console.is_terminal:
        yield FilmProgress(None)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("films"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        yield FilmProgress(progress)

"""The index of films in an output directory, for the web console (SQLite).

``<output>/.films.sqlite`` holds one row per film: its name and what the
gallery filters and shows. :meth:`FilmIndex.sync` brings it up to date with
the films' JSON files: new or rewritten ones are read (the JSON's
modification time is kept), deleted ones (retention) are dropped. The printer
calls it after each film it writes; a console over an old folder calls it
at start and every few seconds, so a missing or stale index is rebuilt.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from print_scp.output.film_names import job_document_name

__all__ = ["FilmFilter", "FilmIndex", "FilmRow", "INDEX_FILE"]

INDEX_FILE = ".films.sqlite"
THUMBNAILS = ".thumbs"  # the console's gallery thumbnails, one PNG per film

_SCHEMA = """
CREATE TABLE IF NOT EXISTS films (
    name TEXT PRIMARY KEY,           -- the film's file stem
    created TEXT NOT NULL,           -- ISO 8601, local time, of its Print Job
    calling_ae TEXT NOT NULL,
    film_size TEXT NOT NULL,
    display_format TEXT NOT NULL,
    medium TEXT NOT NULL,
    label TEXT NOT NULL,             -- Film Session Label
    annotations TEXT NOT NULL,       -- the annotation texts, one per line
    problems INTEGER NOT NULL,       -- warnings and deviations
    json_mtime REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS films_by_time ON films (created DESC, name DESC);
"""


@dataclass(frozen=True)
class FilmRow:
    """What the gallery shows of one film."""

    name: str
    created: str
    calling_ae: str
    film_size: str
    display_format: str
    medium: str
    label: str
    annotations: str
    problems: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class FilmFilter:
    """The gallery's filters; empty ones do not filter. Dates are YYYY-MM-DD."""

    date_from: str = ""
    date_to: str = ""
    calling_ae: str = ""
    film_size: str = ""
    medium: str = ""
    text: str = ""  # in the label or the annotation texts
    problems_only: bool = False

    def where(self) -> tuple[str, list[Any]]:
        clauses, args = ["1 = 1"], list[Any]()
        if self.date_from:
            clauses.append("created >= ?")
            args.append(self.date_from)
        if self.date_to:
            clauses.append("created < ?")
            args.append(self.date_to + "T99")  # the whole last day
        for column in ("calling_ae", "film_size", "medium"):
            value = getattr(self, column)
            if value:
                clauses.append(f"{column} = ?")
                args.append(value)
        if self.text:
            clauses.append("(instr(lower(label), ?) > 0 OR instr(lower(annotations), ?) > 0)")
            args += [self.text.lower(), self.text.lower()]
        if self.problems_only:
            clauses.append("problems > 0")
        return " AND ".join(clauses), args


class FilmIndex:
    """The films of ``output_dir``; safe to use from several threads."""

    def __init__(self, output_dir: Path):
        self.output_dir = Path(output_dir)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.output_dir / INDEX_FILE, check_same_thread=False,
                                   isolation_level=None, timeout=30.0)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def sync(self) -> int:
        """Read new or changed film JSONs, drop films whose JSON is gone; rows changed."""
        on_disk = {path.stem: path for path in self.output_dir.glob("*.json")}
        with self._lock:
            known = dict(self._db.execute("SELECT name, json_mtime FROM films"))
        changed = 0
        for name in set(known) - set(on_disk):  # deleted (retention): its thumbnail too
            with self._lock:
                self._db.execute("DELETE FROM films WHERE name = ?", (name,))
            (self.output_dir / THUMBNAILS / f"{name}.png").unlink(missing_ok=True)
            changed += 1
        for name, path in on_disk.items():
            try:
                mtime = path.stat().st_mtime
            except OSError:
                continue
            if known.get(name) == mtime:
                continue
            row = _row(path)
            if row is not None:
                with self._lock:
                    self._db.execute("INSERT OR REPLACE INTO films VALUES "
                                     "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*row, mtime))
                changed += 1
        return changed

    def page(self, where: FilmFilter, page: int = 1, per_page: int = 24) -> tuple[list[FilmRow], int]:
        """One page of the films ``where`` selects, newest first, and how many there are."""
        clause, args = where.where()
        with self._lock:
            total = self._db.execute(f"SELECT COUNT(*) FROM films WHERE {clause}",
                                     args).fetchone()[0]
            rows = self._db.execute(
                f"SELECT name, created, calling_ae, film_size, display_format, medium, label, "
                f"annotations, problems FROM films WHERE {clause} "
                "ORDER BY created DESC, name DESC LIMIT ? OFFSET ?",
                [*args, per_page, (max(page, 1) - 1) * per_page]).fetchall()
        return [FilmRow(*row) for row in rows], int(total)

    def values(self, column: str) -> list[str]:
        """The distinct values of a filter column (calling_ae, film_size, medium)."""
        if column not in ("calling_ae", "film_size", "medium"):
            raise ValueError(f"no filter column {column!r}")
        with self._lock:
            return [v for (v,) in self._db.execute(
                f"SELECT DISTINCT {column} FROM films ORDER BY {column}")]

    def job_films(self, name: str) -> list[str]:
        """The films of the Print Job ``name`` belongs to (``<job>-NN``), in order."""
        job = job_document_name([name])
        with self._lock:
            return [n for (n,) in self._db.execute(
                "SELECT name FROM films WHERE name LIKE ? ESCAPE '\\' ORDER BY name",
                (_like_prefix(job) + "-%",))]

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            names = [n for (n,) in self._db.execute("SELECT name FROM films")]
        return iter(names)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _row(path: Path) -> tuple[Any, ...] | None:
    """The index row of a film's JSON; None if it is not a film's JSON."""
    try:
        document = json.loads(path.read_bytes())
        film = document["film"]
        box = document.get("film_box", {}).get("in_force", {})
        session = document.get("film_session", {}).get("in_force", {})
        return (
            path.stem,
            str(document.get("print_job", {}).get("created", "")),
            str(document.get("association", {}).get("calling_ae", "")),
            str(box.get("film_size_id", "")),
            str(box.get("image_display_format", "")),
            str(session.get("medium_type", "")),
            str(session.get("film_session_label") or ""),
            "\n".join(str(a.get("text", "")) for a in document.get("annotation_boxes", [])),
            len(document.get("warnings", [])) + len(document.get("deviations", []))
            + len(film.get("warnings", [])),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None

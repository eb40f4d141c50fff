"""The job document ``<job>.pdf``: every printed sheet of a Print Job, then its report.

A Print Job prints Number of Copies copies of its films. A Film Session
N-ACTION prints collated sets (films 1..n, then 1..n again); a Film Box
N-ACTION prints one film, so its copies follow each other. The job document
has one page per sheet in that order, each the film's own page (its PNG's
compressed rows and its annotation text, read back from the film's files),
and, unless the profile turns it off, the job report: for each film the
calling AE, the times, film size and format, densities, and every warning and
deviation, then every request of the association the printer did not answer
with Success.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from film.annotation_text import PlacedText
from film.pdf import FilmPage, pdf_document
from film.png import read_raster
from film.staged_files import write_atomically
from film.writers import CREATOR
from print_scp.output.film_names import job_document_name

__all__ = ["sheet_order", "write_job_document"]


def sheet_order(film_count: int, copies: int) -> list[int]:
    """0-based film index of every sheet: collated sets of all films, ``copies`` times."""
    return [index for _ in range(max(copies, 1)) for index in range(film_count)]


def write_job_document(output_dir: Path, film_names: Sequence[str], report: bool,
                       forwarding: Mapping[str, Sequence[str]] | None = None) -> Path:
    """Write ``<job>.pdf`` from the films' written files; returns its path.

    ``forwarding`` names the sinks each film is forwarded to, for the report.
    Raises OSError if a film's files cannot be read or the document written,
    ValueError if they are not what the film writer writes.
    """
    films = [_read_json(output_dir / f"{name}.json") for name in film_names]
    pages = [FilmPage(read_raster((output_dir / f["film"]["files"]["png"]).read_bytes()),
                      f["film"]["width_mm"], f["film"]["height_mm"],
                      tuple(PlacedText.from_json(t) for t in f["film"]["annotation_texts"]))
             for f in films]
    copies = max(1, int(films[0].get("print_job", {}).get("copies") or 1))
    sheets = [pages[index] for index in sheet_order(len(pages), copies)]
    stem = job_document_name(film_names)
    info = {"Title": f"Print job {stem}", "Author": CREATOR, "Creator": CREATOR,
            "Producer": CREATOR, "Subject": f"{len(films)} films x {copies} copies",
            "Keywords": "DICOM, print, job",
            "PrintJobUID": str(films[0].get("print_job", {}).get("uid", ""))}
    lines = report_lines(films, copies, forwarding or {}) if report else ()
    data = pdf_document(sheets, info, lines)
    return write_atomically(output_dir, f"{stem}.pdf", data)


def _read_json(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_bytes())
    if not isinstance(document, dict) or "film" not in document:
        raise ValueError(f"{path.name} is not a film's JSON")
    return document


def report_lines(films: Sequence[dict[str, Any]], copies: int,
                 forwarding: Mapping[str, Sequence[str]]) -> list[str]:
    """The job report as lines of text, from the films' JSON documents."""
    first = films[0]
    job = first.get("print_job", {})
    association = first.get("association", {})
    printer = first.get("printer", {})
    lines = [
        f"Job report: print job {job.get('uid', '?')}",
        f"Printer {printer.get('name', '?')} ({printer.get('ae_title', '?')}), "
        f"{'strict' if printer.get('strict') else 'lenient'}",
        f"Calling AE {association.get('calling_ae', '?')} from {association.get('peer', '?')}, "
        f"association started {association.get('started', '?')}",
        f"Job created {job.get('created', '?')}, priority {job.get('priority', '?')}: "
        f"{len(films)} film(s) x {copies} copies = {len(films) * max(copies, 1)} sheets",
        "",
    ]
    failures: dict[tuple[str, str, str], str] = {}
    for number, film in enumerate(films, start=1):
        lines += _film_lines(number, film, forwarding.get(film.get("name", ""), ()))
        for entry in film.get("transcript", []):
            if entry.get("status") != "0x0000":
                key = (entry.get("at", ""), entry.get("operation", ""), entry.get("status", ""))
                failures[key] = entry.get("error_comment") or ""
    lines.append("Requests not answered with Success in this association:")
    lines += [f"  {at} {operation} -> {status} {comment}".rstrip()
              for (at, operation, status), comment in sorted(failures.items())] or ["  none"]
    return lines


def _film_lines(number: int, film: dict[str, Any], sinks: Sequence[str]) -> list[str]:
    box = film.get("film_box", {}).get("in_force", {})
    session = film.get("film_session", {}).get("in_force", {})
    rendered = film.get("rendered", {})
    sheet = film["film"]
    lines = [
        f"Film {number}: {film.get('name', '?')}",
        f"  {box.get('film_size_id', '?')} {box.get('film_orientation', '?')} "
        f"({sheet['width_mm']:g} x {sheet['height_mm']:g} mm), {box.get('image_display_format', '?')}, "
        f"{session.get('medium_type', '?')}, {sheet['dpi']} dpi, "
        f"magnification {box.get('magnification_type', '?')}",
        f"  densities (hundredths of OD): min {box.get('min_density', '?')}, "
        f"max {box.get('max_density', '?')}, border {box.get('border_density', '?')}, "
        f"empty image {box.get('empty_image_density', '?')}",
        f"  rendered {rendered.get('started', '?')} to {rendered.get('finished', '?')}",
    ]
    lines += [f"  warning: {w}" for w in film.get("warnings", []) + sheet.get("warnings", [])]
    lines += [f"  deviation: {d}" for d in film.get("deviations", [])]
    if sinks:
        lines.append(f"  forwarded to: {', '.join(sinks)} (each delivery: print-scp forwards)")
    return lines + [""]

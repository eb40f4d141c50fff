"""The job document <job>.pdf: every printed sheet (films x copies), then the job report.

Checked with poppler (pdfinfo, pdftotext), which read the PDF independently of
the writer: the page count, each page's size in points (film size in inches x
72), and the report's text.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from scp_harness import running_printer
from test_scp_feat_support import (
    SUCCESS,
    connect,
    dataset,
    new_film_box,
    new_session,
    print_film_box,
    uniform,
    wait_until,
)

from dicomnet.terms import PrinterStatus
from print_scp.profile import ScriptedEvent
from print_scu.image_box_requests import grayscale_image_box

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("pdfinfo", "pdftotext")),
    reason="poppler-utils (pdfinfo, pdftotext) is not installed")

DPI = 50
SIZE_PT = {"8INX10IN": (576.0, 720.0), "14INX17IN": (1008.0, 1224.0)}
A4_PT = (595.276, 841.89)
INVALID_ATTRIBUTE_VALUE = 0x0106


def job_documents(output: Path) -> list[Path]:
    """PDFs that are not a film's own (films end in -NN)."""
    return [p for p in output.glob("*.pdf") if not re.search(r"-\d\d$", p.stem)]


def page_sizes(pdf: Path) -> list[tuple[float, float]]:
    text = subprocess.run(["pdfinfo", "-f", "1", "-l", "100", str(pdf)], capture_output=True,
                          text=True, check=True, timeout=30).stdout
    return [(float(w), float(h)) for w, h in
            re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", text, re.MULTILINE)]


def page_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), "-enc", "UTF-8",
                           str(pdf), "-"], capture_output=True, check=True,
                          timeout=30).stdout.decode("utf-8")


def print_session(tmp_path: Path, copies: int, sizes: list[str], **profile) -> Path:
    """One film session of ``copies`` copies, a film box per size, printed as one job."""
    with running_printer(tmp_path, standard_dpi=DPI, **profile) as server:
        with connect(server, calling_ae="CT_ROOM_7") as assoc:
            session = new_session(assoc, NumberOfCopies=copies)
            for size in sizes:
                refs = new_film_box(assoc, session, "STANDARD\\1,1", film_size=size)
                box = grayscale_image_box(1, uniform(100), 8)
                assert assoc.set_image_box(refs.image_box_uids[0], box) == SUCCESS
            # one refused request, which the report must list
            bad = dataset(ImageBoxPosition=1, Polarity="SIDEWAYS")
            assert assoc.set_image_box(refs.image_box_uids[0], bad) == INVALID_ATTRIBUTE_VALUE
            status, _ = assoc.print_film_session(session)
            assert status == SUCCESS, str(assoc.last_result)
        assert wait_until(lambda: job_documents(tmp_path) != [])
    [document] = job_documents(tmp_path)
    return document


def test_three_copies_of_two_films_give_six_sheets_and_the_report(tmp_path):
    document = print_session(tmp_path, 3, ["8INX10IN", "14INX17IN"])
    films = sorted(tmp_path.glob(f"{document.stem}-*.pdf"))
    assert [f.name for f in films] == [f"{document.stem}-01.pdf", f"{document.stem}-02.pdf"]
    sizes = page_sizes(document)
    expected = [SIZE_PT["8INX10IN"], SIZE_PT["14INX17IN"]] * 3 + [A4_PT]  # collated sets
    assert len(sizes) == 7
    for (width, height), (want_w, want_h) in zip(sizes, expected, strict=True):
        assert (width, height) == pytest.approx((want_w, want_h), abs=0.01)
    report = page_text(document, 7)
    assert "Job report" in report and "CT_ROOM_7" in report
    assert "2 film(s) x 3 copies = 6 sheets" in report
    assert "8INX10IN" in report and "14INX17IN" in report
    assert "0x0106" in report and "Polarity" in report  # the refused N-SET


def report_fonts(pdf: Path, page: int) -> list[tuple[str, bool]]:
    """(font name, embedded) of every font on ``page``, read by poppler's pdffonts."""
    text = subprocess.run(["pdffonts", "-f", str(page), "-l", str(page), str(pdf)],
                          capture_output=True, text=True, check=True, timeout=30).stdout
    rows = text.splitlines()[2:]  # after the header and its rule
    return [(row.split()[0], row.split()[-5] == "yes") for row in rows]


@pytest.mark.skipif(not shutil.which("pdffonts"), reason="poppler's pdffonts is not installed")
def test_a_report_in_win_ansi_characters_is_set_in_helvetica_embedding_no_font(tmp_path):
    document = print_session(tmp_path, 1, ["8INX10IN"], printer_name="Röntgen 2 — Süd")
    assert report_fonts(document, 2) == [("Helvetica", False)]
    assert "Printer Röntgen 2 — Süd (FILMBOX)" in page_text(document, 2)


@pytest.mark.skipif(not shutil.which("pdffonts"), reason="poppler's pdffonts is not installed")
def test_a_report_beyond_win_ansi_is_set_in_the_annotation_fonts_embedded(tmp_path):
    document = print_session(tmp_path, 1, ["8INX10IN"], printer_name="放射線科 Ω 2")
    # ReportLab names Helvetica as every page's initial font, whatever the page then uses
    embedded = sorted(name.split("+")[-1] for name, embedded in report_fonts(document, 2)
                      if embedded)
    assert embedded == ["DejaVuSans", "IPAGothic"]  # the Latin and the Japanese face
    assert "Printer 放射線科 Ω 2 (FILMBOX)" in page_text(document, 2)


def test_the_report_page_can_be_turned_off(tmp_path):
    document = print_session(tmp_path, 2, ["8INX10IN"], job_report=False)
    assert page_sizes(document) == [pytest.approx(SIZE_PT["8INX10IN"], abs=0.01)] * 2


def test_scripted_events_count_printed_sheets(tmp_path):
    # A film of 3 copies is 3 sheets: the FILM JAM due after 3 sheets follows one film
    script = (ScriptedEvent(status="FAILURE", info="FILM JAM", after_films=3),)
    with running_printer(tmp_path, standard_dpi=DPI, script=script) as server:
        with connect(server) as assoc:
            refs = new_film_box(assoc, new_session(assoc, NumberOfCopies=3), "STANDARD\\1,1")
            assoc.set_image_box(refs.image_box_uids[0], grayscale_image_box(1, uniform(9), 8))
            print_film_box(assoc, refs)
        assert wait_until(lambda: server.printer.condition.status is PrinterStatus.FAILURE)
        assert server.printer.condition.info == "FILM JAM"

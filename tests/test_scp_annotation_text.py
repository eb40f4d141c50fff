"""Annotation text in the character sets modalities send, printed and searchable.

Each test sends Annotation Box N-SETs over loopback with a Specific Character
Set, pydicom encoding the text the way a modality would (ISO 2022 escape
sequences for Japanese). The printer must decode it, print it in a real font
(strokes in the annotation box, different for different names) and put it in
the PDF as text: poppler's pdftotext, an independent reader, must find it.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from pydicom.dataset import Dataset
from scp_harness import running_printer
from test_scp_feat_support import (
    MAX_DENSITY,
    MIN_DENSITY,
    SUCCESS,
    connect,
    dataset,
    density_map,
    new_film_box,
    new_session,
    print_film_box,
    printed_films,
    rects,
    uniform,
)

from film.annotation_text import font_chain
from print_scu.image_box_requests import grayscale_image_box

DPI = 100
INVALID_ATTRIBUTE_VALUE = 0x0106
TEXT_STRING = 0x20300020
WHITE, BLACK = MIN_DENSITY / 100, MAX_DENSITY / 100

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None,
                                     reason="poppler-utils (pdftotext) is not installed")


def _has_font_for(text: str) -> bool:
    """True if a font of the printer's chain other than the last-resort one covers ``text``."""
    faces = font_chain().faces
    return all(any(face.has_glyph(c) for face in faces) for c in text if not c.isspace())


def annotation(position: int, text: str | bytes, charset) -> Dataset:
    ds = dataset(AnnotationPosition=position)
    if charset is not None:
        ds.SpecificCharacterSet = charset
    ds.add_new(TEXT_STRING, "LO", text)
    return ds


def print_annotations(tmp_path, texts: list[tuple[str | bytes, object]], expect=SUCCESS,
                      **profile) -> dict | None:
    """Print one film of the LABEL or PATIENT format with ``texts`` (text, charset) in
    positions 1.. and return its JSON (None if an N-SET was answered ``expect`` != 0)."""
    fmt = "LABEL" if len(texts) <= 2 else "PATIENT"
    with running_printer(tmp_path, standard_dpi=DPI, **profile) as server:
        with connect(server) as assoc:
            refs = new_film_box(assoc, new_session(assoc), "STANDARD\\1,1",
                                AnnotationDisplayFormatID=fmt, BorderDensity="WHITE")
            for position, (text, charset) in enumerate(texts, start=1):
                status = assoc.set_annotation_box(refs.annotation_boxes[position - 1],
                                                  annotation(position, text, charset))
                if expect != SUCCESS:
                    assert status == expect, str(assoc.last_result)
                    assert "TextString" in assoc.last_result.error_comment
                    return None
                assert status == SUCCESS, str(assoc.last_result)
            assoc.set_image_box(refs.image_box_uids[0], grayscale_image_box(1, uniform(128), 8))
            print_film_box(assoc, refs)
        [film] = printed_films(tmp_path, 1)
    return film


def dark_strokes(tmp_path, film: dict, position: int) -> np.ndarray:
    """Pixels of an annotation box darker than half-way from Min to Max Density."""
    density, _ = density_map(tmp_path, film)
    x, y, w, h = rects(film, "annotation_rects_px")[position]
    return density[y:y + h, x:x + w] > (WHITE + BLACK) / 2


def pdf_text(tmp_path, film: dict) -> str:
    pdf = tmp_path / film["film"]["files"]["pdf"]
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True,
                          check=True, timeout=30).stdout.decode("utf-8")


LANGUAGES = [
    pytest.param("ISO_IR 100", "Müller-Lüdenscheidt Straße", id="german-latin1"),
    pytest.param("ISO_IR 101", "Dvořák Łódź", id="czech-polish-latin2"),
    pytest.param("ISO_IR 126", "Παπαδόπουλος Ελένη", id="greek"),
    pytest.param("ISO_IR 144", "Жуков Георгий", id="russian"),
    pytest.param("ISO_IR 192", "Müller Жуков Ελένη", id="utf8"),
    pytest.param(["", "ISO 2022 IR 87"], "ヤマダ^タロウ=山田^太郎", id="japanese-iso2022-ir87",
                 marks=pytest.mark.skipif(not _has_font_for("山田太郎ヤマダタロウ"),
                                          reason="no CJK font installed (Debian: "
                                                 "fonts-ipafont-gothic)")),
]


@needs_pdftotext
@pytest.mark.parametrize("charset, text", LANGUAGES)
def test_annotation_is_decoded_printed_and_searchable(tmp_path, charset, text):
    film = print_annotations(tmp_path, [(text, charset)])
    assert film["annotation_boxes"][0]["text"] == text
    assert film["film"]["warnings"] == []
    strokes = dark_strokes(tmp_path, film, 1)
    assert 0.01 < strokes.mean() < 0.5  # glyph strokes, not a filled box
    assert text in pdf_text(tmp_path, film).replace("\n", "")


def test_names_of_the_same_length_print_differently(tmp_path):
    # A font without Cyrillic prints both as five identical boxes.
    film = print_annotations(tmp_path, [("Жуков", "ISO_IR 144"), ("ЖЖЖЖЖ", "ISO_IR 144")])
    first, second = dark_strokes(tmp_path, film, 1), dark_strokes(tmp_path, film, 2)
    height, width = min(first.shape[0], second.shape[0]), min(first.shape[1], second.shape[1])
    differing = first[:height, :width] != second[:height, :width]
    assert differing.mean() > 0.02, "the two names left the same marks"
    assert first[:, :first.shape[1] // 10].any() and second[:, :second.shape[1] // 10].any()


def test_a_character_no_font_has_is_a_warning(tmp_path):
    candidates = "\U00013000\U00012000\U0001D300\U000E0100"  # hieroglyph, cuneiform, ...
    missing = next((c for c in candidates if not _has_font_for(c)), None)
    if missing is None:
        pytest.skip("every candidate character has a glyph in an installed font")
    film = print_annotations(tmp_path, [(f"A{missing}B", "ISO_IR 192")])
    assert film["annotation_boxes"][0]["text"] == f"A{missing}B"
    [warning] = film["film"]["warnings"]
    assert f"U+{ord(missing):04X}" in warning and "annotation box 1" in warning


def test_undecodable_text_is_refused_by_a_strict_printer(tmp_path):
    # 0xFF is never valid UTF-8
    print_annotations(tmp_path, [(b"Bad \xff\xfe", "ISO_IR 192")], strict=True,
                      expect=INVALID_ATTRIBUTE_VALUE)


def test_undeclared_non_ascii_text_is_refused_by_a_strict_printer(tmp_path):
    # Latin-1 bytes with no Specific Character Set: only ASCII is valid (PS3.5 6.1.2.1)
    print_annotations(tmp_path, [("Müller".encode("latin-1"), None)], strict=True,
                      expect=INVALID_ATTRIBUTE_VALUE)


def test_undecodable_text_is_printed_as_far_as_it_goes_by_a_lenient_printer(tmp_path):
    film = print_annotations(tmp_path, [(b"Bad \xff end", "ISO_IR 192")], strict=False)
    assert film["annotation_boxes"][0]["text"] == "Bad \ufffd end"
    [deviation] = film["deviations"]
    assert "TextString cannot be decoded" in deviation and "0xFF" in deviation
    assert dark_strokes(tmp_path, film, 1).any()


@needs_pdftotext
def test_pdf_text_lies_where_it_is_printed_in_embedded_fonts_with_tounicode(tmp_path):
    film = print_annotations(tmp_path, [("Жуков Георгий", "ISO_IR 144"), ("Müller", "ISO_IR 100")])
    pdf = tmp_path / film["film"]["files"]["pdf"]
    html = subprocess.run(["pdftotext", "-bbox", "-enc", "UTF-8", str(pdf), "-"],
                          capture_output=True, check=True, timeout=30).stdout.decode("utf-8")
    words = {text: tuple(map(float, box)) for *box, text in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]+)</word>',
        html)}
    assert set(words) == {"Жуков", "Георгий", "Müller"}
    points_per_px = 72 / DPI
    boxes = rects(film, "annotation_rects_px")
    for position, names in ((1, ("Жуков", "Георгий")), (2, ("Müller",))):
        x, y, w, h = (v * points_per_px for v in boxes[position])
        for name in names:
            x_min, y_min, x_max, y_max = words[name]
            assert x <= x_min < x_max <= x + w and y <= y_min < y_max <= y + h, name
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True,
                           timeout=30).stdout.splitlines()[2:]
    embedded = [line.split() for line in fonts if "+" in line.split()[0]]
    assert embedded and all(row[-5:-2] == ["yes", "yes", "yes"] for row in embedded), fonts

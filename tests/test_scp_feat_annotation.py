"""Loopback Basic Annotation Boxes: creation by Annotation Display Format ID, text, print.

The printer's profile maps Annotation Display Format ID "LABEL" to two
annotation boxes. The film reserves a strip for them along its bottom
(film.layout); text is drawn there at Max Density, so the box with text
must hold pixels at Max Density and the box without text none.
"""

from __future__ import annotations

import numpy as np
import pytest
from scp_harness import running_printer
from test_scp_feat_support import (
    ANNOTATION_BOX_CLASS,
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

from film.annotation_format import AnnotationFormat
from film.display_format import parse_display_format
from film.layout import layout_film
from print_scu.image_box_requests import grayscale_image_box

DPI = 75
FILM_MM = (203.2, 254.0)  # 8INX10IN portrait
INVALID_ATTRIBUTE_VALUE = 0x0106
ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116
TEXT = "ID 42"


@pytest.mark.filterwarnings("ignore:The value length .* exceeds the maximum length:UserWarning")
def test_label_format_creates_two_annotation_boxes_printed_with_their_text(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as assoc:
            refs = new_film_box(assoc, new_session(assoc), "STANDARD\\1,1",
                                AnnotationDisplayFormatID="LABEL", BorderDensity="WHITE")
            items = refs.attributes.ReferencedBasicAnnotationBoxSequence
            assert [item.ReferencedSOPClassUID for item in items] == [ANNOTATION_BOX_CLASS] * 2
            assert len(set(refs.annotation_boxes)) == 2
            first, second = refs.annotation_boxes
            status = assoc.set_annotation_box(first, dataset(AnnotationPosition=1, TextString=TEXT))
            assert status == SUCCESS, str(assoc.last_result)
            # Position 2 belongs to the other box; text longer than LO's 64 characters.
            wrong_position = dataset(AnnotationPosition=2, TextString="X")
            assert assoc.set_annotation_box(first, wrong_position) == INVALID_ATTRIBUTE_VALUE
            too_long = dataset(AnnotationPosition=2, TextString="Y" * 65)
            assert assoc.set_annotation_box(second, too_long) == INVALID_ATTRIBUTE_VALUE
            # Position 3 is beyond LABEL's two boxes: a warning, and nothing printed
            beyond = dataset(AnnotationPosition=3, TextString="Z")
            assert assoc.set_annotation_box(second, beyond) == ATTRIBUTE_VALUE_OUT_OF_RANGE
            assert "beyond the 2 annotation boxes of LABEL" in assoc.last_result.error_comment
            assoc.set_image_box(refs.image_box_uids[0], grayscale_image_box(1, uniform(128), 8))
            print_film_box(assoc, refs)
        [film] = printed_films(tmp_path, 1)

    assert [(a["position"], a["text"]) for a in film["annotation_boxes"]] == [(1, TEXT), (2, "")]
    layout = layout_film(*FILM_MM, parse_display_format("STANDARD\\1,1"),
                         AnnotationFormat.strip(2))
    strip = rects(film, "annotation_rects_px")
    assert strip == {p: r.to_pixels(DPI) for p, r in layout.annotation_boxes.items()}
    assert rects(film) == {p: r.to_pixels(DPI) for p, r in layout.image_boxes.items()}

    density, _ = density_map(tmp_path, film)
    white, black = MIN_DENSITY / 100, MAX_DENSITY / 100  # BorderDensity WHITE = Min Density

    def region(rect):
        x, y, w, h = rect
        return density[y:y + h, x:x + w]

    with_text, without_text = region(strip[1]), region(strip[2])
    assert np.allclose(without_text, white, atol=0.001)
    assert with_text.max() == pytest.approx(black, abs=0.001)
    dark = with_text > (white + black) / 2
    assert 0.005 < dark.mean() < 0.5  # strokes of a few characters, not a filled box
    # Text is left-aligned and short: the right half of its box stays clear.
    assert not dark[:, dark.shape[1] // 2:].any()
    assert dark[:, :dark.shape[1] // 2].any()


def test_film_box_without_annotation_format_has_no_annotation_boxes(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as assoc:
            refs = new_film_box(assoc, new_session(assoc), "STANDARD\\1,1")
            assert refs.annotation_boxes == []
            assert "ReferencedBasicAnnotationBoxSequence" not in refs.attributes


def test_unknown_annotation_format_is_refused(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as assoc:
            new_film_box(assoc, new_session(assoc), "STANDARD\\1,1",
                         AnnotationDisplayFormatID="NO SUCH", expect=INVALID_ATTRIBUTE_VALUE)

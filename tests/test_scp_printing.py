"""Loopback printing: every Image Display Format, and Film Session printing.

A pynetdicom SCU (print_scu.association) prints to a running PrintServer on
127.0.0.1. Each film is 8INX10IN portrait at 75 dpi (600 × 750 px). Every
image box gets a uniform image of its own P-Value, so each box must show a
density of its own: expected densities come from lut.density (PS3.14,
tested on its own), box rectangles from film.layout (tested on its own), and
the order of the positions from PS3.3 C.13.5.1 (row by row for STANDARD and
ROW, column by column for COL).
"""

from __future__ import annotations

import pytest
from scp_harness import running_printer
from test_scp_feat_support import (
    DENSITY_TOLERANCE_OD,
    GRAYSCALE_IMAGE_BOX_CLASS,
    SUCCESS,
    centre_density,
    connect,
    density_map,
    expected_od,
    new_film_box,
    new_session,
    print_film_box,
    print_job_uid,
    printed_films,
    rects,
    uniform,
)

from film.display_format import parse_display_format
from film.layout import layout_film
from print_scu.image_box_requests import grayscale_image_box

DPI = 75
FILM_MM = (203.2, 254.0)  # 8INX10IN portrait
NO_SUCH_SOP_INSTANCE = 0x0112
INVALID_ATTRIBUTE_VALUE = 0x0106
# CUSTOM\1 of the test printer: a full-width top half, then two quarters below.
CUSTOM_LAYOUTS = {1: [(0.0, 0.0, 1.0, 0.5), (0.0, 0.5, 0.4, 0.5), (0.4, 0.5, 0.6, 0.5)]}


def _lines(display_format: str) -> tuple[list[list[int]], str]:
    """Positions grouped in the lines PS3.3 C.13.5.1 numbers them along, and that axis.

    STANDARD and ROW number row by row (left to right, then down); COL numbers
    column by column (top to bottom, then right). SLIDE and SUPERSLIDE are the
    printer's documented 4 columns x 5 rows (film.display_format), numbered
    as STANDARD.
    """
    keyword, _, values = display_format.partition("\\")
    if keyword in ("SLIDE", "SUPERSLIDE"):
        keyword, values = "STANDARD", "4,5"
    counts = [int(v) for v in values.split(",")]
    if keyword == "STANDARD":
        columns, rows = counts
        counts = [columns] * rows
    lines, first = [], 1
    for count in counts:
        lines.append(list(range(first, first + count)))
        first += count
    return lines, "x" if keyword in ("STANDARD", "ROW") else "y"


def _assert_numbering(display_format: str, boxes: dict[int, tuple[int, int, int, int]]) -> None:
    lines, along = _lines(display_format)
    a, b = (0, 1) if along == "x" else (1, 0)  # index of the axis along / across a line
    assert sorted(boxes) == [p for line in lines for p in line]
    for line in lines:
        assert len({boxes[p][b] for p in line}) == 1, f"line {line} not aligned"
        starts = [boxes[p][a] for p in line]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
    line_starts = [boxes[line[0]][b] for line in lines]
    assert line_starts == sorted(line_starts) and len(set(line_starts)) == len(line_starts)


FORMATS = [
    ("STANDARD\\1,1", 1),
    ("STANDARD\\2,3", 6),
    ("STANDARD\\3,2", 6),
    ("STANDARD\\4,5", 20),
    ("ROW\\2,1,3", 6),
    ("COL\\1,2", 3),
    ("SLIDE", 20),
    ("SUPERSLIDE", 20),
]


@pytest.mark.parametrize("display_format, count", FORMATS + [("CUSTOM\\1", 3)])
def test_every_display_format_lays_out_and_prints_each_box(tmp_path, display_format, count):
    p_values = [100] if count == 1 else [round(255 * k / (count - 1)) for k in range(count)]
    with running_printer(tmp_path, standard_dpi=DPI, custom_layouts=CUSTOM_LAYOUTS) as server:
        with connect(server) as assoc:
            session = new_session(assoc)
            refs = new_film_box(assoc, session, display_format)
            assert len(refs.image_boxes) == count
            assert {cls for cls, _ in refs.image_boxes} == {GRAYSCALE_IMAGE_BOX_CLASS}
            assert len(set(refs.image_box_uids)) == count
            assert refs.attributes.ImageDisplayFormat == display_format
            for position, p in enumerate(p_values, start=1):
                image = grayscale_image_box(position, uniform(p), 8)
                status = assoc.set_image_box(refs.image_box_uids[position - 1], image)
                assert status == SUCCESS, str(assoc.last_result)
            print_film_box(assoc, refs)
        [film] = printed_films(tmp_path, 1)

    layout = layout_film(*FILM_MM, parse_display_format(display_format, CUSTOM_LAYOUTS))
    expected_rects = {p: r.to_pixels(DPI) for p, r in layout.image_boxes.items()}
    boxes = rects(film)
    assert boxes == expected_rects
    if not display_format.startswith("CUSTOM"):
        _assert_numbering(display_format, boxes)
    assert [b["position"] for b in film["image_boxes"]] == list(range(1, count + 1))

    density, dpi = density_map(tmp_path, film)
    assert dpi == DPI and density.shape == (750, 600)
    for position, p in enumerate(p_values, start=1):
        assert centre_density(density, boxes[position]) == pytest.approx(
            float(expected_od(p)), abs=DENSITY_TOLERANCE_OD), f"position {position}, P {p}"


def test_custom_layout_boxes_sit_where_the_profile_puts_them(tmp_path):
    """CUSTOM\\1 cells are fractions of the printable area: checked by hand.

    8INX10IN with 5 mm margins leaves 193.2 × 244 mm; film.layout widens the
    area by the 2 mm gap and shrinks each cell by half a gap per side, so the
    top cell is x 5..198.2 mm, y 5..(5 + 0.5·246 − 2) = 126 mm:
    at 75 dpi x 15..585 px (round(198.2·75/25.4) = 585), y 15..372 px.
    """
    with running_printer(tmp_path, standard_dpi=DPI, custom_layouts=CUSTOM_LAYOUTS) as server:
        with connect(server) as assoc:
            refs = new_film_box(assoc, new_session(assoc), "CUSTOM\\1")
            assoc.set_image_box(refs.image_box_uids[0], grayscale_image_box(1, uniform(0), 8))
            print_film_box(assoc, refs)
        [film] = printed_films(tmp_path, 1)
    assert rects(film)[1] == (15, 15, 585 - 15, 372 - 15)


def test_unknown_custom_layout_is_refused(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI, custom_layouts=CUSTOM_LAYOUTS) as server:
        with connect(server) as assoc:
            new_film_box(assoc, new_session(assoc), "CUSTOM\\2", expect=0x0106)


def test_film_session_action_prints_all_film_boxes_as_one_job(tmp_path):
    values = [30, 130, 230]
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as assoc:
            session = new_session(assoc, NumberOfCopies=2, FilmSessionLabel="SESSION 9")
            boxes = []
            for value in values:
                refs = new_film_box(assoc, session, "STANDARD\\1,1")
                status = assoc.set_image_box(refs.image_box_uids[0],
                                             grayscale_image_box(1, uniform(value), 8))
                assert status == SUCCESS, str(assoc.last_result)
                boxes.append(refs.film_box_uid)
            status, reply = assoc.print_film_session(session)
            assert status == SUCCESS, str(assoc.last_result)
            job = print_job_uid(reply)
        films = printed_films(tmp_path, len(values))

    by_box = {film["film_box"]["uid"]: film for film in films}
    assert set(by_box) == set(boxes)
    for index, (box_uid, value) in enumerate(zip(boxes, values, strict=True), start=1):
        film = by_box[box_uid]
        assert film["print_job"]["uid"] == job
        assert film["name"].endswith(f"-{index:02d}")  # films of a job in session order
        assert film["print_job"]["copies"] == 2
        assert film["film_session"]["in_force"]["number_of_copies"] == 2
        assert film["film_session"]["in_force"]["film_session_label"] == "SESSION 9"
        assert film["pdf_info"]["Copies"] == "2"
        density, _ = density_map(tmp_path, film)
        assert centre_density(density, rects(film)[1]) == pytest.approx(
            float(expected_od(value)), abs=DENSITY_TOLERANCE_OD)


def test_deleted_film_box_is_gone_and_not_printed_with_the_session(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as assoc:
            session = new_session(assoc)
            dropped = new_film_box(assoc, session, "STANDARD\\1,1")
            kept = new_film_box(assoc, session, "STANDARD\\1,1")
            for refs, value in ((dropped, 10), (kept, 200)):
                image = grayscale_image_box(1, uniform(value), 8)
                assert assoc.set_image_box(refs.image_box_uids[0], image) == SUCCESS
            assert assoc.delete_film_box(dropped.film_box_uid) == SUCCESS
            assert assoc.delete_film_box(dropped.film_box_uid) == NO_SUCH_SOP_INSTANCE
            status = assoc.set_image_box(dropped.image_box_uids[0], image)
            assert status == NO_SUCH_SOP_INSTANCE
            assert assoc.print_film_box(dropped.film_box_uid)[0] == NO_SUCH_SOP_INSTANCE
            status, _ = assoc.print_film_session(session)
            assert status == SUCCESS, str(assoc.last_result)
        [film] = printed_films(tmp_path, 1)
    assert film["film_box"]["uid"] == kept.film_box_uid
    density, _ = density_map(tmp_path, film)
    assert centre_density(density, rects(film)[1]) == pytest.approx(
        float(expected_od(200)), abs=DENSITY_TOLERANCE_OD)


def test_deleted_film_session_takes_its_film_boxes_with_it(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as assoc:
            session = new_session(assoc)
            refs = new_film_box(assoc, session, "STANDARD\\1,1")
            assert assoc.delete_film_session(session) == SUCCESS
            assert assoc.print_film_session(session)[0] == NO_SUCH_SOP_INSTANCE
            assert assoc.print_film_box(refs.film_box_uid)[0] == NO_SUCH_SOP_INSTANCE
            # PS3.7 defines no 0x0112 for N-CREATE: an unknown referenced session is an
            # invalid attribute value (as DCMTK's dcmprscp answers too)
            new_film_box(assoc, session, "STANDARD\\1,1", expect=INVALID_ATTRIBUTE_VALUE)
            # A new session may follow on the same association.
            second = new_session(assoc)
            refs = new_film_box(assoc, second, "STANDARD\\1,1")
            assoc.set_image_box(refs.image_box_uids[0], grayscale_image_box(1, uniform(0), 8))
            print_film_box(assoc, refs)
        [film] = printed_films(tmp_path, 1)
    assert film["film_session"]["uid"] == second


def test_a_rendered_job_whose_removal_a_crash_cut_short_is_removed_at_start(tmp_path):
    """A spool directory without job.json is what a kill between deleting a rendered job's
    files and its directory leaves; the next start removes it and keeps real jobs."""
    spool = tmp_path / ".spool"
    emptied = spool / "1.2.3.4.1"
    half_deleted = spool / "1.2.3.4.2"
    emptied.mkdir(parents=True)
    half_deleted.mkdir()
    (half_deleted / "box-1.npy").write_bytes(b"\x93NUMPY")
    with running_printer(tmp_path, standard_dpi=50) as server:
        assert not emptied.exists() and not half_deleted.exists()
        with connect(server) as assoc:  # and prints as before
            refs = new_film_box(assoc, new_session(assoc), "STANDARD\\1,1")
            assert assoc.set_image_box(refs.image_box_uids[0],
                                       grayscale_image_box(1, uniform(100), 8)) == SUCCESS
            assert assoc.print_film_box(refs.film_box_uid)[0] == SUCCESS
        assert len(printed_films(tmp_path, 1)) == 1

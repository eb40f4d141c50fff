"""Physical film layout in mm and its pixel rounding.

Expected rectangles are computed by hand from the documented geometry:
5 mm margin, 2 mm gap, 10 mm annotation strip (plus a 2 mm gap above it).
"""

import pytest

from film.annotation_format import AnnotationBoxGeometry, AnnotationFormat, Edge, TextAlign
from film.display_format import parse_display_format
from film.layout import (
    DEFAULT_GAP_MM,
    DEFAULT_MARGIN_MM,
    RectMM,
    annotation_format_of,
    layout_film,
    mm_to_px,
)


def test_documented_defaults():
    assert (DEFAULT_MARGIN_MM, DEFAULT_GAP_MM) == (5.0, 2.0)
    assert AnnotationFormat.strip(1).line_height_mm == 10.0


def test_standard_2x2_on_14x17_mm():
    # Printable 345.6 × 421.8 mm; boxes (345.6 − 2)/2 = 171.8 wide, (421.8 − 2)/2 = 209.9 high.
    layout = layout_film(355.6, 431.8, parse_display_format("STANDARD\\2,2"))
    expected = {
        1: (5.0, 5.0, 171.8, 209.9),
        2: (178.8, 5.0, 171.8, 209.9),
        3: (5.0, 216.9, 171.8, 209.9),
        4: (178.8, 216.9, 171.8, 209.9),
    }
    assert set(layout.image_boxes) == {1, 2, 3, 4}
    for position, rect in layout.image_boxes.items():
        got = (rect.x, rect.y, rect.width, rect.height)
        assert got == pytest.approx(expected[position], abs=1e-9)
    assert layout.annotation_boxes == {}


def test_standard_2x2_on_14x17_at_100_dpi_pixels():
    # Edges in px = mm × 100 / 25.4, rounded: 5 → 19.69 → 20; 176.8 → 696.06 → 696;
    # 178.8 → 703.94 → 704; 350.6 → 1380.31 → 1380; 214.9 → 846.06 → 846;
    # 216.9 → 853.94 → 854; 426.8 → 1680.31 → 1680.
    layout = layout_film(355.6, 431.8, parse_display_format("STANDARD\\2,2"))
    pixels = {p: r.to_pixels(100) for p, r in layout.image_boxes.items()}
    assert pixels == {
        1: (20, 20, 676, 826),
        2: (704, 20, 676, 826),
        3: (20, 854, 676, 826),
        4: (704, 854, 676, 826),
    }


def test_annotation_strip_on_a4():
    # A4 portrait: printable width 200 mm. Strip y = 297 − 5 − 10 = 282.
    # Three boxes (200 − 2·2)/3 = 65.333 mm wide at x = 5, 72.333, 139.667.
    # Image area height = 297 − 2·5 − (10 + 2) = 275 mm.
    layout = layout_film(210.0, 297.0, parse_display_format("STANDARD\\1,1"), AnnotationFormat.strip(3))
    image = layout.image_boxes[1]
    assert (image.x, image.y, image.width, image.height) == pytest.approx((5, 5, 200, 275))
    width = 196 / 3
    expected_x = [5, 5 + width + 2, 5 + 2 * (width + 2)]
    assert sorted(layout.annotation_boxes) == [1, 2, 3]
    for position, x in enumerate(expected_x, start=1):
        box = layout.annotation_boxes[position]
        assert (box.x, box.y, box.width, box.height) == pytest.approx((x, 282, width, 10))


def test_no_strip_without_annotations():
    layout = layout_film(210.0, 297.0, parse_display_format("STANDARD\\1,1"))
    assert layout.image_boxes[1].height == pytest.approx(287.0)


def test_row_layout_in_mm():
    # ROW\1,2 on 8x10 in (203.2 × 254): printable 193.2 × 244; row height (244 − 2)/2 = 121.
    layout = layout_film(203.2, 254.0, parse_display_format("ROW\\1,2"))
    boxes = [layout.image_boxes[p] for p in (1, 2, 3)]
    half = (193.2 - 2) / 2
    assert [(b.x, b.y, b.width, b.height) for b in boxes] == [
        pytest.approx((5, 5, 193.2, 121)),
        pytest.approx((5, 128, half, 121)),
        pytest.approx((5 + half + 2, 128, half, 121)),
    ]


def test_col_layout_positions_run_down_then_right():
    layout = layout_film(203.2, 254.0, parse_display_format("COL\\2,1"))
    one, two, three = (layout.image_boxes[p] for p in (1, 2, 3))
    assert one.x == two.x < three.x
    assert one.y < two.y
    assert three.height == pytest.approx(244.0)


def test_margin_and_gap_are_parameters():
    layout = layout_film(100.0, 50.0, parse_display_format("STANDARD\\2,1"), margins_mm=(10, 10),
                         gap_mm=0)
    left, right = layout.image_boxes[1], layout.image_boxes[2]
    assert (left.x, left.width, right.x, right.width) == pytest.approx((10, 40, 50, 40))
    assert (left.y, left.height) == pytest.approx((10, 30))


@pytest.mark.parametrize("dpi", [72, 96, 100, 150, 203, 300, 317])
def test_adjacent_boxes_share_pixel_edges_without_gap(dpi):
    layout = layout_film(355.6, 431.8, parse_display_format("STANDARD\\7,5"), gap_mm=0)
    pixels = {p: r.to_pixels(dpi) for p, r in layout.image_boxes.items()}
    for row in range(5):
        for column in range(6):
            x, _, w, _ = pixels[row * 7 + column + 1]
            next_x = pixels[row * 7 + column + 2][0]
            assert x + w == next_x
    for position in range(1, 29):
        _, y, _, h = pixels[position]
        assert y + h == pixels[position + 7][1]


def test_to_pixels_rounds_edges_half_up():
    # 0.127 mm at 100 dpi is exactly half a pixel; 0.1 mm is 0.39 px.
    assert mm_to_px(0.127, 100) == 1
    assert RectMM(0.1, 0.127, 0.127, 0.254).to_pixels(100) == (0, 1, 1, 1)


def test_too_many_annotation_boxes_do_not_fit():
    with pytest.raises(ValueError, match="annotation box 1"):
        layout_film(210.0, 297.0, parse_display_format("STANDARD\\1,1"), AnnotationFormat.strip(150))


def test_margins_larger_than_the_film():
    with pytest.raises(ValueError, match="no printable area"):
        layout_film(20.0, 20.0, parse_display_format("STANDARD\\1,1"), margins_mm=(10, 10))


def test_annotation_format_from_profile():
    formats = {"LABEL": AnnotationFormat.strip(1), "ANNOTATION": AnnotationFormat.strip(6)}
    assert len(annotation_format_of("ANNOTATION", formats).boxes) == 6
    assert len(annotation_format_of("LABEL ", formats).boxes) == 1
    assert annotation_format_of(None, formats).boxes == ()
    assert annotation_format_of("", formats).boxes == ()


def test_unknown_annotation_format_names_attribute_and_value():
    with pytest.raises(ValueError, match=r"Annotation Display Format ID.*'FANCY'"):
        annotation_format_of("FANCY", {"LABEL": AnnotationFormat.strip(1)})


def test_annotation_lines_at_top_and_bottom_on_a4():
    # 6 mm lines. Top: one line at y = 5. Bottom: two lines, line 0 nearest the edge:
    # strip = 2·6 + 2 = 14 mm from y = 297 − 5 − 14 = 278; line 1 at 278, line 0 at 286.
    # Image area: y = 5 + 6 + 2 = 13, height = 287 − (6 + 2) − (14 + 2) = 263.
    # The right half box of line 1: x = 5 + 0.5·(200 + 2) = 106 ... width 0.5·202 − 2 = 99.
    fmt = AnnotationFormat((
        AnnotationBoxGeometry(edge=Edge.TOP, align=TextAlign.CENTER),
        AnnotationBoxGeometry(edge=Edge.BOTTOM, line=0),
        AnnotationBoxGeometry(edge=Edge.BOTTOM, line=1, x=0.5, width=0.5, align=TextAlign.RIGHT),
    ), line_height_mm=6.0)
    layout = layout_film(210.0, 297.0, parse_display_format("STANDARD\\1,1"), fmt)
    image = layout.image_boxes[1]
    assert (image.x, image.y, image.width, image.height) == pytest.approx((5, 13, 200, 263))
    top, bottom0, bottom1 = (layout.annotation_boxes[p] for p in (1, 2, 3))
    assert (top.x, top.y, top.width, top.height) == pytest.approx((5, 5, 200, 6))
    assert (bottom0.x, bottom0.y, bottom0.width, bottom0.height) == pytest.approx((5, 286, 200, 6))
    assert (bottom1.x, bottom1.y, bottom1.width, bottom1.height) == pytest.approx((106, 278, 99, 6))


@pytest.mark.parametrize("geometry, message", [
    ({"x": 1.0}, "x must be a fraction"),
    ({"x": 0.5, "width": 0.6}, "width must be in"),
    ({"line": -1}, "line must be"),
    ({"edge": "left"}, "'left' is not a valid Edge"),
])
def test_annotation_box_geometry_is_validated(geometry, message):
    with pytest.raises(ValueError, match=message):
        AnnotationBoxGeometry(**geometry)

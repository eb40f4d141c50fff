"""Image Display Format parsing, counts and positions (PS3.3 C.13.3, C.13.5.1)."""

import pytest

from film.display_format import (
    DisplayFormatError,
    DisplayFormatKind,
    parse_display_format,
)


def approx_cells(cells):
    return [pytest.approx(cell, abs=1e-12) for cell in cells]


def test_standard_counts_and_row_major_positions():
    fmt = parse_display_format("STANDARD\\3,2")  # 3 columns, 2 rows
    assert fmt.kind is DisplayFormatKind.STANDARD
    assert fmt.image_box_count == 6
    third = 1 / 3
    assert fmt.cells() == approx_cells([
        (0, 0, third, 0.5), (third, 0, third, 0.5), (2 * third, 0, third, 0.5),
        (0, 0.5, third, 0.5), (third, 0.5, third, 0.5), (2 * third, 0.5, third, 0.5),
    ])


def test_standard_one_by_one_is_the_whole_area():
    assert parse_display_format("STANDARD\\1,1").cells() == [(0.0, 0.0, 1.0, 1.0)]


def test_row_format_rows_stacked_numbered_row_by_row():
    fmt = parse_display_format("ROW\\2,1,3")
    assert fmt.image_box_count == 6
    third = 1 / 3
    assert fmt.cells() == approx_cells([
        (0, 0, 0.5, third), (0.5, 0, 0.5, third),          # row 1: 2 boxes
        (0, third, 1, third),                              # row 2: 1 box
        (0, 2 * third, third, third), (third, 2 * third, third, third),
        (2 * third, 2 * third, third, third),              # row 3: 3 boxes
    ])


def test_col_format_numbered_down_each_column_then_right():
    fmt = parse_display_format("COL\\1,2")
    assert fmt.image_box_count == 3
    assert fmt.cells() == approx_cells([
        (0, 0, 0.5, 1),      # column 1, one box
        (0.5, 0, 0.5, 0.5),  # column 2, top
        (0.5, 0.5, 0.5, 0.5),  # column 2, bottom
    ])


@pytest.mark.parametrize("keyword", ["SLIDE", "SUPERSLIDE"])
def test_slide_formats_are_a_four_by_five_row_major_grid(keyword):
    fmt = parse_display_format(keyword)
    assert fmt.image_box_count == 20
    cells = fmt.cells()
    assert cells[0] == pytest.approx((0, 0, 0.25, 0.2))
    assert cells[3] == pytest.approx((0.75, 0, 0.25, 0.2))   # end of first row
    assert cells[4] == pytest.approx((0, 0.2, 0.25, 0.2))    # start of second row
    assert cells[19] == pytest.approx((0.75, 0.8, 0.25, 0.2))


def test_custom_layout_from_printer_configuration():
    layouts = {7: [(0.0, 0.0, 1.0, 0.6), (0.1, 0.7, 0.3, 0.3), (0.6, 0.7, 0.4, 0.3)]}
    fmt = parse_display_format("CUSTOM\\7", layouts)
    assert fmt.kind is DisplayFormatKind.CUSTOM
    assert fmt.image_box_count == 3
    assert fmt.cells() == layouts[7]


def test_surrounding_and_inner_spaces_are_tolerated():
    assert parse_display_format(" STANDARD\\ 2 , 3 ").image_box_count == 6


def test_str_gives_canonical_value():
    assert str(parse_display_format("ROW\\ 1,2")) == "ROW\\1,2"
    assert str(parse_display_format("SLIDE")) == "SLIDE"


@pytest.mark.parametrize("text, why", [
    ("GRID\\2,2", "unknown format 'GRID'"),
    ("standard\\2,2", "unknown format 'standard'"),
    ("STANDARD\\0,2", "count 0"),
    ("STANDARD\\-1,2", "'-1' is not a positive integer"),
    ("STANDARD\\33,1", "count 33"),
    ("ROW\\1,40", "count 40"),
    ("STANDARD\\2", "exactly two values"),
    ("STANDARD\\2,2,2", "exactly two values"),
    ("STANDARD\\2,2\\junk", "unexpected text"),
    ("STANDARD\\2,2x", "'2x' is not a positive integer"),
    ("ROW\\1,,2", "'' is not a positive integer"),
    ("ROW", "needs values"),
    ("SLIDE\\4", "takes no values"),
    ("COL\\" + ",".join(["1"] * 33), "33 rows/columns"),
    ("CUSTOM\\3", "no CUSTOM layout 3"),
    ("CUSTOM\\x", "not a non-negative integer"),
])
def test_errors_name_the_attribute_and_value(text, why):
    with pytest.raises(DisplayFormatError) as info:
        parse_display_format(text, {1: [(0, 0, 1, 1)]})
    message = str(info.value)
    assert "Image Display Format" in message
    assert repr(text) in message
    assert why in message


def test_display_format_error_is_a_value_error():
    assert issubclass(DisplayFormatError, ValueError)


@pytest.mark.parametrize("cell", [(0.5, 0, 0.6, 1), (0, 0, 0, 1), (-0.1, 0, 0.5, 0.5), (0, 0, 1)])
def test_custom_cells_outside_the_unit_square_are_rejected(cell):
    with pytest.raises(DisplayFormatError, match="CUSTOM layout 2, position 1"):
        parse_display_format("CUSTOM\\2", {2: [cell]})


def test_empty_custom_layout_is_rejected():
    with pytest.raises(DisplayFormatError, match="empty"):
        parse_display_format("CUSTOM\\1", {1: []})

"""Film Size ID and orientation: sheet sizes in mm from PS3.3 C.13.3."""

import pytest

from film.sizes import FilmOrientation, FilmSizeID, film_size_mm

# Inch sizes by hand (1 in = 25.4 mm); 10INX14IN per the standard's note
# ("corresponds with 25.7CMX36.4CM"); A4/A3 per the same note.
EXPECTED_PORTRAIT_MM = {
    "8INX10IN": (203.2, 254.0),
    "8_5INX11IN": (215.9, 279.4),
    "10INX12IN": (254.0, 304.8),
    "10INX14IN": (257.0, 364.0),
    "11INX14IN": (279.4, 355.6),
    "11INX17IN": (279.4, 431.8),
    "14INX14IN": (355.6, 355.6),
    "14INX17IN": (355.6, 431.8),
    "24CMX24CM": (240.0, 240.0),
    "24CMX30CM": (240.0, 300.0),
    "A4": (210.0, 297.0),
    "A3": (297.0, 420.0),
}


def test_all_twelve_defined_terms_are_members():
    assert {m.value for m in FilmSizeID} == set(EXPECTED_PORTRAIT_MM)


@pytest.mark.parametrize("size_id, expected", EXPECTED_PORTRAIT_MM.items())
def test_portrait_size(size_id, expected):
    assert film_size_mm(size_id, "PORTRAIT") == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("size_id, expected", EXPECTED_PORTRAIT_MM.items())
def test_landscape_swaps(size_id, expected):
    width, height = expected
    assert film_size_mm(size_id, "LANDSCAPE") == pytest.approx((height, width), abs=1e-9)


def test_accepts_enum_members_and_padded_wire_values():
    assert film_size_mm(FilmSizeID.A4, FilmOrientation.LANDSCAPE) == (297.0, 210.0)
    assert film_size_mm("A4 ", " PORTRAIT") == (210.0, 297.0)


def test_unknown_size_names_attribute_and_value():
    with pytest.raises(ValueError, match=r"Film Size ID.*'14INX36IN'"):
        film_size_mm("14INX36IN", "PORTRAIT")


def test_unknown_orientation_names_attribute_and_value():
    with pytest.raises(ValueError, match=r"Film Orientation.*'SIDEWAYS'"):
        film_size_mm("A4", "SIDEWAYS")


def test_lowercase_is_not_a_defined_term():
    with pytest.raises(ValueError, match="Film Size ID"):
        FilmSizeID.parse("a4")

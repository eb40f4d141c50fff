"""Pagination of prepared images onto films."""

import numpy as np
import pytest

from print_scu.layout import boxes_per_film, paginate
from print_scu.prepared_image import PreparedImage


def images(count: int) -> list[PreparedImage]:
    return [PreparedImage(np.full((2, 2), i, np.uint8), "MONOCHROME2", 8, f"f{i}.dcm#1")
            for i in range(count)]


@pytest.mark.parametrize(("display_format", "boxes"), [
    ("STANDARD\\1,1", 1), ("STANDARD\\2,3", 6), ("STANDARD\\4,5", 20),
    ("ROW\\1,2,3", 6), ("COL\\2,2", 4), ("SLIDE", 20),
])
def test_boxes_per_film(display_format: str, boxes: int) -> None:
    assert boxes_per_film(display_format) == boxes


def test_thirteen_images_on_six_box_films() -> None:
    prepared = images(13)
    films = paginate(prepared, "STANDARD\\2,3")
    assert [len(film) for film in films] == [6, 6, 1]
    assert [image.source for film in films for image in film] == [
        f"f{i}.dcm#1" for i in range(13)]  # order kept: position i + 1 holds image i
    assert films[2][0] is prepared[12]


def test_exact_multiple_gives_full_films_only() -> None:
    assert [len(film) for film in paginate(images(8), "ROW\\2,2")] == [4, 4]


def test_no_images_no_films() -> None:
    assert paginate([], "STANDARD\\2,2") == []

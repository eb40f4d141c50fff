"""Loopback color printing: Basic Color Print Management Meta SOP Class.

The SCU sends a 2 × 2 RGB image, four distinct colors, with Planar
Configuration 1 (what PS3.3 C.13.5 requires) and 0 (what many SCUs send).
With REPLICATE magnification each image pixel becomes one quadrant of the
printed square, so the light-box PNG must show each exact RGB triple at the
centre of its quadrant; a decoder that mixed up the planes would not.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from scp_harness import running_printer
from test_scp_feat_support import (
    COLOR_IMAGE_BOX_CLASS,
    SUCCESS,
    connect,
    new_film_box,
    new_session,
    print_film_box,
    printed_films,
    rects,
)

from print_scu.image_box_requests import color_image_box

DPI = 75
INVALID_ATTRIBUTE_VALUE = 0x0106
COLORS = np.array([[[255, 0, 0], [0, 255, 0]],
                   [[0, 0, 255], [250, 200, 50]]], dtype=np.uint8)


def _quadrant_centres(rect: tuple[int, int, int, int]) -> dict[tuple[int, int], tuple[int, int]]:
    """(image row, column) -> (x, y) px of its quadrant's centre.

    REPLICATE fills the box with the largest square that fits, centred
    (film.fit): side = min(w, h), offset ((w − side) // 2, (h − side) // 2).
    """
    x, y, w, h = rect
    side = min(w, h)
    left, top = x + (w - side) // 2, y + (h - side) // 2
    return {(r, c): (left + side * (2 * c + 1) // 4, top + side * (2 * r + 1) // 4)
            for r in range(2) for c in range(2)}


def test_color_images_print_their_exact_rgb_with_either_planar_configuration(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server, color=True) as assoc:
            refs = new_film_box(assoc, new_session(assoc), "STANDARD\\2,1")
            assert [cls for cls, _ in refs.image_boxes] == [COLOR_IMAGE_BOX_CLASS] * 2
            for position, planar in ((1, 1), (2, 0)):
                status = assoc.set_image_box(refs.image_box_uids[position - 1],
                                             color_image_box(position, COLORS, planar))
                assert status == SUCCESS, str(assoc.last_result)
            print_film_box(assoc, refs)
        [film] = printed_films(tmp_path, 1)

    assert film["film"]["color"] is True
    assert any("Planar Configuration 0" in d for d in film["deviations"]), film["deviations"]
    with Image.open(tmp_path / film["film"]["files"]["png"]) as png:
        assert png.mode == "RGB"
        pixels = np.asarray(png)
    for position, rect in rects(film).items():
        for (row, column), (x, y) in _quadrant_centres(rect).items():
            assert pixels[y, x].tolist() == COLORS[row, column].tolist(), (position, row, column)


def test_strict_printer_refuses_planar_configuration_0(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI, strict=True) as server:
        with connect(server, color=True) as assoc:
            refs = new_film_box(assoc, new_session(assoc), "STANDARD\\1,1")
            uid = refs.image_box_uids[0]
            status = assoc.set_image_box(uid, color_image_box(1, COLORS, 0))
            assert status == INVALID_ATTRIBUTE_VALUE
            assert assoc.set_image_box(uid, color_image_box(1, COLORS, 1)) == SUCCESS


@pytest.mark.parametrize("planar", [0, 1])
def test_color_image_fills_the_box_as_replicated_blocks(tmp_path, planar):
    """Every printed pixel of the square carries one of the four colors, a quadrant each."""
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server, color=True) as assoc:
            refs = new_film_box(assoc, new_session(assoc), "STANDARD\\1,1")
            assoc.set_image_box(refs.image_box_uids[0], color_image_box(1, COLORS, planar))
            print_film_box(assoc, refs)
        [film] = printed_films(tmp_path, 1)
    x, y, w, h = rects(film)[1]
    side = min(w, h)
    left, top = x + (w - side) // 2, y + (h - side) // 2
    with Image.open(tmp_path / film["film"]["files"]["png"]) as png:
        square = np.asarray(png)[top:top + side, left:left + side]
    half = side // 2
    for row in range(2):
        for column in range(2):
            # Stay 1 px clear of the seam, where nearest-neighbour rounding decides.
            block = square[row * half + row:(row + 1) * half - 1 + row,
                           column * half + column:(column + 1) * half - 1 + column]
            assert (block == COLORS[row, column]).all(), (row, column)

"""Pagination: which prepared images go on which film.

A film holds as many images as its Image Display Format (2010,0010) has
image boxes (PS3.3 C.13.3); images fill Image Box Positions 1, 2, ... in
order, and the last film may be partly empty.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from film.display_format import parse_display_format

if TYPE_CHECKING:
    from print_scu.prepared_image import PreparedImage

__all__ = ["boxes_per_film", "paginate"]


def boxes_per_film(display_format: str) -> int:
    """Number of image boxes of ``display_format`` (e.g. 6 for "STANDARD\\2,3")."""
    return parse_display_format(display_format).image_box_count


def paginate(images: list[PreparedImage], display_format: str) -> list[list[PreparedImage]]:
    """``images`` cut into films of :func:`boxes_per_film` images, in order.

    Index i of a film is Image Box Position i + 1. No images give no films.
    """
    per_film = boxes_per_film(display_format)
    return [images[start:start + per_film] for start in range(0, len(images), per_film)]

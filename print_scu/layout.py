"""Pagination: which prepared images go on which film.

A film holds as many images as its Image Display Format (2010,0010) has
image boxes (PS3.3 C.13.3); images fill Image Box Positions 1, 2, ... in
order, and the last film may be partly empty. CUSTOM\\i formats have the
number of boxes the printer's profile declares (``custom_formats``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from film.display_format import DisplayFormatKind, parse_display_format
from print_scu.options import OptionError

if TYPE_CHECKING:
    from print_scu.prepared_image import PreparedImage

__all__ = ["boxes_per_film", "paginate"]


def boxes_per_film(display_format: str, custom_formats: Mapping[str, int] | None = None) -> int:
    """Number of image boxes of ``display_format`` (e.g. 6 for "STANDARD\\2,3").

    A CUSTOM\\i format has the count ``custom_formats`` gives it; OptionError
    if it is not there.
    """
    if display_format.startswith(DisplayFormatKind.CUSTOM.value):
        declared = custom_formats or {}
        if display_format not in declared:
            raise OptionError(
                f"Image Display Format (2010,0010) {display_format}: the printer's profile "
                f"does not declare it (custom_formats: {', '.join(declared) or 'none'}), so "
                "its number of image boxes is unknown")
        return declared[display_format]
    return parse_display_format(display_format).image_box_count


def paginate(images: list[PreparedImage], display_format: str,
             custom_formats: Mapping[str, int] | None = None) -> list[list[PreparedImage]]:
    """``images`` cut into films of :func:`boxes_per_film` images, in order.

    Index i of a film is Image Box Position i + 1. No images give no films.
    """
    per_film = boxes_per_film(display_format, custom_formats)
    return [images[start:start + per_film] for start in range(0, len(images), per_film)]

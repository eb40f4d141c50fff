"""Image Display Format (2010,0010): how many image boxes and where they lie.

PS3.3 C.13.3 defines the formats; C.13.5.1 numbers the Image Box Positions:

- ``STANDARD\\C,R``: C columns and R rows of equal boxes, numbered row by row
  (left to right, top to bottom) from 1 at the top left.
- ``ROW\\R1,R2,...``: rows of equal height stacked top to bottom, row i holding
  Ri equal boxes; numbered row by row like STANDARD.
- ``COL\\C1,C2,...``: columns of equal width from left to right, column j
  holding Cj equal boxes; numbered column by column (top to bottom, then
  left to right).
- ``SLIDE`` (35 mm slides) and ``SUPERSLIDE`` (40 mm slides): the standard
  leaves the count "configuration dependent". This printer uses the sheet of
  the 20-pocket slide page, 4 columns × 5 rows, for both (both slide sizes
  sit in the same 50 mm mount), numbered row by row as C.13.5.1 requires.
- ``CUSTOM\\i``: layout i of the printer configuration, given as
  (x, y, width, height) fractions of the printable area in position order.

Cells are fractions of the printable area, origin top left, in Image Box
Position order (index 0 is position 1).
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

__all__ = [
    "Cell", "DisplayFormatError", "DisplayFormatKind", "ImageDisplayFormat",
    "MAX_BOXES_PER_LINE", "SLIDE_GRID", "grid_cells", "parse_display_format",
]

Cell = tuple[float, float, float, float]
"""(x, y, width, height) as fractions of the printable area."""

MAX_BOXES_PER_LINE = 32
"""Most boxes in one row or column, and most rows or columns on a film."""

SLIDE_GRID = (4, 5)
"""(columns, rows) of a SLIDE or SUPERSLIDE film."""

_COUNT = re.compile(r"[0-9]+")
_CELL_TOLERANCE = 1e-9


class DisplayFormatError(ValueError):
    """An Image Display Format value this printer cannot lay out."""


class DisplayFormatKind(str, Enum):
    """The keyword before the first backslash of Image Display Format."""

    STANDARD = "STANDARD"
    ROW = "ROW"
    COL = "COL"
    SLIDE = "SLIDE"
    SUPERSLIDE = "SUPERSLIDE"
    CUSTOM = "CUSTOM"


@dataclass(frozen=True)
class ImageDisplayFormat:
    """A parsed Image Display Format.

    ``values`` are the integers after the keyword: (C, R) for STANDARD, the
    per-row or per-column counts for ROW and COL, (i,) for CUSTOM, () for the
    slide formats. ``layout`` holds the cells in Image Box Position order.
    """

    kind: DisplayFormatKind
    values: tuple[int, ...]
    layout: tuple[Cell, ...]

    @property
    def image_box_count(self) -> int:
        """Number of image boxes the film box holds."""
        return len(self.layout)

    def cells(self) -> list[Cell]:
        """(x, y, width, height) fractions of the printable area per position."""
        return list(self.layout)

    def __str__(self) -> str:
        if not self.values:
            return self.kind.value
        return f"{self.kind.value}\\{','.join(str(v) for v in self.values)}"


def grid_cells(columns: int, rows: int) -> list[Cell]:
    """Equal cells, row by row from the top left."""
    return [
        (c / columns, r / rows, 1 / columns, 1 / rows)
        for r in range(rows)
        for c in range(columns)
    ]


def _rows(counts: Sequence[int]) -> list[Cell]:
    """Rows stacked top to bottom, row i split into counts[i] equal cells."""
    n = len(counts)
    return [(c / k, r / n, 1 / k, 1 / n) for r, k in enumerate(counts) for c in range(k)]


def _columns(counts: Sequence[int]) -> list[Cell]:
    """Columns left to right, column j split into counts[j] equal cells.

    The transpose of ``_rows``: numbering runs down each column in turn.
    """
    return [(y, x, h, w) for x, y, w, h in _rows(counts)]


def _error(text: str, why: str) -> DisplayFormatError:
    return DisplayFormatError(f"Image Display Format (2010,0010) {text!r}: {why}")


def _counts(text: str, arguments: str) -> tuple[int, ...]:
    """Comma-separated counts, each 1..MAX_BOXES_PER_LINE."""
    items = arguments.split(",")
    if len(items) > MAX_BOXES_PER_LINE:
        raise _error(text, f"{len(items)} rows/columns, more than {MAX_BOXES_PER_LINE}")
    values = []
    for item in items:
        item = item.strip()
        if not _COUNT.fullmatch(item):
            raise _error(text, f"{item!r} is not a positive integer count")
        value = int(item)
        if not 1 <= value <= MAX_BOXES_PER_LINE:
            raise _error(text, f"count {value} is outside 1..{MAX_BOXES_PER_LINE}")
        values.append(value)
    return tuple(values)


def _custom_layout(
    text: str, arguments: str, custom_layouts: Mapping[int, Sequence[Cell]]
) -> tuple[tuple[int, ...], tuple[Cell, ...]]:
    item = arguments.strip()
    if not _COUNT.fullmatch(item):
        raise _error(text, f"CUSTOM id {item!r} is not a non-negative integer")
    index = int(item)
    if index not in custom_layouts:
        known = ", ".join(str(i) for i in sorted(custom_layouts)) or "none"
        raise _error(text, f"no CUSTOM layout {index} in the printer configuration "
                           f"(configured: {known})")
    configured = custom_layouts[index]
    if not configured:
        raise _error(text, f"CUSTOM layout {index} of the printer configuration is empty")
    cells: list[Cell] = []
    for position, cell in enumerate(configured, start=1):
        if not _cell_is_valid(cell):
            raise _error(text, f"CUSTOM layout {index}, position {position}: cell {cell!r} "
                               "is not (x, y, width, height) inside the unit square")
        x, y, w, h = (float(v) for v in cell)
        cells.append((x, y, w, h))
    return (index,), tuple(cells)


def _cell_is_valid(cell: Sequence[float]) -> bool:
    if len(cell) != 4 or not all(isinstance(v, numbers.Real) for v in cell):
        return False
    x, y, w, h = cell
    return (
        all(math.isfinite(v) for v in cell)
        and x >= 0 and y >= 0 and w > 0 and h > 0
        and x + w <= 1 + _CELL_TOLERANCE and y + h <= 1 + _CELL_TOLERANCE
    )


def parse_display_format(
    text: str, custom_layouts: Mapping[int, Sequence[Cell]] | None = None
) -> ImageDisplayFormat:
    """Parse an Image Display Format value, e.g. ``STANDARD\\2,3``.

    Surrounding spaces (ST padding) and spaces around counts are ignored.
    ``custom_layouts`` maps CUSTOM ids to cells of the printer configuration.
    Raises DisplayFormatError naming the value and what is wrong with it.
    """
    keyword, backslash, arguments = text.strip().partition("\\")
    try:
        kind = DisplayFormatKind(keyword)
    except ValueError:
        allowed = ", ".join(k.value for k in DisplayFormatKind)
        raise _error(text, f"unknown format {keyword!r} (expected one of {allowed})") from None

    if kind in (DisplayFormatKind.SLIDE, DisplayFormatKind.SUPERSLIDE):
        if backslash:
            raise _error(text, f"{kind.value} takes no values, found {arguments!r}")
        return ImageDisplayFormat(kind, (), tuple(grid_cells(*SLIDE_GRID)))
    if not backslash:
        raise _error(text, f"{kind.value} needs values after a backslash")
    if "\\" in arguments:
        raise _error(text, f"unexpected text after the values: {arguments!r}")

    if kind is DisplayFormatKind.CUSTOM:
        values, cells = _custom_layout(text, arguments, custom_layouts or {})
        return ImageDisplayFormat(kind, values, cells)

    counts = _counts(text, arguments)
    if kind is DisplayFormatKind.STANDARD:
        if len(counts) != 2:
            raise _error(text, f"STANDARD needs exactly two values C,R, found {len(counts)}")
        return ImageDisplayFormat(kind, counts, tuple(grid_cells(*counts)))
    if kind is DisplayFormatKind.ROW:
        return ImageDisplayFormat(kind, counts, tuple(_rows(counts)))
    return ImageDisplayFormat(kind, counts, tuple(_columns(counts)))

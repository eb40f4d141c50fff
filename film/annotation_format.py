"""Annotation Display Formats: where the annotation boxes of a film lie.

An Annotation Display Format ID (2010,0030) names a printer-specific
arrangement of annotation boxes (PS3.3 C.13.3). Here each box is one line of
text along the top or the bottom edge of the sheet, inside the margins:

* ``edge``: ``top`` or ``bottom``;
* ``line``: 0 is the line nearest that edge, 1 the next one inwards, ...;
* ``x``, ``width``: fractions of the printable width (0..1);
* ``align``: ``left``, ``center`` or ``right`` within the box.

Every line is ``line_height_mm`` high; the lines used at an edge form a strip
that the image area gives up (see :func:`film.layout.layout_film`). Box
positions (Annotation Position, 1-based) follow the order of ``boxes``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

__all__ = ["AnnotationBoxGeometry", "AnnotationFormat", "Edge", "TextAlign"]

DEFAULT_LINE_HEIGHT_MM = 10.0


class Edge(str, Enum):
    """The edge of the sheet an annotation line runs along."""

    TOP = "top"
    BOTTOM = "bottom"


class TextAlign(str, Enum):
    """Horizontal alignment of annotation text within its box."""

    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


@dataclass(frozen=True)
class AnnotationBoxGeometry:
    """One annotation box: a line at an edge, a span of the printable width."""

    edge: Edge = Edge.BOTTOM
    line: int = 0
    x: float = 0.0  # fraction of the printable width
    width: float = 1.0  # fraction of the printable width
    align: TextAlign = TextAlign.LEFT

    def __post_init__(self) -> None:
        object.__setattr__(self, "edge", Edge(self.edge))
        object.__setattr__(self, "align", TextAlign(self.align))
        if not isinstance(self.line, int) or self.line < 0:
            raise ValueError(f"annotation box line must be an integer >= 0, got {self.line!r}")
        if not 0.0 <= self.x < 1.0:
            raise ValueError(f"annotation box x must be a fraction in [0, 1), got {self.x!r}")
        if not 0.0 < self.width <= 1.0 - self.x + 1e-9:
            raise ValueError(f"annotation box width must be in (0, 1 - x = {1 - self.x:g}], "
                             f"got {self.width!r}")


@dataclass(frozen=True)
class AnnotationFormat:
    """The annotation boxes of one Annotation Display Format ID, in position order."""

    boxes: tuple[AnnotationBoxGeometry, ...]
    line_height_mm: float = DEFAULT_LINE_HEIGHT_MM

    def __post_init__(self) -> None:
        if self.line_height_mm <= 0:
            raise ValueError(f"line_height_mm must be > 0, got {self.line_height_mm!r}")

    @classmethod
    def strip(cls, count: int, line_height_mm: float = DEFAULT_LINE_HEIGHT_MM
              ) -> AnnotationFormat:
        """``count`` equal boxes side by side on one line at the bottom, text left-aligned."""
        if count < 0:
            raise ValueError(f"annotation box count {count} is negative")
        return cls(tuple(AnnotationBoxGeometry(x=i / count, width=1 / count)
                         for i in range(count)), line_height_mm)

    def lines(self, edge: Edge) -> int:
        """How many lines the boxes use at ``edge`` (0: no strip there)."""
        return max((box.line + 1 for box in self.boxes if box.edge is edge), default=0)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form, read back by :meth:`from_json`."""
        return {"line_height_mm": self.line_height_mm,
                "boxes": [{"edge": b.edge.value, "line": b.line, "x": b.x, "width": b.width,
                           "align": b.align.value} for b in self.boxes]}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> AnnotationFormat:
        """The inverse of :meth:`to_json`; ValueError names a wrong value."""
        return cls(tuple(AnnotationBoxGeometry(**box) for box in doc["boxes"]),
                   float(doc.get("line_height_mm", DEFAULT_LINE_HEIGHT_MM)))

"""Annotation text: the fonts it is set in, where each run lies, and drawing it.

Text is set in TrueType fonts, each character in the first font of a
:class:`FontChain` that has a glyph for it. The chain is the profile's own
fonts, then the system fonts of :data:`SYSTEM_FONTS` that are installed, then
Bitstream Vera, which reportlab ships (Latin only), so there is always one.
A character no font has is drawn with the first font's missing-glyph box and
reported by :func:`set_text`, never dropped silently.

The same :class:`PlacedText` (font, size and position of every run, in pixels
of the film) draws the text into the density sheet and places the PDF's
text over it, so the two agree.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import reportlab
from PIL import Image, ImageDraw, ImageFont
from reportlab.pdfbase.ttfonts import TTFont

from film.annotation_format import TextAlign

__all__ = [
    "ANNOTATION_MAX_CHARS", "FontChain", "FontFace", "PlacedText", "SYSTEM_FONTS", "TextRun",
    "draw_text", "font_chain", "set_text", "split_by_font",
]

ANNOTATION_MAX_CHARS = 64  # LO, Text String (2030,0020)
FONT_FRACTION = 0.7  # font size / annotation box height
PADDING_FRACTION = 0.2  # padding at the aligned side / annotation box height

# Looked for in this order (Debian package names in the comments): Latin,
# Greek and Cyrillic first, then Japanese and Chinese.
SYSTEM_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),  # fonts-dejavu-core
    Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf"),  # fonts-noto-core
    Path("/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf"),  # fonts-liberation
    Path("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf"),  # fonts-ipafont-gothic
    Path("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf"),  # the same, by alternatives
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),  # fonts-wqy-zenhei
)
_BUNDLED_FONT = Path(reportlab.__file__).parent / "fonts" / "Vera.ttf"


@dataclass(frozen=True)
class FontFace:
    """One TrueType font file (the first face of a collection)."""

    path: Path

    @functools.cached_property
    def _ttf(self) -> TTFont:
        return TTFont(self.pdf_name, str(self.path), subfontIndex=0)

    @property
    def pdf_name(self) -> str:
        """The name the PDF writer registers the font under."""
        return f"filmbox-{self.path.stem}"

    @property
    def family(self) -> str:
        """The font's name as its file says it, for warnings and the README."""
        name = self._ttf.face.name
        return name.decode("ascii", "replace") if isinstance(name, bytes) else str(name)

    def has_glyph(self, char: str) -> bool:
        """True if the font maps ``char`` to a glyph of its own."""
        return ord(char) in self._ttf.face.charToGlyph

    def reportlab_font(self) -> TTFont:
        """The font as reportlab embeds it (subset, with a ToUnicode map)."""
        return self._ttf

    def pillow_font(self, size_px: float) -> ImageFont.FreeTypeFont:
        """The font at ``size_px`` pixels per em, for drawing."""
        return _pillow_font(self.path, round(size_px * 64) / 64)


@functools.lru_cache(maxsize=64)
def _pillow_font(path: Path, size_px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size=size_px, index=0)


@dataclass(frozen=True)
class FontChain:
    """Fonts in order of preference; each character goes to the first that has it."""

    faces: tuple[FontFace, ...]

    def face_for(self, char: str) -> FontFace | None:
        """The first face with a glyph for ``char``, or None."""
        return next((face for face in self.faces if face.has_glyph(char)), None)


@functools.lru_cache(maxsize=8)
def font_chain(extra_fonts: tuple[str, ...] = ()) -> FontChain:
    """``extra_fonts`` (paths), then the installed :data:`SYSTEM_FONTS`, then Vera.

    Raises ValueError naming a path in ``extra_fonts`` that is not a readable
    TrueType font.
    """
    faces = []
    for name in extra_fonts:
        face = FontFace(Path(name))
        try:
            face.has_glyph("A")
        except Exception as exc:  # reportlab raises its own error types for bad files
            raise ValueError(f"annotation font {name}: not a usable TrueType font ({exc})") from exc
        faces.append(face)
    faces.extend(FontFace(path.resolve()) for path in SYSTEM_FONTS if path.is_file())
    faces.append(FontFace(_BUNDLED_FONT))
    return FontChain(tuple(dict.fromkeys(faces)))


@dataclass(frozen=True)
class TextRun:
    """Consecutive characters set in one font; ``x_px`` is the left of the run."""

    face: FontFace
    text: str
    x_px: float
    width_px: float


@dataclass(frozen=True)
class PlacedText:
    """Annotation text as set: its runs on one baseline, in pixels of the sheet."""

    position: int  # Annotation Position
    text: str
    runs: tuple[TextRun, ...]
    baseline_px: float  # from the top of the sheet
    size_px: float  # pixels per em

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready form (font files by path), read back by :meth:`from_json`."""
        return {"position": self.position, "text": self.text, "baseline_px": self.baseline_px,
                "size_px": self.size_px,
                "runs": [{"font": str(r.face.path), "text": r.text, "x_px": r.x_px,
                          "width_px": r.width_px} for r in self.runs]}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> PlacedText:
        """The inverse of :meth:`to_json`."""
        runs = tuple(TextRun(FontFace(Path(r["font"])), r["text"], float(r["x_px"]),
                             float(r["width_px"])) for r in doc["runs"])
        return cls(int(doc["position"]), doc["text"], runs, float(doc["baseline_px"]),
                   float(doc["size_px"]))


def clean_text(text: str) -> str:
    """At most ANNOTATION_MAX_CHARS characters, control characters as spaces, trimmed."""
    return "".join(c if c.isprintable() else " " for c in text[:ANNOTATION_MAX_CHARS]).strip()


def set_text(position: int, text: str, rect_px: tuple[int, int, int, int], align: TextAlign,
             chain: FontChain) -> tuple[PlacedText | None, list[str]]:
    """Set ``text`` on one line of the box ``rect_px`` (x, y, width, height).

    The size is :data:`FONT_FRACTION` of the box height, reduced if the text
    is wider than the box. Returns the placed text (None if nothing is left
    to print) and one warning per character that no font has.
    """
    text = clean_text(text)
    x, y, w, h = rect_px
    if not text or w < 1 or h < 1:
        return None, []
    pieces, missing = split_by_font(text, chain)
    primary = chain.faces[0]
    size = h * FONT_FRACTION
    padding = h * PADDING_FRACTION
    width = _width(pieces, size)
    if width > w - 2 * padding:
        size *= max(w - 2 * padding, 1.0) / width
        width = _width(pieces, size)
    ascent, descent = primary.pillow_font(size).getmetrics()
    start = {TextAlign.LEFT: x + padding, TextAlign.CENTER: x + (w - width) / 2,
             TextAlign.RIGHT: x + w - padding - width}[align]
    runs = []
    for face, piece in pieces:
        advance = face.pillow_font(size).getlength(piece)
        runs.append(TextRun(face, piece, start, advance))
        start += advance
    warnings = [f"annotation box {position}: no installed font has a glyph for "
                f"U+{ord(c):04X} {unicodedata.name(c, 'UNNAMED')} {c!r}; it prints as the "
                f"missing-glyph box of {primary.family}" for c in missing]
    baseline = y + (h + ascent - descent) / 2
    return PlacedText(position, text, tuple(runs), baseline, size), warnings


def split_by_font(text: str, chain: FontChain) -> tuple[list[tuple[FontFace, str]], list[str]]:
    """Runs of ``text`` by font, and the characters no font has (in order, once each)."""
    pieces: list[tuple[FontFace, str]] = []
    missing: list[str] = []
    for char in text:
        face = chain.face_for(char)
        if face is None:
            face = chain.faces[0]
            if char not in missing:
                missing.append(char)
        if pieces and pieces[-1][0] == face:
            pieces[-1] = (face, pieces[-1][1] + char)
        else:
            pieces.append((face, char))
    return pieces, missing


def _width(pieces: Iterable[tuple[FontFace, str]], size_px: float) -> float:
    return sum(face.pillow_font(size_px).getlength(piece) for face, piece in pieces)


def draw_text(density: np.ndarray, placed: PlacedText, rect_px: tuple[int, int, int, int],
              od: float) -> None:
    """Draw ``placed`` at density ``od`` within ``rect_px``, antialiased edges blended."""
    x, y, w, h = rect_px
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for run in placed.runs:
        draw.text((run.x_px - x, placed.baseline_px - y), run.text, fill=255, anchor="ls",
                  font=run.face.pillow_font(placed.size_px))
    coverage = np.asarray(mask, dtype=np.float32) / np.float32(255)
    region = density[y:y + h, x:x + w]
    region += (np.float32(od) - region) * coverage

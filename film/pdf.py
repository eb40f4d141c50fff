"""PDF documents of films, built with reportlab.

Each film is one page exactly the size of the film (mm -> points at 72 pt
per inch) showing the light-box image over the whole page. The image is the
film PNG's own compressed rows (:class:`film.png.PngRaster`: FlateDecode with
PNG predictors), put in the PDF unchanged, so the pixels are compressed once
and never altered; copies of one film share one image. Annotation text lies
over the image where it is printed, as invisible text in the embedded
TrueType subset fonts (with a ToUnicode map), so it can be searched and
selected. A job document may end with report pages: lines of text on A4.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase import pdfdoc, pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from film.annotation_text import FontChain, FontFace, PlacedText, font_chain, split_by_font
from film.png import PngRaster

__all__ = ["FilmPage", "pdf_document"]

MM_PER_INCH = 25.4
POINTS_PER_INCH = 72.0
INVISIBLE = 3  # PDF text rendering mode: neither fill nor stroke
_COLOR_SPACES = {1: "DeviceGray", 3: "DeviceRGB"}
_REPORT_FONT_PT = 9.0
_REPORT_LEADING_PT = 12.0
_REPORT_MARGIN_PT = 42.0
_STANDARD_REPORT_FONT = "Helvetica"  # one of the PDF standard 14 fonts, never embedded
_NAME_DELIMITERS = frozenset(b"#()<>[]{}/%")


@dataclass(frozen=True)
class FilmPage:
    """One printed sheet: its light-box raster, its size, and its annotation text."""

    raster: PngRaster  # 8-bit gray or RGB, the whole sheet
    width_mm: float
    height_mm: float
    texts: tuple[PlacedText, ...] = ()  # in pixels of ``raster``


def pdf_document(pages: Sequence[FilmPage], info: Mapping[str, str],
                 report: Sequence[str] = ()) -> bytes:
    """A PDF of ``pages`` in order, then the ``report`` lines (if any) on A4 pages.

    ``info`` is the document information (Title, Author, ... and custom keys).
    """
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pageCompression=1)
    canvas._doc.info = _Info(info)  # reportlab keeps no custom keys of its own
    images: dict[int, str] = {}
    for page in pages:
        _film_page(canvas, page, images)
    if report:
        _report_pages(canvas, report, font_chain())
    canvas.save()
    return buffer.getvalue()


def _film_page(canvas: Canvas, page: FilmPage, images: dict[int, str]) -> None:
    raster = page.raster
    if raster.bit_depth != 8:
        raise ValueError(f"a {raster.bit_depth}-bit raster cannot be the PDF page image")
    width_pt = page.width_mm / MM_PER_INCH * POINTS_PER_INCH
    height_pt = page.height_mm / MM_PER_INCH * POINTS_PER_INCH
    canvas.setPageSize((width_pt, height_pt))
    name = images.get(id(raster))
    if name is None:
        name = images[id(raster)] = f"film{len(images) + 1}"
        document = canvas._doc
        document.addForm(name, _PngRowsImage(raster))
    canvas.saveState()
    canvas.scale(width_pt, height_pt)
    canvas.doForm(name)
    canvas.restoreState()
    scale = width_pt / raster.width, height_pt / raster.height  # pt per px
    for placed in page.texts:
        for run in placed.runs:
            _invisible_text(canvas, _registered(run.face), run.text, placed.size_px * scale[1],
                            run.x_px * scale[0], height_pt - placed.baseline_px * scale[1],
                            run.width_px * scale[0])
    canvas.showPage()


def _invisible_text(canvas: Canvas, font: str, text: str, size_pt: float, x_pt: float,
                    y_pt: float, width_pt: float) -> None:
    """``text`` at a baseline in registered font ``font``, scaled across the printed run's
    width, not drawn."""
    natural = pdfmetrics.stringWidth(text, font, size_pt)
    line = canvas.beginText(x_pt, y_pt)
    line.setTextRenderMode(INVISIBLE)
    line.setFont(font, size_pt)
    if natural > 0:
        line.setHorizScale(100.0 * width_pt / natural)
    line.textOut(text)
    canvas.drawText(line)


def _report_pages(canvas: Canvas, report: Sequence[str], chain: FontChain) -> None:
    """The report lines, wrapped to the page width, visible, on as many A4 pages as needed.

    In Helvetica, a font every PDF reader has, where every character of the report is
    one of its WinAnsi encoding's; else in the annotation fonts, embedded (a TrueType
    subset costs a report about 2 ms and 20 KB: measured on an 8×10 in film's job
    document, 4.8 ms and 534 KB with DejaVu Sans, 2.2 ms and 513 KB with Helvetica).
    """
    if all(_in_win_ansi(line) for line in report):
        _draw_report(canvas, report, _STANDARD_REPORT_FONT,
                     lambda line: [(_STANDARD_REPORT_FONT, line)])
    else:
        _draw_report(canvas, report, _registered(chain.faces[0]),
                     lambda line: [(_registered(face), piece)
                                   for face, piece in split_by_font(line, chain)[0]])


def _in_win_ansi(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _registered(face: FontFace) -> str:
    """The name of ``face``'s font in ReportLab, registered there."""
    font = face.reportlab_font()
    if font.fontName not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(font)
    return font.fontName


def _draw_report(canvas: Canvas, report: Sequence[str], wrap_font: str,
                 runs: Callable[[str], list[tuple[str, str]]]) -> None:
    """Draw ``report`` wrapped by the widths of font ``wrap_font``; ``runs(line)`` cuts a
    wrapped line into (font name, text) pieces."""
    width_pt, height_pt = A4
    lines = [piece for line in report
             for piece in (simpleSplit(line, wrap_font, _REPORT_FONT_PT,
                                       width_pt - 2 * _REPORT_MARGIN_PT) or [""])]
    per_page = int((height_pt - 2 * _REPORT_MARGIN_PT) // _REPORT_LEADING_PT)
    for first in range(0, len(lines), per_page):
        canvas.setPageSize(A4)
        y = height_pt - _REPORT_MARGIN_PT
        for line in lines[first:first + per_page]:
            x = _REPORT_MARGIN_PT
            for font, piece in runs(line):
                canvas.setFont(font, _REPORT_FONT_PT)
                canvas.drawString(x, y, piece)
                x += pdfmetrics.stringWidth(piece, font, _REPORT_FONT_PT)
            y -= _REPORT_LEADING_PT
        canvas.showPage()


class _PngRowsImage(pdfdoc.PDFObject):
    """An image XObject whose stream is a PNG's IDAT data, as it is."""

    def __init__(self, raster: PngRaster) -> None:
        self.raster = raster

    def format(self, document: Any) -> bytes:
        r = self.raster
        stream = pdfdoc.PDFStream(content=r.idat, filters=[])
        d = stream.dictionary
        d["Type"] = pdfdoc.PDFName("XObject")
        d["Subtype"] = pdfdoc.PDFName("Image")
        d["Width"] = r.width
        d["Height"] = r.height
        d["ColorSpace"] = pdfdoc.PDFName(_COLOR_SPACES[r.channels])
        d["BitsPerComponent"] = 8
        d["Filter"] = pdfdoc.PDFName("FlateDecode")
        d["DecodeParms"] = pdfdoc.PDFDictionary({
            "Predictor": 15, "Colors": r.channels, "BitsPerComponent": 8, "Columns": r.width})
        return bytes(stream.format(document))


class _Info(pdfdoc.PDFInfo):
    """Document information with any keys (escaped as PDF names), every value text."""

    def __init__(self, entries: Mapping[str, str]) -> None:
        super().__init__()
        self.entries = dict(entries)

    def format(self, document: Any) -> bytes:
        date = pdfdoc.PDFDate(ts=document._timeStamp, dateFormatter=self._dateFormatter)
        items = [_name(key) + b" " + _text(value, document) for key, value in self.entries.items()]
        items += [b"/CreationDate " + date.format(document), b"/ModDate " + date.format(document)]
        return b"<< " + b"\n ".join(items) + b" >>"


def _name(key: str) -> bytes:
    """A PDF name object; bytes outside printable ASCII, and delimiters, as #xx."""
    return b"/" + b"".join(
        bytes([byte]) if 0x21 <= byte <= 0x7E and byte not in _NAME_DELIMITERS
        else f"#{byte:02X}".encode("ascii")
        for byte in key.encode("utf-8", "replace"))


def _text(value: str, document: Any) -> bytes:
    """A PDF text string of any str; lone surrogates (undecodable input) become U+FFFD."""
    cleaned = value.encode("utf-16-be", "surrogatepass").decode("utf-16-be", "replace")
    return bytes(pdfdoc.PDFString(cleaned).format(document))

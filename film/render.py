"""Render a film: the optical density (OD) of every point of the sheet.

The sheet is drawn at ``FilmSpec.resolution_dpi`` from the layout of
:mod:`film.layout`:

1. The whole sheet starts at Border Density.
2. Every image box is filled with Empty Image Density; a box with an image
   then gets the image, converted to density by :func:`lut.pipeline.pixels_to_density`
   (polarity, the box's Presentation LUT or else the film box's, Min/Max
   Density, the viewing conditions), sized and placed by :func:`film.fit.fit_image`
   and clipped to [Min Density, Max Density]. Resampling is done in density
   (Pillow mode "F"): REPLICATE → nearest, BILINEAR → bilinear,
   CUBIC → bicubic; NONE, which normally needs no resampling, uses nearest
   when a requested size or decimation forces a change of size. Smoothing
   Type is not used.
3. Color images go into ``rgb`` / ``color_mask`` as they will be shown;
   REVERSE polarity inverts them. Their ``density`` is the visual density of
   their luma taken as 8-bit P-Values (no Presentation LUT: PS3.4 applies it
   to grayscale only).
4. Trim YES draws a frame of Max Density, 0.5 mm wide, just outside every
   printed image.
5. Annotation text is drawn at Max Density in its box of the film's
   Annotation Display Format (``FilmSpec.annotation_format``), one line,
   aligned as the format says and vertically centred, in TrueType fonts at
   70 % of the box height (:mod:`film.annotation_text`). The text is
   untrusted: it is cut to 64 characters (the length of LO) and control
   characters become spaces, then it is only drawn. A character no font has
   is a warning.

Without an ``annotation_format`` the boxes are one line at the bottom, divided
among as many boxes as the highest Annotation Position in
``FilmSpec.annotations``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from PIL import Image

from film.annotation_format import AnnotationFormat
from film.annotation_text import draw_text, font_chain, set_text
from film.display_format import parse_display_format
from film.fit import FitOutcome, fit_image
from film.layout import layout_film, mm_to_px
from film.model import FilmSpec, ImageBoxContent, ImagePixels, MagnificationType, RenderedFilm
from film.sizes import film_size_mm
from lut.density import ViewingConditions
from lut.luma import rgb_to_gray
from lut.pipeline import pixels_to_density
from lut.polarity import Polarity, inverts

__all__ = ["TRIM_WIDTH_MM", "render_film"]

TRIM_WIDTH_MM = 0.5
_BAND_BYTES = 1 << 20  # of a resized image, copied into the sheet at a time

_RESAMPLE = {
    MagnificationType.REPLICATE: Image.Resampling.NEAREST,
    MagnificationType.BILINEAR: Image.Resampling.BILINEAR,
    MagnificationType.CUBIC: Image.Resampling.BICUBIC,
    MagnificationType.NONE: Image.Resampling.NEAREST,
}

_OUTCOME_TEXT = {
    FitOutcome.DEMAGNIFIED: "demagnified to fit",
    FitOutcome.CROPPED: "cropped to fit",
    FitOutcome.DECIMATED: "decimated to fit",
    FitOutcome.FAIL: "larger than its box and may not be cropped or decimated, left empty",
}


@dataclass
class _Sheet:
    """The canvas being drawn: density (OD) and, once needed, color."""

    density: np.ndarray
    rgb: np.ndarray | None = None
    color_mask: np.ndarray | None = None

    def paint_color(self, x: int, y: int, rgb: np.ndarray) -> None:
        if self.rgb is None or self.color_mask is None:  # set together, on the first color
            self.rgb = np.zeros(self.density.shape + (3,), dtype=np.uint8)
            self.color_mask = np.zeros(self.density.shape, dtype=bool)
        h, w = rgb.shape[:2]
        self.rgb[y:y + h, x:x + w] = rgb
        self.color_mask[y:y + h, x:x + w] = True


def _viewing(spec: FilmSpec) -> ViewingConditions:
    """L0 and La of the spec; paper has no La term (PS3.14 §7.3)."""
    if spec.medium_type.is_reflective:
        return ViewingConditions.reflective(spec.illumination)
    return ViewingConditions(spec.illumination, spec.reflected_ambient_light)


def _resize_into(out: np.ndarray, array: np.ndarray, resample: Image.Resampling) -> None:
    """``array`` (float32 H×W or uint8 H×W×3) resampled to the size of ``out`` (of the same
    kind: a view of the sheet, or not), written into ``out``.

    Pillow resizes; its result is copied out :data:`_BAND_BYTES` at a time, since
    numpy's view of a whole Pillow image is a copy made through a list of encoder
    chunks (three images where one will do: 64 MB each for a 4000² box).
    """
    height, width = out.shape[:2]
    if array.shape[:2] == (height, width):
        out[...] = array
        return
    resized = Image.fromarray(array).resize((width, height), resample)
    rows = max(1, _BAND_BYTES // (out.nbytes // height))
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        out[top:bottom] = np.asarray(resized.crop((0, top, width, bottom)))


def _image_density_into(
    region: np.ndarray, spec: FilmSpec, box: ImageBoxContent, image: ImagePixels,
    pixels: np.ndarray, resample: Image.Resampling, viewing: ViewingConditions,
) -> np.ndarray | None:
    """Write the density (OD) of ``box``'s ``image``, already cropped, into ``region`` at
    its size; the image's rgb at that size if it is color, else None."""
    if image.is_color:
        rgb = np.empty(region.shape + (3,), dtype=np.uint8)
        _resize_into(rgb, pixels, resample)
        if inverts(image.photometric, box.polarity):
            np.subtract(255, rgb, out=rgb)
        region[...] = pixels_to_density(
            rgb_to_gray(rgb), 8, "MONOCHROME2", Polarity.NORMAL, None,
            spec.min_density, spec.max_density, viewing,
        )
        return rgb
    density = pixels_to_density(
        pixels, image.bits_stored, image.photometric, box.polarity,
        box.presentation_lut or spec.presentation_lut,
        spec.min_density, spec.max_density, viewing,
    )
    _resize_into(region, density, resample)
    return None


def contrast_curve(density: np.ndarray, min_od: float, max_od: float,
                   gamma: float) -> np.ndarray:
    """Densities (OD) through a contrast curve: the fraction of the way from ``min_od`` to
    ``max_od`` is raised to ``gamma`` (> 1 lighter mid-tones, < 1 darker); the ends stay."""
    span = np.float32(max_od - min_od)
    fraction = np.clip((density - np.float32(min_od)) / span, 0.0, 1.0)
    return np.float32(min_od) + span * fraction ** np.float32(gamma)


def _draw_trim(density: np.ndarray, rect: tuple[int, int, int, int], width: int, od: float) -> None:
    """A frame ``width`` px wide just outside ``rect``, clipped to the sheet."""
    x, y, w, h = rect
    top, left = max(0, y - width), max(0, x - width)
    bottom, right = y + h + width, x + w + width
    density[top:y, left:right] = od
    density[y + h:bottom, left:right] = od
    density[top:bottom, left:x] = od
    density[top:bottom, x + w:right] = od


def _render_image_box(
    sheet: _Sheet, spec: FilmSpec, box: ImageBoxContent, image: ImagePixels,
    rect: tuple[int, int, int, int], viewing: ViewingConditions, warnings: list[str],
    fit_codes: Mapping[FitOutcome, int],
) -> None:
    x, y, w, h = rect
    label = f"image box {box.position}: image {image.columns}x{image.rows}"
    if w < 1 or h < 1:
        warnings.append(
            f"{label} not printed: the box is under a pixel at {spec.resolution_dpi} dpi")
        return
    magnification = box.magnification_type or spec.magnification_type
    fit = fit_image(
        w, h, image.rows, image.columns, spec.resolution_dpi, magnification,
        box.requested_image_size_mm, box.decimate_crop, image.pixel_aspect_ratio,
    )
    if fit.outcome is not FitOutcome.FITS:
        code = fit_codes.get(fit.outcome)
        warnings.append(f"{label} {_OUTCOME_TEXT[fit.outcome]}"
                        + ("" if code is None else f" ({code:04X})"))
    if fit.outcome is FitOutcome.FAIL:
        return
    pixels = image.pixels
    if fit.crop is not None:
        cx, cy, cw, ch = fit.crop
        pixels = pixels[cy:cy + ch, cx:cx + cw]
    px, py = x + fit.offset_x, y + fit.offset_y
    region = sheet.density[py:py + fit.height, px:px + fit.width]
    rgb = _image_density_into(region, spec, box, image, pixels, _RESAMPLE[magnification],
                              viewing)
    if spec.contrast_gamma != 1.0:
        region[...] = contrast_curve(region, spec.min_density, spec.max_density,
                                     spec.contrast_gamma)
    smoothing = spec.smoothing_filters.get(box.smoothing_type or spec.smoothing_type or "")
    if smoothing is not None:  # applied at magnification: to the image as it lies in its box
        region[...] = smoothing.apply(region, spec.resolution_dpi)
        if rgb is not None:
            rgb = np.clip(smoothing.apply(rgb, spec.resolution_dpi), 0, 255).astype(np.uint8)
    np.clip(region, spec.min_density, spec.max_density, out=region)
    if rgb is not None:
        sheet.paint_color(px, py, rgb)
    if spec.trim:
        trim_px = max(1, mm_to_px(TRIM_WIDTH_MM, spec.resolution_dpi))
        _draw_trim(sheet.density, (px, py, fit.width, fit.height), trim_px, spec.max_density)


def render_film(spec: FilmSpec, fit_codes: Mapping[FitOutcome, int] | None = None
                ) -> RenderedFilm:
    """Render ``spec`` to a density sheet (see the module docstring for the rules).

    A warning about an image that did not fit its box as sent names the code
    ``fit_codes`` gives its outcome (the printer's status for it), if any.

    Raises ValueError (DisplayFormatError for the display format) for a film
    size, orientation or display format the printer cannot lay out.
    """
    width_mm, height_mm = film_size_mm(spec.film_size_id, spec.orientation)
    fmt = parse_display_format(spec.image_display_format, spec.custom_layouts)
    annotation_format = spec.annotation_format or AnnotationFormat.strip(
        max((a.position for a in spec.annotations), default=0))
    layout = layout_film(width_mm, height_mm, fmt, annotation_format, spec.margins_mm)
    dpi = spec.resolution_dpi
    viewing = _viewing(spec)
    sheet = _Sheet(np.full(
        (mm_to_px(height_mm, dpi), mm_to_px(width_mm, dpi)), spec.border_density,
        dtype=np.float32,
    ))
    warnings: list[str] = []

    box_rects = {p: r.to_pixels(dpi) for p, r in layout.image_boxes.items()}
    for x, y, w, h in box_rects.values():
        sheet.density[y:y + h, x:x + w] = spec.empty_image_density
    for box in spec.image_boxes:
        if box.position not in box_rects:
            warnings.append(f"image box {box.position}: no such position in {fmt}, ignored")
        elif box.image is not None:
            _render_image_box(sheet, spec, box, box.image, box_rects[box.position], viewing,
                              warnings, fit_codes or {})

    annotation_rects = {p: r.to_pixels(dpi) for p, r in layout.annotation_boxes.items()}
    chain = font_chain(spec.annotation_fonts)
    texts = []
    for annotation in spec.annotations:
        rect = annotation_rects.get(annotation.position)
        if rect is None:
            warnings.append(f"annotation box {annotation.position}: no such position, ignored")
            continue
        align = annotation_format.boxes[annotation.position - 1].align
        placed, missing_glyphs = set_text(annotation.position, annotation.text, rect, align, chain)
        warnings.extend(missing_glyphs)
        if placed is not None:
            draw_text(sheet.density, placed, rect, spec.max_density)
            texts.append(placed)

    return RenderedFilm(
        density=sheet.density,
        dpi=dpi,
        width_mm=width_mm,
        height_mm=height_mm,
        viewing=viewing,
        reflective=spec.medium_type.is_reflective,
        rgb=sheet.rgb,
        color_mask=sheet.color_mask,
        image_box_rects_px=box_rects,
        annotation_rects_px=annotation_rects,
        annotation_texts=texts,
        warnings=warnings,
    )

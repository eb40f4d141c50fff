"""DICOM image files to the P-Values (or RGB) sent in image boxes, and the Presentation LUT.

Every file is read and every selected frame decoded when a job is prepared,
so a file that is not DICOM, has no pixel data, or cannot be decoded is
reported (:class:`PrepareError`, one line naming the file and why) before
any job exists; with ``skip_invalid`` such files are left out and reported
one by one. Directories are read recursively, and the images ordered by
series (:mod:`print_scu.input_files`).

Grayscale frames go through the Modality LUT (or the Enhanced multi-frame
functional groups, :mod:`print_scu.frame_pixels`), then the job's window or
preset, else the file's own, else a window over the min..max of the values
of all frames of the image's series (``window_auto`` series), of the job
(job) or of the frame alone (frame): two passes, the first finding the
ranges, the second mapping frame by frame. Colour frames stay RGB for a
colour printer and become BT.601 luma for a grayscale one; a colour printer
gets grayscale frames as equal R, G, B. With ``overlays`` the 60xx overlay
planes are burnt in (:mod:`print_scu.overlays`). pydicom's warnings about
malformed input are not shown: what cannot be printed is an error.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.pixels import apply_color_lut, pixel_array

from lut.presentation import PresentationLUT, PresentationLUTError, PresentationLUTShape
from lut.windowing import WINDOW_PRESETS, AutoWindow, has_voi, value_extent
from print_scu.config import PrinterConfig
from print_scu.frame_pixels import FramePixels, has_functional_groups, is_color
from print_scu.input_files import (
    InputOrder,
    PrepareError,
    SeriesPosition,
    expand_paths,
    frame_count,
    one_line,
    read_dataset,
    series_order,
    transfer_syntax_name,
)
from print_scu.options import PLUT_SHAPES, OptionError, PrintOptions, frame_indices
from print_scu.overlays import burn_in_overlays
from print_scu.prepared_image import PreparedImage
from print_scu.request_attributes import p_value_bits, prints_color
from print_scu.resample import resample_images

__all__ = ["PrepareError", "load_plut", "prepare_files"]

RGB_BITS = 8  # a Basic Color Image Box carries 8 bits per sample (PS3.3 C.13.5)
_LUT_TEXT_SEPARATORS = re.compile(r"[\s,;]+")
#: Value Representations of the short text attributes PreparedImage.fields holds.
FIELD_VRS = frozenset({"AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO", "PN", "SH", "TM", "UI"})
FIELD_MAX_CHARS = 64


@dataclass
class _InputImage:
    """A readable input file found by the first pass."""

    position: SeriesPosition
    frames: list[int]  # 0-based indices to print
    extent: tuple[float, float] | None  # min, max of the values of all its frames, if needed


def prepare_files(paths: Sequence[Path], options: PrintOptions, printer: PrinterConfig,
                  on_skip: Callable[[PrepareError], None] | None = None
                  ) -> list[PreparedImage]:
    """The images of ``paths`` (files, or directories read recursively) in printing order.

    Every frame, or ``options.frames`` of multi-frame files; single-frame
    files always give their one frame. ``keep_monochrome1`` applies to
    grayscale printers only (RGB has no inverted form). Raises PrepareError
    for the first file that cannot be printed; with ``options.skip_invalid``
    each such file is passed to ``on_skip`` instead, and PrepareError is
    raised only if no image is left. OptionError for options the printer
    cannot honour (color on a grayscale printer, 12 bits on an 8-bit one,
    resampling for a printer of unknown dpi). With ``options.resample`` each
    image is resized to its image box (:func:`print_scu.resample.resample_images`).
    """
    color = prints_color(options, printer)
    bits = RGB_BITS if color else p_value_bits(options, printer)
    window = (options.window if options.window_preset is None
              else WINDOW_PRESETS[options.window_preset])
    auto = AutoWindow(options.window_auto)
    needs_extent = window is None and auto is not AutoWindow.FRAME
    files = expand_paths(paths)
    skipped = 0

    def skip_or_raise(error: PrepareError) -> None:
        nonlocal skipped
        if not options.skip_invalid:
            raise error
        skipped += 1
        if on_skip is not None:
            on_skip(error)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        found: list[_InputImage] = []
        for path in files:
            try:
                found.append(_survey(path, options, needs_extent))
            except PrepareError as error:
                skip_or_raise(error)
        order = series_order([image.position for image in found], InputOrder(options.order))
        inputs = [found[index] for index in order]
        ranges = _value_ranges(inputs, auto)
        images: list[PreparedImage] = []
        for image in inputs:
            try:
                images.extend(_prepare_file(image, options, color, window, bits,
                                            ranges.get(_range_key(image.position, auto))))
            except PrepareError as error:
                skip_or_raise(error)
    if not images:
        raise PrepareError(f"nothing to print: none of the {len(files)} file(s) given holds a "
                           f"printable image ({skipped} skipped)")
    return resample_images(images, options, printer) if options.resample else images


def _survey(path: Path, options: PrintOptions, needs_extent: bool) -> _InputImage:
    """First pass over one file: readable, its frames, its series and value extent (its
    pixel data is read from the file only for the extent: the second pass reads it)."""
    with _naming(path):
        ds = read_dataset(path, options.force, defer_pixels=True)
        count = frame_count(path, ds)
        try:
            indices = frame_indices(options.frames if count > 1 else None, count)
        except OptionError as exc:
            raise PrepareError(f"{path}: {exc}") from None
        extent = None
        if needs_extent and not is_color(ds) and not _has_own_voi(ds):
            pixels = FramePixels(ds)
            lows, highs = [], []
            for index in range(count):
                with _decoding(path, ds, index, count):
                    low, high = value_extent(pixels.values(index))
                lows.append(low)
                highs.append(high)
            extent = (min(lows), max(highs))
        return _InputImage(SeriesPosition.of(path, ds), indices, extent)


def _has_own_voi(ds: Dataset) -> bool:
    """Whether a classic image carries a window or VOI LUT (Enhanced: per frame, unknown)."""
    return not has_functional_groups(ds) and has_voi(ds)


def _range_key(position: SeriesPosition, auto: AutoWindow) -> str | None:
    """The group whose frames share an automatic window: the series, the job, or none."""
    if auto is AutoWindow.SERIES:
        return position.series
    return "" if auto is AutoWindow.JOB else None


def _value_ranges(inputs: list[_InputImage],
                  auto: AutoWindow) -> dict[str | None, tuple[float, float]]:
    """(min, max) of the values of every group of images (:func:`_range_key`)."""
    ranges: dict[str | None, tuple[float, float]] = {}
    for image in inputs:
        key = _range_key(image.position, auto)
        if image.extent is None or key is None:
            continue
        low, high = ranges.get(key, (math.inf, -math.inf))
        ranges[key] = (min(low, image.extent[0]), max(high, image.extent[1]))
    return ranges


def _prepare_file(image: _InputImage, options: PrintOptions, color: bool,
                  window: tuple[float, float] | None, bits: int,
                  value_range: tuple[float, float] | None) -> list[PreparedImage]:
    """Second pass over one file: its selected frames as prepared images."""
    path = image.position.path
    with _naming(path):
        ds = read_dataset(path, options.force)
        count = frame_count(path, ds)
        fields = text_fields(ds)
        pixels = FramePixels(ds)
        prepared = []
        for index in image.frames:
            with _decoding(path, ds, index, count):
                frame, photometric = _frame(ds, pixels, index, color, window, bits,
                                            options.keep_monochrome1, value_range)
                if options.overlays:
                    frame = burn_in_overlays(frame, ds, index, _brightest(photometric, bits))
            prepared.append(PreparedImage(frame, photometric, bits, f"{path}#{index + 1}",
                                          pixel_spacing_mm=pixel_spacing_mm(ds, index),
                                          fields=fields))
        return prepared


@contextmanager
def _naming(path: Path) -> Iterator[None]:
    """Any failure inside as a PrepareError naming ``path``: never a traceback."""
    try:
        yield
    except PrepareError:
        raise
    except Exception as exc:  # malformed input reaches pydicom and highdicom in many ways
        raise PrepareError(f"{path}: cannot be printed: {one_line(exc)}") from exc


@contextmanager
def _decoding(path: Path, ds: Dataset, index: int, count: int) -> Iterator[None]:
    """A failure inside as "PATH: cannot decode or convert frame N of M (syntax): why"."""
    try:
        yield
    except Exception as exc:  # pydicom's decoders raise many kinds on bad data
        raise PrepareError(f"{path}: cannot decode or convert frame {index + 1} of {count} "
                           f"({transfer_syntax_name(ds)}): {one_line(exc)}") from exc


def _frame(ds: Dataset, pixels: FramePixels, index: int, color: bool,
           window: tuple[float, float] | None, bits: int, keep_monochrome1: bool,
           value_range: tuple[float, float] | None) -> tuple[np.ndarray, str]:
    """Pixels and Photometric Interpretation of frame ``index`` (0-based) as sent."""
    if color and is_color(ds):
        return _rgb(ds, index), "RGB"
    p_values, photometric = pixels.p_values(index, window, bits, keep_monochrome1 and not color,
                                            value_range)
    if color:  # equal samples: the gray P-Values on a colour printer
        return np.repeat(p_values[..., np.newaxis], 3, axis=2), "RGB"
    return p_values, photometric


def _brightest(photometric: str, bits: int) -> int | tuple[int, int, int]:
    """White in pixels of ``photometric``: the overlay colour."""
    if photometric == "RGB":
        return (255, 255, 255)
    return 0 if photometric == "MONOCHROME1" else 2**bits - 1


def _rgb(ds: Dataset, index: int) -> np.ndarray:
    """Frame ``index`` as uint8 RGB (pydicom converts YBR to RGB; palettes are applied).

    Samples of more than 8 bits (Bits Stored, or a palette's 16-bit entries)
    are scaled to 0..255.
    """
    pixels = pixel_array(ds, index=index)
    if str(ds.PhotometricInterpretation).strip() == "PALETTE COLOR":
        pixels = apply_color_lut(pixels, ds)
        top = np.iinfo(pixels.dtype).max
    else:
        top = 2 ** int(ds.BitsStored) - 1
    if top == 255:
        return pixels.astype(np.uint8)
    return np.rint(pixels * (255.0 / top)).astype(np.uint8)


def text_fields(ds: Dataset) -> dict[str, str]:
    """The data set's short text attributes by keyword (top level, standard ones only).

    Values of the VRs in FIELD_VRS of at most FIELD_MAX_CHARS characters,
    multiple values joined by backslashes; for annotation templates.
    """
    fields = {}
    for element in ds:
        if element.VR not in FIELD_VRS or not element.keyword or element.tag.is_private:
            continue
        try:
            value = element.value
            text = ("\\".join(str(v) for v in value) if isinstance(value, MultiValue)
                    else str(value if value is not None else ""))
        except Exception:  # a value pydicom cannot convert: left out, not printed wrongly
            continue
        if text and len(text) <= FIELD_MAX_CHARS and text.isprintable():
            fields[element.keyword] = text
    return fields


def pixel_spacing_mm(ds: Dataset, index: int) -> tuple[float, float] | None:
    """(row, column) spacing of frame ``index`` in mm at the anatomy, None if not given.

    Pixel Spacing (0028,0030): at the top level, else in the frame's or the
    shared Pixel Measures functional group; else Imager Pixel Spacing
    (0018,1164) divided by Estimated Radiographic Magnification Factor
    (0018,1114; 1 if absent). A malformed or non-positive value counts as
    not given.
    """
    spacing = ds.get("PixelSpacing")
    if spacing is None:
        for group in _frame_groups(ds, index):
            measures = group.get("PixelMeasuresSequence")
            if measures and "PixelSpacing" in measures[0]:
                spacing = measures[0].PixelSpacing
                break
    magnification = 1.0
    if spacing is None and "ImagerPixelSpacing" in ds:
        spacing = ds.ImagerPixelSpacing
        magnification = _positive(ds.get("EstimatedRadiographicMagnificationFactor")) or 1.0
    try:
        row, column = (_positive(v) for v in spacing)
    except (TypeError, ValueError):
        return None
    if row is None or column is None:
        return None
    return row / magnification, column / magnification


def _frame_groups(ds: Dataset, index: int) -> list[Dataset]:
    """The frame's Per-frame Functional Groups item, then the Shared one (those present)."""
    groups = []
    per_frame = ds.get("PerFrameFunctionalGroupsSequence")
    if per_frame and index < len(per_frame):
        groups.append(per_frame[index])
    shared = ds.get("SharedFunctionalGroupsSequence")
    if shared:
        groups.append(shared[0])
    return groups


def _positive(value: object) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if number > 0 and math.isfinite(number) else None


#: Prefix of a Presentation LUT table stored inline in a job's options (see inline_plut).
INLINE_TABLE = "TABLE:"


def load_plut(spec: str | None, bits: int) -> Dataset | None:
    """Presentation LUT N-CREATE attribute list for ``spec``, None when ``spec`` is None.

    ``spec`` is a shape (IDENTITY, LIN OD) or a LUT file: a DICOM file
    holding Presentation LUT Sequence (2050,0010) (e.g. from DCMTK's
    dcmmklut), or a text file of integers (separated by spaces, commas or
    newlines; "#" starts a comment) giving LUT Descriptor (number of entries,
    first value mapped = 0, bits per entry 10..16), then LUT Data. A table
    needs 2**bits entries for images of ``bits`` bits (PS3.3 C.11.4.1).
    Raises PrepareError naming the file, the attribute and why.
    """
    if spec is None:
        return None
    shape = spec.strip().upper()
    if shape in PLUT_SHAPES:
        return PresentationLUT(shape=PresentationLUTShape(shape)).to_dataset()
    if spec.startswith(INLINE_TABLE):
        source, data = "stored Presentation LUT", spec[len(INLINE_TABLE):].encode("ascii")
        try:
            lut = _text_lut(Path(source), data)
            lut.check_bits(bits)
        except PresentationLUTError as exc:
            raise PrepareError(f"{source}: not a usable Presentation LUT: {exc}") from None
        return lut.to_dataset()
    path = Path(spec)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PrepareError(f"{path}: cannot read Presentation LUT file: "
                           f"{exc.strerror or exc}") from None
    try:
        lut = _dicom_lut(path) if data[128:132] == b"DICM" else _text_lut(path, data)
        lut.check_bits(bits)
    except PresentationLUTError as exc:
        raise PrepareError(f"{path}: not a usable Presentation LUT: {exc}") from None
    return lut.to_dataset()


def inline_plut(spec: str | None, bits: int) -> str | None:
    """``spec`` with a LUT file replaced by its table, for storing in a queued job.

    A job keeps every option at submit time so its input files may vanish
    afterwards; a LUT file is one of them. Shapes pass through unchanged.
    """
    dataset = load_plut(spec, bits)
    if dataset is None or "PresentationLUTShape" in dataset:
        return spec
    lut = PresentationLUT.from_dataset(dataset)
    if lut.descriptor is None or lut.data is None:  # a shape, passed through as above
        return spec
    numbers = [*lut.descriptor, *(int(v) for v in lut.data)]
    return INLINE_TABLE + " ".join(str(n) for n in numbers)


def _dicom_lut(path: Path) -> PresentationLUT:
    try:
        ds = dcmread(path)
    except Exception as exc:  # malformed data set
        raise PrepareError(f"{path}: unreadable DICOM Presentation LUT file: {exc}") from exc
    return PresentationLUT.from_dataset(ds)


def _text_lut(path: Path, data: bytes) -> PresentationLUT:
    lines = data.decode("ascii", errors="replace").splitlines()
    words = [word for line in lines
             for word in _LUT_TEXT_SEPARATORS.split(line.partition("#")[0]) if word]
    try:
        numbers: list[Any] = [int(word) for word in words]
    except ValueError:
        bad = next(word for word in words if not word.lstrip("-").isdigit())
        raise PrepareError(f"{path}: Presentation LUT text file holds {bad!r}, not an "
                           "integer (expected LUT Descriptor then LUT Data)") from None
    if len(numbers) < 3:
        raise PrepareError(f"{path}: Presentation LUT text file needs LUT Descriptor "
                           "(entries, 0, bits per entry) then LUT Data; it holds "
                           f"{len(numbers)} number(s)")
    return PresentationLUT(shape=None, descriptor=tuple(numbers[:3]),
                           data=np.array(numbers[3:]))

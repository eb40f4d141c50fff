"""DICOM image files to the P-Values (or RGB) sent in image boxes, and the Presentation LUT.

Every file is read and every selected frame decoded when a job is prepared,
so a file that is not DICOM, has no pixel data, or cannot be decoded is
reported (:class:`PrepareError`, naming the file and why) before any job
exists. Grayscale frames go through :func:`lut.windowing.to_p_values`
(Modality LUT, then VOI: the job's window or preset, else the file's);
colour frames stay RGB for a colour printer and become BT.601 luma for a
grayscale one; a colour printer gets grayscale frames as equal R, G, B.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import apply_color_lut, get_decoder, pixel_array
from pydicom.uid import UID

from lut.presentation import PresentationLUT, PresentationLUTError, PresentationLUTShape
from lut.windowing import WINDOW_PRESETS, to_p_values
from print_scu.config import PrinterConfig
from print_scu.options import PLUT_SHAPES, OptionError, PrintOptions, frame_indices
from print_scu.prepared_image import PreparedImage
from print_scu.request_attributes import p_value_bits, prints_color
from print_scu.resample import resample_images

__all__ = ["PrepareError", "load_plut", "prepare_files"]

RGB_BITS = 8  # a Basic Color Image Box carries 8 bits per sample (PS3.3 C.13.5)
PIXEL_DATA_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_LUT_TEXT_SEPARATORS = re.compile(r"[\s,;]+")


class PrepareError(Exception):
    """An input file that cannot be printed; the message starts with the file's path."""


def prepare_files(paths: list[Path], options: PrintOptions,
                  printer: PrinterConfig) -> list[PreparedImage]:
    """The images of ``paths`` in order: every frame, or ``options.frames`` of multi-frame files.

    Single-frame files always give their one frame. ``keep_monochrome1``
    applies to grayscale printers only (RGB has no inverted form). Raises
    PrepareError for the first file that cannot be printed, OptionError for
    options the printer cannot honour (color on a grayscale printer, 12 bits
    on an 8-bit one, resampling for a printer of unknown dpi). With
    ``options.resample`` each image is resized to its image box
    (:func:`print_scu.resample.resample_images`).
    """
    color = prints_color(options, printer)
    bits = RGB_BITS if color else p_value_bits(options, printer)
    window = (options.window if options.window_preset is None
              else WINDOW_PRESETS[options.window_preset])
    images = []
    for path in paths:
        ds = read_image(path)
        frame_count = int(ds.get("NumberOfFrames") or 1)
        try:
            indices = frame_indices(options.frames if frame_count > 1 else None, frame_count)
        except OptionError as exc:
            raise PrepareError(f"{path}: {exc}") from None
        for index in indices:
            try:
                pixels, photometric = _frame(ds, index, color, window, bits,
                                             options.keep_monochrome1)
            except Exception as exc:  # pydicom's decoders raise many kinds on bad data
                raise PrepareError(f"{path}: cannot decode or convert frame {index + 1} of "
                                   f"{frame_count} ({_syntax(ds)}): {exc}") from exc
            images.append(PreparedImage(pixels, photometric, bits, f"{path}#{index + 1}"))
    return resample_images(images, options, printer) if options.resample else images


def read_image(path: Path) -> Dataset:
    """The dataset of a DICOM file with pixel data that an installed plugin can decode.

    Raises PrepareError "PATH: not a DICOM file (...)", "PATH: has no pixel
    data (...)" or "PATH: cannot decode ... (install ...)".
    """
    try:
        ds = dcmread(path)
    except InvalidDicomError:
        raise PrepareError(f"{path}: not a DICOM file (no 'DICM' prefix after the "
                           "128-byte preamble)") from None
    except OSError as exc:
        raise PrepareError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # a truncated or malformed data set
        raise PrepareError(f"{path}: not a readable DICOM file: {exc}") from exc
    if not any(keyword in ds for keyword in PIXEL_DATA_KEYWORDS):
        sop_class = UID(str(ds.get("SOPClassUID", ""))).name or "not given"
        raise PrepareError(f"{path}: has no pixel data (no Pixel Data (7FE0,0010); "
                           f"SOP Class: {sop_class})")
    _check_decoder(path, ds)
    return ds


def _syntax(ds: Dataset) -> str:
    """The name of the file's transfer syntax (checked by :func:`read_image`), for messages."""
    return UID(ds.file_meta.TransferSyntaxUID).name


def _check_decoder(path: Path, ds: Dataset) -> None:
    """PrepareError unless pydicom has a working decoder for the file's transfer syntax."""
    uid = ds.file_meta.get("TransferSyntaxUID")
    if uid is None:
        raise PrepareError(f"{path}: cannot decode: the file meta has no Transfer Syntax "
                           "UID (0002,0010)")
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        raise PrepareError(f"{path}: cannot decode pixel data in transfer syntax "
                           f"{UID(uid).name} ({uid}): no decoder exists for it") from None
    if not decoder.is_available:
        # pydicom words each as "PLUGIN - requires PACKAGES"
        choices = " | ".join(dependency.partition(" - requires ")[2] or dependency
                             for dependency in decoder.missing_dependencies)
        raise PrepareError(f"{path}: cannot decode pixel data in transfer syntax "
                           f"{UID(uid).name} ({uid}): no decoding plugin is installed "
                           f"(install one of: {choices})")


def _frame(ds: Dataset, index: int, color: bool, window: tuple[float, float] | None,
           bits: int, keep_monochrome1: bool) -> tuple[np.ndarray, str]:
    """Pixels and Photometric Interpretation of frame ``index`` (0-based) as sent."""
    is_color = _is_color(ds)
    if color and is_color:
        return _rgb(ds, index), "RGB"
    p_values, photometric = to_p_values(ds, index, window, bits,
                                        keep_monochrome1 and not color)
    if color:  # equal samples: the gray P-Values on a colour printer
        return np.repeat(p_values[..., np.newaxis], 3, axis=2), "RGB"
    return p_values, photometric


def _is_color(ds: Dataset) -> bool:
    return (int(ds.get("SamplesPerPixel", 1)) == 3
            or str(ds.get("PhotometricInterpretation", "")).strip() == "PALETTE COLOR")


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

"""The input files of a print job: directories walked, files read (also without file meta), ordered.

Every failure is a :class:`PrepareError` whose message starts with the
file's path and says why in one line. ``force`` reads data sets without a
128-byte preamble and File Meta Information, as DCMTK's ``+f`` does: the
transfer syntax is guessed from the encoding of the first elements (implicit
or explicit VR, little or big endian); compressed pixel data without a
Transfer Syntax UID cannot be told apart and is refused.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError
from pydicom.pixels import get_decoder
from pydicom.uid import UID, ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

__all__ = ["InputOrder", "PrepareError", "SeriesPosition", "expand_paths", "frame_count",
           "one_line", "read_dataset", "series_order", "transfer_syntax_name"]

PIXEL_DATA_KEYWORDS = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")

#: Transfer syntax of a data set without file meta, by pydicom's (implicit VR, little endian).
_GUESSED_SYNTAX = {
    (True, True): ImplicitVRLittleEndian,
    (False, True): ExplicitVRLittleEndian,
    (False, False): ExplicitVRBigEndian,
}


class PrepareError(Exception):
    """An input file that cannot be printed; the message starts with the file's path."""


class InputOrder(Enum):
    """The order in which the images of a job are printed."""

    SERIES = "series"  # by study, Series Number, series, then Instance Number and file name
    FILES = "files"  # as given on the command line (directories: file names sorted)


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """``paths`` with each directory replaced by the files below it, recursively.

    Within a directory, entries are taken in sorted name order; hidden files
    and directories (names starting with ".") are left out.
    """
    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        for root, directories, names in os.walk(path):
            directories[:] = sorted(d for d in directories if not d.startswith("."))
            files.extend(Path(root) / name for name in sorted(names) if not name.startswith("."))
    return files


#: Values larger than this (bytes) are left in the file by ``read_dataset(defer_pixels=True)``.
DEFERRED_BYTES = 64 * 1024


def read_dataset(path: Path, force: bool = False, *, defer_pixels: bool = False) -> Dataset:
    """The data set of a DICOM file with pixel data that an installed plugin can decode.

    With ``force``, a data set without preamble and file meta is read too
    (its transfer syntax guessed). With ``defer_pixels``, values of more than
    :data:`DEFERRED_BYTES` (the pixel data, mostly) are read from the file only
    if they are used (pydicom's ``defer_size``). Raises PrepareError "PATH:
    not a DICOM file (...)", "PATH: has no pixel data (...)", "PATH: cannot
    decode ...".
    """
    try:
        ds = dcmread(path, force=force, defer_size=DEFERRED_BYTES if defer_pixels else None)
    except InvalidDicomError:
        raise PrepareError(f"{path}: not a DICOM file (no 'DICM' prefix after the 128-byte "
                           "preamble; --force reads a data set without one)") from None
    except OSError as exc:
        raise PrepareError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except Exception as exc:  # a truncated or malformed data set
        raise PrepareError(f"{path}: not a readable DICOM file: {one_line(exc)}") from None
    if not any(keyword in ds for keyword in PIXEL_DATA_KEYWORDS):
        sop_class = UID(str(ds.get("SOPClassUID", ""))).name or "not given"
        raise PrepareError(f"{path}: has no pixel data (no Pixel Data (7FE0,0010); "
                           f"SOP Class: {sop_class})")
    if force and "TransferSyntaxUID" not in ds.file_meta:
        _guess_transfer_syntax(path, ds)
    _check_decoder(path, ds)
    return ds


def _guess_transfer_syntax(path: Path, ds: Dataset) -> None:
    """Set the Transfer Syntax UID of a data set read without one from how it was encoded."""
    if "PixelData" in ds and ds["PixelData"].is_undefined_length:
        raise PrepareError(f"{path}: no Transfer Syntax UID (0002,0010) and the pixel data is "
                           "encapsulated (compressed): its transfer syntax cannot be guessed")
    encoding = getattr(ds, "original_encoding", (True, True))
    ds.file_meta.TransferSyntaxUID = _GUESSED_SYNTAX.get(encoding, ImplicitVRLittleEndian)


def _check_decoder(path: Path, ds: Dataset) -> None:
    """PrepareError unless pydicom has a working decoder for the file's transfer syntax."""
    uid = ds.file_meta.get("TransferSyntaxUID")
    if uid is None:
        raise PrepareError(f"{path}: cannot decode: the file meta has no Transfer Syntax "
                           "UID (0002,0010) (--force guesses it)")
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


def transfer_syntax_name(ds: Dataset) -> str:
    """The name of the data set's transfer syntax (checked by :func:`read_dataset`)."""
    return UID(ds.file_meta.TransferSyntaxUID).name


def frame_count(path: Path, ds: Dataset) -> int:
    """Number of Frames (0028,0008), 1 if absent; PrepareError if it is not a positive integer."""
    value = ds.get("NumberOfFrames")
    if value is None or value == "":
        return 1
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise PrepareError(f"{path}: Number of Frames (0028,0008) {str(value)!r} is not an "
                           "integer") from None
    if count < 1:
        raise PrepareError(f"{path}: Number of Frames (0028,0008) {count} is not at least 1")
    return count


@dataclass(frozen=True)
class SeriesPosition:
    """Where an image file belongs in a job: its series and place in it.

    ``series`` is the Series Instance UID, or the file's path for a file
    without one (its own series).
    """

    path: Path
    study: str
    series_number: float
    series: str
    instance_number: float

    @classmethod
    def of(cls, path: Path, ds: Dataset) -> SeriesPosition:
        return cls(path=path, study=str(ds.get("StudyInstanceUID") or ""),
                   series_number=_number(ds.get("SeriesNumber")),
                   series=str(ds.get("SeriesInstanceUID") or path),
                   instance_number=_number(ds.get("InstanceNumber")))


def series_order(positions: Sequence[SeriesPosition], order: InputOrder) -> list[int]:
    """Indices of ``positions`` in printing order.

    SERIES keeps studies in the order they first appear and orders their
    series by Series Number (absent: last), then by first appearance; images
    of a series by Instance Number (absent: last), then file name. FILES
    keeps the given order.
    """
    if order is InputOrder.FILES:
        return list(range(len(positions)))
    first_study: dict[str, int] = {}
    first_series: dict[str, int] = {}
    for index, position in enumerate(positions):
        first_study.setdefault(position.study, index)
        first_series.setdefault(position.series, index)

    def key(index: int) -> tuple[int, float, int, float, str]:
        p = positions[index]
        return (first_study[p.study], p.series_number, first_series[p.series],
                p.instance_number, str(p.path))
    return sorted(range(len(positions)), key=key)


def _number(value: object) -> float:
    """An IS element's value, infinity when absent or not a number (sorted last)."""
    try:
        return float(value) if value not in (None, "") else math.inf  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.inf


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (pydicom's decoders list their plugins on several)."""
    return " ".join(str(exc).split()) or type(exc).__name__

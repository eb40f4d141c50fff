"""Basic Grayscale and Color Image Box SOP Class N-SET (PS3.4 H.4.3).

The image arrives preformatted in Basic Grayscale Image Sequence (2020,0110)
or Basic Color Image Sequence (2020,0111). Every attribute of the item is
checked against the others and against the pixel data length before the
pixels are kept, and the image is fitted to its box to tell the SCU now what
the printed film will show (B604/B609/B60A, C603).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydicom.dataset import Dataset

from dicomnet.data_sets import pixel_bytes
from dicomnet.status import Status
from dicomnet.uids import BASIC_COLOR_IMAGE_BOX
from film.fit import FitOutcome, fit_image
from film.model import DecimateCropBehavior, ImagePixels, MagnificationType
from lut.polarity import Polarity
from lut.presentation import PresentationLUTError
from print_scp.fit_status import FIT_STATUS
from print_scp.profile import PrinterProfile
from print_scp.service.attributes import (
    describe_dataset,
    invalid,
    raw_value,
    read_float,
    read_int,
    read_single_item,
    read_term,
)
from print_scp.service.checks import (
    check_known_attributes,
    read_configuration_information,
    read_plut_reference,
)
from print_scp.service.context import AssociationContext
from print_scp.service.film_box import film_layout
from print_scp.service.objects import FilmBox, ImageBox
from print_scp.service.outcome import DicomStatusError, Outcome

_COMMON = ("ImageBoxPosition", "Polarity", "MagnificationType", "SmoothingType",
           "ConfigurationInformation", "RequestedImageSize", "RequestedDecimateCropBehavior")
GRAYSCALE_ATTRIBUTES = _COMMON + ("BasicGrayscaleImageSequence",
                                  "ReferencedPresentationLUTSequence")
COLOR_ATTRIBUTES = _COMMON + ("BasicColorImageSequence",)
_ITEM_ATTRIBUTES = ("SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns",
                    "PixelAspectRatio", "BitsAllocated", "BitsStored", "HighBit",
                    "PixelRepresentation", "PlanarConfiguration", "PixelData")


def update(ctx: AssociationContext, uid: str, ds: Dataset, requested_class_uid: str) -> Outcome:
    """N-SET: check everything, then replace the box's content in one step."""
    found = ctx.image_boxes.get(uid)
    if found is None:
        raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE, f"no Image Box {uid}")
    film_box, box = found
    if requested_class_uid != box.sop_class_uid:
        raise DicomStatusError(Status.CLASS_INSTANCE_CONFLICT,
                               f"Image Box {uid} is of class {box.sop_class_uid}")
    color = box.sop_class_uid == BASIC_COLOR_IMAGE_BOX
    outcome = Outcome()
    check_known_attributes(ctx, ds, COLOR_ATTRIBUTES if color else GRAYSCALE_ATTRIBUTES,
                           "Image Box N-SET", outcome)
    _check_position(ctx, film_box, box, ds)
    content = box.content
    polarity = read_term(ds, "Polarity", ("NORMAL", "REVERSE"))
    magnification = read_term(ds, "MagnificationType", ctx.profile.magnification_types)
    smoothing = read_term(ds, "SmoothingType", ctx.profile.smoothing_types)
    size_mm = read_float(ds, "RequestedImageSize")
    decimate = read_term(ds, "RequestedDecimateCropBehavior", ("DECIMATE", "CROP", "FAIL"))
    read_configuration_information(ctx, ds, outcome)
    reference = None if color else read_plut_reference(ctx, ds)

    sequence = "BasicColorImageSequence" if color else "BasicGrayscaleImageSequence"
    item = read_single_item(ds, sequence)
    if item is None:
        raise DicomStatusError(Status.MISSING_ATTRIBUTE, f"{sequence} is required", sequence)
    image = read_image(ctx, item, color, outcome, held_elsewhere=_bytes_held(ctx, box))
    decimate_crop = DecimateCropBehavior(decimate) if decimate else None
    try:
        lut = reference[1] if reference else film_box.settings.presentation_lut
        if lut is not None:
            try:
                lut.check_bits(image.bits_stored)
            except PresentationLUTError as exc:
                raise invalid("ReferencedPresentationLUTSequence", str(exc)) from exc
        magnification_type = MagnificationType(magnification
                                               or film_box.settings.magnification_type)
        _check_fit(ctx, film_box, box, image, magnification_type, size_mm, decimate_crop,
                   outcome)
    except BaseException:
        ctx.memory.release(image.pixels.nbytes)  # reserved by read_image, not kept
        raise

    # Everything checked: commit the new content.
    ctx.keep_image(box, image)
    if polarity is not None:
        content.polarity = Polarity(polarity)
    if magnification is not None:
        content.magnification_type = MagnificationType(magnification)
    if smoothing is not None:
        content.smoothing_type = smoothing
    if size_mm is not None:
        content.requested_image_size_mm = size_mm
    if decimate_crop is not None:
        content.decimate_crop = decimate_crop
    if reference is not None:
        box.presentation_lut_uid, content.presentation_lut = reference
    received = describe_dataset(ds)
    box.received.update(received)
    film_box.warnings.extend(outcome.warnings)
    return outcome


def _check_position(ctx: AssociationContext, film_box: FilmBox, box: ImageBox,
                    ds: Dataset) -> None:
    position = read_int(ds, "ImageBoxPosition")
    if position is None:
        ctx.deviation("Image Box N-SET without Image Box Position",
                      Status.MISSING_ATTRIBUTE, "ImageBoxPosition")
        return
    if position == box.position:
        return
    owner = film_box.image_boxes.get(position)
    if owner is not None:
        raise invalid("ImageBoxPosition", f"position {position} belongs to another image box "
                      f"(this one is {box.position})")
    raise invalid("ImageBoxPosition", f"{position} outside 1..{len(film_box.image_boxes)} "
                  f"(this box is {box.position})")


def read_image(ctx: AssociationContext, item: Dataset, color: bool, outcome: Outcome,
               held_elsewhere: int) -> ImagePixels:
    """The pixels of an image sequence item, after checking every attribute.

    ``held_elsewhere``: bytes of pixels the association's other image boxes
    hold; with this image they must stay within ``max_session_bytes``. The
    image's bytes are reserved in the printer's memory budget before the
    pixels are copied (C605 if it is full); the caller keeps or releases them.
    """
    profile = ctx.profile
    check_known_attributes(ctx, item, _ITEM_ATTRIBUTES, "image sequence item", outcome)
    for keyword in ("SamplesPerPixel", "PhotometricInterpretation", "Rows", "Columns",
                    "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
                    "PixelData"):
        if keyword not in item:
            raise DicomStatusError(Status.MISSING_ATTRIBUTE, f"{keyword} is required", keyword)
        if raw_value(item, keyword) is None:
            raise DicomStatusError(Status.MISSING_ATTRIBUTE_VALUE, f"{keyword} has no value",
                                   keyword)
    samples = read_int(item, "SamplesPerPixel")
    photometric = read_term(item, "PhotometricInterpretation",
                            ("RGB",) if color else ("MONOCHROME1", "MONOCHROME2"))
    if photometric is None:  # sent as white space only: a value that says nothing
        raise DicomStatusError(Status.MISSING_ATTRIBUTE_VALUE,
                               "PhotometricInterpretation has no value",
                               "PhotometricInterpretation")
    if samples != (3 if color else 1):
        raise invalid("SamplesPerPixel", f"{samples} for a {'color' if color else 'grayscale'} "
                      "image box")
    rows = read_int(item, "Rows")
    columns = read_int(item, "Columns")
    # read_int is None only for an absent or empty value, refused above
    assert rows is not None and columns is not None
    if rows > profile.max_image_rows or columns > profile.max_image_columns:
        raise DicomStatusError(Status.INSUFFICIENT_MEMORY,
                               f"image {columns}x{rows} exceeds this printer's "
                               f"{profile.max_image_columns}x{profile.max_image_rows}",
                               "Rows" if rows > profile.max_image_rows else "Columns")
    allocated = read_int(item, "BitsAllocated")
    stored = read_int(item, "BitsStored")
    high_bit = read_int(item, "HighBit")
    assert allocated is not None and stored is not None  # as rows and columns
    if read_int(item, "PixelRepresentation") != 0:
        raise invalid("PixelRepresentation", "must be 0 (unsigned)")
    if color:
        if (allocated, stored) != (8, 8):
            raise invalid("BitsStored", f"color needs 8 bits allocated and stored, "
                          f"not {allocated}/{stored}")
    elif (allocated, stored) not in ((8, 8), (16, 12), (16, 8)):
        raise invalid("BitsStored", f"{stored} bits stored in {allocated} allocated: "
                      "use 8 in 8 or 12 in 16")
    if stored == 12 and not profile.bits_12:
        raise invalid("BitsStored", "this printer prints 8-bit images only")
    if high_bit != stored - 1:
        raise invalid("HighBit", f"{high_bit} must be BitsStored - 1 = {stored - 1}")
    image_bytes = rows * columns * samples * (allocated // 8)
    _check_memory(profile, image_bytes, held_elsewhere)
    aspect = _aspect_ratio(item)
    planar = read_int(item, "PlanarConfiguration") if color else None
    if color and planar != 1:
        ctx.deviation(f"Planar Configuration {planar} for color (the standard requires 1)",
                      Status.INVALID_ATTRIBUTE_VALUE, "PlanarConfiguration")
    ctx.reserve_image(image_bytes)
    try:
        pixels = _pixels(item, rows, columns, samples, allocated, stored, planar)
    except BaseException:
        ctx.memory.release(image_bytes)
        raise
    return ImagePixels(pixels, photometric, stored, aspect)


def _bytes_held(ctx: AssociationContext, except_box: ImageBox) -> int:
    """Bytes of pixels in the association's image boxes, but ``except_box`` (being replaced)."""
    return sum(box.content.image.pixels.nbytes for _, box in ctx.image_boxes.values()
               if box is not except_box and box.content.image is not None)


def _check_memory(profile: PrinterProfile, image_bytes: int, held_elsewhere: int) -> None:
    """C605 (PS3.4 H.4.3.1.2.1.2) for an image the printer will not hold, before it is copied."""
    if image_bytes > profile.max_image_bytes:
        raise DicomStatusError(Status.INSUFFICIENT_MEMORY,
                               f"{image_bytes} B > max_image_bytes {profile.max_image_bytes}",
                               "PixelData")
    if held_elsewhere + image_bytes > profile.max_session_bytes:
        raise DicomStatusError(Status.INSUFFICIENT_MEMORY,
                               f"{held_elsewhere + image_bytes} B held > max_session_bytes "
                               f"{profile.max_session_bytes}", "PixelData")


def _aspect_ratio(item: Dataset) -> tuple[int, int]:
    value = raw_value(item, "PixelAspectRatio")
    if value is None:
        return (1, 1)
    try:
        vertical, horizontal = (int(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise invalid("PixelAspectRatio", "needs two integers") from exc
    if vertical < 1 or horizontal < 1:
        raise invalid("PixelAspectRatio", f"{vertical}\\{horizontal} must be positive")
    return vertical, horizontal


def _pixels(item: Dataset, rows: int, columns: int, samples: int, allocated: int,
            stored: int, planar: int | None) -> np.ndarray:
    data = raw_value(item, "PixelData")
    if not isinstance(data, (bytes, memoryview)):
        raise invalid("PixelData", "is empty")
    data = pixel_bytes(data)
    bytes_per_sample = allocated // 8
    expected = rows * columns * samples * bytes_per_sample
    if len(data) not in (expected, expected + 1 if expected % 2 else expected):
        raise invalid("PixelData", f"{len(data)} bytes, expected {expected} for "
                      f"{rows} rows x {columns} columns x {samples} samples x {allocated} bits")
    dtype = np.uint8 if bytes_per_sample == 1 else np.dtype("<u2")
    # A read-only view of the value where it arrived, in the message: 8-bit pixels in row
    # order are kept so, without a copy.
    flat: np.ndarray[Any, np.dtype[np.unsignedinteger[Any]]] = np.frombuffer(
        data, dtype=dtype, count=rows * columns * samples)
    if samples == 3:
        if planar == 1:
            return np.ascontiguousarray(flat.reshape(3, rows, columns).transpose(1, 2, 0))
        return flat.reshape(rows, columns, 3)
    pixels = flat.reshape(rows, columns)
    if allocated == 16:  # copied: unused high bits cleared on the way
        return np.bitwise_and(pixels, (1 << stored) - 1, dtype=np.uint16)
    return pixels


def _check_fit(ctx: AssociationContext, film_box: FilmBox, box: ImageBox, image: ImagePixels,
               magnification: MagnificationType, size_mm: float | None,
               decimate_crop: DecimateCropBehavior | None, outcome: Outcome) -> None:
    """Fit the image to its box now, so the SCU learns of C603/B604/B609/B60A at N-SET."""
    layout = film_layout(ctx, film_box.settings)
    dpi = ctx.profile.dpi_for(film_box.settings.requested_resolution_id)
    _, _, width, height = layout.image_boxes[box.position].to_pixels(dpi)
    size = size_mm if size_mm is not None else box.content.requested_image_size_mm
    behaviour = decimate_crop or box.content.decimate_crop
    try:
        fit = fit_image(width, height, image.rows, image.columns, dpi, magnification,
                        size, behaviour, image.pixel_aspect_ratio)
    except ValueError as exc:
        raise invalid("RequestedImageSize", str(exc)) from exc
    status = FIT_STATUS[fit.outcome]
    if fit.outcome is FitOutcome.FAIL:
        raise DicomStatusError(status,
                               f"image {image.columns}x{image.rows} larger than image box "
                               f"{box.position} ({width}x{height} px) and decimate/crop is FAIL",
                               "RequestedDecimateCropBehavior")
    if status is not Status.SUCCESS:
        outcome.warn(status,
                     f"image box {box.position}: image {image.columns}x{image.rows} "
                     f"{fit.outcome.value.lower()} to fit {width}x{height} px",
                     "RequestedImageSize")

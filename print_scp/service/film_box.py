"""Basic Film Box SOP Class operations (PS3.4 H.4.2): N-CREATE, N-SET, N-DELETE.

Printing a film box (N-ACTION) lives in :mod:`print_scp.service.printing`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from dicomnet.status import Status
from dicomnet.terms import RequestedResolution, Trim
from dicomnet.uids import (
    BASIC_ANNOTATION_BOX,
    BASIC_COLOR_IMAGE_BOX,
    BASIC_COLOR_PRINT_META,
    BASIC_FILM_SESSION,
    BASIC_GRAYSCALE_IMAGE_BOX,
    PRESENTATION_LUT,
)
from film.display_format import (
    DisplayFormatError,
    DisplayFormatKind,
    parse_display_format,
)
from film.layout import FilmLayout, annotation_format_of, layout_film
from film.model import AnnotationContent, ImageBoxContent, MagnificationType
from film.sizes import FilmOrientation, FilmSizeID, film_size_mm
from print_scp.service.attributes import (
    describe_dataset,
    invalid,
    read_density_term,
    read_enum,
    read_int,
    read_reference,
    read_term,
    read_text,
)
from print_scp.service.checks import (
    check_known_attributes,
    read_configuration_information,
    viewing_and_lut,
)
from print_scp.service.context import AssociationContext, new_uid
from print_scp.service.objects import (
    AnnotationBox,
    FilmBox,
    FilmBoxSettings,
    FilmSession,
    FilmSessionSettings,
    ImageBox,
    SettingsError,
    density_setting,
    hundredths,
    od_of,
    settings_dataset,
)
from print_scp.service.outcome import DicomStatusError, Outcome

# Attributes an SCU may N-SET after creation (PS3.4 H.4.2.1.2).
SETTABLE = ("MagnificationType", "SmoothingType", "BorderDensity", "EmptyImageDensity",
            "MinDensity", "MaxDensity", "Trim", "ConfigurationInformation", "Illumination",
            "ReflectedAmbientLight", "ReferencedPresentationLUTSequence")
CREATE_ONLY = ("ImageDisplayFormat", "AnnotationDisplayFormatID", "FilmOrientation",
               "FilmSizeID", "RequestedResolutionID", "ReferencedFilmSessionSequence")


def create(ctx: AssociationContext, requested_uid: str | None, ds: Dataset,
           meta_class_uid: str | None) -> Outcome:
    """N-CREATE: a film box in the session, with its image and annotation boxes."""
    profile = ctx.profile
    session = _session_for(ctx, ds)
    outcome = Outcome()
    check_known_attributes(ctx, ds, SETTABLE + CREATE_ONLY, "Film Box N-CREATE", outcome)
    if len(session.film_boxes) >= profile.max_film_boxes_per_session:
        raise DicomStatusError(Status.RESOURCE_LIMITATION,
                               f"at most {profile.max_film_boxes_per_session} film boxes "
                               "per Film Session")
    if not profile.session_print and any(not box.printed for box in session.film_boxes):
        raise DicomStatusError(Status.UNPRINTED_FILM_BOX_EXISTS,
                               "print the previous film box first: this printer does not "
                               "collate film sessions")

    settings = _with_settable(ctx, _create_settings(ctx, ds, session.settings), ds, outcome)
    layout = film_layout(ctx, settings)
    uid = ctx.instance_uid(requested_uid)
    color = meta_class_uid == BASIC_COLOR_PRINT_META
    image_class = BASIC_COLOR_IMAGE_BOX if color else BASIC_GRAYSCALE_IMAGE_BOX
    image_boxes = {
        position: ImageBox(new_uid(), image_class, ImageBoxContent(position))
        for position in layout.image_boxes
    }
    annotations = {
        position: AnnotationBox(new_uid(), AnnotationContent(position))
        for position in layout.annotation_boxes
    }
    box = FilmBox(uid, session.uid, settings, image_boxes, annotations,
                  received=describe_dataset(ds))
    session.film_boxes.append(box)
    ctx.film_boxes[uid] = box
    for image_box in image_boxes.values():
        ctx.image_boxes[image_box.uid] = (box, image_box)
    for annotation in annotations.values():
        ctx.annotation_boxes[annotation.uid] = (box, annotation)
    box.warnings.extend(outcome.warnings)
    outcome.dataset = reply_dataset(box)
    outcome.instance_uid = uid
    return outcome


def update(ctx: AssociationContext, uid: str, ds: Dataset) -> Outcome:
    """N-SET of the film box attributes that may change after creation.

    New settings replace the box's only when every attribute was accepted: a
    failed N-SET changes nothing.
    """
    box = ctx.film_box(uid)
    outcome = Outcome()
    check_known_attributes(ctx, ds, SETTABLE, "Film Box N-SET", outcome)
    box.settings = _with_settable(ctx, box.settings, ds, outcome)
    box.received.update(describe_dataset(ds))
    box.warnings.extend(outcome.warnings)
    outcome.dataset = reply_dataset(box)
    return outcome


def delete(ctx: AssociationContext, uid: str) -> Outcome:
    ctx.drop_film_box(ctx.film_box(uid))
    return Outcome()


def film_layout(ctx: AssociationContext, settings: FilmBoxSettings) -> FilmLayout:
    """The film's geometry in mm; a format that cannot be laid out -> 0x0106."""
    fmt = parse_display_format(settings.image_display_format, ctx.profile.custom_layouts)
    annotations = annotation_format_of(settings.annotation_display_format_id,
                                       ctx.profile.annotation_formats)
    width, height = film_size_mm(settings.film_size_id, settings.film_orientation)
    try:
        return layout_film(width, height, fmt, annotations,
                           ctx.profile.margins_mm(settings.film_size_id, settings.film_orientation))
    except ValueError as exc:
        raise invalid("ImageDisplayFormat", str(exc)) from exc


def _session_for(ctx: AssociationContext, ds: Dataset) -> FilmSession:
    reference = read_reference(ds, "ReferencedFilmSessionSequence")
    if reference is None:
        if ctx.session is None:
            raise DicomStatusError(Status.MISSING_ATTRIBUTE,
                                   "ReferencedFilmSessionSequence missing and no Film Session "
                                   "exists", "ReferencedFilmSessionSequence")
        ctx.deviation("Film Box N-CREATE without Referenced Film Session Sequence",
                      Status.MISSING_ATTRIBUTE, "ReferencedFilmSessionSequence")
        return ctx.session
    class_uid, instance_uid = reference
    if class_uid != BASIC_FILM_SESSION:
        raise invalid("ReferencedFilmSessionSequence",
                      f"class {class_uid} is not Basic Film Session")
    if ctx.session is None or ctx.session.uid != instance_uid:
        # N-CREATE has no "no such SOP instance" (PS3.7 10.1.5.1.6): the reference
        # is an invalid attribute value, as DCMTK's dcmprscp answers too.
        raise invalid("ReferencedFilmSessionSequence", f"no Film Session {instance_uid} "
                      "on this association")
    return ctx.session


def _create_settings(ctx: AssociationContext, ds: Dataset,
                     session_settings: FilmSessionSettings) -> FilmBoxSettings:
    """The attributes fixed at creation, checked against the printer's capabilities."""
    profile = ctx.profile
    text = read_text(ds, "ImageDisplayFormat")
    if text is None:
        raise DicomStatusError(Status.MISSING_ATTRIBUTE, "ImageDisplayFormat is required",
                               "ImageDisplayFormat")
    try:
        fmt = parse_display_format(text, profile.custom_layouts)
    except DisplayFormatError as exc:
        raise invalid("ImageDisplayFormat", str(exc)) from exc
    if fmt.kind.value not in profile.display_formats:
        raise invalid("ImageDisplayFormat", f"{fmt.kind.value} formats are not supported "
                      f"(supported: {', '.join(profile.display_formats)})")
    if fmt.kind is DisplayFormatKind.STANDARD and (
            fmt.values[0] > profile.max_standard_columns
            or fmt.values[1] > profile.max_standard_rows):
        raise invalid("ImageDisplayFormat", f"{text} exceeds {profile.max_standard_columns} "
                      f"columns x {profile.max_standard_rows} rows")
    annotation_id = read_text(ds, "AnnotationDisplayFormatID")
    if annotation_id is not None and (not profile.annotation
                                      or annotation_id not in profile.annotation_formats):
        raise invalid("AnnotationDisplayFormatID", f"{annotation_id!r} not supported")
    return FilmBoxSettings(
        image_display_format=str(fmt),
        film_size_id=(read_enum(ds, "FilmSizeID", FilmSizeID, profile.film_sizes)
                      or FilmSizeID(profile.default_film_size)),
        film_orientation=(read_enum(ds, "FilmOrientation", FilmOrientation)
                          or FilmOrientation(profile.default_orientation)),
        magnification_type=MagnificationType(profile.default_magnification),
        annotation_display_format_id=annotation_id,
        border_density=density_setting(profile.default_border_density),
        empty_image_density=density_setting(profile.default_empty_image_density),
        min_density=od_of(hundredths(profile.default_min_density)),  # as the wire holds it
        max_density=od_of(hundredths(profile.default_max_density)),
        illumination=_first(session_settings.illumination, round(profile.illumination)),
        reflected_ambient_light=_first(session_settings.reflected_ambient_light,
                                       round(profile.reflected_ambient_light)),
        requested_resolution_id=(read_enum(ds, "RequestedResolutionID", RequestedResolution)
                                 or RequestedResolution.STANDARD),
        presentation_lut_uid=session_settings.presentation_lut_uid,
        presentation_lut=session_settings.presentation_lut,
    )


def _first(value: int | None, default: int) -> int:
    return default if value is None else value


def _with_settable(ctx: AssociationContext, s: FilmBoxSettings, ds: Dataset,
                   outcome: Outcome) -> FilmBoxSettings:
    """``s`` with the attributes an SCU may set (N-CREATE or N-SET) that ``ds`` holds."""
    profile = ctx.profile
    changes: dict[str, Any] = {
        "magnification_type": read_enum(ds, "MagnificationType", MagnificationType,
                                        profile.magnification_types),
        "smoothing_type": read_term(ds, "SmoothingType", profile.smoothing_types),
    }
    for keyword, name in (("BorderDensity", "border_density"),
                          ("EmptyImageDensity", "empty_image_density")):
        value = read_density_term(ds, keyword)
        changes[name] = None if value is None else density_setting(value)
    low, high = profile.density_range_hundredths
    for keyword, name in (("MinDensity", "min_density"), ("MaxDensity", "max_density")):
        value = read_int(ds, keyword)
        if value is not None and not low <= value <= high:
            clipped = min(max(value, low), high)
            outcome.warn(Status.DENSITY_OUTSIDE_PRINTER_RANGE,
                         f"{keyword} {value} outside the printer's {low}..{high}: "
                         f"using {clipped}", keyword)
            value = clipped
        changes[name] = None if value is None else od_of(value)
    s = _replaced(s, changes)  # Min Density below Max Density is checked before the rest
    changes = {"trim": read_enum(ds, "Trim", Trim),
               "configuration_information": read_configuration_information(ctx, ds, outcome),
               **viewing_and_lut(ctx, ds)}
    return _replaced(s, changes)


def _replaced(s: FilmBoxSettings, changes: dict[str, Any]) -> FilmBoxSettings:
    """``s`` with the changes that are not None; settings that do not hold -> 0x0106."""
    try:
        return replace(s, **{name: value for name, value in changes.items()
                             if value is not None})
    except SettingsError as exc:
        raise invalid(exc.keyword, str(exc)) from None


def _reference(class_uid: str, instance_uid: str) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = class_uid
    item.ReferencedSOPInstanceUID = instance_uid
    return item


#: Film Box attributes in a reply, by keyword: the settings field that holds each.
REPLY_ATTRIBUTES = {
    "ImageDisplayFormat": "image_display_format", "FilmOrientation": "film_orientation",
    "FilmSizeID": "film_size_id", "MagnificationType": "magnification_type",
    "SmoothingType": "smoothing_type", "AnnotationDisplayFormatID": "annotation_display_format_id",
    "BorderDensity": "border_density", "EmptyImageDensity": "empty_image_density",
    "MinDensity": "min_density", "MaxDensity": "max_density", "Trim": "trim",
    "ConfigurationInformation": "configuration_information", "Illumination": "illumination",
    "ReflectedAmbientLight": "reflected_ambient_light",
    "RequestedResolutionID": "requested_resolution_id",
}


def reply_dataset(box: FilmBox) -> Dataset:
    """Film box attributes in force plus the references to its children."""
    s = box.settings
    ds = settings_dataset(s.wire_values(), REPLY_ATTRIBUTES)
    ds.ReferencedFilmSessionSequence = Sequence([_reference(BASIC_FILM_SESSION, box.session_uid)])
    ds.ReferencedImageBoxSequence = Sequence(
        [_reference(b.sop_class_uid, b.uid) for _, b in sorted(box.image_boxes.items())])
    if box.annotation_boxes:
        ds.ReferencedBasicAnnotationBoxSequence = Sequence(
            [_reference(BASIC_ANNOTATION_BOX, a.uid)
             for _, a in sorted(box.annotation_boxes.items())])
    if s.presentation_lut_uid:
        ds.ReferencedPresentationLUTSequence = Sequence(
            [_reference(PRESENTATION_LUT, s.presentation_lut_uid)])
    return ds

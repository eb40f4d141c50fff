"""Basic Annotation Box SOP Class N-SET (PS3.4 H.4.4)."""

from __future__ import annotations

from pydicom.dataset import Dataset

from dicomnet.status import Status
from print_scp.service.attributes import describe_dataset, invalid, read_decoded_text, read_int
from print_scp.service.checks import check_known_attributes
from print_scp.service.context import AssociationContext
from print_scp.service.outcome import DicomStatusError, Outcome

ATTRIBUTES = ("AnnotationPosition", "TextString")


def update(ctx: AssociationContext, uid: str, ds: Dataset) -> Outcome:
    """N-SET: the text of one annotation box (Text String, LO: at most 64 characters)."""
    found = ctx.annotation_boxes.get(uid)
    if found is None:
        raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE, f"no Annotation Box {uid}")
    film_box, box = found
    text, undecodable = read_decoded_text(ds, "TextString", ctx.profile.strict)
    if undecodable:  # strict: 0x0106; lenient: printed as far as it decodes, with a warning
        ctx.deviation(undecodable, Status.INVALID_ATTRIBUTE_VALUE, "TextString")
    outcome = Outcome()
    check_known_attributes(ctx, ds, ATTRIBUTES, "Annotation Box N-SET", outcome)
    position = read_int(ds, "AnnotationPosition")
    if position is None:
        raise DicomStatusError(Status.MISSING_ATTRIBUTE, "AnnotationPosition is required",
                               "AnnotationPosition")
    boxes = len(film_box.annotation_boxes)
    if position > boxes:  # beyond the Annotation Display Format: nothing to print it in
        outcome.warn(Status.ATTRIBUTE_VALUE_OUT_OF_RANGE,
                     f"AnnotationPosition {position} beyond the {boxes} annotation boxes of "
                     f"{film_box.settings.annotation_display_format_id}: not printed",
                     "AnnotationPosition")
        film_box.warnings.extend(outcome.warnings)
        return outcome
    if position != box.content.position:
        raise invalid("AnnotationPosition", f"{position} is not this box's position "
                      f"{box.content.position}")
    box.content.text = text or ""
    box.received.update(describe_dataset(ds))
    film_box.warnings.extend(outcome.warnings)
    return outcome

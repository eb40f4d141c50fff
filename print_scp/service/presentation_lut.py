"""Presentation LUT SOP Class operations (PS3.4 H.4.9): N-CREATE and N-DELETE."""

from __future__ import annotations

from pydicom.dataset import Dataset

from dicomnet.status import Status
from lut.presentation import PresentationLUT, PresentationLUTError
from print_scp.service.attributes import describe_dataset
from print_scp.service.checks import check_known_attributes
from print_scp.service.context import AssociationContext
from print_scp.service.objects import PresentationLUTInstance
from print_scp.service.outcome import DicomStatusError, Outcome

ATTRIBUTES = ("PresentationLUTShape", "PresentationLUTSequence")


def create(ctx: AssociationContext, requested_uid: str | None, ds: Dataset) -> Outcome:
    outcome = Outcome()
    check_known_attributes(ctx, ds, ATTRIBUTES, "Presentation LUT N-CREATE", outcome)
    try:
        lut = PresentationLUT.from_dataset(ds)
    except PresentationLUTError as exc:
        missing = "PresentationLUTShape" not in ds and "PresentationLUTSequence" not in ds
        raise DicomStatusError(
            Status.MISSING_ATTRIBUTE if missing else Status.INVALID_ATTRIBUTE_VALUE,
            str(exc), exc.attribute) from exc
    uid = ctx.instance_uid(requested_uid)
    ctx.presentation_luts[uid] = PresentationLUTInstance(uid, lut, describe_dataset(ds))
    outcome.instance_uid = uid
    outcome.dataset = lut.to_dataset()
    return outcome


def delete(ctx: AssociationContext, uid: str) -> Outcome:
    """N-DELETE; boxes that reference the LUT keep using it (they hold the LUT itself)."""
    if ctx.presentation_luts.pop(uid, None) is None:
        raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE, f"no Presentation LUT {uid}")
    return Outcome()

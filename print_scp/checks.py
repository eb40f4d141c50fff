"""Checks shared by the SOP class operations."""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.dataset import Dataset

from lut.presentation import PresentationLUT
from print_scp.attributes import keywords_of, read_reference
from print_scp.context import AssociationContext
from print_scp.status import DicomStatusError, Outcome, Status
from print_scp.uids import PRESENTATION_LUT


def check_known_attributes(ctx: AssociationContext, ds: Dataset, allowed: Iterable[str],
                           what: str, outcome: Outcome) -> None:
    """Attributes the operation does not define: 0x0105 when strict, else ignored with 0x0107."""
    allowed = set(allowed)
    unknown = [name for name in keywords_of(ds) if name not in allowed]
    if not unknown:
        return
    listing = ", ".join(unknown)
    if ctx.profile.strict:
        raise DicomStatusError(Status.NO_SUCH_ATTRIBUTE, f"{what}: no such attribute {listing}",
                               unknown[0])
    outcome.warn(Status.ATTRIBUTE_LIST_ERROR, f"{what}: ignored unsupported {listing}", unknown[0])


def read_plut_reference(ctx: AssociationContext, ds: Dataset) -> tuple[str, PresentationLUT] | None:
    """Referenced Presentation LUT Sequence -> (instance UID, the LUT), or None."""
    reference = read_reference(ds, "ReferencedPresentationLUTSequence")
    if reference is None:
        return None
    class_uid, instance_uid = reference
    if class_uid != PRESENTATION_LUT:
        raise DicomStatusError(Status.INVALID_ATTRIBUTE_VALUE,
                               f"ReferencedPresentationLUTSequence: class {class_uid} "
                               "is not Presentation LUT", "ReferencedPresentationLUTSequence")
    return instance_uid, ctx.presentation_lut(instance_uid).lut

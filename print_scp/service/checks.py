"""Checks shared by the SOP class operations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydicom.dataset import Dataset

from dicomnet.status import Status
from dicomnet.uids import PRESENTATION_LUT
from lut.presentation import PresentationLUT
from print_scp.service.attributes import keywords_of, read_int, read_reference
from print_scp.service.context import AssociationContext
from print_scp.service.outcome import DicomStatusError, Outcome

# Allowed in every data set: it says how the data set's text is encoded (PS3.5 6.1.2.2),
# and pydicom decodes the text with it.
CHARACTER_SET_KEYWORD = "SpecificCharacterSet"


def check_known_attributes(ctx: AssociationContext, ds: Dataset, allowed: Iterable[str],
                           what: str, outcome: Outcome) -> None:
    """Attributes the operation does not define: 0x0105 when strict, else ignored with 0x0107."""
    allowed = {*allowed, CHARACTER_SET_KEYWORD}
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


def apply_viewing_and_lut(ctx: AssociationContext, settings: Any, ds: Dataset) -> None:
    """Illumination, Reflected Ambient Light (cd/m²) and Referenced Presentation LUT.

    ``settings`` is a Film Box's, or (lenient mode) a Film Session's,
    settings object: both carry these three.
    """
    # L0 = 0 would make every density undefined (PS3.14: D = -log10((L - La) / L0)).
    illumination = read_int(ds, "Illumination")
    if illumination is not None:
        settings.illumination = illumination
    ambient = read_int(ds, "ReflectedAmbientLight")
    if ambient is not None:
        settings.reflected_ambient_light = ambient
    reference = read_plut_reference(ctx, ds)
    if reference is not None:
        settings.presentation_lut_uid, settings.presentation_lut = reference

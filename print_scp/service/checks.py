"""Checks shared by the SOP class operations."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydicom.dataset import Dataset

from dicomnet.status import Status
from dicomnet.uids import PRESENTATION_LUT
from lut.presentation import PresentationLUT
from print_scp.service.attributes import (
    invalid,
    keywords_of,
    read_int,
    read_reference,
    read_text,
)
from print_scp.service.context import AssociationContext
from print_scp.service.outcome import DicomStatusError, Outcome

# Allowed in every data set: it says how the data set's text is encoded (PS3.5 6.1.2.2),
# and pydicom decodes the text with it.
CHARACTER_SET_KEYWORD = "SpecificCharacterSet"


def check_known_attributes(ctx: AssociationContext, ds: Dataset, allowed: Iterable[str],
                           what: str, outcome: Outcome) -> None:
    """Attributes the operation does not define: 0x0105 when strict, else ignored with 0x0107.

    Attributes it defines that this printer does not support (the profile's
    ``unsupported_attributes``) are removed from ``ds`` and answered with 0x0107.
    """
    unsupported = [name for name in keywords_of(ds) if name in ctx.profile.unsupported_attributes]
    for name in unsupported:
        del ds[name]
    if unsupported:
        outcome.warn(Status.ATTRIBUTE_LIST_ERROR, f"{what}: this printer does not support "
                     f"{', '.join(unsupported)}: ignored", unsupported[0])
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


def viewing_and_lut(ctx: AssociationContext, ds: Dataset) -> dict[str, Any]:
    """Illumination, Reflected Ambient Light (cd/m²) and Referenced Presentation LUT sent.

    The settings they change, by field name: a Film Box's, or (lenient mode) a
    Film Session's settings carry all of them.
    """
    changes: dict[str, Any] = {
        field: value for field, value in (
            ("illumination", read_int(ds, "Illumination")),
            ("reflected_ambient_light", read_int(ds, "ReflectedAmbientLight")))
        if value is not None}
    reference = read_plut_reference(ctx, ds)
    if reference is not None:
        changes["presentation_lut_uid"], changes["presentation_lut"] = reference
    return changes


def read_configuration_information(ctx: AssociationContext, ds: Dataset,
                                   outcome: Outcome) -> str | None:
    """Configuration Information, checked against the values the printer declares.

    A printer that declares none takes any text (without effect). One that
    does refuses another value when strict (0x0106) and, when lenient, keeps
    it without effect with a warning (0x0116).
    """
    value = read_text(ds, "ConfigurationInformation")
    known = ctx.profile.configuration_values
    if value is None or not known or value in known:
        return value
    why = f"{value!r} is not one of this printer's values ({', '.join(known)})"
    if ctx.profile.strict:
        raise invalid("ConfigurationInformation", why)
    outcome.warn(Status.ATTRIBUTE_VALUE_OUT_OF_RANGE, f"ConfigurationInformation {why}: "
                 "no effect", "ConfigurationInformation")
    return value

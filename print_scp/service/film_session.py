"""Basic Film Session SOP Class operations (PS3.4 H.4.1): N-CREATE, N-SET, N-DELETE.

Printing a whole session (N-ACTION) lives in :mod:`print_scp.service.printing`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pydicom.dataset import Dataset

from dicomnet.status import Status
from dicomnet.terms import PrintPriority
from film.model import MediumType
from print_scp.service.attributes import (
    describe_dataset,
    read_destination,
    read_enum,
    read_int,
    read_text,
)
from print_scp.service.checks import check_known_attributes, viewing_and_lut
from print_scp.service.context import AssociationContext
from print_scp.service.objects import FilmSession, FilmSessionSettings, settings_dataset
from print_scp.service.outcome import DicomStatusError, Outcome

SESSION_ATTRIBUTES = ("NumberOfCopies", "PrintPriority", "MediumType", "FilmDestination",
                      "FilmSessionLabel", "MemoryAllocation", "OwnerID")
# Film Box attributes that some SCUs put in the Film Session (lenient mode only).
MISPLACED_ATTRIBUTES = ("Illumination", "ReflectedAmbientLight",
                        "ReferencedPresentationLUTSequence")


def create(ctx: AssociationContext, requested_uid: str | None, ds: Dataset) -> Outcome:
    """N-CREATE: one Film Session per association; a second one is refused.

    Whatever UID the second one asks for, the answer is 0x0111 (duplicate SOP
    instance), as DCMTK's dcmprscp answers: the association's Film Session
    exists already.
    """
    if ctx.session is not None:
        raise DicomStatusError(Status.DUPLICATE_SOP_INSTANCE,
                               f"Film Session {ctx.session.uid} already exists on this "
                               "association")
    outcome = Outcome()
    uid = ctx.instance_uid(requested_uid)
    defaults = FilmSessionSettings(
        print_priority=PrintPriority(ctx.profile.default_priority),
        medium_type=MediumType(ctx.profile.default_medium),
        film_destination=ctx.profile.default_destination,
    )
    settings = replace(defaults, **_changes(ctx, ds, outcome, "Film Session N-CREATE"))
    ctx.session = FilmSession(uid, settings, received=describe_dataset(ds),
                              warnings=list(outcome.warnings))
    outcome.dataset = reply_dataset(settings)
    outcome.instance_uid = uid
    return outcome


def update(ctx: AssociationContext, uid: str, ds: Dataset) -> Outcome:
    """N-SET of the session's attributes; a failed N-SET changes nothing."""
    session = ctx.require_session(uid)
    outcome = Outcome()
    session.settings = replace(session.settings,
                               **_changes(ctx, ds, outcome, "Film Session N-SET"))
    session.received.update(describe_dataset(ds))
    session.warnings.extend(outcome.warnings)
    outcome.dataset = reply_dataset(session.settings)
    return outcome


def delete(ctx: AssociationContext, uid: str) -> Outcome:
    """N-DELETE: the session and all its film, image and annotation boxes."""
    ctx.require_session(uid)
    ctx.drop_session()
    return Outcome()


def _changes(ctx: AssociationContext, ds: Dataset, outcome: Outcome,
             what: str) -> dict[str, Any]:
    """The settings ``ds`` sets, by field name, each checked against the printer."""
    profile = ctx.profile
    check_known_attributes(ctx, ds, SESSION_ATTRIBUTES + MISPLACED_ATTRIBUTES, what, outcome)
    copies = read_int(ds, "NumberOfCopies")
    if copies is not None and copies > profile.max_copies:
        outcome.warn(Status.ATTRIBUTE_VALUE_OUT_OF_RANGE,
                     f"NumberOfCopies {copies} above this printer's {profile.max_copies}: "
                     f"printing {profile.max_copies}", "NumberOfCopies")
        copies = profile.max_copies
    changes: dict[str, Any] = {
        "number_of_copies": copies,
        "print_priority": read_enum(ds, "PrintPriority", PrintPriority),
        "medium_type": read_enum(ds, "MediumType", MediumType, profile.media),
    }
    destination = read_destination(ds)
    if destination is not None and destination not in profile.destinations:
        why = (f"FilmDestination {destination!r} not available (this printer: "
               f"{', '.join(profile.destinations)})")
        if not destination.startswith("BIN_"):
            raise DicomStatusError(Status.INVALID_ATTRIBUTE_VALUE, why, "FilmDestination")
        ctx.deviation(why, Status.INVALID_ATTRIBUTE_VALUE, "FilmDestination")  # lenient: any bin
    changes["film_destination"] = destination
    changes["film_session_label"] = read_text(ds, "FilmSessionLabel")
    changes["owner_id"] = read_text(ds, "OwnerID")
    changes["memory_allocation"] = read_int(ds, "MemoryAllocation")
    if changes["memory_allocation"] is not None:
        outcome.warn(Status.MEMORY_ALLOCATION_NOT_SUPPORTED,
                     "MemoryAllocation is not supported and was ignored", "MemoryAllocation")
    for keyword in MISPLACED_ATTRIBUTES:  # Film Box attributes: defaults for its film boxes
        if keyword in ds:
            ctx.deviation(f"{keyword} sent in the Film Session (belongs to the Film Box)",
                          Status.NO_SUCH_ATTRIBUTE, keyword)
    changes.update(viewing_and_lut(ctx, ds))
    return {field: value for field, value in changes.items() if value is not None}


#: Film Session attributes in a reply, by keyword: the settings field that holds each.
REPLY_ATTRIBUTES = {
    "NumberOfCopies": "number_of_copies", "PrintPriority": "print_priority",
    "MediumType": "medium_type", "FilmDestination": "film_destination",
    "FilmSessionLabel": "film_session_label", "OwnerID": "owner_id",
}


def reply_dataset(s: FilmSessionSettings) -> Dataset:
    """The attribute values in force, for the N-CREATE/N-SET response."""
    return settings_dataset(s.wire_values(), REPLY_ATTRIBUTES)

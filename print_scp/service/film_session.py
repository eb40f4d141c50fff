"""Basic Film Session SOP Class operations (PS3.4 H.4.1): N-CREATE, N-SET, N-DELETE.

Printing a whole session (N-ACTION) lives in :mod:`print_scp.service.printing`.
"""

from __future__ import annotations

from dataclasses import replace

from pydicom.dataset import Dataset

from dicomnet.status import Status
from print_scp.service.attributes import (
    describe_dataset,
    read_destination,
    read_int,
    read_term,
    read_text,
)
from print_scp.service.checks import apply_viewing_and_lut, check_known_attributes
from print_scp.service.context import AssociationContext
from print_scp.service.objects import FilmSession, FilmSessionSettings
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
    settings = FilmSessionSettings(
        print_priority=ctx.profile.default_priority,
        medium_type=ctx.profile.default_medium,
        film_destination=ctx.profile.default_destination,
    )
    _apply(ctx, settings, ds, outcome, "Film Session N-CREATE")
    ctx.session = FilmSession(uid, settings, received=describe_dataset(ds))
    outcome.dataset = reply_dataset(settings)
    outcome.instance_uid = uid
    return outcome


def update(ctx: AssociationContext, uid: str, ds: Dataset) -> Outcome:
    """N-SET of the session's attributes; a failed N-SET changes nothing."""
    session = ctx.require_session(uid)
    outcome = Outcome()
    settings = replace(session.settings)
    _apply(ctx, settings, ds, outcome, "Film Session N-SET")
    session.settings = settings
    session.received.update(describe_dataset(ds))
    outcome.dataset = reply_dataset(session.settings)
    return outcome


def delete(ctx: AssociationContext, uid: str) -> Outcome:
    """N-DELETE: the session and all its film, image and annotation boxes."""
    ctx.require_session(uid)
    ctx.drop_session()
    return Outcome()


def _apply(ctx: AssociationContext, s: FilmSessionSettings, ds: Dataset, outcome: Outcome,
           what: str) -> None:
    profile = ctx.profile
    check_known_attributes(ctx, ds, SESSION_ATTRIBUTES + MISPLACED_ATTRIBUTES, what, outcome)
    copies = read_int(ds, "NumberOfCopies")
    if copies is not None:
        if copies > profile.max_copies:
            outcome.warn(Status.ATTRIBUTE_VALUE_OUT_OF_RANGE,
                         f"NumberOfCopies {copies} above this printer's {profile.max_copies}: "
                         f"printing {profile.max_copies}", "NumberOfCopies")
            copies = profile.max_copies
        s.number_of_copies = copies
    s.print_priority = read_term(ds, "PrintPriority", ("HIGH", "MED", "LOW")) or s.print_priority
    s.medium_type = read_term(ds, "MediumType", profile.media) or s.medium_type
    destination = read_destination(ds)
    if destination is not None:
        if destination not in profile.destinations and not destination.startswith("BIN_"):
            raise DicomStatusError(Status.INVALID_ATTRIBUTE_VALUE,
                                   f"FilmDestination {destination!r} not available",
                                   "FilmDestination")
        s.film_destination = destination
    label = read_text(ds, "FilmSessionLabel")
    if label is not None:
        s.film_session_label = label
    owner = read_text(ds, "OwnerID")
    if owner is not None:
        s.owner_id = owner
    memory = read_int(ds, "MemoryAllocation")
    if memory is not None:
        s.memory_allocation = memory
        outcome.warn(Status.MEMORY_ALLOCATION_NOT_SUPPORTED,
                     "MemoryAllocation is not supported and was ignored", "MemoryAllocation")
    _apply_misplaced(ctx, s, ds)


def _apply_misplaced(ctx: AssociationContext, s: FilmSessionSettings, ds: Dataset) -> None:
    """Film Box attributes sent in the Film Session: defaults for its film boxes."""
    for keyword in MISPLACED_ATTRIBUTES:
        if keyword in ds:
            ctx.deviation(f"{keyword} sent in the Film Session (belongs to the Film Box)",
                          Status.NO_SUCH_ATTRIBUTE, keyword)
    apply_viewing_and_lut(ctx, s, ds)


def reply_dataset(s: FilmSessionSettings) -> Dataset:
    """The attribute values in force, for the N-CREATE/N-SET response."""
    ds = Dataset()
    ds.NumberOfCopies = s.number_of_copies
    ds.PrintPriority = s.print_priority
    ds.MediumType = s.medium_type
    ds.FilmDestination = s.film_destination
    if s.film_session_label:
        ds.FilmSessionLabel = s.film_session_label
    if s.owner_id:
        ds.OwnerID = s.owner_id
    return ds

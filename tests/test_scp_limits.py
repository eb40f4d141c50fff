"""Resource limits of the printer profile, answered with the standard's statuses.

* ``max_associations``: one more association is refused with A-ASSOCIATE-RJ
  rejected-transient (2), source DICOM UL service-provider, presentation
  related function (3), reason local-limit-exceeded (2): PS3.8 9.3.4;
* ``max_image_rows`` / ``max_image_columns`` / ``max_image_bytes`` and
  ``max_session_bytes``: Image Box N-SET fails with C605 "insufficient
  memory in printer to store the image" (PS3.4 H.4.3.1.2.1.2), decided from
  the image's header before its pixels are read;
* ``max_film_boxes_per_session``: Film Box N-CREATE fails with 0213
  "resource limitation", a general N-CREATE failure of PS3.7 Annex C (the
  Film Box's own statuses, PS3.4 H.4.2.2.1.2, have none for this);
* ``queue_capacity``: N-ACTION fails with "unable to create Print Job SOP
  Instance; print queue is full", C601 on the Film Session (PS3.4
  H.4.1.2.4.2), C602 on the Film Box (Table H.4-9);
* below the DIMSE layer: a message larger than an image may be is not
  received whole: the association is aborted.
"""

from __future__ import annotations

import logging
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from dcmtk_peer import requires_dcmtk
from pydicom.dataset import Dataset
from scp_harness import running_printer
from test_scp_access import ECHOSCU, address_of, assert_films_printed, association_answer
from test_scp_feat_support import (
    SUCCESS,
    TIMEOUT_S,
    centre_density,
    density_map,
    expected_od,
    new_film_box,
    new_session,
    print_job_uid,
    printed_films,
    rects,
    uniform,
)

from dicomnet.input_guard import MESSAGE_OVERHEAD
from print_scp.profile import PrinterProfile, ProfileError, load_profile, profile_from_dict
from print_scu.association import PrintAssociation, PrintAssociationError
from print_scu.image_box_requests import grayscale_image_box

REJECTED_TRANSIENT, SERVICE_PROVIDER_PRESENTATION, LOCAL_LIMIT_EXCEEDED = 2, 3, 2
INSUFFICIENT_MEMORY, RESOURCE_LIMITATION = 0xC605, 0x0213
SESSION_QUEUE_FULL, FILM_BOX_QUEUE_FULL = 0xC601, 0xC602

# An image limit small enough to test at its edges: 64 rows x 48 columns of 8 bits.
ROWS, COLUMNS = 64, 48
IMAGE_BYTES = ROWS * COLUMNS
SMALL_IMAGES = dict(max_image_rows=ROWS, max_image_columns=COLUMNS, max_image_bytes=IMAGE_BYTES,
                    max_session_bytes=3 * IMAGE_BYTES, standard_dpi=100)


def image_box(rows: int, columns: int, bits: int, *, position: int = 1,
              truncated: bool = False, value: int = 100) -> Dataset:
    """Image Box N-SET of a uniform image; ``truncated`` sends 8 bytes of Pixel Data only.

    A printer that read the pixels before checking the header's size would
    answer a truncated image with 0106 (length mismatch), not C605.
    """
    attrs = grayscale_image_box(position, uniform(value, rows, columns, bits), bits)
    if truncated:
        attrs.BasicGrayscaleImageSequence[0].PixelData = bytes(8)
    return attrs


def wait_for_status(status_of, expected: int, timeout_s: float = TIMEOUT_S) -> int:
    """Call ``status_of()`` until it returns ``expected`` or ``timeout_s`` passes; the last."""
    deadline = time.monotonic() + timeout_s
    while True:
        status = status_of()
        if status == expected or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


# -- profile ------------------------------------------------------------------------------

def test_byte_limits_are_read_from_the_limits_section(tmp_path: Path) -> None:
    path = tmp_path / "printer.toml"
    path.write_text("[limits]\nmax_image_bytes = 1048576\nmax_session_bytes = 8388608\n")
    profile = load_profile(path)
    assert (profile.max_image_bytes, profile.max_session_bytes) == (1 << 20, 8 << 20)
    default = PrinterProfile()
    assert (default.max_image_bytes, default.max_session_bytes) == (64 << 20, 512 << 20)


def test_memory_budget_is_read_and_defaults_to_a_quarter_of_physical_memory(
        tmp_path: Path) -> None:
    path = tmp_path / "printer.toml"
    path.write_text("[limits]\nmax_memory_bytes = 536870912\n")
    assert load_profile(path).max_memory_bytes == 512 << 20
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    assert PrinterProfile().max_memory_bytes == min(max(physical // 4, 256 << 20), 16 << 30)


# 202.125 MiB: a 64 MiB image's message (65 MiB) held as received, with 1/8 of buffer
# growth, and as decoded, then the image stored
SMALLEST_FOR_64_MIB = (2 * 65 << 20) + (65 << 20) // 8 + (64 << 20)


@pytest.mark.parametrize("limits, key", [
    ({"max_image_bytes": 0}, "max_image_bytes"),
    ({"max_session_bytes": -1}, "max_session_bytes"),
    ({"max_image_bytes": "64M"}, "max_image_bytes"),
    ({"max_image_bytes": 4096, "max_session_bytes": 4095}, "max_session_bytes"),
    ({"max_memory_bytes": 0}, "max_memory_bytes"),
    ({"max_memory_bytes": "1G"}, "max_memory_bytes"),
    # one 64 MiB image needs 2 x 65 MiB + 65/8 MiB while it is received, then 64 MiB
    ({"max_memory_bytes": SMALLEST_FOR_64_MIB - 1}, "max_memory_bytes"),
])
def test_bad_byte_limits_are_refused_naming_the_key(limits: dict, key: str) -> None:
    with pytest.raises(ProfileError, match=key):
        profile_from_dict({"limits": limits})


def test_the_smallest_memory_budget_for_the_largest_image_is_accepted() -> None:
    assert profile_from_dict({"limits": {"max_memory_bytes": SMALLEST_FOR_64_MIB}}
                             ).max_memory_bytes == SMALLEST_FOR_64_MIB


def test_the_default_memory_budget_is_raised_to_what_the_largest_image_needs() -> None:
    """An emulated printer taking 166 MiB images needs 2.125 x 167 + 166 MiB."""
    image = 174192960
    message = image + (1 << 20)
    needed = 2 * message + message // 8 + image
    physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    quarter = min(max(physical // 4, 256 << 20), 16 << 30)
    profile = profile_from_dict({"limits": {"max_image_bytes": image,
                                            "max_session_bytes": image}})
    assert profile.max_memory_bytes == max(quarter, needed)


# -- associations -------------------------------------------------------------------------

def test_one_association_beyond_the_maximum_is_rejected_transient_local_limit(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="print_scp.server")
    with running_printer(tmp_path, max_associations=3) as server:
        held = [PrintAssociation(address_of(server, calling_ae=f"HOLDER_{i}"))
                for i in range(3)]
        answer = association_answer(server.port, "FOURTH", server.profile.ae_title)
        assert answer == (False, REJECTED_TRANSIENT, SERVICE_PROVIDER_PRESENTATION,
                          LOCAL_LIMIT_EXCEEDED)
        with pytest.raises(PrintAssociationError, match="Local limit exceeded"):
            PrintAssociation(address_of(server, calling_ae="FIFTH"))
        held.pop().release()
        # The released association's thread ends shortly after its A-RELEASE-RP.
        accepted = wait_for_status(
            lambda: association_answer(server.port, "AFTER", server.profile.ae_title)[1], 0)
        assert accepted == 0, "no association accepted after one of three was released"
        for scu in held:
            scu.release()
    lines = [r.getMessage() for r in caplog.records
             if r.name == "print_scp.server" and "rejected" in r.getMessage()]
    assert any("'FOURTH'" in line and "Local limit exceeded" in line for line in lines), lines


@requires_dcmtk
def test_dcmtk_echoscu_sees_the_local_limit_rejection(tmp_path: Path) -> None:
    with running_printer(tmp_path, max_associations=1) as server:
        with PrintAssociation(address_of(server)):
            refused = subprocess.run(
                [str(ECHOSCU), "-aec", server.profile.ae_title, "-to", "10", "-ta", "10",
                 "127.0.0.1", str(server.port)],
                capture_output=True, text=True, timeout=TIMEOUT_S)
    assert refused.returncode != 0
    assert "Rejected Transient" in refused.stderr, refused.stderr
    assert "Local Limit Exceeded" in refused.stderr, refused.stderr


# -- image size ---------------------------------------------------------------------------

@pytest.mark.parametrize("rows, columns, bits, status, named", [
    (ROWS, COLUMNS, 8, SUCCESS, None),  # exactly at every limit
    (ROWS + 1, COLUMNS, 8, INSUFFICIENT_MEMORY, "Rows"),
    (ROWS, COLUMNS + 1, 8, INSUFFICIENT_MEMORY, "Columns"),
    (ROWS // 2, COLUMNS, 12, SUCCESS, None),  # 2 bytes a pixel: exactly max_image_bytes
    (ROWS // 2 + 1, COLUMNS, 12, INSUFFICIENT_MEMORY, "max_image_bytes"),
    (ROWS, COLUMNS, 12, INSUFFICIENT_MEMORY, "max_image_bytes"),  # rows, columns fit
])
def test_image_size_limits_answer_c605_from_the_header(
        tmp_path: Path, rows: int, columns: int, bits: int, status: int, named: str) -> None:
    with running_printer(tmp_path, **SMALL_IMAGES) as server, \
            PrintAssociation(address_of(server)) as scu:
        refs = new_film_box(scu, new_session(scu), "STANDARD\\1,1")
        refused = status != SUCCESS
        scu.set_image_box(refs.image_box_uids[0],
                          image_box(rows, columns, bits, truncated=refused))
        assert scu.last_result.status == status, str(scu.last_result)
        if refused:
            assert named in scu.last_result.error_comment


def test_images_held_by_an_association_are_capped_at_max_session_bytes(tmp_path: Path) -> None:
    """Three images of max_image_bytes fill max_session_bytes, across film boxes."""
    with running_printer(tmp_path, **SMALL_IMAGES) as server, \
            PrintAssociation(address_of(server)) as scu:
        session = new_session(scu)
        full = new_film_box(scu, session, "STANDARD\\1,3")
        for position, uid in enumerate(full.image_box_uids, start=1):
            assert scu.set_image_box(uid, image_box(ROWS, COLUMNS, 8,
                                                    position=position)) == SUCCESS
        other = new_film_box(scu, session, "STANDARD\\1,1")
        scu.set_image_box(other.image_box_uids[0], image_box(ROWS, COLUMNS, 8, truncated=True))
        assert scu.last_result.status == INSUFFICIENT_MEMORY, str(scu.last_result)
        assert "max_session_bytes" in scu.last_result.error_comment
        # Replacing an image frees the one it replaces: the total stays at the cap.
        assert scu.set_image_box(full.image_box_uids[0], image_box(ROWS, COLUMNS, 8)) == SUCCESS
        # Deleting a film box frees its images.
        assert scu.delete_film_box(full.film_box_uid) == SUCCESS
        assert scu.set_image_box(other.image_box_uids[0],
                                 image_box(ROWS, COLUMNS, 8, value=0)) == SUCCESS
        print_job_uid(scu.print_film_box(other.film_box_uid)[1])
        [film] = printed_films(tmp_path, 1)
    density, _dpi = density_map(tmp_path, film)
    assert centre_density(density, rects(film)[1]) == pytest.approx(float(expected_od(0)),
                                                                      abs=0.002)


# -- film boxes ---------------------------------------------------------------------------

def test_film_box_beyond_the_session_limit_is_0213_until_one_is_deleted(tmp_path: Path) -> None:
    with running_printer(tmp_path, max_film_boxes_per_session=2) as server, \
            PrintAssociation(address_of(server)) as scu:
        session = new_session(scu)
        first = new_film_box(scu, session, "STANDARD\\1,1")
        new_film_box(scu, session, "STANDARD\\1,1")
        new_film_box(scu, session, "STANDARD\\1,1", expect=RESOURCE_LIMITATION)
        assert "film boxes" in scu.last_result.error_comment
        assert scu.delete_film_box(first.film_box_uid) == SUCCESS
        new_film_box(scu, session, "STANDARD\\1,1")


# -- print queue --------------------------------------------------------------------------

def test_full_queue_is_c602_for_a_film_box_c601_for_the_session_and_loses_nothing(
        tmp_path: Path) -> None:
    """Three films fit while the printer is jammed; more do not; the three all print.

    Each film holds its own P-Value, so a film printed from another one's
    image would show.
    """
    values = (0, 100, 200)
    with running_printer(tmp_path, queue_capacity=len(values)) as server, \
            PrintAssociation(address_of(server)) as scu:
        server.printer.set_status("FAILURE", "FILM JAM")
        session = new_session(scu)
        jobs = {}
        for value in values:
            refs = new_film_box(scu, session, "STANDARD\\1,1")
            assert scu.set_image_box(refs.image_box_uids[0],
                                     grayscale_image_box(1, uniform(value), 8)) == SUCCESS
            jobs[print_job_uid(scu.print_film_box(refs.film_box_uid)[1])] = value
        refused = new_film_box(scu, session, "STANDARD\\1,1")
        assert scu.set_image_box(refused.image_box_uids[0],
                                 grayscale_image_box(1, uniform(255), 8)) == SUCCESS
        assert scu.print_film_box(refused.film_box_uid)[0] == FILM_BOX_QUEUE_FULL
        assert "queue full" in scu.last_result.error_comment
        assert scu.print_film_session(session)[0] == SESSION_QUEUE_FULL
        assert not list(tmp_path.glob("*.json")), "a film printed while the printer was jammed"
        server.printer.set_status("NORMAL")
        films = printed_films(tmp_path, len(values))
    for film in films:
        value = jobs.pop(film["print_job"]["uid"])
        density, _dpi = density_map(tmp_path, film)
        assert centre_density(density, rects(film)[1]) == pytest.approx(
            float(expected_od(value)), abs=0.002)
    assert not jobs
    assert not list((tmp_path / ".spool").glob(".*.tmp")), "a refused job left spool files"


# -- below DIMSE: the message being received ---------------------------------------------

def test_message_larger_than_an_image_may_be_aborts_the_association(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """An N-SET carrying 2 MiB of pixels when an image may have 3072 bytes.

    The message is dropped as soon as it passes max_image_bytes plus 1 MiB of
    other attributes, and the association is aborted; the printer goes on.
    """
    caplog.set_level(logging.WARNING, logger="print_scp.server")
    assert IMAGE_BYTES + MESSAGE_OVERHEAD < 2 * 1024 * 1024
    with running_printer(tmp_path, **SMALL_IMAGES) as server:
        scu = PrintAssociation(address_of(server))
        refs = new_film_box(scu, new_session(scu), "STANDARD\\1,1")
        huge = grayscale_image_box(1, np.zeros((1024, 2048), np.uint8), 8)
        with pytest.raises(PrintAssociationError, match="no valid response"):
            scu.set_image_box(refs.image_box_uids[0], huge)
        deadline = time.monotonic() + TIMEOUT_S
        while scu.is_established and time.monotonic() < deadline:
            time.sleep(0.05)
        assert scu._assoc.is_aborted
        with PrintAssociation(address_of(server)) as good:
            refs = new_film_box(good, new_session(good), "STANDARD\\1,1")
            assert good.set_image_box(refs.image_box_uids[0],
                                      grayscale_image_box(1, uniform(128), 8)) == SUCCESS
            print_job_uid(good.print_film_box(refs.film_box_uid)[1])
        assert_films_printed(tmp_path, 1)
    assert any("DIMSE message of more than" in r.getMessage() for r in caplog.records)

"""The printer-wide memory budget, ``[limits] max_memory_bytes``.

* :class:`dicomnet.memory_budget.MemoryBudget` counts bytes reserved and
  held, thread-safe; a :class:`~dicomnet.memory_budget.Reservation` is
  released once;
* a full budget answers an Image Box N-SET with C605 "insufficient memory in
  printer to store the image" (PS3.4 H.4.3.1.2.1.2), whether the message
  could not be received (its data set dropped as it arrived) or its image
  could not be stored, and refuses a new association with A-ASSOCIATE-RJ
  rejected-transient (2), service-provider presentation related (3),
  local-limit-exceeded (2) (PS3.8 9.3.4, Table 9-21), until memory is freed;
* under load (50 associations each sending a 64 MiB image to a printer with
  a 512 MiB budget, and 40 sending 16 MiB images, which come from the heap,
  under 256 MiB; print-scp in its own process) every request gets one of
  those answers, the printer's peak resident memory stays within the budget
  plus its baseline, every film accepted is printed, and the printer prints
  afterwards.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import UID
from pynetdicom.dimse_primitives import N_SET
from pynetdicom.dsutils import encode
from scp_harness import running_printer, wait_for_films
from test_scp_access import address_of, association_answer
from test_scp_feat_support import (
    SUCCESS,
    TIMEOUT_S,
    dataset,
    new_film_box,
    new_session,
    uniform,
    wait_until,
)

from dicomnet.memory_budget import CONNECTION_BYTES, MemoryBudget, Reservation
from print_scp.launcher import free_port, start_print_scp
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation, PrintAssociationError
from print_scu.image_box_requests import grayscale_image_box

MIB = 1024 * 1024
INSUFFICIENT_MEMORY, RESOURCE_LIMITATION = 0xC605, 0x0213
# Images larger than their box are stored and printed demagnified (a warning).
IMAGE_DEMAGNIFIED = 0xB604
STORED = (SUCCESS, IMAGE_DEMAGNIFIED)
REJECTED_TRANSIENT, SERVICE_PROVIDER_PRESENTATION, LOCAL_LIMIT_EXCEEDED = 2, 3, 2


# -- the budget ---------------------------------------------------------------------------

def test_reserve_counts_only_what_fits_and_release_gives_it_back() -> None:
    budget = MemoryBudget(100)
    assert budget.reserve(60) and budget.reserve(40)
    assert (budget.in_use, budget.free) == (100, 0)
    assert not budget.reserve(1)
    assert budget.in_use == 100  # a refused reservation counts nothing
    budget.release(40)
    assert budget.reserve(30) and (budget.in_use, budget.free) == (90, 10)


def test_hold_goes_past_the_limit_and_blocks_reservations_until_released() -> None:
    budget = MemoryBudget(100)
    assert budget.reserve(80)
    budget.hold(50)
    assert (budget.in_use, budget.free) == (130, -30)
    assert not budget.reserve(1)
    budget.release(50)
    assert budget.reserve(20) and budget.free == 0


@pytest.mark.parametrize("call", [lambda b: b.reserve(-1), lambda b: b.hold(-1),
                                  lambda b: b.release(-1), lambda b: b.release(11)])
def test_negative_sizes_and_releasing_more_than_held_are_errors(call) -> None:
    budget = MemoryBudget(100)
    budget.hold(10)
    with pytest.raises(ValueError):
        call(budget)
    assert budget.in_use == 10


def test_a_budget_needs_a_positive_limit() -> None:
    with pytest.raises(ValueError, match="at least 1 byte"):
        MemoryBudget(0)


def test_reservation_resizes_while_it_fits_and_is_released_once() -> None:
    budget = MemoryBudget(100)
    first, second = Reservation(budget), Reservation(budget)
    assert first.resize(30) and first.resize(60) and second.resize(40)
    assert not first.resize(61) and first.nbytes == 60  # unchanged when it does not fit
    assert first.resize(20) and budget.in_use == 60  # shrinking gives the rest back
    first.release()
    first.release()  # a second release (e.g. the finalizer after the holder) gives nothing
    assert budget.in_use == 40
    assert not first.resize(10), "a released reservation grew"
    second.release()
    assert budget.in_use == 0


def test_concurrent_reservations_never_exceed_the_limit() -> None:
    """8 threads reserving and releasing 7-byte pieces of a 1000-byte budget."""
    budget = MemoryBudget(1000)
    peak = 0
    lock = threading.Lock()

    def churn() -> None:
        nonlocal peak
        for _ in range(5000):
            if budget.reserve(7):
                with lock:
                    peak = max(peak, budget.in_use)
                budget.release(7)

    threads = [threading.Thread(target=churn) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S)
    assert budget.in_use == 0
    assert 7 <= peak <= 1000


# -- a full budget, in process ------------------------------------------------------------

# A 16 MiB budget, images of at most 2 MiB: an open association takes CONNECTION_BYTES
# (3.25 MiB); a message holds twice its bytes (as received and as decoded) plus 1/8 (the
# growth of its buffer), and one carrying an image (more than 1 MiB) claims that for
# 2 + 1 MiB while it is received. Images of 1024 columns, 8 bits.
BUDGET_SMALL = 16 * MIB
SMALL_BUDGET = dict(max_memory_bytes=BUDGET_SMALL, max_image_bytes=2 * MIB,
                    max_session_bytes=12 * MIB, standard_dpi=50)


def held(message_bytes: int) -> int:
    """What the budget counts for a message until its request has been served."""
    return 2 * message_bytes + message_bytes // 8


IMAGE_CLAIM = held(2 * MIB + MIB)
SMALL_COLUMNS = 1024
SMALL_IMAGE = SMALL_COLUMNS * 1024  # 1 MiB
HALF_IMAGE = SMALL_COLUMNS * 512  # 512 KiB: its message stays below 1 MiB


def small_image(position: int, rows: int = 1024) -> Dataset:
    return grayscale_image_box(position, uniform(90, rows, SMALL_COLUMNS), 8)


def test_full_budget_is_c605_then_a_transient_rejection_until_images_are_freed(
        tmp_path: Path) -> None:
    """512 KiB images fill a 16 MiB budget; a new association is refused; freed, accepted.

    The association holds CONNECTION_BYTES (3.25 MiB) of the budget. While an
    N-SET of a message below 1 MiB is served, the budget also holds the
    images already stored, the message (:func:`held`: 2.125 times its 512 KiB
    image and its other bytes, under 4 KiB) and the new image: the k-th
    512 KiB image fits while (k - 1) + 2.125 + 1 halves of a MiB and the
    message's other bytes stay within the 12.75 MiB left: 23 are stored, the
    24th is refused when its image would be stored. A 1 MiB image then cannot
    even be received (its message claims 6.375 MiB, under 1.25 MiB are free):
    its data set is dropped as it
    arrives, the N-SET answered C605 all the same. With 1.25 MiB free, less
    than an association and an image message take, a new association is
    refused.
    """
    other_bytes = 4096  # more than an N-SET carries besides Pixel Data
    expected_stored = (BUDGET_SMALL - CONNECTION_BYTES - held(HALF_IMAGE + other_bytes)
                       ) // HALF_IMAGE
    with running_printer(tmp_path, **SMALL_BUDGET) as server:
        with PrintAssociation(address_of(server)) as scu:
            session = new_session(scu)
            film_boxes = [new_film_box(scu, session, "STANDARD\\4,3") for _ in range(2)]
            boxes = [(refs, position, uid) for refs in film_boxes
                     for position, uid in enumerate(refs.image_box_uids, start=1)]
            stored = 0
            for _, position, uid in boxes:
                status = scu.set_image_box(uid, small_image(position, rows=512))
                if status not in STORED:
                    break
                stored += 1
            assert stored == expected_stored
            assert status == INSUFFICIENT_MEMORY, str(scu.last_result)
            assert "max_memory_bytes" in scu.last_result.error_comment
            _, position, uid = boxes[stored]
            assert scu.set_image_box(uid, small_image(position)) == INSUFFICIENT_MEMORY
            assert "dropped" in scu.last_result.error_comment
            assert server.memory.free < IMAGE_CLAIM
            assert association_answer(server.port, "REFUSED", server.profile.ae_title) == (
                False, REJECTED_TRANSIENT, SERVICE_PROVIDER_PRESENTATION, LOCAL_LIMIT_EXCEEDED)
            # Deleting the film boxes frees their images: associations are accepted again.
            for refs in film_boxes:
                assert scu.delete_film_box(refs.film_box_uid) == SUCCESS
            assert association_answer(server.port, "AFTER", server.profile.ae_title)[0]
            refs = new_film_box(scu, session, "STANDARD\\1,1")
            assert scu.set_image_box(refs.image_box_uids[0], small_image(1)) in STORED
            status, _reply = scu.print_film_box(refs.film_box_uid)
            assert status == SUCCESS, str(scu.last_result)
        assert len(wait_for_films(tmp_path, 1, timeout=TIMEOUT_S)) == 1
        # Everything given back: the association ended, its film rendered.
        assert wait_until(lambda: server.memory.in_use == 0), server.memory.in_use


def test_a_film_accepted_for_printing_holds_its_bytes_until_rendered(tmp_path: Path) -> None:
    """While the printer is jammed a printed film's image counts twice (session and queue),
    beside the association's own CONNECTION_BYTES."""
    with running_printer(tmp_path, **SMALL_BUDGET) as server:
        server.printer.set_status("FAILURE", "FILM JAM")
        with PrintAssociation(address_of(server)) as scu:
            refs = new_film_box(scu, new_session(scu), "STANDARD\\1,1")
            assert scu.set_image_box(refs.image_box_uids[0], small_image(1)) in STORED
            assert wait_until(lambda: server.memory.in_use == SMALL_IMAGE + CONNECTION_BYTES)
            assert scu.print_film_box(refs.film_box_uid)[0] == SUCCESS
            # (the N-ACTION's own few bytes are given back just after its response)
            assert wait_until(
                lambda: server.memory.in_use == 2 * SMALL_IMAGE + CONNECTION_BYTES)
        assert wait_until(lambda: server.memory.in_use == SMALL_IMAGE), server.memory.in_use
        assert not list(tmp_path.glob("*.json"))
        server.printer.set_status("NORMAL")
        assert len(wait_for_films(tmp_path, 1, timeout=TIMEOUT_S)) == 1
        assert wait_until(lambda: server.memory.in_use == 0), server.memory.in_use


# -- under load, print-scp in its own process ---------------------------------------------

LOAD_TIMEOUT_S = 90.0
#: (image side, budget, associations): 8192² x 8 bits is 64 MiB, the default max_image_bytes,
#: a message glibc maps on its own; 4096² (16 MiB) comes from the heap, where the printer
#: keeps freed memory for the next message (dicomnet.freed_memory)
LOADS = [(8192, 512 * MIB, 50), (4096, 256 * MIB, 40)]


def peak_rss_bytes(pid: int) -> int:
    """VmHWM, the peak resident set size of process ``pid``, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM in /proc/{pid}/status")


def shared_image_box(side: int) -> bytes:
    """The N-SET modification list of one ``side``² 8-bit image, encoded once (Implicit VR
    LE): every association sends these same bytes, so the test holds them once."""
    attrs = grayscale_image_box(1, np.full((side, side), 90, np.uint8), 8)
    encoded = encode(attrs, True, True)
    assert encoded is not None and len(encoded) > side * side
    return encoded


def set_image_box_encoded(scu: PrintAssociation, image_box_uid: str, encoded: bytes) -> int:
    """Image Box N-SET whose modification list is ``encoded`` (not copied: BytesIO shares
    the bytes); what :meth:`PrintAssociation.set_image_box` does after encoding."""
    assoc = scu._assoc
    [context] = [cx for cx in assoc.accepted_contexts if cx.abstract_syntax == scu.meta_uid]
    request = N_SET()
    request.MessageID = scu._next_message_id()
    request.RequestedSOPClassUID = UID(scu.image_box_class_uid)
    request.RequestedSOPInstanceUID = UID(image_box_uid)
    request.ModificationList = BytesIO(encoded)
    assoc._reactor_checkpoint.clear()  # as pynetdicom's send_n_set: the reactor pauses
    try:
        while not assoc._is_paused:
            time.sleep(0.0001)
        assoc.dimse.send_msg(request, context.context_id)
        _, response = assoc.dimse.get_msg(block=True)
    finally:
        assoc._reactor_checkpoint.set()
    assert response is not None, "no N-SET response"
    return int(response.Status)


def print_shared_image(address: PrinterAddress, encoded: bytes) -> list[object]:
    """One association: Film Session, Film Box, the image, print if it was stored.

    Returns each answer: a status, or "rejected" for a transient local-limit
    refusal. pynetdicom 3.0.4's requestor may report an A-ASSOCIATE-RJ as an
    abort during negotiation: when the answer comes at once, its DUL closes the
    connection before the requesting thread looks whether it is connected
    ("rejected, seen as abort"; the test counts the printer's refusals).
    """
    try:
        scu = PrintAssociation(address, presentation_lut=False, annotation=False)
    except PrintAssociationError as exc:
        if "aborted the association during negotiation" in str(exc):
            return ["rejected, seen as abort"]
        assert "Transient" in str(exc) and "Local limit exceeded" in str(exc), str(exc)
        return ["rejected"]
    answers: list[object] = []
    with scu:
        status, session = scu.create_film_session(dataset(NumberOfCopies=1))
        answers.append(status)
        if status != SUCCESS:
            return answers
        status, refs = scu.create_film_box(dataset(ImageDisplayFormat="STANDARD\\1,1"),
                                           film_session_uid=session)
        answers.append(status)
        if status != SUCCESS:
            return answers
        status = set_image_box_encoded(scu, refs.image_box_uids[0], encoded)
        answers.append(("N-SET", status))
        if status in STORED:
            answers.append(("N-ACTION", scu.print_film_box(refs.film_box_uid)[0]))
    return answers


def print_small_film(address: PrinterAddress, deadline: float) -> None:
    """Print one small film, trying again while the printer's memory is full."""
    while True:
        try:
            with PrintAssociation(address, presentation_lut=False, annotation=False) as scu:
                refs = new_film_box(scu, new_session(scu), "STANDARD\\1,1")
                status = scu.set_image_box(refs.image_box_uids[0],
                                           grayscale_image_box(1, uniform(90), 8))
                if status == SUCCESS:
                    assert scu.print_film_box(refs.film_box_uid)[0] == SUCCESS
                    return
                assert status == INSUFFICIENT_MEMORY, str(scu.last_result)
        except PrintAssociationError as exc:
            assert "Local limit exceeded" in str(exc), str(exc)
        assert time.monotonic() < deadline, "the printer did not print after the load"
        time.sleep(0.5)


@pytest.mark.parametrize("side, budget, associations", LOADS)
def test_associations_of_large_images_stay_within_the_budget(tmp_path: Path, side: int,
                                                             budget: int,
                                                             associations: int) -> None:
    output = tmp_path / "films"
    config = tmp_path / "printer.toml"
    config.write_text(f"[limits]\nmax_memory_bytes = {budget}\nmax_associations = 64\n"
                      "[network]\ndimse_timeout_s = 60\nnetwork_timeout_s = 60\n")
    encoded = shared_image_box(side)
    port = free_port()
    address = PrinterAddress("127.0.0.1", port, "FILMBOX", calling_ae="LOAD", acse_timeout_s=30,
                             dimse_timeout_s=LOAD_TIMEOUT_S, network_timeout_s=LOAD_TIMEOUT_S,
                             implicit_only=True)
    printer = start_print_scp(output, port, "--config", str(config),
                              log=(tmp_path / "print-scp.log").open("wb"))
    try:
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        print_small_film(address, deadline)  # warm: every module the load will use is loaded
        assert len(wait_for_films(output, 1, timeout=TIMEOUT_S)) == 1
        baseline = peak_rss_bytes(printer.pid)
        with ThreadPoolExecutor(associations) as pool:
            results = list(pool.map(lambda _: print_shared_image(address, encoded),
                                    range(associations)))
        peak = peak_rss_bytes(printer.pid)
        answers = [answer for result in results for answer in result]
        refusals = (tmp_path / "print-scp.log").read_text().count(
            "rejected: Rejected Transient, source: Service Provider (Presentation), "
            "reason: Local limit exceeded")
        assert refusals == answers.count("rejected") + answers.count("rejected, seen as abort")
        allowed = {"rejected", "rejected, seen as abort", SUCCESS, RESOURCE_LIMITATION, ("N-SET", IMAGE_DEMAGNIFIED),
                   ("N-SET", INSUFFICIENT_MEMORY), ("N-ACTION", SUCCESS)}
        assert set(answers) <= allowed, answers
        accepted = answers.count(("N-ACTION", SUCCESS))
        assert accepted == answers.count(("N-SET", IMAGE_DEMAGNIFIED))
        assert accepted >= 1, answers
        print_small_film(address, time.monotonic() + LOAD_TIMEOUT_S)
        films = wait_for_films(output, accepted + 2, timeout=LOAD_TIMEOUT_S)
        assert len(films) == accepted + 2, "a film accepted for printing was not printed"
        print(f"\n{accepted} of {associations} images printed; answers: "
              f"{ {str(a): answers.count(a) for a in set(answers)} }; peak RSS "
              f"{peak / MIB:.0f} MiB, baseline {baseline / MIB:.0f} MiB, budget "
              f"{budget / MIB:.0f} MiB")
        assert peak <= baseline + budget, (
            f"peak RSS {peak / MIB:.0f} MiB > baseline {baseline / MIB:.0f} MiB + budget "
            f"{budget / MIB:.0f} MiB")
    finally:
        printer.terminate()
        printer.wait(timeout=30)

"""N-EVENT-REPORTs under load: events never break an association.

Several SCUs print films of multi-PDU images on their own associations while
another thread changes the printer's status every few milliseconds, so
Printer events (to every association) and Print Job events (from the render
worker) cross the SCUs' requests on the wire all the time. pynetdicom alone
aborts the association on the first collision; with print_scp's DIMSE router
and the SCU driver's whole-message sends every request must succeed, every
film must be rendered from its own images, and every SCU must see the events.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from scp_harness import film_metadata, running_printer, wait_for_films

from film.densitometry import measure, read_density_map
from lut.density import ViewingConditions, p_values_to_density
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation
from print_scu.image_box_requests import grayscale_image_box

pytestmark = pytest.mark.slow

SCUS = 6
FILMS_PER_SCU = 4
IMAGE_SIDE = 1500  # 2.25 MB per image: three P-DATA PDUs at the printer's 1 MiB max PDU
TOGGLE_PERIOD_S = 0.01
PRINTER_CLASS = "1.2.840.10008.5.1.1.16"
PRINT_JOB_CLASS = "1.2.840.10008.5.1.1.14"


PENDING_WAIT_S = 60.0


def _pending(received: list) -> list:
    """The Print Job PENDING events among ``received``."""
    return [e for e in received if e.sop_class_uid == PRINT_JOB_CLASS and e.event_type_id == 1]


def _value_of(scu: int) -> int:
    """The P-Value every pixel of SCU ``scu``'s films carries (distinct per SCU)."""
    return 20 + 40 * scu


def _print_films(port: int, scu: int, errors: list[str], events: dict[int, list]) -> None:
    address = PrinterAddress("127.0.0.1", port, "FILMBOX", calling_ae=f"LOAD_{scu}",
                             acse_timeout_s=10, dimse_timeout_s=30, network_timeout_s=30)
    pixels = np.full((IMAGE_SIDE, IMAGE_SIDE), _value_of(scu), dtype=np.uint8)
    modification = grayscale_image_box(1, pixels, 8)
    try:
        with PrintAssociation(address, annotation=False, presentation_lut=False) as printer:
            session = Dataset()
            session.NumberOfCopies = 1
            status, session_uid = printer.create_film_session(session)
            assert status == 0, printer.last_result
            for _ in range(FILMS_PER_SCU):
                box = Dataset()
                box.ImageDisplayFormat = "STANDARD\\1,1"
                box.FilmSizeID = "8INX10IN"
                box.MinDensity, box.MaxDensity = 20, 300
                status, refs = printer.create_film_box(box, film_session_uid=session_uid)
                assert status == 0, printer.last_result
                status = printer.set_image_box(refs.image_box_uids[0], modification)
                assert status in (0x0000, 0xB604), printer.last_result
                status, _ = printer.print_film_box(refs.film_box_uid)
                assert status == 0, printer.last_result
                assert printer.delete_film_box(refs.film_box_uid) == 0, printer.last_result
            # PENDING follows each N-ACTION response, behind the printer events queued
            # before it: wait for the last job's before leaving.
            deadline = time.monotonic() + PENDING_WAIT_S
            while len(_pending(printer.events.snapshot())) < FILMS_PER_SCU \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
            events[scu] = printer.events.snapshot()
    except Exception as exc:  # collected: the main thread asserts on the list
        errors.append(f"SCU {scu}: {type(exc).__name__}: {exc}")


def test_events_cross_requests_on_many_associations_without_harm(tmp_path: Path) -> None:
    with running_printer(tmp_path, standard_dpi=50) as server:
        stop = threading.Event()

        def toggle() -> None:
            states = ("WARNING", "NORMAL")
            count = 0
            while not stop.is_set() and count < 5000:
                server.printer.set_status(states[count % 2], "SUPPLY LOW" if count % 2 == 0
                                          else None)
                count += 1
                time.sleep(TOGGLE_PERIOD_S)
            server.printer.set_status("NORMAL")

        toggler = threading.Thread(target=toggle, daemon=True)
        errors: list[str] = []
        events: dict[int, list] = {}
        scus = [threading.Thread(target=_print_films, args=(server.port, i, errors, events))
                for i in range(SCUS)]
        toggler.start()
        for thread in scus:
            thread.start()
        for thread in scus:
            thread.join(timeout=180)
        stop.set()
        toggler.join(timeout=10)
        assert not any(thread.is_alive() for thread in scus), "an SCU hung"
        assert errors == []
        jsons = wait_for_films(tmp_path, SCUS * FILMS_PER_SCU, timeout=120)

    assert len(jsons) == SCUS * FILMS_PER_SCU
    films_per_scu: dict[str, int] = {}
    viewing = ViewingConditions(2000.0, 10.0)
    for path in jsons:
        record = film_metadata(path)
        calling_ae = record["association"]["calling_ae"]
        films_per_scu[calling_ae] = films_per_scu.get(calling_ae, 0) + 1
        scu = int(calling_ae.split("_")[1])
        density, _ = read_density_map(path.with_suffix("").with_suffix(".density.png"))
        rect = record["film"]["image_box_rects_px"][0]
        x, y, w, h = rect["x"], rect["y"], rect["width"], rect["height"]
        centre = (x + w // 4, y + h // 4, w // 2, h // 2)
        expected = float(p_values_to_density(_value_of(scu), 255, 0.20, 3.00, viewing))
        assert abs(measure(density, centre) - expected) < 0.002, (calling_ae, path.name)
    assert films_per_scu == {f"LOAD_{i}": FILMS_PER_SCU for i in range(SCUS)}

    for scu, received in events.items():
        printer_events = [e for e in received if e.sop_class_uid == PRINTER_CLASS]
        pending = _pending(received)
        assert len(printer_events) >= 5, f"SCU {scu} saw {len(printer_events)} printer events"
        assert {e.event_type_id for e in printer_events} <= {1, 2}
        assert len(pending) == FILMS_PER_SCU, f"SCU {scu}: PENDING for every job"

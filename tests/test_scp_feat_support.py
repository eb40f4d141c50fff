"""Client-side helpers shared by the loopback print tests (tests/test_scp_*.py).

No tests live here. Every helper talks to a :class:`print_scp.server.PrintServer`
started by ``scp_harness.running_printer`` through the SCU driver
``print_scu.association.PrintAssociation``, on 127.0.0.1 with bounded timeouts, and
asserts the DIMSE status of each step so a failing step names itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset
from scp_harness import film_metadata, wait_for_films

from film.densitometry import measure, read_density_map
from lut.density import ViewingConditions, p_values_to_density
from print_scu.address import PrinterAddress
from print_scu.association import FilmBoxRefs, PrintAssociation, ReceivedEvent

SUCCESS = 0x0000
PRINT_JOB_CLASS = "1.2.840.10008.5.1.1.14"
PRINTER_CLASS = "1.2.840.10008.5.1.1.16"
PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"
GRAYSCALE_IMAGE_BOX_CLASS = "1.2.840.10008.5.1.1.4"
COLOR_IMAGE_BOX_CLASS = "1.2.840.10008.5.1.1.4.1"
ANNOTATION_BOX_CLASS = "1.2.840.10008.5.1.1.15"
PRESENTATION_LUT_CLASS = "1.2.840.10008.5.1.1.23"
# Action Reply of Film Box / Film Session N-ACTION (PS3.4 H.4.1.2.4.1, H.4.2.2.4.1).
REFERENCED_PRINT_JOB_SEQUENCE = 0x21000500

TIMEOUT_S = 20.0  # bound of every wait on the printer
# Film Box settings the density expectations are computed for (hundredths of OD, cd/m²).
MIN_DENSITY, MAX_DENSITY = 20, 300
ILLUMINATION, AMBIENT = 2000, 10
VIEWING = ViewingConditions(float(ILLUMINATION), float(AMBIENT))
# Density PNG: thousandths of OD, rounded (film.writers); 2 units of slack.
DENSITY_TOLERANCE_OD = 0.002


def connect(server, **options) -> PrintAssociation:
    """A PrintAssociation to ``server`` (from running_printer) on 127.0.0.1."""
    address = PrinterAddress("127.0.0.1", server.port, server.profile.ae_title,
                             calling_ae=options.pop("calling_ae", "TEST_SCU"),
                             acse_timeout_s=10, dimse_timeout_s=TIMEOUT_S,
                             network_timeout_s=TIMEOUT_S)
    return PrintAssociation(address, **options)


def dataset(**attributes) -> Dataset:
    ds = Dataset()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def new_session(assoc: PrintAssociation, **attributes) -> str:
    """N-CREATE a Film Session (Number of Copies 1 unless given); its UID."""
    attributes.setdefault("NumberOfCopies", 1)
    status, uid = assoc.create_film_session(dataset(**attributes))
    assert status == SUCCESS, str(assoc.last_result)
    return uid


def density_settings(**attributes) -> dict:
    """Film Box attributes fixing the density maths: the module's constants, overridable."""
    settings = dict(MinDensity=MIN_DENSITY, MaxDensity=MAX_DENSITY, Illumination=ILLUMINATION,
                    ReflectedAmbientLight=AMBIENT, MagnificationType="REPLICATE")
    settings.update(attributes)
    return settings


def new_film_box(assoc: PrintAssociation, session_uid: str, display_format: str,
                 film_size: str = "8INX10IN", expect: int = SUCCESS,
                 **attributes) -> FilmBoxRefs:
    """N-CREATE a Film Box with the density settings of this module."""
    ds = dataset(ImageDisplayFormat=display_format, FilmSizeID=film_size,
                 FilmOrientation="PORTRAIT", **density_settings(**attributes))
    status, refs = assoc.create_film_box(ds, film_session_uid=session_uid)
    assert status == expect, str(assoc.last_result)
    return refs


def uniform(value: int, rows: int = 8, columns: int = 8, bits: int = 8) -> np.ndarray:
    return np.full((rows, columns), value, dtype=np.uint8 if bits == 8 else np.uint16)


def expected_od(p_value, p_max: int = 255, min_density: float = MIN_DENSITY / 100,
                max_density: float = MAX_DENSITY / 100) -> np.ndarray:
    """PS3.14 density of P-Values under this module's viewing conditions (lut.density)."""
    return p_values_to_density(p_value, p_max, min_density, max_density, VIEWING)


def print_film_box(assoc: PrintAssociation, refs: FilmBoxRefs) -> Dataset | None:
    status, reply = assoc.print_film_box(refs.film_box_uid)
    assert status == SUCCESS, str(assoc.last_result)
    return reply


def print_job_uid(reply: Dataset | None) -> str:
    """The Print Job SOP Instance UID of an N-ACTION Action Reply (PS3.4 H.4.2.2.4.1)."""
    assert reply is not None and REFERENCED_PRINT_JOB_SEQUENCE in reply, reply
    items = reply[REFERENCED_PRINT_JOB_SEQUENCE].value
    assert len(items) == 1
    assert items[0].ReferencedSOPClassUID == PRINT_JOB_CLASS
    return str(items[0].ReferencedSOPInstanceUID)


def printed_films(output_dir: Path, count: int) -> list[dict]:
    """The metadata of exactly ``count`` films, waiting for them to be rendered."""
    found = wait_for_films(output_dir, count, timeout=TIMEOUT_S)
    assert len(found) == count, f"{len(found)} films rendered, expected {count}"
    return [film_metadata(path) for path in found]


def density_map(output_dir: Path, film: dict) -> tuple[np.ndarray, int]:
    """The film's density map (OD) and its dpi."""
    return read_density_map(output_dir / film["film"]["files"]["density_png"])


def rects(film: dict, kind: str = "image_box_rects_px") -> dict[int, tuple[int, int, int, int]]:
    """{position: (x, y, width, height)} of the film's boxes from its JSON."""
    return {r["position"]: (r["x"], r["y"], r["width"], r["height"]) for r in film["film"][kind]}


def centre_density(density: np.ndarray, rect: tuple[int, int, int, int],
                   half: int = 1) -> float:
    """Mean OD of the (2·half + 1)² pixels at the centre of ``rect``."""
    x, y, w, h = rect
    return measure(density, (x + w // 2 - half, y + h // 2 - half, 2 * half + 1, 2 * half + 1))


def wait_until(condition: Callable[[], bool], timeout_s: float = TIMEOUT_S) -> bool:
    """Poll ``condition`` every 10 ms until it holds or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def job_events(assoc: PrintAssociation, job_uid: str) -> list[ReceivedEvent]:
    return [e for e in assoc.events.snapshot()
            if e.sop_class_uid == PRINT_JOB_CLASS and e.sop_instance_uid == job_uid]


def printer_events(assoc: PrintAssociation) -> list[ReceivedEvent]:
    return [e for e in assoc.events.snapshot() if e.sop_class_uid == PRINTER_CLASS]


def job_done(assoc: PrintAssociation, job_uid: str) -> bool:
    return any(e.event_type_id == 3 for e in job_events(assoc, job_uid))

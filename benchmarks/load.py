"""Load: many concurrent associations printing many films; every film checked.

    python benchmarks/load.py [--associations 50] [--films 10] [--render-processes 2]

``print-scp serve`` runs as a separate process (profile: 50 dpi films,
enough associations and queue for the load). Each association is a thread
with the project's SCU (``print_scu.association.PrintAssociation``): one Film
Session, then per film a 8INX10IN STANDARD\\1,1 Film Box, one 64 x 64 image,
N-ACTION. All associations start together.

Each image is a 4 x 4 grid of black (P-Value 0) and white (255) cells that
spells a 16-bit code unique to its (association, film): 9 bits of the film's
number, their parity and 6 bits of a hash of it, so two codes differ in at
least two cells. Every film is then read back from its density map: each cell's
centre must show the PS3.14 density of black or of white (lut.density, to
0.002 OD), and the code read must be the one sent for that film's Print
Job. A film printed from another film's image, a blend of two, a missing
film and a film printed twice all fail.

Used by ``tests/test_scp_load.py`` (a smaller run); run alone it prints
the figures of the full run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset

from film.densitometry import measure, read_density_map
from lut.density import ViewingConditions, p_values_to_density
from print_scp.launcher import free_port, start_print_scp
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation
from print_scu.image_box_requests import grayscale_image_box

AE_TITLE = "FILMBOX"
IMAGE_SIDE, GRID = 64, 4  # px, cells per side
CELL = IMAGE_SIDE // GRID
FILM_SIZE, DPI = "8INX10IN", 50
# Film Box settings the expected densities are computed for (hundredths of OD, cd/m²).
MIN_DENSITY, MAX_DENSITY, ILLUMINATION, AMBIENT = 20, 300, 2000, 10
BLACK, WHITE = 0, 255  # P-Values of the cells
TOLERANCE_OD = 0.002  # the density PNG stores 0.001 OD steps
TIMEOUT_S = 120.0  # bound of every DIMSE wait and of the wait for the films


def code_of(association: int, film: int, films_per_association: int) -> int:
    """The 16-bit code of a film: its number (9 bits), their parity, a 6-bit hash of it.

    The parity bit makes any two codes differ in at least two bits.
    """
    number = association * films_per_association + film
    if number >= 1 << 9:
        raise ValueError(f"film number {number} needs more than the code's 9 bits")
    parity = bin(number).count("1") & 1
    return number | parity << 9 | ((number * 37 + 11) % 64) << 10


def pattern(code: int) -> np.ndarray:
    """The 64 x 64 8-bit image of ``code``: cell i (row-major) is white if bit i is set."""
    bits = (code >> np.arange(GRID * GRID)) & 1
    cells = np.where(bits.reshape(GRID, GRID) == 1, WHITE, BLACK).astype(np.uint8)
    return np.kron(cells, np.ones((CELL, CELL), np.uint8))


def cell_densities() -> tuple[float, float]:
    """PS3.14 density (OD) of a black and of a white cell on these films."""
    black, white = p_values_to_density(np.array([BLACK, WHITE]), 255, MIN_DENSITY / 100,
                                       MAX_DENSITY / 100,
                                       ViewingConditions(float(ILLUMINATION), float(AMBIENT)))
    return float(black), float(white)


def read_code(density: np.ndarray, box: dict) -> int | None:
    """The code a film shows in its image box, None if a cell is neither black nor white.

    The square image fills the box's width or height and is centred in it
    (largest size that fits, PS3.3 C.13.5 Magnification Type); each cell is
    measured on 3 x 3 pixels at its centre.
    """
    black, white = cell_densities()
    side = min(box["width"], box["height"])
    left = box["x"] + (box["width"] - side) / 2
    top = box["y"] + (box["height"] - side) / 2
    code = 0
    for index in range(GRID * GRID):
        row, column = divmod(index, GRID)
        x = round(left + (column + 0.5) * side / GRID)
        y = round(top + (row + 0.5) * side / GRID)
        od = measure(density, (x - 1, y - 1, 3, 3))
        if abs(od - white) <= TOLERANCE_OD:
            code |= 1 << index
        elif abs(od - black) > TOLERANCE_OD:
            return None
    return code


@dataclass
class LoadRun:
    """What was sent and how it went."""

    associations: int
    films: int  # per association
    expected: dict[str, int] = field(default_factory=dict)  # Print Job UID -> code
    errors: list[str] = field(default_factory=list)
    print_s: float = 0.0  # first association request to last release
    render_s: float = 0.0  # first association request to the last film on disk
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, job_uid: str, code: int) -> None:
        with self._lock:
            self.expected[job_uid] = code

    def fail(self, text: str) -> None:
        with self._lock:
            self.errors.append(text)


@dataclass
class Check:
    """The films found, read back against what was sent."""

    films: int = 0
    correct: int = 0
    wrong: list[str] = field(default_factory=list)  # film names, with what they showed
    missing: list[str] = field(default_factory=list)  # Print Job UIDs without a film
    duplicated: list[str] = field(default_factory=list)  # Print Job UIDs with several

    @property
    def ok(self) -> bool:
        return not (self.wrong or self.missing or self.duplicated)


def write_profile(path: Path, associations: int, films: int) -> Path:
    """A printer profile for the load: 50 dpi, room for every association and film."""
    path.write_text(f"[printer]\nae_title = \"{AE_TITLE}\"\n[resolution]\nstandard_dpi = {DPI}\n"
                    f"[limits]\nmax_associations = {associations + 10}\n"
                    f"queue_capacity = {associations * films}\n")
    return path


def _association(address: PrinterAddress, run: LoadRun, index: int) -> None:
    """One association printing ``run.films`` films, each of its own code."""
    try:
        with PrintAssociation(address, presentation_lut=False, annotation=False) as scu:
            session = Dataset()
            session.NumberOfCopies = 1
            status, session_uid = scu.create_film_session(session)
            if status != 0:
                raise RuntimeError(str(scu.last_result))
            for film in range(run.films):
                code = code_of(index, film, run.films)
                box = Dataset()
                box.ImageDisplayFormat, box.FilmSizeID = "STANDARD\\1,1", FILM_SIZE
                box.MinDensity, box.MaxDensity = MIN_DENSITY, MAX_DENSITY
                box.Illumination, box.ReflectedAmbientLight = ILLUMINATION, AMBIENT
                box.MagnificationType = "REPLICATE"
                status, refs = scu.create_film_box(box, film_session_uid=session_uid)
                if refs is None:
                    raise RuntimeError(str(scu.last_result))
                if scu.set_image_box(refs.image_box_uids[0],
                                     grayscale_image_box(1, pattern(code), 8)) != 0:
                    raise RuntimeError(str(scu.last_result))
                status, reply = scu.print_film_box(refs.film_box_uid)
                if status != 0:
                    raise RuntimeError(str(scu.last_result))
                item = reply[0x21000500].value[0]  # Referenced Print Job Sequence
                run.record(str(item.ReferencedSOPInstanceUID), code)
    except Exception as exc:  # recorded: the run's verdict lists every failed association
        run.fail(f"association {index}: {type(exc).__name__}: {exc}")


def drive(port: int, run: LoadRun) -> None:
    """All associations at once, each in its own thread; returns when all have ended."""
    threads = [threading.Thread(target=_association, name=f"load-{i}", args=(
        PrinterAddress("127.0.0.1", port, AE_TITLE, calling_ae=f"LOAD_{i:03d}",
                       acse_timeout_s=TIMEOUT_S, dimse_timeout_s=TIMEOUT_S,
                       network_timeout_s=TIMEOUT_S), run, i))
               for i in range(run.associations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT_S * run.films)
        if thread.is_alive():
            run.fail(f"{thread.name} still running after {TIMEOUT_S * run.films:.0f} s")


def wait_for_films(output: Path, count: int, timeout_s: float = TIMEOUT_S) -> list[Path]:
    """The JSON of every rendered film, once ``count`` are there (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = sorted(output.glob("*.json"))
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def check(output: Path, run: LoadRun) -> Check:
    """Read every film's code back and compare it with its Print Job's."""
    result = Check()
    seen: Counter[str] = Counter()
    for path in sorted(output.glob("*.json")):
        film = json.loads(path.read_text())
        result.films += 1
        job_uid = film["print_job"]["uid"]
        seen[job_uid] += 1
        density, _dpi = read_density_map(output / film["film"]["files"]["density_png"])
        [box] = film["film"]["image_box_rects_px"]
        shown, sent = read_code(density, box), run.expected.get(job_uid)
        if shown is not None and shown == sent:
            result.correct += 1
        else:
            result.wrong.append(f"{path.stem}: shows {shown}, sent {sent}")
    result.missing = sorted(set(run.expected) - set(seen))
    result.duplicated = sorted(uid for uid, count in seen.items() if count > 1)
    return result


def run_load(directory: Path, associations: int, films: int,
             render_processes: int = 2) -> tuple[LoadRun, Check]:
    """Start print-scp in ``directory``, drive the load, check every film, stop it."""
    output = directory / "films"
    profile = write_profile(directory / "load.toml", associations, films)
    port = free_port()
    with (directory / "print-scp.log").open("w") as log:
        process = start_print_scp(output, port, "--config", str(profile),
                                  "--render-processes", str(render_processes), log=log)
    run = LoadRun(associations, films)
    try:
        started = time.perf_counter()
        drive(port, run)
        run.print_s = time.perf_counter() - started
        wait_for_films(output, associations * films)
        run.render_s = time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(timeout=60)
    return run, check(output, run)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--associations", type=int, default=50)
    parser.add_argument("--films", type=int, default=10, help="films per association")
    parser.add_argument("--render-processes", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        run, result = run_load(Path(directory), args.associations, args.films,
                               args.render_processes)
    total = args.associations * args.films
    print(f"{args.associations} associations x {args.films} films = {total} films")
    print(f"all N-ACTIONs answered after {run.print_s:.1f} s; all films on disk after "
          f"{run.render_s:.1f} s ({total / run.render_s:.1f} films/s)")
    print(f"films checked: {result.films}, correct: {result.correct}, wrong: "
          f"{len(result.wrong)}, missing: {len(result.missing)}, duplicated: "
          f"{len(result.duplicated)}; association errors: {len(run.errors)}")
    for line in (run.errors + result.wrong)[:20]:
        print("  " + line)
    return 0 if result.ok and not run.errors and result.correct == total else 1


if __name__ == "__main__":
    sys.exit(main())

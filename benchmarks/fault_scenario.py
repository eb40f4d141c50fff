"""Fault injection: print-scp killed with SIGKILL while print-scu delivers films.

Shared by ``tests/test_scp_faults.py`` (one short run) and
``benchmarks/faults.py`` (longer runs and a report). It lives under
benchmarks/ because benchmarks may not import from tests/, while tests may
import a tool (they put benchmarks/ on sys.path).

The scenario (:func:`run_scenario`), in a fresh work directory:

1. ``films`` one-image DICOM files, each image a two-level code of its film
   number (:func:`code_image`), submitted with ``print-scu submit`` as
   ``jobs`` jobs of consecutive films, STANDARD\\1,1 on 8INX10IN.
2. ``print-scp serve`` (a child process, 50 dpi so renders are cheap) on a
   fixed port, and ``print-scu worker`` (a child process) whose printer
   profile retries after 0.1 s (doubling up to 0.4 s) and does not give up.
3. ``kills`` times: once the client has had a number of films acknowledged
   (its queue's ``films_done``; a seeded random threshold) and after a random
   delay of up to 0.3 s, print-scp's main process is killed with SIGKILL (its
   render processes are left to notice, as after a crash) and restarted on
   the same port and output directory after a random pause of 0.1 to 0.8 s.
4. Once every job is DONE and the printer's spool is empty, both are stopped
   and the output directory is read back (:func:`read_outputs`): each film's
   density map is decoded to its film number. The processes of every ended
   print-scp run must be gone by then (:meth:`PrinterProcess.lingering`).
5. With a ``pacs`` (Orthanc), the printer also forwards every film to it as a
   Secondary Capture and an Encapsulated PDF, retrying every 0.2 to 1 s; the
   run then also waits for every delivery to end, and reads back what Orthanc
   holds: each instance is mapped to the film it shows through the UIDs the
   printer derives from each written film (print_scp.forward.store.instance_uid).
6. With a ``film_printer`` (DCMTK's dcmprscp), the printer also forwards every
   film to it through print-scu's queue; the images dcmprscp stored are read
   back and matched, pixel for pixel, with the film codes.

What the design promises (print_scp.output.spool, print_scp.output.render_worker,
print_scu.worker): a job is in the printer's spool before its N-ACTION is
answered and leaves it only after its films are written under names derived
from its Print Job UID, so a restarted printer renders what it acknowledged,
again under the same names (overwriting, never a second copy); the client
records a film as sent only on a success response, as printed once its Print
Job is DONE (asking with N-GET after a restart), and resends only films
without one. So no film is lost, each acknowledged Print Job is rendered
exactly once, and a film is rendered twice only when the printer spooled its
N-ACTION and was killed before the response left: at most one film per kill
and association (the worker sends one N-ACTION at a time per association,
and the printer is down, refusing associations, from the kill to the restart).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

import numpy as np
import pydicom
from dcmtk import Dcmprscp, write_image
from harness import spooled_jobs
from orthanc_server import OrthancServer
from PIL import Image

from film.densitometry import measure, read_density_map
from print_scp.forward.outbox import DONE, FAILED, deliveries_in
from print_scp.forward.sinks import StoreObject
from print_scp.forward.store import instance_uid
from print_scp.launcher import free_port, start_print_scp
from print_scu import cli as print_scu_cli
from print_scu.queue import JobQueue, JobState

# -- the film code --------------------------------------------------------------------------

IMAGE_SIDE = 32  # pixels of each code image
FRAME_PX = 2  # dark frame around the code, in image pixels
CODE_COLUMNS, CODE_ROWS = 4, 2  # blocks of the code: 7 bits of film number, 1 parity bit
NUMBER_BITS = CODE_COLUMNS * CODE_ROWS - 1
MAX_FILMS = 2 ** NUMBER_BITS - 1  # film numbers 1..127
DARK, LIGHT = 0, 255  # P-Values of a 0 bit (and the frame) and of a 1 bit
MIN_DENSITY, MAX_DENSITY = 20, 300  # hundredths of OD: the film's range, P-Value 255 and 0
LEVEL_TOLERANCE_OD = 0.05  # a block's centre must be this close to Min or Max Density, OD

# -- the printer, the client, the kills ---------------------------------------------------

DPI = 50  # print-scp's standard resolution here, dpi
AE_TITLE = "FILMBOX"
KILL_DELAY_S = (0.0, 0.3)  # after the threshold is reached, before the SIGKILL
RESTART_PAUSE_S = (0.1, 0.8)  # from the SIGKILL to the restart
POLL_S = 0.02  # how often the scenario looks at the client's queue and the spool
PACS_SINK = "pacs"  # the printer's store sink, when the run has a PACS
HARDCOPY_GRAYSCALE_IMAGE = "1.2.840.10008.5.1.1.29"  # what dcmprscp stores per image box
STOP_TIMEOUT_S = 20.0  # for a child to end after SIGTERM
LEAK_GRACE_S = 10.0  # for the processes of ended print-scp runs to end after the last stop
CLIENT_PRINTER = "faulty"
CLIENT_PROFILE = {  # seconds; the printer is down for at most RESTART_PAUSE_S + start-up
    "host": "127.0.0.1", "called_ae": AE_TITLE, "calling_ae": "FAULT_SCU",
    "acse_timeout_s": 10.0, "dimse_timeout_s": 10.0, "network_timeout_s": 10.0,
    "retry_backoff_s": 0.1, "retry_backoff_cap_s": 0.4, "max_attempts": 100_000,
}
# The worker's log line per acknowledged film (print_scu.worker, films_accepted).
_ACK_LINE = re.compile(r"job (\d+): film (\d+)/(\d+) sent to \S+ \(print job ([\d.]+)\)")


def code_bits(number: int) -> list[int]:
    """The CODE_COLUMNS × CODE_ROWS bits of a film number: 7 bits, MSB first, then even parity."""
    if not 1 <= number <= MAX_FILMS:
        raise ValueError(f"film number {number} is outside 1..{MAX_FILMS}")
    bits = [(number >> shift) & 1 for shift in range(NUMBER_BITS - 1, -1, -1)]
    return bits + [sum(bits) % 2]


def code_image(number: int) -> np.ndarray:
    """IMAGE_SIDE² uint8 P-Values: a DARK frame around blocks DARK (0 bit) or LIGHT (1 bit).

    The blocks fill the inside of the frame in CODE_ROWS rows of CODE_COLUMNS,
    row by row from the top left, in the order of :func:`code_bits`.
    """
    image = np.full((IMAGE_SIDE, IMAGE_SIDE), DARK, dtype=np.uint8)
    for index, bit in enumerate(code_bits(number)):
        (x0, y0, x1, y1) = _block(index, 0.0, 0.0, 1.0)
        image[round(y0):round(y1), round(x0):round(x1)] = LIGHT if bit else DARK
    return image


def _block(index: int, left: float, top: float, scale: float) -> tuple[float, ...]:
    """Block ``index`` as (x0, y0, x1, y1) film pixels, the image's top left at (left, top)
    and ``scale`` film pixels per image pixel."""
    inner = IMAGE_SIDE - 2 * FRAME_PX
    width, height = inner / CODE_COLUMNS, inner / CODE_ROWS
    row, column = divmod(index, CODE_COLUMNS)
    x0 = left + (FRAME_PX + column * width) * scale
    y0 = top + (FRAME_PX + row * height) * scale
    return x0, y0, x0 + width * scale, y0 + height * scale


def decode_film(density: np.ndarray, box: tuple[int, int, int, int]) -> int:
    """The film number coded in image box ``box`` (x, y, width, height px) of a density map (OD).

    The image is found as the bounding box of the film darker than the middle
    of the density range (the code's frame); each block is read at its centre.
    Raises ValueError when a block is neither at Min nor at Max Density, or
    the parity does not hold.
    """
    low, high = MIN_DENSITY / 100, MAX_DENSITY / 100
    x, y, width, height = box
    dark_rows, dark_columns = np.nonzero(density[y:y + height, x:x + width] > (low + high) / 2)
    if dark_rows.size == 0:
        raise ValueError("no coded image in the image box")
    left, top = x + dark_columns.min(), y + dark_rows.min()
    scale = (dark_columns.max() + 1 - dark_columns.min()) / IMAGE_SIDE
    bits = []
    for index in range(CODE_COLUMNS * CODE_ROWS):
        x0, y0, x1, y1 = _block(index, float(left), float(top), scale)
        centre = (round((x0 + x1) / 2) - 1, round((y0 + y1) / 2) - 1, 3, 3)
        level = measure(density, centre)
        if abs(level - low) <= LEVEL_TOLERANCE_OD:
            bits.append(1)
        elif abs(level - high) <= LEVEL_TOLERANCE_OD:
            bits.append(0)
        else:
            raise ValueError(f"code block {index} reads {level:.3f} OD, neither Min Density "
                             f"{low} nor Max Density {high} OD")
    if sum(bits) % 2:
        raise ValueError(f"code {bits} fails its parity bit")
    return int("".join(map(str, bits[:NUMBER_BITS])), 2)


# -- reading the printer's output ---------------------------------------------------------


@dataclass(frozen=True)
class OutputFilm:
    """One film in the output directory: its name, its Print Job, the film number it shows."""

    stem: str
    print_job_uid: str
    created: datetime  # when the printer created the Print Job (its N-ACTION), local time
    number: int


def read_outputs(output: Path) -> tuple[list[OutputFilm], list[str]]:
    """The films of an output directory, and what is wrong with it.

    A film is a ``<stem>.json`` whose PDF, PNG and density PNG exist and
    decode, and whose density map shows a film code. Anything else is a
    problem: a sibling missing or broken, a code that does not read, a
    temporary ``*.tmp`` of the film writer or of the spool, a job the printer
    quarantined (``.spool/failed/``) or left in its spool.
    """
    films, problems = [], []
    leftovers = [*output.glob("*.tmp"), *output.glob(".*.tmp"), *output.glob(".spool/.*.tmp")]
    problems += [f"temporary file left: {path.relative_to(output)}" for path in leftovers]
    problems += [f"job quarantined by the printer: {path.name}"
                 for path in sorted(output.glob(".spool/failed/*"))]
    problems += [f"job left in the printer's spool: {uid}" for uid in spooled_jobs(output)]
    for path in sorted(output.glob("*.json")):
        try:
            document = json.loads(path.read_text())
            files = document["film"]["files"]
            _check_pdf(output / files["pdf"])
            with Image.open(output / files["png"]) as image:
                image.load()
            density, _dpi = read_density_map(output / files["density_png"])
            (rect,) = document["film"]["image_box_rects_px"]
            number = decode_film(density, (rect["x"], rect["y"], rect["width"], rect["height"]))
        except (OSError, ValueError, KeyError) as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        job = document["print_job"]
        films.append(OutputFilm(path.stem, job["uid"], datetime.fromisoformat(job["created"]),
                                number))
    return films, problems


def _written(output: Path, print_job_uid: str) -> bool:
    """True if every film of a spooled job is in the output directory (its JSON, written last)."""
    try:
        document = json.loads((output / ".spool" / print_job_uid / "job.json").read_text())
    except (OSError, ValueError):
        return False
    return all((output / f"{film['name']}.json").exists() for film in document["films"])


def _check_pdf(path: Path) -> None:
    """Raise ValueError unless ``path`` starts like a PDF and ends with its %%EOF marker."""
    content = path.read_bytes()
    if not content.startswith(b"%PDF-") or b"%%EOF" not in content[-64:]:
        raise ValueError(f"{path.name} is not a complete PDF")


# -- the printer's processes --------------------------------------------------------------


@dataclass(frozen=True, order=True)
class ProcessRef:
    """A process by id and start time (clock ticks since boot), so a reused id is not it."""

    pid: int
    started: int


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3.. of /proc/<pid>/stat (state first), None if there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def descendants(pid: int) -> list[ProcessRef]:
    """The children of ``pid`` and theirs (Linux /proc), [] if it is gone."""
    found = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for thread in threads:
        try:
            children = Path(f"/proc/{pid}/task/{thread}/children").read_text().split()
        except OSError:
            continue
        for child in map(int, children):
            fields = _stat_fields(child)
            if fields is not None:
                found += [ProcessRef(child, int(fields[19])), *descendants(child)]
    return found


def alive(process: ProcessRef) -> bool:
    """True while ``process`` runs (not a zombie, and its id not reused)."""
    fields = _stat_fields(process.pid)
    return fields is not None and fields[0] != "Z" and int(fields[19]) == process.started


class PrinterProcess:
    """``print-scp serve`` on a fixed port and output directory, killed and restarted at will.

    The log of incarnation n goes to ``log_dir/print-scp-<n>.log``. The
    processes of every incarnation (its render processes), as seen by
    :meth:`watch` and when it ends, are remembered: :meth:`lingering` says
    which outlive it.
    """

    def __init__(self, output: Path, port: int, profile: Path, log_dir: Path) -> None:
        self.output, self.port, self.profile, self.log_dir = output, port, profile, log_dir
        self.process: subprocess.Popen | None = None
        self.started: list[datetime] = []  # when each incarnation was started
        self.family: set[ProcessRef] = set()  # children of every incarnation seen so far

    def start(self) -> None:
        self.started.append(datetime.now())
        with (self.log_dir / f"print-scp-{len(self.started)}.log").open("wb") as log:
            self.process = start_print_scp(self.output, self.port, "--config", str(self.profile),
                                           log=log)

    def watch(self) -> None:
        """Note the running printer's processes (called while waiting, so that a render
        process started after the last look before a kill is known too)."""
        if self.process is not None:
            self.family.update(descendants(self.process.pid))

    def kill(self) -> None:
        """SIGKILL the printer's main process (its children are left to notice)."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        """SIGTERM: the printer finishes the films in hand and stops (SIGKILL if it hangs)."""
        self._end(signal.SIGTERM)

    def _end(self, signum: int) -> None:
        assert self.process is not None
        self.watch()
        self.process.send_signal(signum)
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)
        self.process = None

    def lingering(self, grace_s: float) -> list[ProcessRef]:
        """Processes of ended incarnations still running after up to ``grace_s`` s of waiting."""
        deadline = time.monotonic() + grace_s
        while any(map(alive, self.family)) and time.monotonic() < deadline:
            time.sleep(POLL_S)
        return sorted(process for process in self.family if alive(process))

    def clean_up(self) -> None:
        """Kill whatever of the printer is still running."""
        if self.process is not None:
            self.kill()
        for process in self.family:
            if alive(process):
                os.kill(process.pid, signal.SIGKILL)


# -- the scenario -------------------------------------------------------------------------


@dataclass(frozen=True)
class FaultPlan:
    """What to run: ``films`` films in ``jobs`` jobs, ``kills`` SIGKILLs, seeded by ``seed``."""

    films: int = 100
    kills: int = 6
    seed: int = 1
    jobs: int = 4
    timeout_s: float = 120.0  # for the whole run, s


@dataclass(frozen=True)
class Kill:
    """One SIGKILL of print-scp, and how far the client was then."""

    at_s: float  # from the start of the run
    when: datetime  # local time, as the printer writes its Print Job creation times
    acknowledged: int  # films the client had recorded as printed
    spooled: int  # jobs in the printer's spool right after the kill
    written: int  # of those, jobs whose films were all written: rendered again, same names


@dataclass
class FaultOutcome:
    """What a run did: the kills, the films rendered, the client's acknowledgements."""

    plan: FaultPlan
    kills: list[Kill]
    starts: list[datetime]  # when each print-scp incarnation was started, local time
    outputs: list[OutputFilm]
    acknowledged: dict[int, list[str]]  # film number -> Print Job UIDs of its success responses
    recovered: int  # spooled jobs found by restarted printers (counted at each restart)
    problems: list[str]  # half-written output, stuck jobs, leaked processes, time-outs
    wall_s: float
    work_dir: Path
    stored: dict[StoreObject, list[int | None]] | None = None  # PACS: film number per
    # instance of each object type (None: an instance of no written film); None: no PACS
    deliveries: tuple[int, int, int] = (0, 0, 0)  # PACS: deliveries, attempts, failed
    printed_on: list[int | None] | None = None  # film printer: film number of each film it
    # printed (None: an image that is no film code); None: no film printer

    def printed_on_numbers(self) -> list[int]:
        return sorted({n for n in self.printed_on or [] if n is not None})

    def stored_numbers(self, kind: StoreObject) -> list[int]:
        """Distinct film numbers the PACS holds as ``kind``."""
        return sorted({n for n in (self.stored or {}).get(kind, []) if n is not None})

    def stored_duplicates(self, kind: StoreObject) -> int:
        """Instances of ``kind`` beyond one per film number (none is a stray)."""
        instances = (self.stored or {}).get(kind, [])
        return len(instances) - len(self.stored_numbers(kind))

    def copies(self, number: int) -> int:
        return sum(film.number == number for film in self.outputs)

    @property
    def lost(self) -> list[int]:
        """Film numbers rendered not at all."""
        return [n for n in range(1, self.plan.films + 1) if self.copies(n) == 0]

    @property
    def duplicated(self) -> int:
        """Films rendered beyond one per film number."""
        return sum(max(0, self.copies(n) - 1) for n in range(1, self.plan.films + 1))

    def rendered_from(self, print_job_uid: str) -> list[OutputFilm]:
        return [film for film in self.outputs if film.print_job_uid == print_job_uid]

    def unacknowledged_renders(self) -> list[OutputFilm]:
        """Rendered films whose Print Job got no success response at the client."""
        acked = {uid for uids in self.acknowledged.values() for uid in uids}
        return [film for film in self.outputs if film.print_job_uid not in acked]

    def kill_of(self, film: OutputFilm) -> Kill | None:
        """The kill that ended the print-scp run which created ``film``'s Print Job;
        None if that run was the last one (stopped, not killed)."""
        run = sum(start <= film.created for start in self.starts) - 1
        return self.kills[run] if 0 <= run < len(self.kills) else None

    def report(self) -> str:
        lines = [f"films {self.plan.films} in {self.plan.jobs} jobs, seed {self.plan.seed}, "
                 f"kills {len(self.kills)}: lost {len(self.lost)}, duplicated "
                 f"{self.duplicated}, spooled jobs found at restarts {self.recovered}, "
                 f"wall time {self.wall_s:.1f} s"]
        for number, kill in enumerate(self.kills, start=1):
            lines.append(f"  kill {number} at {kill.at_s:6.2f} s: {kill.acknowledged:3d} films "
                         f"acknowledged, {kill.spooled} jobs in the printer's spool "
                         f"({kill.written} of them already written)")
        acked = {uid: n for n, uids in self.acknowledged.items() for uid in uids}
        for film in self.unacknowledged_renders():
            kill = self.kill_of(film)
            when = ("by a print-scp run that was not killed" if kill is None else
                    f"{(kill.when - film.created).total_seconds() * 1000:.0f} ms before kill "
                    f"{self.kills.index(kill) + 1}")
            resent = [uid for uid, n in acked.items() if n == film.number]
            lines.append(f"  duplicate: film {film.number} as {film.stem}: print job "
                         f"{film.print_job_uid} spooled {when}, its N-ACTION response never "
                         f"reached print-scu, which sent the film again (print job "
                         f"{', '.join(resent) or 'none'})")
        if self.stored is not None:
            count, attempts, failed = self.deliveries
            lines.append(f"  deliveries to the PACS: {count} (one per written film), "
                         f"{attempts} attempts ({attempts - count} repeated after a kill or a "
                         f"refused connection), {failed} failed")
        for kind, instances in (self.stored or {}).items():
            numbers = self.stored_numbers(kind)
            missing = sorted(set(range(1, self.plan.films + 1)) - set(numbers))
            lines.append(f"  PACS {kind.value}: {len(instances)} instances, {len(numbers)} "
                         f"distinct films, missing {missing}, duplicates "
                         f"{self.stored_duplicates(kind)} (the duplicated films above, each its "
                         f"own Print Job), strays {instances.count(None)}")
        if self.printed_on is not None:
            numbers = self.printed_on_numbers()
            missing = sorted(set(range(1, self.plan.films + 1)) - set(numbers))
            extra = len(self.printed_on) - len(numbers)
            lines.append(f"  film printer (dcmprscp): {len(self.printed_on)} films printed, "
                         f"{len(numbers)} distinct, missing {missing}, duplicates {extra}: "
                         f"{min(extra, self.duplicated)} of films print-scp rendered twice "
                         f"(above), {max(0, extra - self.duplicated)} printed again because "
                         "print-scp was killed after the printer took the film and before "
                         "print-scu's queue recorded it")
        lines += [f"  problem: {problem}" for problem in self.problems]
        return "\n".join(lines)


def run_scenario(plan: FaultPlan, work_dir: Path | None = None,
                 pacs: OrthancServer | None = None,
                 film_printer: Dcmprscp | None = None) -> FaultOutcome:
    """Run ``plan`` in ``work_dir`` (default: a new temporary directory, kept for inspection),
    forwarding every film to ``pacs`` and ``film_printer`` if given."""
    if not 1 <= plan.films <= MAX_FILMS:
        raise ValueError(f"films {plan.films} is outside 1..{MAX_FILMS} (the film code's range)")
    work_dir = Path(work_dir or tempfile.mkdtemp(prefix="filmbox-faults-"))
    rng = random.Random(plan.seed)
    paths = _prepare(work_dir, plan, pacs, film_printer)
    port = free_port()
    printers = _write_client_profile(work_dir, port)
    job_films = _submit(paths, printers, plan)
    queue = JobQueue(paths["spool"])
    printer = PrinterProcess(paths["output"], port, paths["printer_profile"], paths["logs"])
    worker: subprocess.Popen | None = None
    kills: list[Kill] = []
    problems: list[str] = []
    started = time.monotonic()
    deadline = started + plan.timeout_s
    try:
        printer.start()
        worker = _start_worker(paths, printers)
        for threshold in sorted(rng.randint(1, plan.films) for _ in range(plan.kills)):
            _wait(printer, lambda target=threshold: _acknowledged(queue) >= target, deadline,
                  f"{threshold} films acknowledged")
            time.sleep(rng.uniform(*KILL_DELAY_S))
            acknowledged, at_s = _acknowledged(queue), time.monotonic() - started
            kill_time = datetime.now()
            printer.kill()
            spooled = spooled_jobs(paths["output"])
            kills.append(Kill(at_s, kill_time, acknowledged, len(spooled),
                              sum(map(partial(_written, paths["output"]), spooled))))
            time.sleep(rng.uniform(*RESTART_PAUSE_S))
            printer.start()
        _wait(printer, lambda: _all_done(queue) and not spooled_jobs(paths["output"]), deadline,
              "every job DONE and the printer's spool empty")
        if pacs is not None or film_printer is not None:
            _wait(printer, lambda: _deliveries_left(paths["output"]) == 0, deadline,
                  "every forwarded film delivered")
    except TimeoutError as exc:
        problems.append(str(exc))
    finally:
        if worker is not None:
            _stop(worker)
        if printer.process is not None:
            printer.stop()
        lingering = printer.lingering(LEAK_GRACE_S)
        printer.clean_up()
    wall_s = time.monotonic() - started
    if lingering:
        problems.append(f"{len(lingering)} processes of ended print-scp runs still running "
                        f"{LEAK_GRACE_S:g} s after the last stop (killed now): "
                        f"{', '.join(str(p.pid) for p in lingering)}")
    outputs, output_problems = read_outputs(paths["output"])
    problems += output_problems + _client_problems(queue)
    return FaultOutcome(
        plan, kills, printer.started, outputs,
        _acknowledgements(paths["logs"] / "print-scu-worker.log", job_films),
        _recovered(paths["logs"]), problems, wall_s, work_dir,
        _stored(pacs, outputs) if pacs is not None else None,
        _delivery_counts(paths["output"]) if pacs is not None else (0, 0, 0),
        _printed_on(film_printer) if film_printer is not None else None)


def _prepare(work_dir: Path, plan: FaultPlan, pacs: OrthancServer | None,
             film_printer: Dcmprscp | None) -> dict[str, Path]:
    paths = {name: work_dir / name for name in ("images", "output", "spool", "logs")}
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    paths["printer_profile"] = work_dir / "printer.toml"
    profile = f"[resolution]\nstandard_dpi = {DPI}\n"
    if pacs is not None:
        profile += ("[forwarding]\nretry_initial_s = 0.2\nretry_max_s = 1\nattempts = 100000\n"
                    f"[[forward]]\nname = \"{PACS_SINK}\"\ntype = \"store\"\n"
                    f"host = \"127.0.0.1\"\nport = {pacs.dicom_port}\ncalled_ae = \"{pacs.aet}\"\n"
                    "objects = [\"secondary-capture\", \"encapsulated-pdf\"]\n")
    if film_printer is not None:
        printers = work_dir / "forward-printers.toml"
        printers.write_text(
            f"[printers.dcmtk]\nhost = \"127.0.0.1\"\nport = {film_printer.port}\n"
            f"called_ae = \"{film_printer.aetitle}\"\nprint_job = false\nannotation = false\n"
            "retry_backoff_s = 0.1\nretry_backoff_cap_s = 0.4\nmax_attempts = 100000\n"
            "idle_keep_open_s = 0.5\n")
        if pacs is None:
            profile += "[forwarding]\nretry_initial_s = 0.2\nretry_max_s = 1\n"
        # dcmprscp, as configured by benchmarks/dcmtk.py, refuses the two densities (0x0105)
        profile += ("[[forward]]\nname = \"film\"\ntype = \"printer\"\nprinters = [\"dcmtk\"]\n"
                    f"printers_config = \"{printers}\"\n"
                    "drop_attributes = [\"BorderDensity\", \"EmptyImageDensity\"]\n")
    paths["printer_profile"].write_text(profile)
    for number in range(1, plan.films + 1):
        write_image(paths["images"] / f"film-{number:03d}.dcm", code_image(number))
    return paths


def _write_client_profile(work_dir: Path, port: int) -> Path:
    path = work_dir / "printers.toml"
    lines = [f"[printers.{CLIENT_PRINTER}]", f"port = {port}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in CLIENT_PROFILE.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _submit(paths: dict[str, Path], printers: Path, plan: FaultPlan) -> dict[int, list[int]]:
    """``print-scu submit`` the films as ``plan.jobs`` jobs; {job id: its film numbers}."""
    numbers = list(range(1, plan.films + 1))
    parts = min(plan.jobs, plan.films)
    bounds = [plan.films * i // parts for i in range(parts + 1)]
    job_films = {}
    for start, end in zip(bounds, bounds[1:], strict=False):
        printed, notes = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(notes):
            status = print_scu_cli.main([
                "submit", "--config", str(printers), "--spool", str(paths["spool"]),
                "--printer", CLIENT_PRINTER, "--format", "STANDARD\\1,1",
                "--film-size", "8INX10IN", "--magnification", "REPLICATE",
                "--min-density", str(MIN_DENSITY), "--max-density", str(MAX_DENSITY),
                "--border-density", "WHITE", "--empty-density", "WHITE",
                *[str(paths["images"] / f"film-{n:03d}.dcm") for n in numbers[start:end]]])
        if status != 0:
            raise RuntimeError(f"print-scu submit exited with status {status}: "
                               f"{notes.getvalue().strip()}")
        job_films[int(printed.getvalue())] = numbers[start:end]
    return job_films


def _start_worker(paths: dict[str, Path], printers: Path) -> subprocess.Popen:
    with (paths["logs"] / "print-scu-worker.log").open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "print_scu.cli", "worker", "--config", str(printers),
             "--spool", str(paths["spool"])],
            stdout=subprocess.DEVNULL, stderr=log)


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM (the worker finishes the film in flight), SIGKILL if it does not end."""
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(STOP_TIMEOUT_S)


def _wait(printer: PrinterProcess, condition: Callable[[], bool], deadline: float,
          what: str) -> None:
    """Poll ``condition`` until it holds, watching the printer's processes meanwhile."""
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        printer.watch()
        time.sleep(POLL_S)


def _acknowledged(queue: JobQueue) -> int:
    """Films the client has recorded as printed, over all jobs."""
    return sum(job.films_done for job in queue.jobs())


def _all_done(queue: JobQueue) -> bool:
    return all(job.state is JobState.DONE for job in queue.jobs())


def _client_problems(queue: JobQueue) -> list[str]:
    return [f"print-scu job {job.id} is {job.state.value} ({job.films_done}/{job.films_total} "
            f"films): {job.last_error}" for job in queue.jobs() if job.state is not JobState.DONE]


def _acknowledgements(log: Path, job_films: dict[int, list[int]]) -> dict[int, list[str]]:
    """Film number -> Print Job UIDs of the success responses the worker logged for it."""
    acknowledged: dict[int, list[str]] = {}
    for match in _ACK_LINE.finditer(log.read_text(errors="replace")):
        job_id, index = int(match[1]), int(match[2]) - 1
        acknowledged.setdefault(job_films[job_id][index], []).append(match[4])
    return acknowledged


def _deliveries_left(output: Path) -> int:
    """Deliveries of the outbox not yet done or failed (read without the printer)."""
    recorded = deliveries_in(output)
    if not recorded:
        return 1  # none recorded yet
    return sum(d.state not in (DONE, FAILED) for d in recorded)


def _delivery_counts(output: Path) -> tuple[int, int, int]:
    """(deliveries, attempts, failed deliveries) of the outbox to the PACS."""
    to_pacs = [d for d in deliveries_in(output) if d.sink == PACS_SINK]
    return (len(to_pacs), sum(d.attempts for d in to_pacs),
            sum(d.state == FAILED for d in to_pacs))


def _printed_on(film_printer: Dcmprscp) -> list[int | None]:
    """The film number of every image dcmprscp stored (None: no film code)."""
    codes = {code_image(n).tobytes(): n for n in range(1, MAX_FILMS + 1)}
    numbers: list[int | None] = []
    for path in sorted(film_printer.database.glob("*.dcm")):
        ds = pydicom.dcmread(path)
        if ds.SOPClassUID == HARDCOPY_GRAYSCALE_IMAGE:
            numbers.append(codes.get(ds.pixel_array.astype(np.uint8).tobytes()))
    return numbers


def _stored(pacs: OrthancServer, outputs: list[OutputFilm]) -> dict[StoreObject, list[int | None]]:
    """Film number of each instance the PACS holds, by object type (None: no such film)."""
    numbers = {instance_uid(film.print_job_uid, film.stem, PACS_SINK, kind): film.number
               for film in outputs for kind in StoreObject}
    classes = {"1.2.840.10008.5.1.4.1.1.7": StoreObject.SECONDARY_CAPTURE,
               "1.2.840.10008.5.1.4.1.1.104.1": StoreObject.ENCAPSULATED_PDF}
    stored: dict[StoreObject, list[int | None]] = {kind: [] for kind in StoreObject}
    for instance in pacs.instances():
        stored[classes[instance["SOPClassUID"]]].append(numbers.get(instance["SOPInstanceUID"]))
    return stored


def _recovered(log_dir: Path) -> int:
    """Spooled jobs that restarted printers found (print_scp.output.render_worker's log line)."""
    return sum(log.read_text(errors="replace").count("recovered spooled job")
               for log in log_dir.glob("print-scp-*.log"))

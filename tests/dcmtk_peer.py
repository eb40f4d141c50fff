"""DCMTK as an independent DICOM print peer for tests.

Two roles, both driven through DCMTK's command line tools (Debian package
``dcmtk``, always called by absolute path because pynetdicom installs console
scripts with clashing names):

* print SCP: :class:`DcmprscpServer` runs ``/usr/bin/dcmprscp`` on a free
  loopback port with a generated ``dcmpstat.cfg``; :func:`read_stored_films`
  reads back the Stored Print and Hardcopy Grayscale Image objects it wrote.
* print SCU: :func:`print_with_dcmtk` builds a print job with
  ``/usr/bin/dcmpsprt`` and sends it with ``/usr/bin/dcmprscu``.

Facts about DCMTK 3.6.7 this module relies on (measured, see the tests):

* dcmprscp has no bind-address option and listens on all interfaces: connect
  to it only via 127.0.0.1, bound its lifetime, stop it by process group id.
* dcmprscp accepts any Called AE Title; it checks image display formats, film
  sizes, magnification types, densities and bit depths against its config.
  It supports neither color, Print Job, Annotation Box nor a Printer context
  of its own, sends no N-EVENT-REPORT, and refuses Printer Name in N-GET.
* dcmprscp refuses a Presentation LUT table (LUT Data) sent in Implicit VR
  Little Endian with 0x0105; LUT shapes and Explicit VR work.
* dcmprscp waits until the DIMSE timeout on an N-CREATE whose data set is
  announced but empty (what pynetdicom sends for an empty Dataset).
* dcmprscu exits 0 even when printing failed: success is read from its log.
* dcmpsprt renders each input image into a 12-bit Hardcopy Grayscale Image;
  dcmprscu sends it with 12 bits (``Supports12Bit = true``) or reduces it to
  8 bits with DCMTK's linear scaling (``Supports12Bit = false``).
* dcmpsprt stores a LUT table whose first entry exceeds its last with its
  entries in reverse order, so :func:`print_with_dcmtk` refuses such tables.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

# The image writer is shared with the benchmarks (tests may import benchmarks/, not the
# other way round); so are the fuzz, load and fault drivers.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from dcmtk import write_image as write_grayscale_image  # noqa: E402

__all__ = [
    "DCMPRSCP", "DCMPRSCU", "DCMPSPRT", "DCMTK_MISSING", "DcmprscpServer", "DcmtkPrintResult",
    "DimseResponse", "LOOPBACK", "PresentationLutOption", "PrinterProfile",
    "ScpEndpoint", "StoredFilm", "StoredImageBox", "ToolRun", "dcmtk_available",
    "dcmtk_environment", "free_port", "is_listening", "print_with_dcmtk",
    "read_stored_films", "requires_dcmtk", "write_grayscale_image",
]

DCMPRSCP = Path("/usr/bin/dcmprscp")
DCMPRSCU = Path("/usr/bin/dcmprscu")
DCMPSPRT = Path("/usr/bin/dcmpsprt")
TIMEOUT = Path("/usr/bin/timeout")
LOOPBACK = "127.0.0.1"

#: Section name of the one printer in every generated dcmpstat.cfg.
PRINTER_ID = "PRINTER"

#: The private SOP class dcmmklut gives LUT files; dcmpsprt reads them.
DCMTK_LUT_FILE_CLASS = "1.2.276.0.7230010.3.1.0.1"

#: Stored Print Storage and Hardcopy Grayscale Image Storage (both retired).
STORED_PRINT_STORAGE = "1.2.840.10008.5.1.1.27"
HARDCOPY_GRAYSCALE_IMAGE_STORAGE = "1.2.840.10008.5.1.1.29"


def dcmtk_available() -> bool:
    """True if the DCMTK print tools this module drives are installed."""
    return all(os.access(tool, os.X_OK) for tool in (DCMPRSCP, DCMPRSCU, DCMPSPRT, TIMEOUT))


DCMTK_MISSING = "DCMTK (Debian package dcmtk) not installed: apt-get install dcmtk"
requires_dcmtk = pytest.mark.skipif(not dcmtk_available(), reason=DCMTK_MISSING)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def dcmtk_environment() -> dict[str, str]:
    """The environment for DCMTK tools: TCP_NODELAY=1 avoids ~40 ms Nagle stalls."""
    return {**os.environ, "TCP_NODELAY": "1"}


# --------------------------------------------------------------------------
# dcmpstat.cfg
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PrinterProfile:
    """What the printer supports: the [PRINTER] section of dcmpstat.cfg.

    dcmprscp enforces these values as SCP; dcmprscu reads the same keys as
    assumptions about the printer it talks to. Densities are in hundredths of
    OD; ``max_pdu`` in bytes (DCMTK accepts 4096..131072).
    """

    display_formats: tuple[tuple[int, int], ...] = (
        (1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (3, 3), (3, 4), (4, 4), (4, 5),
    )  # (columns, rows) of STANDARD\C,R in portrait; landscape is derived
    film_sizes: tuple[str, ...] = (
        "14INX17IN", "8INX10IN", "10INX12IN", "10INX14IN", "11INX14IN",
        "14INX14IN", "24CMX24CM", "24CMX30CM",
    )  # the first is the default
    medium_types: tuple[str, ...] = ("BLUE FILM", "CLEAR FILM", "PAPER")
    film_destinations: tuple[str, ...] = ("MAGAZINE", "PROCESSOR")
    magnification_types: tuple[str, ...] = ("REPLICATE", "BILINEAR", "CUBIC", "NONE")
    max_density: int = 320
    min_density: int = 20
    supports_12bit: bool = True
    supports_presentation_lut: bool = True
    presentation_lut_match_required: bool = False
    presentation_lut_in_film_session: bool = False
    implicit_only: bool = False
    max_pdu: int = 131072
    supports_image_size: bool = False  # Requested Image Size in image box N-SETs
    supports_decimate_crop: bool = False  # Requested Decimate/Crop Behavior

    def section(self, *, printer_type: str, hostname: str, port: int, aetitle: str) -> str:
        """The [PRINTER] section text; ``printer_type`` is PRINTER or LOCALPRINTER."""
        formats = "\\".join(f"{columns},{rows}" for columns, rows in self.display_formats)
        lines = {
            "Type": printer_type,
            "Hostname": hostname,
            "Port": str(port),
            "Aetitle": aetitle,
            "Description": "filmbox test printer",
            "DisplayFormat": formats,
            "FilmSizeID": "\\".join(self.film_sizes),
            "MediumType": "\\".join(self.medium_types),
            "FilmDestination": "\\".join(self.film_destinations),
            "MagnificationType": "\\".join(self.magnification_types),
            "MaxDensity": str(self.max_density),
            "MinDensity": str(self.min_density),
            "Supports12Bit": _flag(self.supports_12bit),
            "SupportsPresentationLUT": _flag(self.supports_presentation_lut),
            "PresentationLUTMatchRequired": _flag(self.presentation_lut_match_required),
            "PresentationLUTinFilmSession": _flag(self.presentation_lut_in_film_session),
            # Send table LUTs to the printer instead of burning them into the
            # bitmap, so that the printer side can be checked.
            "PresentationLUTPreferSCPRendering": "true",
            "ImplicitOnly": _flag(self.implicit_only),
            "MaxPDU": str(self.max_pdu),
            "SupportsImageSize": _flag(self.supports_image_size),
            "SupportsDecimateCrop": _flag(self.supports_decimate_crop),
        }
        body = "\n".join(f"{key} = {value}" for key, value in lines.items())
        return f"[{PRINTER_ID}]\n{body}\n"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _write_config(
    path: Path,
    *,
    printer_section: str,
    database_dir: Path,
    calling_ae: str,
    lut_files: dict[str, str] | None = None,
) -> None:
    """Write a dcmpstat.cfg with one printer, a database and optional LUTs.

    ``lut_files`` maps LUT identifiers to file names inside ``lut/`` next to
    the config file.
    """
    base = path.parent
    for sub in ("spool", "lut", "log"):
        (base / sub).mkdir(exist_ok=True)
    database_dir.mkdir(parents=True, exist_ok=True)
    luts = "".join(
        f"[{lut_id}]\ndescription = {lut_id}\nfilename = {name}\n"
        for lut_id, name in (lut_files or {}).items()
    )
    path.write_text(
        "[[GENERAL]]\n"
        "[APPLICATION]\n"
        f"LogDirectory = {base / 'log'}\n"
        "[PRINT]\n"
        f"Directory = {base / 'spool'}\n"
        "DetailedLog = true\n"
        "DeletePrintJobs = false\n"
        "[DATABASE]\n"
        f"Directory = {database_dir}\n"
        "[LUT]\n"
        f"Directory = {base / 'lut'}\n"
        "[NETWORK]\n"
        f"aetitle = {calling_ae}\n"
        "[[COMMUNICATION]]\n"
        f"{printer_section}"
        "[[LUT]]\n"
        f"{luts}",
        encoding="ascii",
    )


# --------------------------------------------------------------------------
# dcmprscp as print SCP
# --------------------------------------------------------------------------


class ScpEndpoint(NamedTuple):
    """Where a running dcmprscp listens and where it stores what it printed."""

    host: str
    port: int
    aetitle: str
    storage_dir: Path


class DcmprscpServer:
    """Run /usr/bin/dcmprscp for the duration of a ``with`` block.

    ``workdir`` should be fresh per test: dcmprscp's index keeps 200 sessions
    and then silently deletes the oldest. The server runs under
    ``/usr/bin/timeout`` (``lifetime_s``, in seconds) in its own process
    group, which ``__exit__`` terminates (then kills) by id. If another
    process takes the free port first, the server is restarted on another.
    Readiness is read from /proc (a listening socket owned by dcmprscp)
    rather than probed with a TCP connection, which dcmprscp would log as a
    failed association.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        aetitle: str = "DCMPRSCP",
        profile: PrinterProfile = PrinterProfile(),
        lifetime_s: float = 120.0,
        startup_timeout_s: float = 10.0,
    ) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="dcmprscp_", dir=workdir))
        self.aetitle = aetitle
        self.profile = profile
        self.lifetime_s = lifetime_s
        self.startup_timeout_s = startup_timeout_s
        self.config_path = self.workdir / "dcmpstat.cfg"
        self.storage_dir = self.workdir / "database"
        self.log_path = self.workdir / "dcmprscp.log"
        self._process: subprocess.Popen[bytes] | None = None
        self.endpoint: ScpEndpoint | None = None  # set while running

    @property
    def log(self) -> str:
        """Everything dcmprscp logged so far (verbose level)."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self) -> ScpEndpoint:
        for _attempt in range(3):
            port = free_port()
            if self._start(port):
                self.endpoint = ScpEndpoint(LOOPBACK, port, self.aetitle, self.storage_dir)
                return self.endpoint
        raise RuntimeError(f"dcmprscp did not start; its log:\n{self.log}")

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _start(self, port: int) -> bool:
        """Start dcmprscp on ``port``; True once it listens, False if it exited."""
        section = self.profile.section(
            printer_type="LOCALPRINTER", hostname="localhost", port=port, aetitle=self.aetitle
        )
        _write_config(
            self.config_path,
            printer_section=section,
            database_dir=self.storage_dir,
            calling_ae=self.aetitle,
        )
        argv = [
            str(TIMEOUT), "--kill-after=5", f"{self.lifetime_s:g}",
            str(DCMPRSCP), "--verbose", "--config", str(self.config_path),
            "--printer", PRINTER_ID,
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir,
                env=dcmtk_environment(), start_new_session=True,
            )
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:  # e.g. "Address already in use"
                self._process = None
                return False
            if self._listens(port):
                return True
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"dcmprscp did not accept connections on {LOOPBACK}:{port} within "
            f"{self.startup_timeout_s} s; its log:\n{self.log}"
        )

    def _listens(self, port: int) -> bool:
        """True if dcmprscp itself (not some other process) listens on ``port``."""
        assert self._process is not None
        wrapper = self._process.pid  # /usr/bin/timeout; dcmprscp is its only child
        children = Path(f"/proc/{wrapper}/task/{wrapper}/children").read_text().split()
        if not children:
            return False
        own_sockets = set()
        for fd in Path(f"/proc/{children[0]}/fd").iterdir():
            try:
                own_sockets.add(os.readlink(fd))
            except OSError:  # closed since listed
                continue
        return any(f"socket:[{inode}]" in own_sockets for inode in _listening_inodes(port))

    def stop(self) -> None:
        """Terminate the server's process group, kill it after 5 s."""
        process, self._process = self._process, None
        self.endpoint = None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def is_listening(port: int) -> bool:
    """True if some socket of this host listens on TCP ``port`` (Linux /proc)."""
    return bool(_listening_inodes(port))


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the sockets listening on TCP ``port``, from /proc/net/tcp{,6}."""
    inodes = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == "0A":  # 0A: TCP_LISTEN
                inodes.add(fields[9])
    return inodes


# --------------------------------------------------------------------------
# Reading back what dcmprscp stored
# --------------------------------------------------------------------------


@dataclass
class StoredImageBox:
    """One image box of a stored film and the Hardcopy Grayscale Image it printed."""

    position: int
    attributes: Dataset  # the Image Box Content Sequence item
    hardcopy: Dataset | None  # None if the box never received an image

    @property
    def polarity(self) -> str:
        """Polarity (2020,0020); empty if the SCU did not send one."""
        return str(self.attributes.get("Polarity", "") or "")

    @property
    def pixels(self) -> np.ndarray:
        """The image's stored pixel values (rows, columns), uint8 or uint16."""
        if self.hardcopy is None:
            raise ValueError(f"image box {self.position} has no image")
        return self.hardcopy.pixel_array


@dataclass
class StoredFilm:
    """One printed film box, as dcmprscp stored it in a Stored Print object."""

    path: Path
    stored_print: Dataset
    film_box: Dataset  # the Film Box Content Sequence item
    image_boxes: list[StoredImageBox]  # in position order
    presentation_luts: dict[str, Dataset] = field(default_factory=dict)  # by SOP Instance UID

    @property
    def image_display_format(self) -> str:
        return str(self.film_box.ImageDisplayFormat)

    @property
    def film_size_id(self) -> str:
        return str(self.film_box.FilmSizeID)

    @property
    def film_orientation(self) -> str:
        return str(self.film_box.FilmOrientation)

    @property
    def presentation_lut(self) -> Dataset | None:
        """The Presentation LUT the film box references, if any."""
        refs = self.film_box.get("ReferencedPresentationLUTSequence")
        if not refs:
            return None
        return self.presentation_luts[str(refs[0].ReferencedSOPInstanceUID)]


def read_stored_films(storage_dir: Path) -> list[StoredFilm]:
    """Every film dcmprscp stored in ``storage_dir``, oldest first."""
    hardcopies: dict[str, Dataset] = {}
    stored_prints: list[tuple[Path, Dataset]] = []
    for path in sorted(storage_dir.glob("*.dcm"), key=lambda p: (p.stat().st_mtime_ns, p.name)):
        dataset = pydicom.dcmread(path)
        if dataset.SOPClassUID == HARDCOPY_GRAYSCALE_IMAGE_STORAGE:
            hardcopies[str(dataset.SOPInstanceUID)] = dataset
        elif dataset.SOPClassUID == STORED_PRINT_STORAGE:
            stored_prints.append((path, dataset))
    return [_stored_film(path, dataset, hardcopies) for path, dataset in stored_prints]


def _stored_film(path: Path, stored_print: Dataset, hardcopies: dict[str, Dataset]) -> StoredFilm:
    boxes = []
    for item in stored_print.get("ImageBoxContentSequence", []):
        refs = item.get("ReferencedImageSequence")
        hardcopy = hardcopies[str(refs[0].ReferencedSOPInstanceUID)] if refs else None
        boxes.append(StoredImageBox(int(item.ImageBoxPosition), item, hardcopy))
    luts = {
        str(item.SOPInstanceUID): item
        for item in stored_print.get("PresentationLUTContentSequence", [])
    }
    return StoredFilm(
        path=path,
        stored_print=stored_print,
        film_box=stored_print.FilmBoxContentSequence[0],
        image_boxes=sorted(boxes, key=lambda box: box.position),
        presentation_luts=luts,
    )


# --------------------------------------------------------------------------
# dcmpsprt + dcmprscu as print SCU
# --------------------------------------------------------------------------


class PresentationLutOption(str, Enum):
    """Which Presentation LUT dcmpsprt puts into the print job."""

    IDENTITY = "identity"  # Presentation LUT Shape IDENTITY
    LIN_OD = "lin od"  # Presentation LUT Shape LIN OD
    TABLE = "table"  # Presentation LUT Sequence with a LUT table


@dataclass
class ToolRun:
    """One DCMTK tool invocation: its arguments, exit code and log."""

    argv: list[str]
    returncode: int
    log: str

    @property
    def errors(self) -> list[str]:
        """Lines DCMTK logged at error or fatal level ("E: ", "F: ")."""
        return [line for line in self.log.splitlines() if line.startswith(("E: ", "F: "))]


class DimseResponse(NamedTuple):
    """A DIMSE response dcmprscu received: message type and status."""

    message: str  # e.g. "N-ACTION RSP"
    status: int


@dataclass
class DcmtkPrintResult:
    """What :func:`print_with_dcmtk` did: dcmpsprt and dcmprscu runs."""

    prepare: ToolRun  # dcmpsprt
    send: ToolRun  # dcmprscu
    stored_print: Path  # the Stored Print object dcmpsprt built and dcmprscu sent

    @property
    def responses(self) -> list[DimseResponse]:
        """DIMSE responses in the order dcmprscu received them (from its debug log)."""
        return _parse_responses(self.send.log)

    @property
    def errors(self) -> list[str]:
        return self.prepare.errors + self.send.errors

    @property
    def succeeded(self) -> bool:
        """True if both tools exited 0, logged no error and a print N-ACTION succeeded.

        dcmprscu exits 0 even when the printer refused the job, so the exit
        code alone proves nothing. Success or warning (0xBxxx) counts, as in
        DCMTK's own check.
        """
        printed = any(
            response.message == "N-ACTION RSP" and _is_success_or_warning(response.status)
            for response in self.responses
        )
        return (
            self.prepare.returncode == 0 and self.send.returncode == 0
            and not self.errors and printed
        )


_MESSAGE_TYPE = re.compile(r"^D: Message Type\s*: (.+?)\s*$")
_DIMSE_STATUS = re.compile(r"^D: DIMSE Status\s*: 0x([0-9A-Fa-f]{4})")


def _parse_responses(log: str) -> list[DimseResponse]:
    responses = []
    message = ""
    for line in log.splitlines():
        if match := _MESSAGE_TYPE.match(line):
            message = match.group(1)
        elif match := _DIMSE_STATUS.match(line):
            responses.append(DimseResponse(message, int(match.group(1), 16)))
    return responses


def _is_success_or_warning(status: int) -> bool:
    return status == 0 or (status & 0xF000) == 0xB000


def print_with_dcmtk(
    host: str,
    port: int,
    called_ae: str,
    images: Sequence[Path],
    workdir: Path,
    *,
    display_format: str = "STANDARD\\2,2",
    film_size: str = "14INX17IN",
    orientation: str = "PORTRAIT",
    polarity: str | None = None,
    bits: int = 8,
    presentation_lut: PresentationLutOption | str | None = None,
    lut_table: np.ndarray | None = None,
    lut_bits: int = 12,
    magnification_type: str | None = None,
    min_density: int | None = None,
    max_density: int | None = None,
    session_print: bool = False,
    monochrome1: bool = False,
    implicit_only: bool = False,
    calling_ae: str = "DCMTK_SCU",
    copies: int | None = None,
    medium_type: str | None = None,
    film_destination: str | None = None,
    session_label: str | None = None,
    timeout_s: float = 60.0,
) -> DcmtkPrintResult:
    """Print ``images`` (DICOM files) on one film with DCMTK as the print SCU.

    dcmpsprt renders each image into a 12-bit Hardcopy Grayscale Image and
    writes a Stored Print object describing the film box; dcmprscu sends it
    to ``host:port`` (Called AE ``called_ae``) with the Basic Grayscale Print
    Management Meta SOP Class.

    ``display_format`` must be STANDARD\\C,R (all dcmpsprt can build).
    ``bits`` is what dcmprscu transmits: 12, or 8 (DCMTK scales 12 → 8 bits).
    ``presentation_lut`` TABLE needs ``lut_table``: LUT Data entries
    (0 … 2^lut_bits − 1), one per possible image value, first mapped 0, not
    ending below where it starts (dcmpsprt would reverse such a table).
    Densities are in hundredths of OD. ``session_print`` sends the N-ACTION
    to the Film Session instead of the Film Box; ``monochrome1`` transmits
    MONOCHROME1; ``implicit_only`` negotiates Implicit VR Little Endian only.
    Each tool runs with ``timeout_s`` seconds at most.
    """
    layout = _standard_layout(display_format)
    if bits not in (8, 12):
        raise ValueError(f"bits must be 8 or 12 (what dcmprscu can transmit), got {bits}")
    if orientation not in ("PORTRAIT", "LANDSCAPE"):
        raise ValueError(f"Film Orientation must be PORTRAIT or LANDSCAPE, got {orientation!r}")
    lut_option = None if presentation_lut is None else PresentationLutOption(presentation_lut)

    jobdir = Path(tempfile.mkdtemp(prefix="dcmtk_scu_", dir=workdir))
    config = jobdir / "dcmpstat.cfg"
    database = jobdir / "database"
    profile = PrinterProfile(supports_12bit=bits == 12, implicit_only=implicit_only)
    section = profile.section(printer_type="PRINTER", hostname=host, port=port, aetitle=called_ae)
    lut_files = {}
    if lut_option is PresentationLutOption.TABLE:
        if lut_table is None:
            raise ValueError("presentation_lut='table' needs lut_table (the LUT Data entries)")
        (jobdir / "lut").mkdir()
        _write_lut_file(jobdir / "lut" / "table.lut", lut_table, lut_bits)
        lut_files["TABLE"] = "table.lut"
    _write_config(
        config, printer_section=section, database_dir=database,
        calling_ae=calling_ae, lut_files=lut_files,
    )

    prepare_argv = [
        str(DCMPSPRT), "--verbose", "--config", str(config), "--printer", PRINTER_ID,
        "--layout", str(layout[0]), str(layout[1]),
        "--filmsize", film_size, f"--{orientation.lower()}",
        *_optional("--img-polarity", polarity),
        *_optional("--magnification", magnification_type),
        *_optional("--min-density", min_density),
        *_optional("--max-density", max_density),
        *_lut_arguments(lut_option),
        *(str(image) for image in images),
    ]
    prepare = _run(prepare_argv, jobdir, timeout_s)
    stored_prints = sorted(database.glob("SP_*.dcm"))
    if prepare.returncode != 0 or len(stored_prints) != 1:
        raise RuntimeError(
            f"dcmpsprt did not build exactly one Stored Print object "
            f"(exit {prepare.returncode}, found {len(stored_prints)}); its log:\n{prepare.log}"
        )
    send_argv = [
        str(DCMPRSCU), "--debug", "--config", str(config), "--printer", PRINTER_ID,
        *(["--session-print"] if session_print else []),
        *(["--monochrome1"] if monochrome1 else []),
        *_optional("--copies", copies),
        *_optional("--medium-type", medium_type),
        *_optional("--destination", film_destination),
        *_optional("--label", session_label),
        str(stored_prints[0]),
    ]
    send = _run(send_argv, jobdir, timeout_s)
    return DcmtkPrintResult(prepare=prepare, send=send, stored_print=stored_prints[0])


def _standard_layout(display_format: str) -> tuple[int, int]:
    """(columns, rows) of a STANDARD\\C,R Image Display Format."""
    match = re.fullmatch(r"STANDARD\\(\d+),(\d+)", display_format)
    if not match:
        raise ValueError(
            f"Image Display Format {display_format!r}: dcmpsprt builds only STANDARD\\C,R"
        )
    return int(match.group(1)), int(match.group(2))


def _optional(option: str, value: object) -> list[str]:
    return [] if value is None else [option, str(value)]


def _lut_arguments(option: PresentationLutOption | None) -> list[str]:
    if option is None:
        return []
    return {
        PresentationLutOption.IDENTITY: ["--identity"],
        PresentationLutOption.LIN_OD: ["--lin-od"],
        PresentationLutOption.TABLE: ["--plut", "TABLE"],
    }[option]


def _write_lut_file(path: Path, table: np.ndarray, bits: int) -> None:
    """Write a LUT file as dcmpsprt reads it: a DICOM file with a Presentation LUT Sequence.

    Same layout dcmmklut +Tp writes: LUT Descriptor (entries, 0, bits) and
    LUT Data as OW.
    """
    entries = np.asarray(table)
    if entries.ndim != 1 or not 0 < entries.size <= 65536:
        raise ValueError(f"lut_table must be 1-D with 1..65536 entries, got shape {entries.shape}")
    if entries.min() < 0 or entries.max() >= 1 << bits:
        raise ValueError(f"lut_table entries must lie in 0..{(1 << bits) - 1} for {bits} bits")
    if entries[0] > entries[-1]:
        raise ValueError(
            "lut_table starts above where it ends: dcmpsprt (DCMTK 3.6.7) would store such a "
            "table in reversed entry order; invert the image (polarity) instead"
        )
    item = Dataset()
    item.LUTDescriptor = [entries.size % 65536, 0, bits]
    item.LUTExplanation = "filmbox test LUT"
    item.add_new("LUTData", "OW", entries.astype("<u2").tobytes())
    dataset = Dataset()
    dataset.PresentationLUTSequence = [item]
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = DCMTK_LUT_FILE_CLASS
    dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.save_as(path, enforce_file_format=True)


def _run(argv: list[str], cwd: Path, timeout_s: float) -> ToolRun:
    """Run a DCMTK tool with TCP_NODELAY=1, at most ``timeout_s`` seconds."""
    completed = subprocess.run(
        argv, cwd=cwd, env=dcmtk_environment(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, timeout=timeout_s, check=False,
    )
    return ToolRun(argv, completed.returncode, completed.stdout.decode(errors="replace"))


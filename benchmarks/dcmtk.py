"""DCMTK as the peer of the benchmarks: dcmprscu as print SCU, dcmprscp as print SCP.

DCMTK (Debian package ``dcmtk``) is always called by absolute path, because
pynetdicom installs console scripts with clashing names, and with
``TCP_NODELAY=1`` in the environment (DCMTK otherwise stalls ~40 ms on Nagle).

* :func:`build_stored_print` runs ``dcmpsprt`` once: it turns DICOM images
  into a Stored Print object (plus its Hardcopy Grayscale Images) that
  ``dcmprscu`` can send again and again;
* :func:`send_stored_print` sends it with ``dcmprscu`` and returns the wall
  time of the process in seconds; :func:`send_stored_print_timed` also splits
  it into the printer's time and dcmprscu's own (:class:`StoredPrintSend`);
* :class:`Dcmprscp` runs ``dcmprscp`` on a free loopback port for the
  duration of a ``with`` block.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from print_scp.launcher import free_port

DCMPRSCP = Path("/usr/bin/dcmprscp")
DCMPRSCU = Path("/usr/bin/dcmprscu")
DCMPSPRT = Path("/usr/bin/dcmpsprt")
LOOPBACK = "127.0.0.1"
PRINTER_ID = "PRINTER"  # the one printer section of every generated dcmpstat.cfg
START_TIMEOUT_S = 10.0
TOOL_TIMEOUT_S = 120.0
#: DCMTK's largest PDU, bytes: dcmprscu sends PDUs of at most this size, whatever its peer
#: announces (measured against print-scp's 1 MiB).
MAX_PDU = 131072

_N_ACTION_STATUS = re.compile(r"N-ACTION RSP.*?DIMSE Status\s*: 0x([0-9A-Fa-f]{4})", re.S)


def dcmtk_available() -> bool:
    """True if dcmpsprt, dcmprscu and dcmprscp are installed."""
    return all(os.access(tool, os.X_OK) for tool in (DCMPRSCP, DCMPRSCU, DCMPSPRT))


def environment() -> dict[str, str]:
    """The environment for DCMTK tools: TCP_NODELAY=1."""
    return {**os.environ, "TCP_NODELAY": "1"}


def write_config(path: Path, *, printer_type: str, port: int, aetitle: str,
                 max_pdu: int = MAX_PDU) -> Path:
    """Write a dcmpstat.cfg with one printer (PRINTER or LOCALPRINTER) on 127.0.0.1:``port``.

    The printer accepts STANDARD\\C,R up to 4,5, 14INX17IN and 8INX10IN film,
    8-bit images only (dcmprscu then sends 8 bits), PDUs of up to ``max_pdu``
    bytes (MaxPDU: the Maximum Length the tool announces; dcmprscp's bounds
    the PDUs dcmprscu sends it); densities in hundredths of OD. Returns ``path``.
    """
    base = path.parent
    for sub in ("spool", "lut", "log", "database"):
        (base / sub).mkdir(exist_ok=True)
    path.write_text(
        "[[GENERAL]]\n[APPLICATION]\n"
        f"LogDirectory = {base / 'log'}\n"
        f"[PRINT]\nDirectory = {base / 'spool'}\nDeletePrintJobs = true\n"
        f"[DATABASE]\nDirectory = {base / 'database'}\n"
        f"[LUT]\nDirectory = {base / 'lut'}\n"
        f"[NETWORK]\naetitle = {aetitle}\n"
        "[[COMMUNICATION]]\n"
        f"[{PRINTER_ID}]\nType = {printer_type}\nHostname = {LOOPBACK}\nPort = {port}\n"
        f"Aetitle = {aetitle}\nDescription = filmbox benchmark peer\n"
        "DisplayFormat = 1,1\\1,2\\2,1\\2,2\\3,3\\4,4\\4,5\n"
        "FilmSizeID = 14INX17IN\\8INX10IN\n"
        "MagnificationType = REPLICATE\\BILINEAR\\CUBIC\\NONE\n"
        "MaxDensity = 320\nMinDensity = 20\nSupports12Bit = false\n"
        "SupportsPresentationLUT = false\nImplicitOnly = false\n"
        f"MaxPDU = {max_pdu}\n"
        "[[LUT]]\n",
        encoding="ascii",
    )
    return path


def write_image(path: Path, pixels: np.ndarray, bits_stored: int = 8) -> Path:
    """Write ``pixels`` (rows, columns) as a MONOCHROME2 Secondary Capture file; ``path``.

    ``bits_stored`` 8 is stored in 8-bit words, 9..16 in 16-bit words
    (dcmpsprt reads either). Also the tests' image writer.
    """
    values = np.asarray(pixels)
    if values.ndim != 2 or values.min() < 0 or values.max() >= 1 << bits_stored:
        raise ValueError(f"pixels must be 2-D in 0..{(1 << bits_stored) - 1}")
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    dataset.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.SOPClassUID = SecondaryCaptureImageStorage
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID
    dataset.StudyInstanceUID = generate_uid()
    dataset.SeriesInstanceUID = generate_uid()
    dataset.PatientName = "Filmbox^Print"
    dataset.PatientID = "FILMBOX"
    dataset.Modality = "OT"
    dataset.SamplesPerPixel = 1
    dataset.PhotometricInterpretation = "MONOCHROME2"
    dataset.Rows, dataset.Columns = values.shape
    dataset.BitsAllocated = 8 if bits_stored == 8 else 16
    dataset.BitsStored = bits_stored
    dataset.HighBit = bits_stored - 1
    dataset.PixelRepresentation = 0
    dataset.PixelData = values.astype("u1" if bits_stored == 8 else "<u2").tobytes()
    dataset.save_as(path, enforce_file_format=True)
    return path


def build_stored_print(workdir: Path, images: list[np.ndarray], columns: int, rows: int,
                       film_size: str = "14INX17IN") -> Path:
    """Run dcmpsprt once: a STANDARD\\``columns``,``rows`` Stored Print of ``images``.

    Returns the Stored Print file; its Hardcopy Grayscale Images lie next to
    it in ``workdir/database``, where :func:`send_stored_print` finds them.
    """
    config = write_config(workdir / "dcmpstat.cfg", printer_type="PRINTER", port=104,
                          aetitle="PEER")
    files = [write_image(workdir / f"image{i}.dcm", image) for i, image in enumerate(images)]
    argv = [str(DCMPSPRT), "--config", str(config), "--printer", PRINTER_ID,
            "--layout", str(columns), str(rows), "--filmsize", film_size, "--portrait",
            *(str(f) for f in files)]
    run = subprocess.run(argv, cwd=workdir, env=environment(), capture_output=True,
                         timeout=TOOL_TIMEOUT_S, check=False)
    stored = sorted((workdir / "database").glob("SP_*.dcm"))
    if run.returncode != 0 or len(stored) != 1:
        raise RuntimeError(f"dcmpsprt exit {run.returncode}, {len(stored)} Stored Print "
                           f"objects: {run.stdout.decode(errors='replace')}"
                           f"{run.stderr.decode(errors='replace')}")
    return stored[0]


@dataclass(frozen=True)
class StoredPrintSend:
    """One run of dcmprscu, timed from its debug log as it was written (s).

    ``printer_s`` is the time dcmprscu waited for the printer: association
    request to acceptance, each DIMSE request sent to its response, the last
    response to the end of the process (the release, and dcmprscu's own exit,
    counted against the printer). The rest of ``wall_s`` is dcmprscu's own
    work (start-up, reading the Stored Print and its images, building each
    request): no printer, however fast, finishes the run in less.
    """

    wall_s: float
    printer_s: float

    @property
    def scu_own_s(self) -> float:
        return self.wall_s - self.printer_s


def send_stored_print(stored_print: Path, port: int, called_ae: str) -> float:
    """Send ``stored_print`` with dcmprscu to 127.0.0.1:``port``; wall time in s
    (see :func:`send_stored_print_timed`)."""
    return send_stored_print_timed(stored_print, port, called_ae).wall_s


def send_stored_print_timed(stored_print: Path, port: int, called_ae: str) -> StoredPrintSend:
    """Send ``stored_print`` with dcmprscu to 127.0.0.1:``port``; its times.

    The wall time of the dcmprscu process covers reading the Stored Print and
    its images, the association request, every DIMSE exchange and the
    release. dcmprscu exits 0 even when the printer refused the film, so its
    debug log is checked for a successful (or warning) N-ACTION response;
    RuntimeError otherwise.
    """
    workdir = stored_print.parent.parent
    config = write_config(workdir / f"send{port}.cfg", printer_type="PRINTER", port=port,
                          aetitle=called_ae)
    argv = [str(DCMPRSCU), "--debug", "--config", str(config), "--printer", PRINTER_ID,
            str(stored_print)]
    lines: list[tuple[float, str]] = []
    started = time.perf_counter()
    with subprocess.Popen(argv, cwd=workdir, env=environment(), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, errors="replace") as process:
        assert process.stdout is not None
        for line in process.stdout:  # DCMTK's logger writes each line as it logs it
            lines.append((time.perf_counter() - started, line))
        returncode = process.wait(timeout=TOOL_TIMEOUT_S)
    elapsed = time.perf_counter() - started
    log = "".join(line for _, line in lines)
    statuses = [int(s, 16) for s in _N_ACTION_STATUS.findall(log)]
    if returncode != 0 or not any(s == 0 or s & 0xF000 == 0xB000 for s in statuses):
        raise RuntimeError(f"dcmprscu did not print (exit {returncode}, N-ACTION "
                           f"statuses {[hex(s) for s in statuses]}):\n{log[-3000:]}")
    return StoredPrintSend(elapsed, _printer_s(lines, elapsed))


def _printer_s(lines: list[tuple[float, str]], wall_s: float) -> float:
    """Seconds dcmprscu waited for the printer, from its timed debug log lines (see
    :class:`StoredPrintSend`): each wait starts at the line that ends what dcmprscu
    sent ("Requesting Association", or an outgoing message's "END DIMSE MESSAGE")
    and stops at the next line about what came back."""
    waited, since, outgoing, last_response = 0.0, None, False, wall_s
    for at, line in lines:
        if "Requesting Association" in line:
            since = at
        elif "OUTGOING DIMSE MESSAGE" in line:
            outgoing = True
        elif "END DIMSE MESSAGE" in line and outgoing:
            since, outgoing = at, False
        elif since is not None and ("Association accepted" in line
                                    or "INCOMING DIMSE MESSAGE" in line):
            waited += at - since
            since = None
        elif "END DIMSE MESSAGE" in line:  # the end of an incoming message: the last one
            last_response = at
    return waited + wall_s - last_response


class Dcmprscp:
    """``/usr/bin/dcmprscp`` on a free loopback port for the duration of a ``with`` block.

    ``port`` is set once it listens; it announces PDUs of ``max_pdu`` bytes (DCMTK
    accepts 4096 to 131072). The server runs in its own process
    group, terminated (then killed) by id on exit; its working directory is
    removed.
    """

    def __init__(self, aetitle: str = "DCMPRSCP", max_pdu: int = MAX_PDU) -> None:
        self.aetitle = aetitle
        self.max_pdu = max_pdu
        self.port = 0
        self._workdir = Path(tempfile.mkdtemp(prefix="bench_dcmprscp_"))
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        """The dcmprscp process's id (inside the ``with`` block)."""
        assert self._process is not None, "dcmprscp runs inside the with block only"
        return self._process.pid

    @property
    def database(self) -> Path:
        """Where dcmprscp stores what it printed (Stored Print, Hardcopy Grayscale Images)."""
        return self._workdir / "database"

    def __enter__(self) -> Dcmprscp:
        self.port = free_port()
        config = write_config(self._workdir / "dcmpstat.cfg", printer_type="LOCALPRINTER",
                              port=self.port, aetitle=self.aetitle, max_pdu=self.max_pdu)
        self._process = subprocess.Popen(
            [str(DCMPRSCP), "--config", str(config), "--printer", PRINTER_ID],
            cwd=self._workdir, env=environment(), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _listens(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"dcmprscp did not listen on {LOOPBACK}:{self.port}")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc_info: object) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        shutil.rmtree(self._workdir, ignore_errors=True)


def _listens(port: int) -> bool:
    """True if a socket of this host listens on TCP ``port`` (read from /proc, no probe).

    A probing connection would show up in dcmprscp as a failed association.
    """
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":
                return True
    return False

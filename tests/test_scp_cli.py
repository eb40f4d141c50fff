"""print-scp as a user runs it: the console script, set-status, SIGTERM, restart recovery."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pynetdicom import AE
from pynetdicom.sop_class import Verification

from print_scp.launcher import free_port, start_print_scp
from print_scp.service.printing import REFERENCED_PRINT_JOB_SEQUENCE
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation
from print_scu.image_box_requests import grayscale_image_box

PRINTER_INSTANCE = "1.2.840.10008.5.1.1.17"
START_TIMEOUT_S = 20.0


class Serve:
    """``print-scp serve`` in a child process, stopped (SIGTERM, then SIGKILL) at exit."""

    def __init__(self, output: Path, *extra: str):
        self.output = output
        self.port = free_port()
        self.log = output.parent / f"serve-{self.port}.log"
        with self.log.open("w") as log:
            self.process = start_print_scp(output, self.port, "--ae-title", "CLITEST", *extra,
                                           log=log)
        self._wait_for_control_socket()

    def _wait_for_control_socket(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not (self.output / ".control.sock").exists():
            assert time.monotonic() < deadline, "control socket not created"
            time.sleep(0.05)

    def address(self) -> PrinterAddress:
        return PrinterAddress("127.0.0.1", self.port, "CLITEST", calling_ae="CLI_SCU",
                              dimse_timeout_s=20, acse_timeout_s=10, network_timeout_s=20)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.process.returncode


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "print_scp.cli", *args],
                          capture_output=True, text=True, timeout=30)


def _print_uniform_film(address: PrinterAddress, value: int) -> tuple[int, str]:
    """One STANDARD\\1,1 film of a uniform 8-bit image; (N-ACTION status, job UID)."""
    with PrintAssociation(address, presentation_lut=False, annotation=False) as scu:
        session = Dataset()
        session.NumberOfCopies = 1
        _, session_uid = scu.create_film_session(session)
        box = Dataset()
        box.ImageDisplayFormat = "STANDARD\\1,1"
        box.FilmSizeID = "8INX10IN"
        _, refs = scu.create_film_box(box, film_session_uid=session_uid)
        pixels = np.full((32, 32), value, dtype=np.uint8)
        scu.set_image_box(refs.image_box_uids[0], grayscale_image_box(1, pixels, 8))
        status, reply = scu.print_film_box(refs.film_box_uid)
        job_uid = reply[REFERENCED_PRINT_JOB_SEQUENCE].value[0].ReferencedSOPInstanceUID
    return status, job_uid


def _wait_for(predicate, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_help_everywhere() -> None:
    for args in ((), ("serve",), ("set-status",), ("status",)):
        result = _cli(*args, "--help")
        assert result.returncode == 0, result.stderr
        assert "usage: print-scp" in result.stdout


def test_bad_profile_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    profile = tmp_path / "bad.toml"
    profile.write_text("[density]\ndensity_range = [3.0, 1.0]\n")
    result = _cli("serve", "--output", str(tmp_path / "out"), "--config", str(profile))
    assert result.returncode == 2
    assert "density_range" in result.stderr
    assert "Traceback" not in result.stderr


def test_set_status_without_a_printer_says_so(tmp_path: Path) -> None:
    result = _cli("set-status", "--output", str(tmp_path), "FAILURE", "FILM JAM")
    assert result.returncode == 2
    assert "no printer is running" in result.stderr


def test_set_status_reaches_connected_scu_and_holds_printing(tmp_path: Path) -> None:
    output = tmp_path / "out"
    server = Serve(output)
    try:
        with PrintAssociation(server.address(), presentation_lut=False) as watcher:
            # Events flow once the SCU has made its first request (see print_scp.events).
            assert watcher.get_printer()[0] == 0
            result = _cli("set-status", "--output", str(output), "FAILURE", "FILM JAM")
            assert result.returncode == 0, result.stderr
            assert result.stdout.startswith("FAILURE (FILM JAM)")
            assert _wait_for(lambda: len(watcher.events) >= 1, 10)
            event = watcher.events.snapshot()[0]
            assert event.sop_class_uid == "1.2.840.10008.5.1.1.16"
            assert event.sop_instance_uid == PRINTER_INSTANCE
            assert event.event_type_id == 3
            assert event.event_information.PrinterStatusInfo == "FILM JAM"
            status, printer = watcher.get_printer()
            assert status == 0 and printer.PrinterStatus == "FAILURE"

            # Accepted while jammed, printed only once the printer is NORMAL again.
            status, _ = _print_uniform_film(server.address(), 128)
            assert status == 0
            time.sleep(1.0)
            assert not list(output.glob("*.pdf"))
            assert _cli("set-status", "--output", str(output), "NORMAL").returncode == 0
            assert _wait_for(lambda: len(list(output.glob("*.json"))) == 1)
            assert _wait_for(lambda: any(e.event_type_id == 1 for e in watcher.events))
        shown = _cli("status", "--output", str(output))
        assert shown.returncode == 0 and shown.stdout.startswith("NORMAL")
        assert "1 films rendered" in shown.stdout
    finally:
        assert server.stop() == 0  # SIGTERM: clean exit
    assert not (output / ".control.sock").exists()


def test_film_spooled_before_a_crash_is_rendered_after_restart(tmp_path: Path) -> None:
    """SIGKILL after the N-ACTION response but before rendering loses no film."""
    output = tmp_path / "out"
    jammed = tmp_path / "jammed.toml"
    jammed.write_text('[[script]]\nafter_s = 0\nstatus = "FAILURE"\ninfo = "FILM JAM"\n')
    server = Serve(output, "--config", str(jammed))
    try:
        assert _wait_for(lambda: "FAILURE" in _cli("status", "--output", str(output)).stdout, 10)
        status, job_uid = _print_uniform_film(server.address(), 200)
        assert status == 0
    finally:
        server.stop(signal.SIGKILL)
    assert not list(output.glob("*.pdf"))
    assert (output / ".spool" / job_uid / "job.json").exists()

    server = Serve(output)
    try:  # the film's four files, then the job document
        assert _wait_for(lambda: len(list(output.glob("*.pdf"))) == 2)
    finally:
        assert server.stop() == 0
    [record] = [json.loads(p.read_text()) for p in output.glob("*.json")]
    assert record["print_job"]["uid"] == job_uid
    assert record["association"]["calling_ae"] == "CLI_SCU"
    assert not (output / ".spool" / job_uid).exists()
    film = record["name"]
    assert sorted(p.name for p in output.glob("*.pdf")) == [f"{film}.pdf", f"{film[:-3]}.pdf"]


def test_profiles_lists_the_emulated_printers() -> None:
    result = _cli("profiles")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name, model in (("agfa-drystar-5302", "DRYSTAR 5302"), ("sony-up-df550", "UP-DF550"),
                        ("fujifilm-drypix-7000", "DRYPIX 7000"), ("codonics-horizon", "Horizon"),
                        ("konica-minolta-drypro-832", "DRYPRO 832"),
                        ("carestream-dryview-5950", "5950")):
        [line] = [line for line in lines if line.startswith(name + " ")]
        assert model in line
    assert "254/508 dpi" in next(line for line in lines if line.startswith("fujifilm"))


def test_serve_emulate_answers_as_that_printer(tmp_path: Path) -> None:
    server = Serve(tmp_path / "out", "--emulate", "sony-up-df550")
    try:
        with PrintAssociation(server.address(), presentation_lut=False,
                              annotation=False) as scu:
            status, printer = scu.get_printer()
    finally:
        assert server.stop() == 0
    assert status == 0
    assert (printer.Manufacturer, printer.ManufacturerModelName) == ("Sony", "UP-DF550")


def test_serve_emulate_of_an_unknown_printer_is_one_line(tmp_path: Path) -> None:
    result = _cli("serve", "--output", str(tmp_path), "--emulate", "acme-9000")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "print-scp profiles" in result.stderr


def test_max_pdu_is_the_maximum_length_announced_to_the_scu(tmp_path: Path) -> None:
    serve = Serve(tmp_path / "films", "--max-pdu", "16384")
    try:
        ae = AE(ae_title="CLI_SCU")
        ae.add_requested_context(Verification)
        assoc = ae.associate("127.0.0.1", serve.port, ae_title="CLITEST")
        try:
            assert assoc.is_established
            assert assoc.acceptor.maximum_length == 16384
        finally:
            assoc.release()
    finally:
        assert serve.stop() == 0


@pytest.mark.parametrize(("option", "argument", "unit"), [
    ("--network-timeout", "0", "seconds"), ("--network-timeout", "-2", "seconds"),
    ("--acse-timeout", "soon", "seconds"),
    ("--max-pdu", "4095", "bytes"), ("--max-pdu", "1048577", "bytes"),
    ("--max-pdu", "16k", "bytes"),
])
def test_a_bad_serve_option_is_a_one_line_error(tmp_path: Path, option: str, argument: str,
                                                unit: str) -> None:
    result = _cli("serve", "--output", str(tmp_path), option, argument)
    assert result.returncode == 2
    assert option in result.stderr and unit in result.stderr
    assert "Traceback" not in result.stderr

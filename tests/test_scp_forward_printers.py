"""Forwarding films to real film printers: DCMTK's dcmprscp and a second print-scp,
through print-scu's durable queue, with failover and ``ack = "printed"``.

The modality prints to the first print-scp; what the forwarded-to printers
received is read back from them: dcmprscp's Stored Print objects (film box
settings and the pixels of each image box), the second print-scp's films.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from dcmtk_peer import (
    DCMTK_MISSING,
    DcmprscpServer,
    dcmtk_available,
    free_port,
    read_stored_films,
)
from scp_harness import running_printer
from test_scp_feat_support import connect, new_film_box, new_session
from test_scp_forward import wait_until

from dicomnet.terms import ExecutionStatus
from print_scp.forward.outbox import deliveries_in
from print_scp.launcher import start_print_scp
from print_scp.profile import PrinterProfile, profile_from_dict
from print_scu.image_box_requests import grayscale_image_box

pytestmark = pytest.mark.skipif(not dcmtk_available(), reason=DCMTK_MISSING)

DPI = 30
CLIENT = ("retry_backoff_s = 0.2\nretry_backoff_cap_s = 0.4\nmax_attempts = 1000\n"
          "idle_keep_open_s = 0.5\nstatus_poll_interval_s = 0.5\ncalling_ae = \"FILMBOX\"\n"
          "acse_timeout_s = 5\ndimse_timeout_s = 10\nnetwork_timeout_s = 10\n")


def printers_file(tmp_path: Path, dcmtk_port: int, second_port: int | None = None) -> Path:
    """print-scu printer profiles: ``dcmtk`` (dcmprscp) and ``second`` (a print-scp)."""
    text = (f"[printers.dcmtk]\nhost = \"127.0.0.1\"\nport = {dcmtk_port}\n"
            "called_ae = \"DCMPRSCP\"\nprint_job = false\nannotation = false\nbits = 8\n"
            "film_sizes = [\"8INX10IN\", \"14INX17IN\", \"10INX12IN\"]\n" + CLIENT)
    if second_port is not None:
        text += (f"[printers.second]\nhost = \"127.0.0.1\"\nport = {second_port}\n"
                 "called_ae = \"SECOND\"\nannotation = true\n" + CLIENT)
    path = tmp_path / "printers.toml"
    path.write_text(text)
    return path


def forwarding(tmp_path: Path, printers: list[str], **sink) -> PrinterProfile:
    printers_file_path = sink.pop("printers_config")
    data = {"printer": {"ae_title": "FILMBOX"}, "resolution": {"standard_dpi": DPI},
            "forward": [{"name": "film", "type": "printer", "printers": printers,
                         "printers_config": str(printers_file_path), **sink}]}
    return profile_from_dict(data, base_dir=tmp_path)


def modality_prints(server, values: list[int], film_size: str = "8INX10IN") -> str:
    """One film session, a STANDARD\\1,1 film box per value; the Print Job UID."""
    with connect(server, calling_ae="CT_ROOM_1") as assoc:
        session = new_session(assoc, NumberOfCopies=1)
        for value in values:
            refs = new_film_box(assoc, session, "STANDARD\\1,1", film_size=film_size)
            image = np.full((16, 16), value, dtype=np.uint8)
            assoc.set_image_box(refs.image_box_uids[0], grayscale_image_box(1, image, 8))
        status, reply = assoc.print_film_session(session)
        assert status == 0, str(assoc.last_result)
    [job] = [uid for uid in server.jobs._jobs]  # the one Print Job of this printer
    return job


@pytest.fixture
def dcmprscp(tmp_path: Path):
    (tmp_path / "dcmtk").mkdir()
    server = DcmprscpServer(tmp_path / "dcmtk")
    with server as endpoint:
        yield endpoint


def test_films_go_to_dcmprscp_as_the_modality_sent_them(tmp_path, dcmprscp):
    output = tmp_path / "out"
    profile = forwarding(tmp_path, ["dcmtk"],
                         printers_config=printers_file(tmp_path, dcmprscp.port))
    with running_printer(output, profile) as server:
        modality_prints(server, [40, 200], film_size="10INX12IN")
        assert wait_until(lambda: len(deliveries_in(output, "done")) == 2), deliveries_in(output)
    films = read_stored_films(dcmprscp.storage_dir)
    assert sorted(film.film_size_id for film in films) == ["10INX12IN", "10INX12IN"]
    assert {film.image_display_format for film in films} == {"STANDARD\\1,1"}
    pixels = sorted(int(film.image_boxes[0].pixels.max()) for film in films)
    assert pixels == [40, 200]  # the modality's pixels, not our rendering


def test_a_film_size_the_printer_lacks_is_mapped_or_fails_with_the_reason(tmp_path, dcmprscp):
    output = tmp_path / "out"
    printers = printers_file(tmp_path, dcmprscp.port)
    mapped = forwarding(tmp_path, ["dcmtk"], printers_config=printers,
                        map_film_size={"A4": "8INX10IN"})
    with running_printer(output, mapped) as server:
        modality_prints(server, [90], film_size="A4")
        assert wait_until(lambda: len(deliveries_in(output, "done")) == 1), deliveries_in(output)
    [film] = read_stored_films(dcmprscp.storage_dir)
    assert film.film_size_id == "8INX10IN"
    unmapped = forwarding(tmp_path, ["dcmtk"], printers_config=printers)
    with running_printer(tmp_path / "out2", unmapped) as server:
        modality_prints(server, [90], film_size="A4")
        assert wait_until(lambda: len(deliveries_in(tmp_path / "out2", "failed")) == 1)
    [failed] = deliveries_in(tmp_path / "out2")
    assert "Film Size ID A4 is not supported by printer dcmtk" in failed.last_error


def test_failover_from_a_printer_in_failure(tmp_path, dcmprscp):
    output, second_output = tmp_path / "out", tmp_path / "second"
    second_port = free_port()
    second = start_print_scp(second_output, second_port, "--ae-title", "SECOND")
    try:  # the second print-scp jams, as its operator says with print-scp set-status
        assert wait_until(lambda: (second_output / ".control.sock").exists())
        jam = subprocess.run([sys.executable, "-m", "print_scp.cli", "set-status", "--output",
                              str(second_output), "FAILURE", "FILM JAM"],
                             capture_output=True, text=True, timeout=60)
        assert jam.returncode == 0, jam.stderr
        printers = printers_file(tmp_path, dcmprscp.port, second_port)
        profile = forwarding(tmp_path, ["second", "dcmtk"], printers_config=printers,
                             failover_after_s=1.0)
        with running_printer(output, profile) as server:
            modality_prints(server, [70])
            assert wait_until(lambda: len(deliveries_in(output, "done")) == 1), deliveries_in(output)
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert not list(second_output.glob("*.json"))  # the jammed one printed nothing
    [film] = read_stored_films(dcmprscp.storage_dir)
    assert int(film.image_boxes[0].pixels.max()) == 70
    [delivery] = deliveries_in(output)
    assert delivery.warning is None and delivery.state == "done"


def test_failover_from_a_printer_that_is_down(tmp_path, dcmprscp):
    output = tmp_path / "out"
    printers = printers_file(tmp_path, dcmprscp.port, free_port())  # nobody listens there
    profile = forwarding(tmp_path, ["second", "dcmtk"], printers_config=printers,
                         failover_after_s=1.0)
    with running_printer(output, profile) as server:
        modality_prints(server, [30, 60])
        assert wait_until(lambda: len(deliveries_in(output, "done")) == 2), deliveries_in(output)
    assert sorted(int(f.image_boxes[0].pixels.max())
                  for f in read_stored_films(dcmprscp.storage_dir)) == [30, 60]


def test_ack_printed_holds_the_modalitys_print_job_until_the_real_printer_printed(tmp_path,
                                                                                   dcmprscp):
    output = tmp_path / "out"
    with running_printer(tmp_path / "second", standard_dpi=DPI, ae_title="SECOND") as second:
        second.printer.set_status("FAILURE", "FILM JAM")
        printers = printers_file(tmp_path, dcmprscp.port, second.port)
        profile = forwarding(tmp_path, ["second"], printers_config=printers, ack="printed")
        with running_printer(output, profile) as server:
            job_uid = modality_prints(server, [120])
            assert wait_until(lambda: len(deliveries_in(output, "queued")) == 1)
            time.sleep(2.0)  # the real printer is jammed: the modality's job waits
            assert server.jobs.get(job_uid).status is ExecutionStatus.PRINTING
            second.printer.set_status("NORMAL", "NORMAL")
            assert wait_until(lambda: server.jobs.get(job_uid).status is ExecutionStatus.DONE)
        assert len(list((tmp_path / "second").glob("*-01.json"))) == 1


def test_the_delivery_is_recorded_before_the_n_action_is_answered(tmp_path, dcmprscp):
    output = tmp_path / "out"
    profile = forwarding(tmp_path, ["dcmtk"],
                         printers_config=printers_file(tmp_path, dcmprscp.port))
    with running_printer(output, profile) as server:
        server.printer.set_status("FAILURE", "FILM JAM")  # nothing renders meanwhile
        modality_prints(server, [50])
        [recorded] = deliveries_in(output)  # the N-ACTION was answered: the delivery is there
        assert recorded.state == "queueing" and not list(output.glob("*.json"))
        server.printer.set_status("NORMAL", "NORMAL")
        assert wait_until(lambda: len(deliveries_in(output, "done")) == 1), deliveries_in(output)
    assert len(read_stored_films(dcmprscp.storage_dir)) == 1

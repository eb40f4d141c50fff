"""Forwarding printed films: to Orthanc and DCMTK's storescp (C-STORE), to a site's
program, durably through the outbox, with retries.

Orthanc runs with a private configuration on free loopback ports; what arrived
is read back through its REST API, and compared with the film's own files.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from functools import partial
from pathlib import Path

import pydicom
import pytest
from cups_peer import PrivateCups, cups_problem
from orthanc_server import STORESCP, OrthancServer, StoreScp, free_port, orthanc_available
from PIL import Image
from pydicom.uid import EncapsulatedPDFStorage, SecondaryCaptureImageStorage
from pynetdicom import AE, evt
from scp_harness import running_printer
from test_scp_feat_support import connect, dataset, new_film_box, new_session, uniform
from test_scp_feat_support import wait_until as _wait_until
from tls_certs import make_test_pki

from print_scp.forward.outbox import OUTBOX_FILE, deliveries_in
from print_scp.profile import PrinterProfile, ProfileError, profile_from_dict
from print_scu.image_box_requests import grayscale_image_box

DPI = 40
TIMEOUT_S = 40.0  # deliveries wait for retries and failover
wait_until = partial(_wait_until, timeout_s=TIMEOUT_S)
LABEL_RULE = r"^(?P<PatientName>[^/]+)/(?P<PatientID>[^/]+)$"

needs_orthanc = pytest.mark.skipif(not orthanc_available(),
                                   reason="Orthanc (Debian package orthanc) is not installed")


def forwarding_profile(tmp_path: Path, *sinks: dict, **retry) -> PrinterProfile:
    data = {"printer": {"ae_title": "FILMBOX"}, "resolution": {"standard_dpi": DPI},
            "forward": list(sinks)}
    if retry:
        data["forwarding"] = retry
    return profile_from_dict(data, base_dir=tmp_path)


def store_sink(port: int, called_ae: str, **extra) -> dict:
    sink = {"name": "pacs", "type": "store", "host": "127.0.0.1", "port": port,
            "called_ae": called_ae, "objects": ["secondary-capture", "encapsulated-pdf"],
            "patient": {"from_label": LABEL_RULE}}
    sink.update(extra)
    return sink


def print_films(server, label: str | None, count: int = 1, calling_ae: str = "CT_ROOM_1",
                film_size: str = "8INX10IN") -> None:
    with connect(server, calling_ae=calling_ae) as assoc:
        attributes = {"FilmSessionLabel": label} if label else {}
        session = new_session(assoc, **attributes)
        for value in range(count):
            refs = new_film_box(assoc, session, "STANDARD\\1,1", film_size=film_size,
                                AnnotationDisplayFormatID="LABEL")
            assoc.set_image_box(refs.image_box_uids[0],
                                grayscale_image_box(1, uniform(40 + value), 8))
            assoc.set_annotation_box(refs.annotation_boxes[0],
                                     dataset(AnnotationPosition=1, TextString="R"))
        status, _ = assoc.print_film_session(session)
        assert status == 0, str(assoc.last_result)



def archive(tmp_path: Path, orthanc: OrthancServer, label: str, count: int = 1) -> Path:
    """Print ``count`` films labelled ``label`` to a printer that forwards them to
    ``orthanc``, and wait until they are delivered; the printer's output directory."""
    output = tmp_path / "out"
    profile = forwarding_profile(tmp_path, store_sink(orthanc.dicom_port, orthanc.aet))
    with running_printer(output, profile) as server:
        print_films(server, label, count=count)
        assert wait_until(lambda: len(deliveries_in(output, "done")) == count), deliveries_in(output)
    return output


@needs_orthanc
def test_films_are_archived_in_orthanc_as_secondary_capture_and_pdf(tmp_path):
    with OrthancServer(tmp_path) as orthanc:
        output = archive(tmp_path, orthanc, "DOE^JANE/PID-123", count=2)
        instances = orthanc.instances()
        films = sorted(output.glob("*-0?.json"))
    assert len(instances) == 4  # two films, two objects each
    assert {i["PatientID"] for i in instances} == {"PID-123"}
    assert {i["PatientName"] for i in instances} == {"DOE^JANE"}
    assert len({i["StudyInstanceUID"] for i in instances}) == 1  # one study per film session
    by_class = {}
    for instance in instances:
        by_class.setdefault(instance["SOPClassUID"], []).append(instance)
    assert set(by_class) == {SecondaryCaptureImageStorage, EncapsulatedPDFStorage}
    for objects in by_class.values():  # one series per sink and object type
        assert len(objects) == 2 and len({i["SeriesInstanceUID"] for i in objects}) == 1
    film = json.loads(films[0].read_text())
    width, height = Image.open(output / film["film"]["files"]["png"]).size
    [first_sc] = [i for i in by_class[SecondaryCaptureImageStorage] if i["InstanceNumber"] == "1"]
    assert (int(first_sc["Columns"]), int(first_sc["Rows"])) == (width, height)
    spacing = float(first_sc["PixelSpacing"].split("\\")[0])
    assert spacing == pytest.approx(25.4 / DPI, rel=1e-5)
    assert [d["state"] for d in film["forwarding"]] == ["done"]


@needs_orthanc
def test_a_repeated_delivery_replaces_and_never_duplicates(tmp_path):
    with OrthancServer(tmp_path) as orthanc:
        output = archive(tmp_path, orthanc, "DOE^JANE/PID-9")
        first = sorted(i["SOPInstanceUID"] for i in orthanc.instances())
        profile = forwarding_profile(tmp_path, store_sink(orthanc.dicom_port, orthanc.aet))
        # As after a kill in the middle of the delivery: it runs again at the next start
        with sqlite3.connect(output / OUTBOX_FILE) as db:
            db.execute("UPDATE deliveries SET state = 'running'")
        with running_printer(output, profile):
            assert wait_until(lambda: len(deliveries_in(output, "done")) == 1)
            assert deliveries_in(output)[0].attempts == 2
        assert sorted(i["SOPInstanceUID"] for i in orthanc.instances()) == first
        assert len(first) == 2


@needs_orthanc
def test_an_unmatched_film_gets_the_default_patient_and_a_warning(tmp_path):
    with OrthancServer(tmp_path) as orthanc:
        output = archive(tmp_path, orthanc, "no slash in this label")
        [done] = deliveries_in(output, "done")
        assert {i["PatientID"] for i in orthanc.instances()} == {"FILMBOX-UNIDENTIFIED"}
    assert "no patient rule matched" in done.warning


@pytest.mark.skipif(not STORESCP.is_file(), reason="DCMTK's storescp is not installed")
def test_storescp_receives_the_films_of_matching_calling_aes_only(tmp_path):
    output = tmp_path / "out"
    with StoreScp(tmp_path / "received") as storescp:
        sink = store_sink(storescp.port, storescp.aet, objects=["secondary-capture"],
                          match={"calling_ae": ["CT*"]})
        with running_printer(output, forwarding_profile(tmp_path, sink)) as server:
            print_films(server, "A/B", calling_ae="CT_ROOM_1")
            print_films(server, "A/B", calling_ae="MR_ROOM_2")  # no match: not forwarded
            assert wait_until(lambda: len(deliveries_in(output, "done")) == 1)
            assert wait_until(lambda: len(list(output.glob("*-01.json"))) == 2)
        assert len(deliveries_in(output)) == 1
        [received] = list((tmp_path / "received").iterdir())
    stored = pydicom.dcmread(received)
    assert stored.SOPClassUID == SecondaryCaptureImageStorage
    assert (stored.PatientName, stored.PatientID) == ("A", "B")


def test_an_unreachable_pacs_is_retried_and_the_print_is_unaffected(tmp_path):
    output = tmp_path / "out"
    profile = forwarding_profile(tmp_path, store_sink(free_port(), "NOBODY"),
                                 retry_initial_s=0.2, retry_max_s=0.2, attempts=3)
    with running_printer(output, profile) as server:
        print_films(server, "A/B")
        assert wait_until(lambda: len(deliveries_in(output, "failed")) == 1)
    [failed] = deliveries_in(output, "failed")
    assert failed.attempts == 3 and "not reached" in failed.last_error
    film = json.loads(next(output.glob("*-01.json")).read_text())
    assert film["forwarding"][0]["state"] == "failed"


class StatusScp:
    """A Storage SCP (pynetdicom) that answers C-STORE with the given statuses in turn."""

    def __init__(self, statuses: list[int]):
        self.statuses = list(statuses)
        self.received = 0
        ae = AE(ae_title="STATUS_SCP")
        ae.add_supported_context(SecondaryCaptureImageStorage)
        ae.add_supported_context(EncapsulatedPDFStorage)
        self.server = ae.start_server(("127.0.0.1", 0), block=False,
                                      evt_handlers=[(evt.EVT_C_STORE, self._store)])
        self.port = self.server.server_address[1]

    def _store(self, event) -> int:
        self.received += 1
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    def stop(self) -> None:
        self.server.shutdown()


@pytest.mark.parametrize("statuses, final, attempts, reason", [
    ([0xA700, 0x0000], "done", 2, None),  # out of resources: may pass later
    ([0xA900], "failed", 1, "0xA900"),    # the object does not fit the SOP class: never
])
def test_a_failure_status_is_retried_only_if_it_may_pass(tmp_path, statuses, final, attempts,
                                                         reason):
    output = tmp_path / "out"
    scp = StatusScp(statuses)
    try:
        sink = store_sink(scp.port, "STATUS_SCP", objects=["secondary-capture"])
        profile = forwarding_profile(tmp_path, sink, retry_initial_s=0.2, attempts=5)
        with running_printer(output, profile) as server:
            print_films(server, "A/B")
            assert wait_until(lambda: len(deliveries_in(output, final)) == 1), deliveries_in(output)
    finally:
        scp.stop()
    [delivery] = deliveries_in(output)
    assert delivery.attempts == attempts
    if reason:
        assert reason in delivery.last_error and "C-STORE" in delivery.last_error


def test_a_command_gets_the_films_paths_and_never_the_label(tmp_path):
    record = tmp_path / "argv.json"
    script = tmp_path / "on_film.py"
    script.write_text("import json, sys\n"
                      f"open({str(record)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n")
    sink = {"name": "script", "type": "command",
            "argv": [sys.executable, str(script), "{pdf}", "{json}", "--fixed"]}
    output = tmp_path / "out"
    label = "; rm -rf / $(touch /tmp/pwned) ../../etc"
    with running_printer(output, forwarding_profile(tmp_path, sink)) as server:
        print_films(server, label)
        assert wait_until(lambda: len(deliveries_in(output, "done")) == 1), deliveries_in(output)
    [arguments] = [json.loads(line) for line in record.read_text().splitlines()]
    [film] = output.glob("*-01.json")
    assert arguments == [str(film.with_suffix(".pdf")), str(film), "--fixed"]
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize("sink, key", [
    ({"name": "x", "type": "fax"}, "type"),
    ({"name": "x", "type": "store", "port": 104, "called_ae": "PACS"}, "host"),
    ({"name": "x", "type": "store", "host": "h", "port": 104, "called_ae": "PACS",
      "patient": {"from_label": "(unclosed"}}, "patient.from_label"),
    ({"name": "x", "type": "command", "argv": ["/no/such/program", "{pdf}"]}, r"argv\[0\]"),
    ({"name": "x", "type": "command", "argv": ["true", "--file={pdf}"]}, "placeholders"),
    ({"name": "x", "type": "paper", "queue": "q", "fit": "stretch"}, "fit"),
    ({"name": "x y", "type": "paper", "queue": "q"}, "name"),
    ({"name": "x", "type": "store", "host": "h", "port": 104, "called_ae": "PACS",
      "tls": True, "tls_ca_certificates": "missing.pem"}, "tls_ca_certificates"),
])
def test_a_wrong_sink_is_refused_naming_the_key(tmp_path, sink, key):
    with pytest.raises(ProfileError, match=key):
        forwarding_profile(tmp_path, sink)


def test_print_scp_refuses_to_start_with_a_wrong_sink(tmp_path):
    profile = tmp_path / "printer.toml"
    profile.write_text('[[forward]]\nname = "pacs"\ntype = "store"\nport = 104\n')
    result = subprocess.run([sys.executable, "-m", "print_scp.cli", "serve", "--output",
                             str(tmp_path / "out"), "--config", str(profile)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "forward 'pacs': host" in result.stderr and "Traceback" not in result.stderr


def test_forwards_lists_and_retries_failed_deliveries_in(tmp_path):
    output = tmp_path / "out"
    sink = {"name": "script", "type": "command", "argv": ["false"]}
    profile = forwarding_profile(tmp_path, sink, retry_initial_s=0.1, attempts=2)
    with running_printer(output, profile) as server:
        print_films(server, None)
        assert wait_until(lambda: len(deliveries_in(output, "failed")) == 1)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "print_scp.cli", "forwards", "--output",
                               str(output), *args], capture_output=True, text=True, timeout=60)

    listing = cli("--failed")
    assert listing.returncode == 0
    [line] = listing.stdout.splitlines()
    delivery_id = line.split()[0]
    assert "failed" in line and "script" in line and "exited with status 1" in line
    assert cli("--retry", delivery_id).returncode == 0
    assert [d.state for d in deliveries_in(output)] == ["pending"]
    assert cli("--retry", delivery_id).returncode == 2  # no longer a failed one
    with running_printer(output, replace(profile)):  # picked up again, and fails again
        assert wait_until(lambda: len(deliveries_in(output, "failed")) == 1)
    assert deliveries_in(output)[0].attempts == 2


def image_ppi(pdf: Path) -> float:
    """Pixels per inch at which the PDF shows its (one) image: the film's raster."""
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                             check=True, timeout=30).stdout.splitlines()[2:]
    [row] = listing
    return float(row.split()[12])


@pytest.mark.skipif(cups_problem() is not None, reason=f"no private CUPS: {cups_problem()}")
@pytest.mark.parametrize("fit", ["page", "true-size"])
def test_paper_prints_the_film_on_the_queues_paper(tmp_path, fit):
    output = tmp_path / "out"
    try:
        cups = PrivateCups()
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"a private cupsd cannot start here: {exc}")
    with cups:
        printed = cups.add_file_queue("office", paper="A4")
        sink = {"name": "paper", "type": "paper", "queue": "office", "fit": fit,
                "server": cups.server}
        with running_printer(output, forwarding_profile(tmp_path, sink)) as server:
            print_films(server, None, film_size="14INX17IN")
            assert wait_until(lambda: len(deliveries_in(output, "done")) == 1), deliveries_in(output)
        assert wait_until(lambda: printed.exists() and printed.stat().st_size > 0)
        time.sleep(0.5)  # the backend closes the file when the job ends
        info = subprocess.run(["pdfinfo", str(printed)], capture_output=True, text=True,
                              check=True, timeout=30).stdout
        ppi = image_ppi(printed)
    assert re.search(r"Page size:\s+595(\.\d+)? x 842", info), info  # A4, the queue's paper
    if fit == "page":  # 14 x 17 in shrunk onto A4: to about 0.55, so more pixels per inch
        assert ppi > DPI / 0.7
    else:  # at true size, as printed (the rest of the sheet is beyond the paper)
        assert ppi == pytest.approx(DPI, rel=0.02)


def test_a_printer_sink_naming_an_unknown_printer_is_refused(tmp_path):
    printers = tmp_path / "printers.toml"
    printers.write_text('[printers.dryview]\nhost = "127.0.0.1"\nport = 10401\n'
                        'called_ae = "DRYVIEW"\n')
    sink = {"name": "film", "type": "printer", "printers": ["dryview", "drystar"],
            "printers_config": str(printers)}
    with pytest.raises(ProfileError, match=r"forward 'film': printers: drystar not in .*"
                                           r"it has: dryview"):
        forwarding_profile(tmp_path, sink)


@needs_orthanc
@pytest.mark.parametrize("trusted", [True, False])
def test_store_over_tls_checks_the_pacs_certificate(tmp_path, trusted):
    pki = make_test_pki(tmp_path / "pki")
    settings = {"DicomTlsEnabled": True, "DicomTlsCertificate": str(pki.server_certificate),
                "DicomTlsPrivateKey": str(pki.server_key),
                "DicomTlsTrustedCertificates": str(pki.ca_certificate),
                "DicomTlsRemoteCertificateRequired": False}
    ca = pki.ca_certificate if trusted else pki.other_ca_certificate
    output = tmp_path / "out"
    with OrthancServer(tmp_path, settings=settings) as orthanc:
        sink = store_sink(orthanc.dicom_port, orthanc.aet, tls=True,
                          tls_ca_certificates=str(ca))
        profile = forwarding_profile(tmp_path, sink, retry_initial_s=0.2, attempts=2)
        with running_printer(output, profile) as server:
            print_films(server, "A/B")
            final = "done" if trusted else "failed"
            assert wait_until(lambda: len(deliveries_in(output, final)) == 1), deliveries_in(output)
        stored = orthanc.instances()
    if trusted:
        assert len(stored) == 2
    else:
        assert stored == []
        assert "no TLS connection" in deliveries_in(output)[0].last_error

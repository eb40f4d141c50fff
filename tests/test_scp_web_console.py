"""The web console in a real browser (headless Chromium from Debian, driven by selenium).

A printer runs in-process with its console on a free loopback port; films are
printed to it with print-scu over DICOM, and the pages are used as a person
would: the gallery updating itself, filters, the densitometer, the printer's
status buttons. Values read in the page are compared with the printer's own
files (the density map) and with what a connected SCU receives.
"""

from __future__ import annotations

import http.client
import io
import json
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from browser import browser_problem, chromium
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from scp_harness import running_printer
from test_scp_access import association_answer
from test_scp_feat_support import (
    connect,
    new_film_box,
    new_session,
    print_film_box,
    printer_events,
    uniform,
    wait_until,
)
from tls_certs import make_test_pki

from dicomnet.memory_budget import CONNECTION_BYTES
from dicomnet.tls import TlsSettings
from film.densitometry import read_density_map
from print_scp.control import ControlServer
from print_scp.launcher import free_port
from print_scp.web.app import ConsoleSettings
from print_scp.web.server import WebAddress, WebConsole
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation
from print_scu.image_box_requests import grayscale_image_box

DPI = 40
TOKEN = "test-token-0123456789abcdef"
HOSTILE = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">&amp;"\''

needs_browser = pytest.mark.skipif(browser_problem() is not None,
                                   reason=f"no headless browser: {browser_problem()}")


@contextmanager
def printer_with_console(tmp_path: Path, host: str = "127.0.0.1", token_required: bool = False,
                         tls: TlsSettings | None = None, **profile_changes):
    """A printer in-process and its console; yields (printer, console base URL)."""
    output = tmp_path / "out"
    with running_printer(output, standard_dpi=DPI, **profile_changes) as server:
        control = ControlServer(server)  # its execute() is what the console calls
        control.start()
        settings = ConsoleSettings(output, TOKEN, token_required, control=control.execute,
                                   profile_text="ae_title = 'FILMBOX'", metrics=server.metrics,
                                   poll_s=0.2)
        console = WebConsole(settings, WebAddress(host, 0), tls)
        bound = console.start()
        try:
            yield server, f"{console.scheme}://{bound.host}:{bound.port}"
        finally:
            console.stop()
            control.stop()


def print_film(server, calling_ae: str = "CT_ROOM_1", label: str | None = None,
               value: int = 60) -> None:
    with connect(server, calling_ae=calling_ae) as assoc:
        attributes = {"FilmSessionLabel": label} if label else {}
        if label and not label.isascii():
            attributes["SpecificCharacterSet"] = "ISO_IR 192"
        refs = new_film_box(assoc, new_session(assoc, **attributes), "STANDARD\\2,1",
                            AnnotationDisplayFormatID="LABEL")
        assoc.set_image_box(refs.image_box_uids[0], grayscale_image_box(1, uniform(value), 8))
        assoc.set_image_box(refs.image_box_uids[1], grayscale_image_box(2, uniform(250), 8))
        print_film_box(assoc, refs)



def shows(driver, url: str, text: str) -> bool:  # noqa: ANN001 - a selenium driver
    """Load ``url``; whether its main element shows ``text``."""
    driver.get(url)
    return text in driver.find_element("tag name", "main").text


def films_in(output: Path) -> list[Path]:
    return sorted(output.glob("*-01.json"))


def status_of(url: str) -> int:
    """The HTTP status of GET ``url``; 0 if nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except urllib.error.URLError:
        return 0


@needs_browser
def test_new_films_appear_in_the_gallery_without_a_reload(tmp_path):
    with printer_with_console(tmp_path) as (server, base), chromium() as driver:
        driver.get(base + "/")
        assert driver.find_elements("css selector", ".card") == []
        driver.execute_script("window.sameDocument = true")
        print_film(server, calling_ae="CT_ROOM_1")
        print_film(server, calling_ae="MR_ROOM_2")
        assert wait_until(lambda: len(driver.find_elements("css selector", ".card")) == 2)
        assert driver.execute_script("return window.sameDocument") is True  # no reload
        shown = sorted(e.text for e in driver.find_elements("css selector", ".calling-ae"))
        assert shown == ["CT_ROOM_1", "MR_ROOM_2"]


@needs_browser
def test_the_gallery_filters_by_calling_ae(tmp_path):
    with printer_with_console(tmp_path) as (server, base), chromium() as driver:
        for ae in ("CT_ROOM_1", "MR_ROOM_2", "CT_ROOM_1"):
            print_film(server, calling_ae=ae)
        assert wait_until(lambda: len(films_in(tmp_path / "out")) == 3)
        driver.get(base + "/")
        assert wait_until(lambda: len(driver.find_elements("css selector", ".card")) == 3)
        # Cards also arrive live; the filter's choices are those of the page as served,
        # so the page is loaded again once every film is in the index.
        driver.get(base + "/")
        assert wait_until(lambda: driver.find_elements(
            "css selector", "#filter-calling_ae option[value='CT_ROOM_1']"))
        from selenium.webdriver.support.ui import Select
        Select(driver.find_element("id", "filter-calling_ae")).select_by_value("CT_ROOM_1")
        driver.find_element("id", "apply").click()
        assert wait_until(lambda: "calling_ae=CT_ROOM_1" in driver.current_url)
        shown = [e.text for e in driver.find_elements("css selector", ".calling-ae")]
        assert shown == ["CT_ROOM_1", "CT_ROOM_1"]
        assert driver.find_element("id", "total").text == "2"


@needs_browser
def test_the_densitometer_reads_the_density_map_under_the_pointer(tmp_path):
    from selenium.webdriver.common.action_chains import ActionChains
    with printer_with_console(tmp_path) as (server, base), chromium() as driver:
        print_film(server, value=60)
        assert wait_until(lambda: len(films_in(tmp_path / "out")) == 1)
        film = json.loads(films_in(tmp_path / "out")[0].read_text())
        density, _ = read_density_map(tmp_path / "out" / film["film"]["files"]["density_png"])
        driver.get(f"{base}/films/{film['name']}")
        image = driver.find_element("id", "film-image")
        assert wait_until(lambda: image.size["width"] > 0)
        for box in film["film"]["image_box_rects_px"]:  # the centre of each image box
            x = box["x"] + box["width"] // 2
            y = box["y"] + box["height"] // 2
            scale = image.size["width"] / film["film"]["width_px"]
            offset_x = (x + 0.5) * scale - image.size["width"] / 2
            offset_y = (y + 0.5) * scale - image.size["height"] / 2
            ActionChains(driver).move_to_element_with_offset(
                image, round(offset_x), round(offset_y)).perform()
            assert wait_until(lambda: driver.find_element("id", "od").text not in ("", "–"))
            read_at = driver.find_element("id", "od-at").text
            px, py = (int(v) for v in read_at.split(", "))
            expected = float(density[py, px])
            assert abs(px - x) <= 1 and abs(py - y) <= 1, (read_at, x, y)
            assert wait_until(lambda: abs(float(driver.find_element("id", "od").text)
                                        - expected) <= 0.01)
        values = {round(float(density[b["y"] + b["height"] // 2, b["x"] + b["width"] // 2]), 2)
                  for b in film["film"]["image_box_rects_px"]}
        assert len(values) == 2  # two different densities were read, not one value twice


@needs_browser
def test_film_jam_set_from_the_page_reaches_a_connected_scu(tmp_path):
    with printer_with_console(tmp_path) as (server, base), chromium() as driver:
        with connect(server, calling_ae="LISTENER") as assoc:
            assert assoc.get_printer()[0] == 0  # a request first, then events may come
            driver.get(base + "/printer")
            from selenium.webdriver.support.ui import Select
            Select(driver.find_element("id", "status-select")).select_by_value("FAILURE")
            driver.find_element("id", "status-info").send_keys("FILM JAM")
            driver.find_element("id", "set-status").click()
            assert wait_until(lambda: driver.find_element("id", "printer-status").text
                            == "FAILURE")
            assert wait_until(lambda: any(e.event_information is not None and
                                        e.event_information.get("PrinterStatusInfo")
                                        == "FILM JAM" for e in printer_events(assoc)))
        assert server.printer.condition.info == "FILM JAM"


@needs_browser
def test_a_hostile_label_shows_as_text_and_runs_nothing(tmp_path):
    with printer_with_console(tmp_path) as (server, base), chromium() as driver:
        print_film(server, label=HOSTILE[:64])
        assert wait_until(lambda: len(films_in(tmp_path / "out")) == 1)
        name = films_in(tmp_path / "out")[0].stem
        for page in ("/", f"/films/{name}"):
            # the gallery lists a film once the console's index has it (a poll later)
            assert wait_until(lambda page=page: shows(driver, base + page, HOSTILE[:64].strip()))
            assert driver.execute_script("return window.pwned === undefined") is True
        policy = urllib.request.urlopen(base + "/", timeout=10).headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy


def test_a_console_beyond_loopback_needs_its_token(tmp_path):
    # 127.0.0.2 stands for a non-loopback bind: the token is required as it would be there
    with printer_with_console(tmp_path, host="127.0.0.2", token_required=True) as (_, base):
        assert status_of(base + "/") == 401
        assert status_of(base + "/healthz") == 401
        assert status_of(f"{base}/?token={TOKEN}") == 200
        assert status_of(f"{base}/?token=wrong") == 401


def test_changes_need_the_token_and_the_consoles_origin(tmp_path):
    with printer_with_console(tmp_path) as (server, base):
        def post(headers: dict) -> int:
            request = urllib.request.Request(base + "/api/printer/status", method="POST",
                                             data=b'{"status": "FAILURE"}', headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=10) as response:
                    return response.status
            except urllib.error.HTTPError as exc:
                return exc.code
        assert post({"X-Filmbox-Token": TOKEN}) == 403  # no Origin
        assert post({"X-Filmbox-Token": TOKEN, "Origin": "http://evil.example"}) == 403
        assert post({"Origin": base}) == 403  # no token
        assert server.printer.condition.status.value == "NORMAL"
        assert post({"X-Filmbox-Token": TOKEN, "Origin": base}) == 200
        assert server.printer.condition.status.value == "FAILURE"


def test_paths_outside_the_films_give_404(tmp_path):
    (tmp_path / "secret.json").write_text('{"film": {}}')
    with printer_with_console(tmp_path) as (server, base):
        print_film(server)
        assert wait_until(lambda: len(films_in(tmp_path / "out")) == 1)
        name = films_in(tmp_path / "out")[0].stem
        (tmp_path / "out" / "link.json").symlink_to(tmp_path / "secret.json")
        host, port = base.removeprefix("http://").split(":")
        for path in ("/files/../../secret/json", "/files/..%2F..%2Fsecret/json",
                     "/files/%2Fetc%2Fpasswd/json", "/files/link/json", "/films/link",
                     f"/files/{name}/exe", "/job/..%2Fsecret"):
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            connection.request("GET", path)  # sent as written, not normalised
            assert connection.getresponse().status == 404, path
            connection.close()
        assert status_of(f"{base}/files/{name}/json") == 200
        thumbnail = urllib.request.urlopen(f"{base}/files/{name}/thumb", timeout=10).read()
        with Image.open(io.BytesIO(thumbnail)) as image:
            assert max(image.size) == 240  # made once from the film's PNG, and kept
        assert (tmp_path / "out" / ".thumbs" / f"{name}.png").is_file()


def metric_samples(base: str, text: str | None = None) -> dict[str, float]:
    """Value by sample name of the console's /metrics (or of ``text`` read from it)."""
    if text is None:
        text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    return {sample.name: sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples}


def test_metrics_and_health(tmp_path):
    budget = 300 * 1024 * 1024
    with printer_with_console(tmp_path, require_called_ae=True,
                              max_memory_bytes=budget) as (server, base):
        print_film(server)
        assert wait_until(lambda: len(films_in(tmp_path / "out")) == 1)
        assert association_answer(server.port, "ELSEWHERE", "NOT_THIS_AE")[0] is False
        assert wait_until(lambda: server.memory.in_use == 0)  # the associations have ended
        address = PrinterAddress("127.0.0.1", server.port, server.profile.ae_title, "METRICS")
        with PrintAssociation(address):
            while_open = metric_samples(base)["filmbox_memory_in_use_bytes"]
        assert wait_until(lambda: server.memory.in_use == 0)
        text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
        health = json.loads(urllib.request.urlopen(base + "/healthz", timeout=10).read())
    assert while_open == CONNECTION_BYTES
    assert "filmbox_films_printed_total 1.0" in text
    assert 'filmbox_dimse_requests_total{status="0x0000"}' in text
    assert ('filmbox_associations_rejected_total{reason="Called AE title not recognised"} 1.0'
            in text)
    samples = metric_samples(base, text)
    assert samples["filmbox_memory_limit_bytes"] == budget
    assert samples["filmbox_memory_in_use_bytes"] == 0
    assert health == {"ok": True, "printer": {"status": "NORMAL", "info": "NORMAL"}}


def test_print_scp_web_serves_a_folder_read_only(tmp_path):
    with printer_with_console(tmp_path) as (server, _):
        print_film(server)
        assert wait_until(lambda: len(films_in(tmp_path / "out")) == 1)
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "print_scp.cli", "web", "--output",
                                str(tmp_path / "out"), "--web", f"127.0.0.1:{port}"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert wait_until(lambda: status_of(f"http://127.0.0.1:{port}/healthz") == 200)
        page = urllib.request.urlopen(f"http://127.0.0.1:{port}/printer", timeout=10).read()
        gallery = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10).read()
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert b"No printer is running on this output directory" in page
    assert gallery.count(b'class="card"') == 1


def test_the_console_serves_https_with_the_printers_certificate(tmp_path):
    pki = make_test_pki(tmp_path / "pki")
    tls = TlsSettings(pki.server_certificate, pki.server_key)
    with printer_with_console(tmp_path, tls=tls) as (server, base):
        assert base.startswith("https://")
        trusted = ssl.create_default_context(cafile=str(pki.ca_certificate))
        with urllib.request.urlopen(base + "/healthz", timeout=10, context=trusted) as reply:
            assert json.loads(reply.read())["ok"] is True
        untrusted = ssl.create_default_context(cafile=str(pki.other_ca_certificate))
        with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
            urllib.request.urlopen(base + "/healthz", timeout=10, context=untrusted)


def test_the_printer_page_lists_recent_films(tmp_path):
    with printer_with_console(tmp_path) as (server, base):
        print_film(server, calling_ae="US_ROOM_4")
        assert wait_until(lambda: len(films_in(tmp_path / "out")) == 1)
        name = films_in(tmp_path / "out")[0].stem
        assert wait_until(lambda: name in urllib.request.urlopen(
            base + "/printer", timeout=10).read().decode())

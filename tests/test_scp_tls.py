"""DICOM over TLS on both ends: the printer's [tls] section, the client's tls keys.

Certificates come from a throwaway CA made per test session (tests/tls_certs.py):
a server certificate for 127.0.0.1 and localhost, a client certificate, and
an unrelated CA. What must hold:

* the project's own client prints through TLS and the film is rendered;
* a plain-TCP client, a client trusting another CA, a server certificate not
  naming the host, and (with ``verify_client``) a client without certificate
  all fail with an error saying so, and the printer goes on serving;
* a client that connects and stays silent holds up nobody else;
* DCMTK's echoscu (if built with OpenSSL) verifies against print-scp.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from scp_harness import running_printer
from test_scp_access import ECHOSCU, address_of, assert_films_printed, print_one_film
from test_scp_feat_support import TIMEOUT_S
from tls_certs import Pki, make_test_pki

from dicomnet.tls import TlsClientSettings, TlsSettings
from print_scp.launcher import free_port, start_print_scp
from print_scp.profile import ProfileError, load_profile, profile_from_dict
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation, PrintAssociationError
from print_scu.config import ConfigError, load_printers


def server_tls(pki: Pki, **changes) -> TlsSettings:
    return replace(TlsSettings(pki.server_certificate, pki.server_key, pki.ca_certificate),
                   **changes)


def client_tls(pki: Pki, **changes) -> TlsClientSettings:
    return replace(TlsClientSettings(ca_certificates=pki.ca_certificate), **changes)


def log_lines(caplog: pytest.LogCaptureFixture, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "dicomnet.tls" and text in r.getMessage()]


# -- print-scp profile --------------------------------------------------------------------

def _copy_pki(pki: Pki, directory: Path) -> None:
    directory.mkdir()
    for path in (pki.server_certificate, pki.server_key, pki.ca_certificate):
        shutil.copy(path, directory / path.name)


def test_tls_paths_are_relative_to_the_profile_file(tmp_path: Path, tls_pki: Pki) -> None:
    _copy_pki(tls_pki, tmp_path / "certs")
    profile_file = tmp_path / "printer.toml"
    profile_file.write_text('[tls]\ncertificate = "certs/server.pem"\n'
                            'private_key = "certs/server.key"\n'
                            'ca_certificates = "certs/ca.pem"\nverify_client = true\n')
    tls = load_profile(profile_file).tls
    assert tls == TlsSettings(tmp_path / "certs/server.pem", tmp_path / "certs/server.key",
                              tmp_path / "certs/ca.pem", verify_client=True)
    assert load_profile(None).tls is None


@pytest.mark.parametrize("section, message", [
    ({"certificate": "missing.pem", "private_key": "server.key"},
     r"\[tls\] certificate: cannot read .*missing.pem: No such file"),
    ({"certificate": "server.pem"}, r"\[tls\] needs private_key"),
    ({"certificate": "server.pem", "private_key": "server.key", "verify_client": True},
     r"verify_client = true needs ca_certificates"),
    ({"certificate": "server.pem", "private_key": "server.key", "verify_client": "yes"},
     r"verify_client must be true or false"),
    ({"certificate": "server.pem", "private_key": "server.key", "cipher": "RC4"},
     r"unknown key 'cipher' in \[tls\]"),
    ({"certificate": "server.pem", "private_key": "ca.key"},
     r"matching certificate and key"),
    ({"certificate": "server.key", "private_key": "server.key"},
     r"matching certificate and key"),
])
def test_unusable_tls_settings_are_a_clear_profile_error(tls_pki: Pki, section: dict,
                                                          message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        profile_from_dict({"tls": section}, base_dir=tls_pki.ca_certificate.parent)


# -- the project's own ends ---------------------------------------------------------------

def test_a_film_printed_over_tls_is_rendered(tmp_path: Path, tls_pki: Pki,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dicomnet.tls")
    with running_printer(tmp_path, tls=server_tls(tls_pki)) as server:
        print_one_film(address_of(server, tls=client_tls(tls_pki)))
        assert_films_printed(tmp_path, 1)
    [line] = log_lines(caplog, "TLS connection from 127.0.0.1")
    assert "TLSv1.3" in line or "TLSv1.2" in line
    assert "no client certificate" in line


def test_localhost_is_checked_against_the_certificate_too(tmp_path: Path, tls_pki: Pki) -> None:
    with running_printer(tmp_path, tls=server_tls(tls_pki)) as server:
        print_one_film(replace(address_of(server, tls=client_tls(tls_pki)), host="localhost"))
        assert_films_printed(tmp_path, 1)


def test_plain_client_fails_cleanly_and_the_printer_goes_on(
        tmp_path: Path, tls_pki: Pki, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dicomnet.tls")
    with running_printer(tmp_path, tls=server_tls(tls_pki)) as server:
        with pytest.raises(PrintAssociationError):
            print_one_film(address_of(server))
        print_one_film(address_of(server, tls=client_tls(tls_pki)))
        assert_films_printed(tmp_path, 1)
    [refused] = log_lines(caplog, "refused")
    assert refused.startswith("TLS connection from 127.0.0.1:")


def test_client_trusting_another_ca_says_certificate_verify_failed(
        tmp_path: Path, tls_pki: Pki) -> None:
    wrong_ca = client_tls(tls_pki, ca_certificates=tls_pki.other_ca_certificate)
    with running_printer(tmp_path, tls=server_tls(tls_pki)) as server:
        with pytest.raises(PrintAssociationError,
                           match=r"no TLS connection with FILMBOX@127.0.0.1:\d+: "
                                 r".*certificate verify failed"):
            print_one_film(address_of(server, tls=wrong_ca))
        print_one_film(address_of(server, tls=client_tls(tls_pki)))
        assert_films_printed(tmp_path, 1)


def test_server_certificate_must_name_the_host(tmp_path: Path, tls_pki: Pki) -> None:
    """A certificate of the right CA, but for printer.invalid, not 127.0.0.1."""
    wrong_name = server_tls(tls_pki, certificate=tls_pki.other_host_certificate,
                            private_key=tls_pki.other_host_key)
    with running_printer(tmp_path, tls=wrong_name) as server:
        with pytest.raises(PrintAssociationError, match=r"mismatch.*127\.0\.0\.1"):
            print_one_film(address_of(server, tls=client_tls(tls_pki)))


def test_required_client_certificate(tmp_path: Path, tls_pki: Pki,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dicomnet.tls")
    with_certificate = client_tls(tls_pki, certificate=tls_pki.client_certificate,
                                  private_key=tls_pki.client_key)
    with running_printer(tmp_path, tls=server_tls(tls_pki, verify_client=True)) as server:
        with pytest.raises(PrintAssociationError, match="client certificate"):
            print_one_film(address_of(server, tls=client_tls(tls_pki)))
        print_one_film(address_of(server, tls=with_certificate))
        assert_films_printed(tmp_path, 1)
    [refused] = log_lines(caplog, "refused")
    assert "certificate" in refused
    [accepted] = log_lines(caplog, "client certificate 'commonName=TEST_SCU'")
    assert accepted.startswith("TLS connection from 127.0.0.1:")


def test_client_certificate_of_another_ca_is_refused(
        tmp_path: Path, tls_pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Even with verify_client false, a certificate that is offered must verify."""
    stranger = make_test_pki(tmp_path_factory.mktemp("stranger"))
    foreign = client_tls(tls_pki, certificate=stranger.client_certificate,
                         private_key=stranger.client_key)
    with running_printer(tmp_path, tls=server_tls(tls_pki)) as server:
        with pytest.raises(PrintAssociationError):
            print_one_film(address_of(server, tls=foreign))
    assert not list(tmp_path.glob("*.json"))


def test_a_silent_connection_holds_up_nobody(tmp_path: Path, tls_pki: Pki) -> None:
    """pynetdicom accepts on one thread; the TLS handshake must not happen there."""
    with running_printer(tmp_path, tls=server_tls(tls_pki)) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT_S):
            print_one_film(address_of(server, tls=client_tls(tls_pki)))
        assert_films_printed(tmp_path, 1)


def test_unreadable_client_tls_file_is_a_clear_error(tmp_path: Path, tls_pki: Pki) -> None:
    """Found before any connection is attempted."""
    broken = client_tls(tls_pki, ca_certificates=tmp_path / "gone.pem")
    with pytest.raises(PrintAssociationError,
                       match=r"TLS settings for FILMBOX@127.0.0.1:\d+ cannot be used: "
                             r"CA certificates .*gone.pem: No such file"):
        PrintAssociation(PrinterAddress("127.0.0.1", free_port(), "FILMBOX", tls=broken))


# -- print-scu printer profiles -----------------------------------------------------------

def _printers_file(directory: Path, lines: str) -> Path:
    path = directory / "printers.toml"
    path.write_text('[printers.secure]\nhost = "127.0.0.1"\nport = 104\n'
                    'called_ae = "FILMBOX"\n' + lines)
    return path


def test_client_profile_tls_keys_resolve_against_the_file(tmp_path: Path, tls_pki: Pki) -> None:
    _copy_pki(tls_pki, tmp_path / "certs")
    path = _printers_file(tmp_path, 'tls = true\ntls_ca_certificates = "certs/ca.pem"\n')
    printer = load_printers(path)["secure"]
    assert printer.address().tls == TlsClientSettings(ca_certificates=tmp_path / "certs/ca.pem")
    plain = load_printers(_printers_file(tmp_path, ""))["secure"]
    assert plain.address().tls is None


@pytest.mark.parametrize("lines, message", [
    ('tls_ca_certificates = "ca.pem"\n', r"tls_ca_certificates: is set but tls is false"),
    ('tls = true\ntls_ca_certificates = "nowhere.pem"\n',
     r"tls_ca_certificates: cannot read .*nowhere.pem"),
    ('tls = true\ntls_private_key = "client.key"\n', r"tls_private_key: needs tls_certificate"),
    ('tls = "yes"\n', r"tls: must be true or false"),
])
def test_bad_client_tls_settings_name_the_key(tmp_path: Path, tls_pki: Pki, lines: str,
                                              message: str) -> None:
    for path in (tls_pki.ca_certificate, tls_pki.client_key):
        shutil.copy(path, tmp_path / path.name)
    with pytest.raises(ConfigError, match=rf"printer 'secure': {message}"):
        load_printers(_printers_file(tmp_path, lines))


def test_print_scp_serve_with_a_tls_profile(tmp_path: Path, tls_pki: Pki) -> None:
    """The console script end to end: profile file with relative paths, own client's profile."""
    _copy_pki(tls_pki, tmp_path / "certs")
    (tmp_path / "printer.toml").write_text(
        '[tls]\ncertificate = "certs/server.pem"\nprivate_key = "certs/server.key"\n')
    port = free_port()
    output = tmp_path / "films"
    process = start_print_scp(output, port, "--config", str(tmp_path / "printer.toml"))
    try:
        printers = _printers_file(tmp_path, 'tls = true\ntls_ca_certificates = "certs/ca.pem"\n'
                                  'calling_ae = "TEST_SCU"\nacse_timeout_s = 10\n')
        text = printers.read_text().replace("port = 104", f"port = {port}")
        printers.write_text(text)
        print_one_film(load_printers(printers)["secure"].address())
        assert_films_printed(output, 1)
    finally:
        process.terminate()
        process.wait(timeout=30)


# -- DCMTK --------------------------------------------------------------------------------

def _dcmtk_has_tls() -> bool:
    if not ECHOSCU.exists():
        return False
    run = subprocess.run([str(ECHOSCU), "--help"], capture_output=True, text=True, timeout=30)
    return "+tls" in run.stdout


requires_dcmtk_tls = pytest.mark.skipif(not _dcmtk_has_tls(),
                                        reason="DCMTK echoscu without TLS support (+tls)")


def _echoscu_tls(port: int, pki: Pki, ca: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ECHOSCU), "+tls", str(pki.client_key), str(pki.client_certificate),
         "+cf", str(ca), "-aet", "DCMTK_TLS", "-aec", "FILMBOX", "-to", "10", "-ta", "10",
         *extra, "127.0.0.1", str(port)],
        capture_output=True, text=True, timeout=TIMEOUT_S)


@requires_dcmtk_tls
def test_dcmtk_echoscu_over_tls(tmp_path: Path, tls_pki: Pki,
                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="dicomnet.tls")
    with running_printer(tmp_path, tls=server_tls(tls_pki, verify_client=True)) as server:
        good = _echoscu_tls(server.port, tls_pki, tls_pki.ca_certificate)
        wrong_ca = _echoscu_tls(server.port, tls_pki, tls_pki.other_ca_certificate)
        plain = subprocess.run(
            [str(ECHOSCU), "-aet", "DCMTK_PLAIN", "-aec", "FILMBOX", "-to", "10", "-ta", "10",
             "127.0.0.1", str(server.port)], capture_output=True, text=True, timeout=TIMEOUT_S)
    assert good.returncode == 0, good.stderr
    assert wrong_ca.returncode != 0
    assert "certificate verify failed" in wrong_ca.stderr, wrong_ca.stderr
    assert plain.returncode != 0
    assert log_lines(caplog, "client certificate 'commonName=TEST_SCU'")

"""Throwaway certificates for the DICOM-over-TLS tests, made with the openssl CLI.

:func:`make_test_pki` writes, into a directory, a test CA, a server
certificate for 127.0.0.1 and localhost (subjectAltName IP and DNS), a
server certificate for another host, a client certificate, and a second,
unrelated CA (for "wrong CA" tests). Keys
are RSA 2048 (what every TLS peer here, DCMTK included, accepts), PEM,
unencrypted; certificates are valid for two days.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

OPENSSL = shutil.which("openssl")
OPENSSL_MISSING = "the openssl command line tool is not installed (Debian package openssl)"
requires_openssl = pytest.mark.skipif(OPENSSL is None, reason=OPENSSL_MISSING)
VALID_DAYS = 2
TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Pki:
    """Paths of the PEM files written by :func:`make_test_pki`."""

    ca_certificate: Path
    server_certificate: Path
    server_key: Path
    client_certificate: Path
    client_key: Path
    other_ca_certificate: Path  # signed nothing here
    other_host_certificate: Path  # a server certificate for printer.invalid only
    other_host_key: Path


def make_test_pki(directory: Path) -> Pki:
    """Write a CA, a server and a client certificate, and another CA, into ``directory``."""
    if OPENSSL is None:
        pytest.skip(OPENSSL_MISSING)
    directory.mkdir(parents=True, exist_ok=True)
    ca_extensions = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]
    ca_cert, ca_key = _self_signed(directory, "ca", "filmbox test CA", ca_extensions)
    other_ca, _ = _self_signed(directory, "other-ca", "filmbox unrelated CA", ca_extensions)
    server_usage = ["extendedKeyUsage=serverAuth",
                    "keyUsage=critical,digitalSignature,keyEncipherment"]
    server_cert, server_key = _signed(directory, "server", "127.0.0.1", ca_cert, ca_key,
                                      ["subjectAltName=IP:127.0.0.1,DNS:localhost",
                                       *server_usage])
    other_host_cert, other_host_key = _signed(directory, "other-host", "printer.invalid",
                                              ca_cert, ca_key,
                                              ["subjectAltName=DNS:printer.invalid",
                                               *server_usage])
    client_cert, client_key = _signed(
        directory, "client", "TEST_SCU", ca_cert, ca_key,
        ["extendedKeyUsage=clientAuth", "keyUsage=critical,digitalSignature,keyEncipherment"])
    return Pki(ca_cert, server_cert, server_key, client_cert, client_key, other_ca,
               other_host_cert, other_host_key)


def _self_signed(directory: Path, name: str, common_name: str,
                 extensions: list[str]) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
             "-days", VALID_DAYS, "-subj", f"/CN={common_name}",
             *[arg for ext in extensions for arg in ("-addext", ext)])
    return cert, key


def _signed(directory: Path, name: str, common_name: str, ca_cert: Path, ca_key: Path,
            extensions: list[str]) -> tuple[Path, Path]:
    cert, key, request = (directory / f"{name}.pem", directory / f"{name}.key",
                          directory / f"{name}.csr")
    extension_file = directory / f"{name}.ext"
    # Key identifiers: what strict X.509 checking (Python 3.13+) asks of a chain.
    extension_file.write_text("\n".join(
        [*extensions, "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid"]) + "\n")
    _openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", request,
             "-subj", f"/CN={common_name}")
    _openssl("x509", "-req", "-in", request, "-CA", ca_cert, "-CAkey", ca_key,
             "-set_serial", secrets.randbits(63), "-days", VALID_DAYS,
             "-extfile", extension_file, "-out", cert)
    return cert, key


def _openssl(*args: object) -> None:
    run = subprocess.run([OPENSSL, *map(str, args)], capture_output=True, text=True,
                         timeout=TIMEOUT_S)
    if run.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {run.stderr.strip()}")

"""DICOM over TLS for the print client (PS3.15 B.1): the client's TLS context.

The printer's certificate is verified against ``ca_certificates`` (or the
system's trusted CAs) and must name the host the client connects to (DNS
name or IP address in subjectAltName); TLS 1.2 is the oldest version offered.

pynetdicom only logs why a TLS connection failed; the context made here also
remembers it (:attr:`RecordingContext.handshake_error`), so the caller can
say "certificate verify failed" instead of "could not connect".
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


class _RecordingSocket(ssl.SSLSocket):
    """An SSLSocket that tells its context why its handshake failed."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except OSError as exc:
            self.context.handshake_error = exc
            raise


class RecordingContext(ssl.SSLContext):
    """An SSLContext that keeps the error of its last failed handshake."""

    sslsocket_class = _RecordingSocket
    handshake_error: OSError | None = None


@dataclass(frozen=True)
class TlsClientSettings:
    """PEM files of a TLS connection to a printer.

    ``ca_certificates`` None trusts the system's CAs; ``certificate`` (with
    ``private_key``, or holding the key itself) is the client's certificate
    for printers that require one.
    """

    ca_certificates: Path | None = None
    certificate: Path | None = None
    private_key: Path | None = None

    def context(self) -> RecordingContext:
        """A fresh client context; OSError naming the file if one is unusable."""
        context = RecordingContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies cert and host name
        context.minimum_version = MINIMUM_VERSION
        if self.ca_certificates is None:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        else:
            try:
                context.load_verify_locations(cafile=self.ca_certificates)
            except OSError as exc:
                raise OSError(f"CA certificates {self.ca_certificates}: "
                              f"{exc.strerror or exc}") from exc
        if self.certificate is not None:
            try:
                context.load_cert_chain(self.certificate, self.private_key)
            except OSError as exc:
                raise OSError(f"client certificate {self.certificate} (key "
                              f"{self.private_key or 'in the same file'}): "
                              f"{exc.strerror or exc}") from exc
        return context

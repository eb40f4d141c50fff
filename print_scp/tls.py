"""DICOM over TLS for the printer (PS3.15 B.1: TLS on the DICOM port).

:func:`server_context` turns the profile's ``[tls]`` settings into an
:class:`ssl.SSLContext` for pynetdicom's ``start_server(ssl_context=...)``.

pynetdicom wraps each accepted socket on its single accept thread; with the
standard handshake-on-wrap, one client that connects and says nothing would
stop the printer accepting anyone until it hangs up. The context returned
here defers the handshake: :func:`finish_handshake` completes it on the
connection's own thread (the server's EVT_CONN_OPEN handler) within a time
limit, so a slow, silent or plain-TCP client only ever holds up itself.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


@dataclass(frozen=True)
class TlsSettings:
    """The ``[tls]`` section of a printer profile (absolute paths, PEM files).

    ``verify_client`` True requires a client certificate signed by one of
    ``ca_certificates``; False accepts clients without one, and still checks
    a certificate a client does offer when ``ca_certificates`` is given.
    """

    certificate: Path
    private_key: Path
    ca_certificates: Path | None = None
    verify_client: bool = False


class _DeferredHandshakeContext(ssl.SSLContext):
    """An SSLContext whose server sockets wait for :func:`finish_handshake`."""

    def wrap_socket(self, sock: socket.socket, *args, **options) -> ssl.SSLSocket:
        options["do_handshake_on_connect"] = False
        return super().wrap_socket(sock, *args, **options)


def server_context(settings: TlsSettings) -> ssl.SSLContext:
    """A TLS 1.2+ server context; OSError or ssl.SSLError if a file is unusable."""
    context = _DeferredHandshakeContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MINIMUM_VERSION
    context.load_cert_chain(settings.certificate, settings.private_key)
    if settings.ca_certificates is not None:
        context.load_verify_locations(cafile=settings.ca_certificates)
        context.verify_mode = ssl.CERT_REQUIRED if settings.verify_client else ssl.CERT_OPTIONAL
    return context


def finish_handshake(sock: ssl.SSLSocket, timeout_s: float) -> None:
    """Complete the server side of the handshake of an accepted connection.

    Raises OSError (ssl.SSLError, TimeoutError) if it fails or takes longer
    than ``timeout_s`` seconds. The socket is left blocking, as pynetdicom
    expects.
    """
    sock.settimeout(timeout_s)
    try:
        sock.do_handshake()
    finally:
        sock.settimeout(None)


def describe_peer(sock: ssl.SSLSocket) -> str:
    """The protocol and the client certificate's subject, for the log."""
    certificate = sock.getpeercert() or {}
    subject = ", ".join(f"{name}={value}" for rdn in certificate.get("subject", ())
                        for name, value in rdn)
    if not subject:
        return f"{sock.version()}, no client certificate"
    return f"{sock.version()}, client certificate {subject!r}"

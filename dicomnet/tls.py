"""DICOM over TLS (PS3.15 B.1: TLS on the DICOM port), TLS 1.2 or newer, both roles.

Acceptor: :func:`server_context` turns :class:`TlsSettings` into an
:class:`ssl.SSLContext` for pynetdicom's ``start_server(ssl_context=...)``.

pynetdicom wraps each accepted socket on its single accept thread; with the
standard handshake-on-wrap, one client that connects and says nothing would
stop the printer accepting anyone until it hangs up. The context returned
here defers the handshake: :func:`finish_handshake` completes it on the
connection's own thread (the server's EVT_CONN_OPEN handler) within a time
limit, so a slow, silent or plain-TCP client only ever holds up itself.

Requestor: :meth:`TlsClientSettings.context` verifies the printer's
certificate against ``ca_certificates`` (or the system's trusted CAs); it
must name the host connected to (DNS name or IP address in
subjectAltName). pynetdicom only logs why a TLS connection failed; the
context made here also remembers it (:attr:`RecordingContext.handshake_error`),
so the caller can say "certificate verify failed" instead of "could not
connect".
"""

from __future__ import annotations

import logging
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from pynetdicom.association import Association

LOG = logging.getLogger("dicomnet.tls")
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


def accept_tls(assoc: Association, peer: tuple[str, int], timeout_s: float) -> bool:
    """Finish the TLS handshake of an accepted connection on its own thread.

    It must be done within ``timeout_s`` seconds (the ACSE timeout); a
    failed handshake (plain TCP client, unknown CA, no client certificate
    when one is required) closes just this connection and returns False.
    ``peer`` is the client's (address, port), for the log.
    """
    transport = assoc.dul.socket
    assert transport is not None and isinstance(transport.socket, ssl.SSLSocket)
    sock = transport.socket
    host, port = peer
    try:
        finish_handshake(sock, timeout_s)
    except OSError as exc:
        LOG.warning("TLS connection from %s:%s refused: %s", host, port, exc)
        transport.close()
        return False
    LOG.info("TLS connection from %s:%s (%s)", host, port, describe_peer(sock))
    return True


def describe_peer(sock: ssl.SSLSocket) -> str:
    """The protocol and the client certificate's subject, for the log."""
    certificate = sock.getpeercert() or {}
    # "subject" is a tuple of RDNs, each a tuple of (name, value) pairs
    rdns = cast("tuple[tuple[tuple[str, str], ...], ...]", certificate.get("subject", ()))
    subject = ", ".join(f"{name}={value}" for rdn in rdns for name, value in rdn)
    if not subject:
        return f"{sock.version()}, no client certificate"
    return f"{sock.version()}, client certificate {subject!r}"



class _RecordingSocket(ssl.SSLSocket):
    """An SSLSocket that tells its context why its handshake failed."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except OSError as exc:
            # only a RecordingContext makes sockets of this class
            cast(RecordingContext, self.context).handshake_error = exc
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

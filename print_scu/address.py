"""Where a DICOM printer listens and how to reach it; imports no networking code."""

from __future__ import annotations

from dataclasses import dataclass

from dicomnet.tls import TlsClientSettings


@dataclass(frozen=True)
class PrinterAddress:
    """Where a print SCP listens and how to talk to it.

    ``max_pdu`` is the largest PDU we accept, in bytes (0: unlimited).
    ``implicit_only`` proposes Implicit VR Little Endian alone, for SCPs that
    mishandle Explicit VR. ``tls`` set connects with TLS, checking the
    printer's certificate against ``host``.
    """

    host: str
    port: int
    called_ae: str
    calling_ae: str = "FILMBOX_SCU"
    max_pdu: int = 1048576
    implicit_only: bool = False
    acse_timeout_s: float = 30.0
    dimse_timeout_s: float = 60.0
    network_timeout_s: float = 60.0
    tls: TlsClientSettings | None = None

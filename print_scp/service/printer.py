"""Printer SOP Class (PS3.4 H.4.6): N-GET of the well-known Printer instance."""

from __future__ import annotations

from pydicom.dataset import Dataset

from dicomnet.status import Status
from dicomnet.uids import PRINTER_INSTANCE
from print_scp.service.outcome import DicomStatusError
from print_scp.service.request import Request


def get(request: Request) -> Dataset:
    """The Printer's attributes; 0x0112 for any instance but the well-known one."""
    if request.instance_uid != PRINTER_INSTANCE:
        raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE, f"no Printer {request.instance_uid} "
                               f"(the Printer is {PRINTER_INSTANCE})")
    return request.services.printer_attributes()

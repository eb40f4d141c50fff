"""Print Job SOP Class (PS3.4 H.4.5): N-GET of a Print Job by its UID.

Some SCUs (ISG-style) send the Printer N-GET with the Print Job SOP Class
UID: a lenient printer answers it with the Printer's attributes.
"""

from __future__ import annotations

from pydicom.dataset import Dataset

from dicomnet.status import Status
from dicomnet.uids import PRINT_JOB, PRINTER_INSTANCE
from print_scp.service.outcome import DicomStatusError
from print_scp.service.request import Request


def get(request: Request) -> Dataset:
    """The job's attributes; 0x0112 for a job this printer does not know."""
    if request.instance_uid == PRINTER_INSTANCE:
        request.ctx.deviation("Printer N-GET sent with the Print Job SOP Class UID",
                              Status.CLASS_INSTANCE_CONFLICT)
        return request.services.printer_attributes()
    if request.context_uid != PRINT_JOB:
        raise DicomStatusError(Status.SOP_CLASS_NOT_SUPPORTED,
                               "Print Job N-GET needs the Print Job context")
    job = request.services.print_job(request.instance_uid or "")
    if job is None:
        raise DicomStatusError(Status.NO_SUCH_SOP_INSTANCE,
                               f"no Print Job {request.instance_uid}")
    return job.attributes()

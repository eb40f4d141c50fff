"""The status each way an image can meet its box earns (PS3.4 H.4, Image Box N-SET)."""

from __future__ import annotations

from dicomnet.status import Status
from film.fit import FitOutcome

#: Film's fit outcome -> the status the printer answers (and names in render warnings).
FIT_STATUS: dict[FitOutcome, Status] = {
    FitOutcome.FITS: Status.SUCCESS,
    FitOutcome.DEMAGNIFIED: Status.IMAGE_DEMAGNIFIED,
    FitOutcome.CROPPED: Status.IMAGE_CROPPED,
    FitOutcome.DECIMATED: Status.IMAGE_DECIMATED,
    FitOutcome.FAIL: Status.IMAGE_LARGER_THAN_BOX,
}

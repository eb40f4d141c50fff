"""The defined terms the printer and the client exchange (PS3.3 C.13), as enums.

Both ends use these, so a value one end sends is a value the other end
knows. Terms whose meaning the film maths needs are defined beside that
maths, where ``lut`` and ``film`` (which import no networking) can use them:
Polarity (:mod:`lut.polarity`), Presentation LUT Shape
(:mod:`lut.presentation`), Magnification Type, Medium Type and Requested
Decimate/Crop Behavior (:mod:`film.model`), Film Size ID and Film
Orientation (:mod:`film.sizes`) and the Image Display Format kinds
(:mod:`film.display_format`).
"""

from __future__ import annotations

from enum import Enum
from typing import Self


class _ReportedStatus(str, Enum):
    """A status an N-EVENT-REPORT reports: its Event Type ID is its place, from 1."""

    @property
    def event_type_id(self) -> int:
        """The N-EVENT-REPORT Event Type ID of this status (PS3.4 H.4.4.1.1, H.4.5.1.1)."""
        return list(type(self)).index(self) + 1

    @classmethod
    def of_event(cls, event_type_id: int) -> Self | None:
        """The status an N-EVENT-REPORT reports, None for an unknown Event Type ID."""
        members = list(cls)
        return members[event_type_id - 1] if 1 <= event_type_id <= len(members) else None


class PrinterStatus(_ReportedStatus):
    """Printer Status (2110,0010), PS3.3 C.13.9.1; Event Types 1, 2, 3 in this order."""

    NORMAL = "NORMAL"
    WARNING = "WARNING"
    FAILURE = "FAILURE"


#: Defined terms of Printer Status Info (2110,0020), PS3.3 C.13.9.1 (others are allowed too).
PRINTER_STATUS_INFO = (
    "NORMAL", "BAD RECEIVE MGZ", "BAD SUPPLY MGZ", "CALIBRATING", "CALIBRATION ERR",
    "CHECK CHEMISTRY", "CHECK SORTER", "CHEMICALS EMPTY", "CHEMICALS LOW", "COVER OPEN",
    "ELEC CONFIG ERR", "ELEC DOWN", "ELEC SW ERROR", "EMPTY 8X10", "EMPTY 10X12",
    "EMPTY 10X14", "EMPTY 11X14", "EMPTY 14X14", "EMPTY 14X17", "EMPTY 24X24",
    "EMPTY 24X30", "EMPTY A4 PAPER", "EMPTY A4 TRANS", "EXPOSURE FAILURE", "FILM JAM",
    "FILM TRANSP ERR", "FINISHER EMPTY", "FINISHER ERROR", "FINISHER LOW", "LOW 8X10",
    "LOW 10X12", "LOW 10X14", "LOW 11X14", "LOW 14X14", "LOW 14X17", "LOW 24X24",
    "LOW 24X30", "LOW A4 PAPER", "LOW A4 TRANS", "NO RECEIVE MGZ", "NO RIBBON",
    "NO SUPPLY MGZ", "CHECK PRINTER", "CHECK PROC", "PRINTER DOWN", "PRINTER INIT",
    "PRINT BUFF FULL", "PROC DOWN", "PROC INIT", "PROC OVERFLOW FL", "PROC OVERFLOW HI",
    "QUEUE FULL", "RECEIVER FULL", "REQ MED NOT INST", "REQ MED NOT AVAI", "RIBBON ERROR",
    "SUPPLY EMPTY", "SUPPLY LOW", "UNKNOWN",
)


class ExecutionStatus(_ReportedStatus):
    """Execution Status (2100,0020) of a Print Job, PS3.3 C.13.8; Event Types 1..4 in order."""

    PENDING = "PENDING"
    PRINTING = "PRINTING"
    DONE = "DONE"
    FAILURE = "FAILURE"

    @property
    def finished(self) -> bool:
        """DONE or FAILURE: the job will not change again."""
        return self in (ExecutionStatus.DONE, ExecutionStatus.FAILURE)


class PrintPriority(str, Enum):
    """Print Priority (2000,0020)."""

    HIGH = "HIGH"
    MED = "MED"
    LOW = "LOW"

    @property
    def rank(self) -> int:
        """The order in which queues serve jobs: 0 (HIGH) first."""
        return list(PrintPriority).index(self)


class DensityTerm(str, Enum):
    """The named values of Border Density (2010,0100) and Empty Image Density (2010,0110)."""

    BLACK = "BLACK"
    WHITE = "WHITE"

    def od(self, min_od: float, max_od: float) -> float:
        """The density it names, in OD: BLACK is Max Density, WHITE is Min Density."""
        return max_od if self is DensityTerm.BLACK else min_od


class Trim(str, Enum):
    """Trim (2010,0140): a box of the border density around each image."""

    YES = "YES"
    NO = "NO"

    @classmethod
    def of(cls, trimmed: bool) -> Trim:
        """YES for True, NO for False."""
        return cls.YES if trimmed else cls.NO


class RequestedResolution(str, Enum):
    """Requested Resolution ID (2020,0050)."""

    STANDARD = "STANDARD"
    HIGH = "HIGH"


#: Photometric Interpretation (0028,0004) of a Basic Color Image Box.
COLOR_PHOTOMETRIC = "RGB"


class GrayscalePhotometric(str, Enum):
    """Photometric Interpretation (0028,0004) allowed in a Basic Grayscale Image Box."""

    MONOCHROME1 = "MONOCHROME1"  # higher value = darker
    MONOCHROME2 = "MONOCHROME2"  # higher value = brighter

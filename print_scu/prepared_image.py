"""An image ready for an image box: what preparation gives and the queue stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class PreparedImage:
    """One frame ready for an image box.

    ``pixels`` is (rows, columns) of grayscale P-Values, uint8 for 8 bits or
    uint16 holding 0..4095 for 12 bits, or (rows, columns, 3) uint8 RGB.
    ``photometric`` is MONOCHROME2, MONOCHROME1 (kept on request) or RGB;
    ``source`` names it as "path#frame" (frame numbers from 1).

    ``pixel_spacing_mm`` is (row spacing, column spacing) of ``pixels`` in mm
    at the anatomy (Pixel Spacing, or Imager Pixel Spacing corrected by the
    Estimated Radiographic Magnification Factor), None if the file gives
    none. ``fields`` holds the file's text attributes by DICOM keyword (e.g.
    "PatientName"), for annotation templates. ``requested_size_mm`` is the
    Requested Image Size (2020,0030) to send, the printed width in mm, None
    to leave the size to the printer.
    """

    pixels: np.ndarray
    photometric: str
    bits: int
    source: str
    pixel_spacing_mm: tuple[float, float] | None = None
    fields: dict[str, str] = field(default_factory=dict)
    requested_size_mm: float | None = None

    def description(self) -> dict[str, Any]:
        """Everything but the pixels, as JSON values (the queue stores it beside them)."""
        return {"photometric": self.photometric, "bits": self.bits, "source": self.source,
                "pixel_spacing_mm": (None if self.pixel_spacing_mm is None
                                     else list(self.pixel_spacing_mm)),
                "fields": dict(self.fields), "requested_size_mm": self.requested_size_mm}

    @classmethod
    def from_description(cls, pixels: np.ndarray, described: dict[str, Any]) -> PreparedImage:
        """The inverse of :meth:`description`; keys a spool of an older version lacks
        take their defaults."""
        spacing = described.get("pixel_spacing_mm")
        size = described.get("requested_size_mm")
        return cls(pixels=pixels, photometric=str(described["photometric"]),
                   bits=int(described["bits"]), source=str(described["source"]),
                   pixel_spacing_mm=None if spacing is None else (float(spacing[0]),
                                                                  float(spacing[1])),
                   fields={str(k): str(v) for k, v in (described.get("fields") or {}).items()},
                   requested_size_mm=None if size is None else float(size))

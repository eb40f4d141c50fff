"""The print Presentation LUT (PS3.3 C.11.4, Presentation LUT SOP Class PS3.4 H.4.9).

A Presentation LUT turns polarity-corrected pixel values into P-Values. It is
either a predefined shape, Presentation LUT Shape (2050,0020), or a table,
Presentation LUT Sequence (2050,0010) with LUT Descriptor (0028,3002) and
LUT Data (0028,3006). Densities are optical densities (OD).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

import numpy as np

from lut.density import ViewingConditions, p_values_to_density

if TYPE_CHECKING:  # pydicom is imported where an attribute list is built: a renderer needs none
    from pydicom.dataset import Dataset

__all__ = ["PresentationLUT", "PresentationLUTError", "PresentationLUTShape"]

MIN_ENTRY_BITS = 10  # LUT Descriptor third value, PS3.3 C.11.4.1
MAX_ENTRY_BITS = 16
FULL_TABLE_ENTRIES = 65536  # a LUT Descriptor first value of 0 means 2^16 entries


class PresentationLUTShape(str, Enum):
    """Presentation LUT Shape (2050,0020) of the print Presentation LUT (PS3.3 Table C.11-4)."""

    IDENTITY = "IDENTITY"  # input is already in P-Values
    LIN_OD = "LIN OD"  # input is linear in optical density over Min..Max Density


class PresentationLUTError(ValueError):
    """A Presentation LUT attribute list is wrong; ``attribute`` is the DICOM keyword at fault."""

    def __init__(self, attribute: str, reason: str) -> None:
        super().__init__(f"{attribute}: {reason}")
        self.attribute = attribute
        self.reason = reason


@dataclass(frozen=True)
class PresentationLUT:
    """A print Presentation LUT: a shape, or a table of P-Values.

    ``descriptor`` is the LUT Descriptor (number of entries, with 0 meaning
    65536; first input value mapped, always 0; bits per entry, 10..16) and
    ``data`` the LUT Data, one P-Value of ``descriptor[2]`` bits per input
    value (stored read-only as uint16). Equal LUTs are equal and hash alike,
    so a PresentationLUT can key a cache.
    """

    shape: PresentationLUTShape | None = PresentationLUTShape.IDENTITY
    descriptor: tuple[int, int, int] | None = None
    data: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.shape is not None:
            if self.descriptor is not None or self.data is not None:
                raise PresentationLUTError(
                    "PresentationLUTShape",
                    "a shape and a table (LUT Descriptor/LUT Data) are mutually exclusive: "
                    "pass shape=None with a table")
            object.__setattr__(self, "shape", _shape(self.shape))
            return
        if self.descriptor is None or self.data is None:
            raise PresentationLUTError(
                "LUTDescriptor" if self.descriptor is None else "LUTData",
                "a Presentation LUT without a shape needs both LUT Descriptor and LUT Data")
        descriptor = _descriptor(self.descriptor)
        object.__setattr__(self, "descriptor", descriptor)
        object.__setattr__(self, "data", _lut_data(self.data, descriptor))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PresentationLUT):
            return NotImplemented
        return (self.shape, self.descriptor) == (other.shape, other.descriptor) and (
            self.data is None
            or (other.data is not None and np.array_equal(self.data, other.data)))

    def __hash__(self) -> int:
        data = None if self.data is None else self.data.tobytes()
        return hash((self.shape, self.descriptor, data))

    @property
    def entries(self) -> int | None:
        """Number of table entries (0 in the descriptor read as 65536); None for a shape."""
        if self.descriptor is None:
            return None
        return self.descriptor[0] or FULL_TABLE_ENTRIES

    @classmethod
    def from_dataset(cls, ds: Dataset) -> PresentationLUT:
        """Build from a Presentation LUT N-CREATE attribute list (PS3.3 C.11.4, PS3.4 H.4.9).

        Raises PresentationLUTError naming the attribute at fault.
        """
        has_shape = bool(ds.get("PresentationLUTShape"))
        has_table = "PresentationLUTSequence" in ds
        if has_shape and has_table:
            raise PresentationLUTError(
                "PresentationLUTShape",
                "Presentation LUT Shape (2050,0020) and Presentation LUT Sequence "
                "(2050,0010) are mutually exclusive")
        if has_shape:
            return cls(shape=_shape(ds.PresentationLUTShape))
        if not has_table:
            raise PresentationLUTError(
                "PresentationLUTShape",
                "one of Presentation LUT Shape (2050,0020) or Presentation LUT Sequence "
                "(2050,0010) is required")
        items = ds.PresentationLUTSequence
        if len(items) != 1:
            raise PresentationLUTError(
                "PresentationLUTSequence", f"must hold exactly one item, has {len(items)}")
        item = items[0]
        for keyword in ("LUTDescriptor", "LUTData"):
            if item.get(keyword) is None:
                raise PresentationLUTError(
                    keyword, "missing from the Presentation LUT Sequence item")
        descriptor = _words(item.LUTDescriptor, "LUTDescriptor")
        data = np.asarray(_words(item.LUTData, "LUTData"))
        return cls(shape=None, descriptor=_descriptor(descriptor), data=data)

    def to_dataset(self) -> Dataset:
        """The N-CREATE attribute list of this LUT (the inverse of :meth:`from_dataset`).

        LUT Descriptor is encoded as US, LUT Data as OW (a 65536-entry table
        does not fit a US value length), both little endian.
        """
        from pydicom.dataset import Dataset
        from pydicom.sequence import Sequence

        ds = Dataset()
        if self.shape is not None:
            ds.PresentationLUTShape = self.shape.value
            return ds
        assert self.descriptor is not None and self.data is not None
        item = Dataset()
        item.add_new(0x00283002, "US", list(self.descriptor))
        item.add_new(0x00283006, "OW", self.data.astype("<u2").tobytes())
        ds.PresentationLUTSequence = Sequence([item])
        return ds

    def check_bits(self, bits_stored: int) -> None:
        """Raise unless this LUT fits images of ``bits_stored`` bits.

        A table must have one entry per possible input value: 256 for
        8-bit images, 4096 for 12-bit (PS3.3 C.11.4.1). Shapes fit any depth.
        """
        if self.entries is not None and self.entries != 2**bits_stored:
            raise PresentationLUTError(
                "LUTDescriptor",
                f"the table has {self.entries} entries; images with Bits Stored "
                f"{bits_stored} need {2**bits_stored}")

    def density_table(self, bits_stored: int, min_density: float, max_density: float,
                      viewing: ViewingConditions) -> np.ndarray:
        """Optical density printed for each input value 0..2^bits_stored − 1, float32.

        Input values are polarity-corrected (higher is brighter, as for
        MONOCHROME2 under NORMAL polarity).

        * IDENTITY: the input value is a P-Value of N = ``bits_stored`` bits
          (PS3.14 §7.2/§7.3 via :func:`lut.density.p_values_to_density`).
        * LIN OD: PS3.3 C.11.4 (Table C.11-4, Presentation LUT Shape) says
          the input "is in linear optical density over the range of Min
          Density (2010,0120) and Max Density (2010,0130)": equal input steps
          are equal density steps spanning exactly Min..Max Density. Which
          end is which follows PS3.4 H.4.9.1: the Presentation LUT does not
          alter the appearance given by Photometric Interpretation and
          Polarity, so the brightest input 2^N − 1 prints Min Density and 0
          prints Max Density: D(v) = Dmax − v·(Dmax − Dmin)/(2^N − 1). A raw
          MONOCHROME1 value v (inverted to 2^N − 1 − v before this LUT) thus
          prints Dmin + v·(Dmax − Dmin)/(2^N − 1), as DCMTK does.
        * Table: LUT Data[v] is a P-Value of ``descriptor[2]`` bits.
        """
        self.check_bits(bits_stored)
        p_max = 2**bits_stored - 1
        values = np.arange(p_max + 1, dtype=np.float64)
        if self.shape is PresentationLUTShape.LIN_OD:
            densities = max_density - values * (max_density - min_density) / p_max
        elif self.shape is PresentationLUTShape.IDENTITY:
            densities = p_values_to_density(values, p_max, min_density, max_density, viewing)
        else:
            assert self.descriptor is not None and self.data is not None
            densities = p_values_to_density(self.data, 2 ** self.descriptor[2] - 1,
                                            min_density, max_density, viewing)
        return densities.astype(np.float32)


def _shape(value: Any) -> PresentationLUTShape:
    """The shape named by ``value``, or PresentationLUTError if it is not a print shape."""
    term = str(value.value if isinstance(value, PresentationLUTShape) else value).strip().upper()
    try:
        return PresentationLUTShape(term)
    except ValueError:
        raise PresentationLUTError(
            "PresentationLUTShape",
            f"'{term}' is not a print Presentation LUT shape (IDENTITY or LIN OD; "
            "INVERSE exists only for softcopy)") from None


def _words(value: Any, keyword: str) -> list[int]:
    """Unsigned 16-bit values of a US/SS/OW element, whether decoded or still bytes."""
    if isinstance(value, (bytes, bytearray)):
        if len(value) % 2:
            raise PresentationLUTError(keyword, f"odd byte length {len(value)}")
        return np.frombuffer(value, dtype="<u2").tolist()
    if isinstance(value, (int, np.integer)):
        return [int(value)]
    return [int(v) for v in value]


def _descriptor(values: Any) -> tuple[int, int, int]:
    """A validated LUT Descriptor (PS3.3 C.11.4.1)."""
    values = tuple(int(v) for v in values)
    if len(values) != 3:
        raise PresentationLUTError("LUTDescriptor", f"must have 3 values, has {len(values)}")
    entries, first_mapped, bits = values
    if not 0 <= entries < FULL_TABLE_ENTRIES:
        raise PresentationLUTError(
            "LUTDescriptor", f"number of entries {entries} is outside 0..65535 (0 means 65536)")
    if first_mapped != 0:
        raise PresentationLUTError(
            "LUTDescriptor", f"first input value mapped must be 0, is {first_mapped}")
    if not MIN_ENTRY_BITS <= bits <= MAX_ENTRY_BITS:
        raise PresentationLUTError(
            "LUTDescriptor",
            f"bits per entry must be {MIN_ENTRY_BITS}..{MAX_ENTRY_BITS}, is {bits}")
    return values


def _lut_data(data: Any, descriptor: tuple[int, int, int]) -> np.ndarray:
    """LUT Data as a read-only uint16 array, checked against its descriptor."""
    values = np.atleast_1d(np.asarray(data))
    entries = descriptor[0] or FULL_TABLE_ENTRIES
    if values.ndim != 1 or values.size != entries:
        raise PresentationLUTError(
            "LUTData", f"has {values.size} values; the LUT Descriptor announces {entries}")
    if not np.issubdtype(values.dtype, np.integer):
        raise PresentationLUTError("LUTData", f"must hold integers, holds {values.dtype}")
    top = 2 ** descriptor[2] - 1
    if values.size and (values.min() < 0 or values.max() > top):
        raise PresentationLUTError(
            "LUTData",
            f"values must be P-Values 0..{top} ({descriptor[2]} bits per entry), "
            f"found {values.min()}..{values.max()}")
    table = values.astype(np.uint16)
    table.setflags(write=False)
    return table

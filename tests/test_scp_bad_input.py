"""Malformed and out-of-range print requests against the virtual printer.

Every bad request must get the standard's status (PS3.7 Annex C, PS3.4 H.4)
with an Error Comment naming the attribute at fault; never a dropped
connection, never a crash. After each one the same association prints a good
film, which proves the rest of the session is still usable.

The helpers at the top are shared with ``test_scp_strict_lenient.py`` and
``test_scp_profile.py``. Films are 8 in x 10 in at 100 dpi with tiny images,
so the whole set stays fast.
"""

from __future__ import annotations

import json
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pynetdicom.association
import pytest
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.association import Association
from pynetdicom.sop_class import (
    BasicColorImageBox,
    BasicFilmBox,
    BasicFilmSession,
    BasicGrayscalePrintManagementMeta,
    PresentationLUT,
)
from scp_harness import running_printer

from film.densitometry import measure, read_density_map
from print_scp.profile import PrinterProfile
from print_scp.server import PrintServer
from print_scp.service.printing import REFERENCED_PRINT_JOB_SEQUENCE
from print_scu.address import PrinterAddress
from print_scu.association import FilmBoxRefs, PrintAssociation
from print_scu.image_box_requests import grayscale_image_box

# pydicom warns when a test builds the malformed value it means to send.
SENDS_INVALID_VALUES = pytest.mark.filterwarnings("ignore::UserWarning:pydicom.valuerep")
TIMEOUT_S = 10.0  # every ACSE, DIMSE and network wait of the SCU in these tests
FILM_SIZE = "8INX10IN"
FAST = {"standard_dpi": 100, "default_film_size": FILM_SIZE}  # profile changes
DEFAULT_MAX_OD = 3.00  # PrinterProfile.default_max_density, Max Density when none is sent
DEFAULT_MIN_OD = 0.20  # PrinterProfile.default_min_density
OD_TOLERANCE = 0.002  # density PNG stores 0.001 OD steps
UNKNOWN_UID = "1.2.3.4.5.6.7.8.9"
BLACK = 0  # MONOCHROME2 value printed at Max Density (PS3.14: P-Value 0 -> Lmin)
WHITE = 255  # 8-bit MONOCHROME2 value printed at Min Density


# --------------------------------------------------------------------------
# Helpers (also used by test_scp_strict_lenient.py and test_scp_profile.py)
# --------------------------------------------------------------------------


def dataset(**attributes: Any) -> Dataset:
    """A dataset from DICOM keywords."""
    ds = Dataset()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    return ds


def reference(class_uid: str, instance_uid: str) -> list[Dataset]:
    """A one-item Referenced ... Sequence value."""
    return [dataset(ReferencedSOPClassUID=class_uid, ReferencedSOPInstanceUID=instance_uid)]


def connect(server: PrintServer, calling_ae: str = "BADINPUT", **options: Any) -> PrintAssociation:
    """A print association to ``server`` with short timeouts."""
    address = PrinterAddress("127.0.0.1", server.port, server.profile.ae_title, calling_ae,
                             acse_timeout_s=TIMEOUT_S, dimse_timeout_s=TIMEOUT_S,
                             network_timeout_s=TIMEOUT_S)
    return PrintAssociation(address, **options)


def association_of(scu: PrintAssociation) -> Association:
    """The pynetdicom association under ``scu``, for requests PrintAssociation will not build."""
    return scu._assoc


@dataclass(frozen=True)
class Reply:
    """A DIMSE response: status code, Error Comment ("" if none) and dataset."""

    status: int
    comment: str
    dataset: Dataset | None = None


def reply_of(response: Dataset | tuple[Dataset, Dataset | None]) -> Reply:
    """Reply of a pynetdicom ``send_n_*`` call (status dataset, or (status, dataset))."""
    status, data = response if isinstance(response, tuple) else (response, None)
    assert "Status" in status, "no response: the printer dropped the request"
    return Reply(int(status.Status), str(status.get("ErrorComment", "")), data)


def last_reply(scu: PrintAssociation) -> Reply:
    result = scu.last_result
    return Reply(result.status, result.error_comment or "")


def assert_status(reply: Reply, status: int, named: str | None = None) -> None:
    """``reply`` has ``status`` and, if given, an Error Comment naming ``named``."""
    assert reply.status == status, (
        f"status 0x{reply.status:04X} ({reply.comment!r}), expected 0x{status:04X}")
    if named is not None:
        assert named in reply.comment, f"Error Comment {reply.comment!r} does not name {named}"


def uniform_image(position: int, value: int, size: int = 8, **attrs: Any) -> Dataset:
    """Image Box N-SET of a ``size`` x ``size`` 8-bit MONOCHROME2 image of one value."""
    return grayscale_image_box(position, np.full((size, size), value, np.uint8), 8, **attrs)


def job_uid_of(action_reply: Dataset | None) -> str:
    """Print Job UID of an N-ACTION reply (Referenced Print Job Sequence)."""
    assert action_reply is not None and REFERENCED_PRINT_JOB_SEQUENCE in action_reply
    return str(action_reply[REFERENCED_PRINT_JOB_SEQUENCE].value[0].ReferencedSOPInstanceUID)


def wait_for_job(output_dir: Path, job_uid: str, timeout_s: float = 20.0) -> dict:
    """The JSON metadata of the film printed for ``job_uid``, plus its ``json_path``."""
    deadline = time.monotonic() + timeout_s
    while True:
        for path in Path(output_dir).glob("*.json"):
            metadata = json.loads(path.read_text())
            if metadata["print_job"]["uid"] == job_uid:
                metadata["json_path"] = str(path)
                return metadata
        assert time.monotonic() < deadline, f"no film printed for job {job_uid}"
        time.sleep(0.05)


def wait_until_done(scu: PrintAssociation, job_uid: str, timeout_s: float = 20.0) -> None:
    """Poll the Print Job (N-GET) until its Execution Status is DONE."""
    deadline = time.monotonic() + timeout_s
    while True:
        status, attributes = scu.get_print_job(job_uid)
        assert status == 0x0000, f"Print Job N-GET answered 0x{status:04X}"
        if attributes is not None and attributes.get("ExecutionStatus") == "DONE":
            return
        assert time.monotonic() < deadline, f"print job {job_uid} not DONE"
        time.sleep(0.05)


def films_of(output_dir: Path, calling_ae: str) -> list[dict]:
    """Metadata of every film printed for ``calling_ae``."""
    films = (json.loads(p.read_text()) for p in Path(output_dir).glob("*.json"))
    return [f for f in films if f["association"]["calling_ae"] == calling_ae]


def density_map(metadata: dict) -> np.ndarray:
    density, _dpi = read_density_map(
        Path(metadata["json_path"]).parent / metadata["film"]["files"]["density_png"])
    return density


def box_centre_density(metadata: dict, position: int, half_px: int = 5) -> float:
    """Mean OD of the central (2·half_px)² pixels of image box ``position``."""
    rect = next(r for r in metadata["film"]["image_box_rects_px"] if r["position"] == position)
    x = rect["x"] + rect["width"] // 2 - half_px
    y = rect["y"] + rect["height"] // 2 - half_px
    return measure(density_map(metadata), (x, y, 2 * half_px, 2 * half_px))


@dataclass
class PrintSession:
    """One association with a Film Session: the steps every test repeats, checked."""

    scu: PrintAssociation
    output_dir: Path
    uid: str  # of the Film Session

    @classmethod
    def create(cls, scu: PrintAssociation, output_dir: Path, **session_attrs: Any) -> PrintSession:
        """Film Session N-CREATE (must succeed) on ``scu``."""
        status, uid = scu.create_film_session(dataset(NumberOfCopies=1, **session_attrs))
        assert status == 0x0000, str(scu.last_result)
        return cls(scu, Path(output_dir), uid)

    @property
    def association(self) -> Association:
        return association_of(self.scu)

    def film_box(self, image_display_format: str = "STANDARD\\1,1", **attrs: Any) -> FilmBoxRefs:
        """A film box that must be created (Success or a warning)."""
        _status, refs = self.scu.create_film_box(
            dataset(ImageDisplayFormat=image_display_format, FilmSizeID=FILM_SIZE, **attrs),
            film_session_uid=self.uid)
        assert refs is not None and self.scu.last_result.ok, str(self.scu.last_result)
        return refs

    def try_film_box(self, **attrs: Any) -> Reply:
        """Film Box N-CREATE of exactly ``attrs`` (plus the session reference)."""
        self.scu.create_film_box(dataset(**attrs), film_session_uid=self.uid)
        return last_reply(self.scu)

    def set_image(self, image_box_uid: str, attrs: Dataset) -> Reply:
        self.scu.set_image_box(image_box_uid, attrs)
        return last_reply(self.scu)

    def print_box(self, film_box_uid: str) -> tuple[Reply, str | None]:
        """N-ACTION print; the reply and the Print Job UID (None on failure)."""
        _status, data = self.scu.print_film_box(film_box_uid)
        return last_reply(self.scu), None if data is None else job_uid_of(data)

    def print_and_wait(self, film_box_uid: str) -> dict:
        """Print a film box that must print; its film's JSON metadata."""
        reply, job_uid = self.print_box(film_box_uid)
        assert reply.status in (0x0000, 0xB603), reply
        return wait_for_job(self.output_dir, job_uid)

    def prints_good_film(self) -> dict:
        """Print a black image and check the film: the association still works."""
        refs = self.film_box()
        assert_status(self.set_image(refs.image_box_uids[0], uniform_image(1, BLACK)), 0x0000)
        metadata = self.print_and_wait(refs.film_box_uid)
        assert box_centre_density(metadata, 1) == pytest.approx(DEFAULT_MAX_OD, abs=OD_TOLERANCE)
        return metadata


@contextmanager
def print_session(server: PrintServer, calling_ae: str = "BADINPUT",
                  **session_attrs: Any) -> Iterator[PrintSession]:
    """A released-afterwards association to ``server`` holding a Film Session."""
    with connect(server, calling_ae) as scu:
        yield PrintSession.create(scu, server.output_dir, **session_attrs)


@contextmanager
def fast_printer(output_dir: Path, **changes: Any) -> Iterator[PrintServer]:
    """A running printer with small, fast films and ``changes`` to its profile."""
    with running_printer(output_dir, **{**FAST, **changes}) as server:
        yield server


# --------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def printer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrintServer]:
    """One permissive printer shared by the tests of this module (jobs told apart by UID)."""
    with fast_printer(tmp_path_factory.mktemp("films")) as server:
        yield server


@pytest.fixture
def session(printer: PrintServer) -> Iterator[PrintSession]:
    with print_session(printer) as s:
        yield s


# --------------------------------------------------------------------------
# Image Box N-SET: the image item
# --------------------------------------------------------------------------


@pytest.mark.parametrize("length", [2, 62, 66, 128, 64 * 64])
def test_pixel_data_length_not_matching_rows_columns_bits_is_0106(session, length):
    """8 x 8 pixels of 8 bits are 64 bytes (pydicom pads odd lengths, so send even ones)."""
    refs = session.film_box()
    attrs = uniform_image(1, BLACK)
    attrs.BasicGrayscaleImageSequence[0].PixelData = bytes(length)
    assert_status(session.set_image(refs.image_box_uids[0], attrs), 0x0106, "PixelData")
    session.prints_good_film()


def test_odd_pixel_data_length_with_its_pad_byte_is_accepted(session):
    """7 x 7 pixels are 49 bytes, sent as 50 with the pad byte of PS3.5 7.1.1."""
    refs = session.film_box()
    assert_status(session.set_image(refs.image_box_uids[0], uniform_image(1, BLACK, size=7)),
                  0x0000)
    metadata = session.print_and_wait(refs.film_box_uid)
    assert metadata["image_boxes"][0]["image"]["rows"] == 7
    assert box_centre_density(metadata, 1) == pytest.approx(DEFAULT_MAX_OD, abs=OD_TOLERANCE)


def test_twelve_bit_pixel_data_sent_with_eight_bit_length_is_0106(session):
    """12 bits stored in 16 allocated: 8 x 8 pixels need 128 bytes, not 64."""
    refs = session.film_box()
    attrs = grayscale_image_box(1, np.full((8, 8), 4095, np.uint16), 12)
    attrs.BasicGrayscaleImageSequence[0].PixelData = bytes(64)
    assert_status(session.set_image(refs.image_box_uids[0], attrs), 0x0106, "PixelData")
    session.prints_good_film()


DELETE = object()  # ITEM_DEFECTS value: remove the attribute from the item

ITEM_DEFECTS = [
    # (item attribute, value (None: empty, DELETE: absent), status, attribute named)
    ("HighBit", 6, 0x0106, "HighBit"),
    ("PixelRepresentation", 1, 0x0106, "PixelRepresentation"),
    ("PhotometricInterpretation", "RGB", 0x0106, "PhotometricInterpretation"),
    ("SamplesPerPixel", 3, 0x0106, "SamplesPerPixel"),
    ("BitsStored", 12, 0x0106, "BitsStored"),  # 12 bits do not fit 8 allocated
    ("PixelAspectRatio", [0, 1], 0x0106, "PixelAspectRatio"),
    ("Rows", DELETE, 0x0120, "Rows"),
    ("PixelData", DELETE, 0x0120, "PixelData"),
    ("PixelData", None, 0x0121, "PixelData"),
    ("Columns", None, 0x0121, "Columns"),
    ("PhotometricInterpretation", None, 0x0121, "PhotometricInterpretation"),
    pytest.param("PhotometricInterpretation", "\t", 0x0121, "PhotometricInterpretation",
                 marks=pytest.mark.filterwarnings("ignore:Invalid value for VR CS")),  # blank
]


@pytest.mark.parametrize("keyword,value,status,named", ITEM_DEFECTS)
def test_image_item_defects_get_the_standard_status(session, keyword, value, status, named):
    refs = session.film_box()
    attrs = uniform_image(1, BLACK)
    item = attrs.BasicGrayscaleImageSequence[0]
    if value is DELETE:
        delattr(item, keyword)
    else:
        setattr(item, keyword, value)
    assert_status(session.set_image(refs.image_box_uids[0], attrs), status, named)
    session.prints_good_film()


def test_image_box_without_image_sequence_is_0120(session):
    refs = session.film_box()
    assert_status(session.set_image(refs.image_box_uids[0], dataset(ImageBoxPosition=1)),
                  0x0120, "BasicGrayscaleImageSequence")
    session.prints_good_film()


def test_65535_square_image_is_c605_without_reading_its_pixels(session):
    """The header alone says 4 GiB: refused from Rows/Columns, the 64 bytes sent are never used."""
    refs = session.film_box()
    attrs = uniform_image(1, BLACK)
    item = attrs.BasicGrayscaleImageSequence[0]
    item.Rows = item.Columns = 65535
    assert_status(session.set_image(refs.image_box_uids[0], attrs), 0xC605, "Rows")
    session.prints_good_film()


def test_large_image_within_limits_with_tiny_pixel_data_is_0106(session):
    """8000 x 8000 is within the printer's limit; 64 bytes are not its pixels."""
    refs = session.film_box()
    attrs = uniform_image(1, BLACK)
    item = attrs.BasicGrayscaleImageSequence[0]
    item.Rows = item.Columns = 8000
    assert_status(session.set_image(refs.image_box_uids[0], attrs), 0x0106, "PixelData")
    session.prints_good_film()


def test_twelve_bit_image_on_eight_bit_printer_is_0106_naming_bits_stored(tmp_path):
    with fast_printer(tmp_path, bits_12=False) as server, print_session(server) as s:
        refs = s.film_box()
        attrs = grayscale_image_box(1, np.full((8, 8), 4095, np.uint16), 12)
        assert_status(s.set_image(refs.image_box_uids[0], attrs), 0x0106, "BitsStored")
        s.prints_good_film()


# --------------------------------------------------------------------------
# Image Box N-SET: positions, instances, fit
# --------------------------------------------------------------------------


def test_image_box_position_used_twice_is_0106(session):
    refs = session.film_box("STANDARD\\2,1")
    first, second = refs.image_box_uids
    assert_status(session.set_image(first, uniform_image(1, BLACK)), 0x0000)
    assert_status(session.set_image(second, uniform_image(1, BLACK)), 0x0106, "ImageBoxPosition")
    session.prints_good_film()


def test_image_box_position_outside_the_film_box_is_0106(session):
    refs = session.film_box("STANDARD\\2,1")
    assert_status(session.set_image(refs.image_box_uids[1], uniform_image(3, BLACK)),
                  0x0106, "ImageBoxPosition")
    session.prints_good_film()


def test_n_set_on_image_box_of_deleted_film_box_is_0112(session):
    refs = session.film_box()
    assert session.scu.delete_film_box(refs.film_box_uid) == 0x0000
    reply = session.set_image(refs.image_box_uids[0], uniform_image(1, BLACK))
    assert_status(reply, 0x0112, "Image Box")
    reply, _ = session.print_box(refs.film_box_uid)
    assert_status(reply, 0x0112, "Film Box")
    session.prints_good_film()


def test_image_box_n_set_with_color_class_on_grayscale_meta_is_0122(session):
    refs = session.film_box()
    reply = reply_of(session.association.send_n_set(
        uniform_image(1, BLACK), BasicColorImageBox, refs.image_box_uids[0],
        meta_uid=BasicGrayscalePrintManagementMeta))
    assert_status(reply, 0x0122, BasicColorImageBox)
    session.prints_good_film()


# 5 x 5 boxes on 8 in x 10 in at 100 dpi are about 146 px wide: 300 columns do not fit
# at one printer pixel per image pixel (PS3.3 C.13.5.1, Requested Decimate/Crop Behavior).
@pytest.mark.parametrize("behaviour,status,named", [
    ("FAIL", 0xC603, "RequestedDecimateCropBehavior"),
    ("CROP", 0xB609, None),
    ("DECIMATE", 0xB60A, None),
    (None, 0xB604, None),  # unspecified: demagnified
])
def test_image_larger_than_its_box(session, behaviour, status, named):
    refs = session.film_box("STANDARD\\5,5")
    attrs = uniform_image(1, BLACK, size=300)
    if behaviour is not None:
        attrs.RequestedDecimateCropBehavior = behaviour
    assert_status(session.set_image(refs.image_box_uids[0], attrs), status, named)
    metadata = session.print_and_wait(refs.film_box_uid)
    if status == 0xC603:
        assert metadata["image_boxes"][0]["image"] is None, "a refused image is not kept"
    else:
        assert box_centre_density(metadata, 1) == pytest.approx(DEFAULT_MAX_OD, abs=OD_TOLERANCE)
    session.prints_good_film()


# --------------------------------------------------------------------------
# Film Box N-CREATE / N-SET
# --------------------------------------------------------------------------


def test_film_box_without_image_display_format_is_0120(session):
    assert_status(session.try_film_box(FilmSizeID=FILM_SIZE), 0x0120, "ImageDisplayFormat")
    session.prints_good_film()


@pytest.mark.parametrize("text", ["STANDARD\\0,2", "STANDARD\\2", "STANDARD\\11,1",
                                  "DIAGONAL\\2", "ROW\\", "STANDARD\\a,b", "CUSTOM\\99"])
def test_bad_image_display_format_is_0106(session, text):
    assert_status(session.try_film_box(ImageDisplayFormat=text), 0x0106, "ImageDisplayFormat")
    session.prints_good_film()


@pytest.mark.parametrize("keyword,value", [
    ("FilmSizeID", "99INX99IN"),
    ("FilmOrientation", "DIAGONAL"),
    ("MagnificationType", "SINC"),
    ("SmoothingType", "BLURRY"),
    ("BorderDensity", "GREY"),
    ("EmptyImageDensity", "900"),
    ("Trim", "MAYBE"),
    ("RequestedResolutionID", "ULTRA"),
    ("AnnotationDisplayFormatID", "NO_SUCH_FORMAT"),
])
def test_unsupported_film_box_value_is_0106(session, keyword, value):
    reply = session.try_film_box(ImageDisplayFormat="STANDARD\\1,1", **{keyword: value})
    assert_status(reply, 0x0106, keyword)
    session.prints_good_film()


def test_densities_outside_the_printer_range_are_clipped_with_b605(session):
    """The printer's range is 0.10..3.60 OD: 5 and 400 hundredths become 10 and 360."""
    status, refs = session.scu.create_film_box(
        dataset(ImageDisplayFormat="STANDARD\\2,1", FilmSizeID=FILM_SIZE,
                MinDensity=5, MaxDensity=400),
        film_session_uid=session.uid)
    assert_status(last_reply(session.scu), 0xB605)
    assert (refs.attributes.MinDensity, refs.attributes.MaxDensity) == (10, 360)
    black, white = refs.image_box_uids
    assert_status(session.set_image(black, uniform_image(1, BLACK)), 0x0000)
    assert_status(session.set_image(white, uniform_image(2, WHITE)), 0x0000)
    metadata = session.print_and_wait(refs.film_box_uid)
    assert box_centre_density(metadata, 1) == pytest.approx(3.60, abs=OD_TOLERANCE)
    assert box_centre_density(metadata, 2) == pytest.approx(0.10, abs=OD_TOLERANCE)
    session.prints_good_film()


def test_film_box_n_set_density_outside_range_is_b605_with_the_clipped_value(session):
    refs = session.film_box()
    status, reply = association_of(session.scu).send_n_set(
        dataset(MaxDensity=500), BasicFilmBox, refs.film_box_uid,
        meta_uid=BasicGrayscalePrintManagementMeta)
    reply = reply_of((status, reply))
    assert_status(reply, 0xB605, "MaxDensity")
    assert reply.dataset.MaxDensity == 360
    session.prints_good_film()


@pytest.mark.parametrize("low,high", [(250, 250), (280, 250)])
def test_min_density_not_below_max_density_is_0106(session, low, high):
    reply = session.try_film_box(ImageDisplayFormat="STANDARD\\1,1",
                                 MinDensity=low, MaxDensity=high)
    assert_status(reply, 0x0106, "MinDensity")
    session.prints_good_film()


def test_failed_film_box_n_set_leaves_the_film_box_as_it_was(session):
    """MaxDensity 250 is valid alone; with MinDensity 280 the request fails and changes nothing."""
    refs = session.film_box()
    reply = reply_of(session.association.send_n_set(
        dataset(MinDensity=280, MaxDensity=250), BasicFilmBox, refs.film_box_uid,
        meta_uid=BasicGrayscalePrintManagementMeta))
    assert_status(reply, 0x0106, "MinDensity")
    assert_status(session.set_image(refs.image_box_uids[0], uniform_image(1, BLACK)), 0x0000)
    metadata = session.print_and_wait(refs.film_box_uid)
    assert metadata["film_box"]["in_force"]["max_density"] == 300
    assert box_centre_density(metadata, 1) == pytest.approx(DEFAULT_MAX_OD, abs=OD_TOLERANCE)
    session.prints_good_film()


def test_film_box_reference_item_without_instance_uid_is_0121(session):
    item = dataset(ReferencedSOPClassUID=BasicFilmSession)
    session.scu.create_film_box(dataset(ImageDisplayFormat="STANDARD\\1,1",
                                        ReferencedFilmSessionSequence=[item]))
    assert_status(last_reply(session.scu), 0x0121, "ReferencedFilmSessionSequence")
    session.prints_good_film()


def _undecodable_min_density(explicit_vr: bool) -> bytes:
    """Min Density (2010,0120), VR US, with a 3-byte value: no whole number of 16-bit values."""
    header = (struct.pack("<HH2sH", 0x2010, 0x0120, b"US", 3) if explicit_vr
              else struct.pack("<HHI", 0x2010, 0x0120, 3))
    return header + b"\x01\x02\x03"


def send_raw_n_set(scu: PrintAssociation, class_uid: str, instance_uid: str,
                   encoded: bytes) -> Reply:
    """N-SET whose Modification List is ``encoded`` as is (pydicom refuses to write it)."""
    marker = Dataset()
    encode = pynetdicom.association.encode

    def raw_encode(ds: Dataset, *args: Any, **kwargs: Any) -> bytes | None:
        return encoded if ds is marker else encode(ds, *args, **kwargs)

    with mock.patch.object(pynetdicom.association, "encode", raw_encode):
        return reply_of(association_of(scu).send_n_set(
            marker, class_uid, instance_uid, meta_uid=BasicGrayscalePrintManagementMeta))


def test_undecodable_value_is_0106_not_0110(session):
    refs = session.film_box()
    explicit = not session.scu.transfer_syntax(BasicGrayscalePrintManagementMeta).is_implicit_VR
    reply = send_raw_n_set(session.scu, BasicFilmBox, refs.film_box_uid,
                           _undecodable_min_density(explicit))
    assert_status(reply, 0x0106, "MinDensity")
    session.prints_good_film()


@pytest.mark.parametrize("keyword,vr,value", [
    ("MinDensity", "DS", "2.5"),  # US sent as a decimal string, not a whole number
    ("MaxDensity", "LO", "dark"),
    ("ReferencedPresentationLUTSequence", "US", 1),  # a sequence sent as a number
    ("Illumination", "US", [2000, 10]),  # two values where one is allowed
])
def test_value_of_the_wrong_vr_is_0106_not_0110(session, keyword, vr, value):
    refs = session.film_box()
    if session.scu.transfer_syntax(BasicGrayscalePrintManagementMeta).is_implicit_VR:
        pytest.skip("a wrong VR can only be sent in an explicit VR transfer syntax")
    attrs = Dataset()
    attrs.add_new(keyword, vr, value)
    reply = reply_of(session.association.send_n_set(
        attrs, BasicFilmBox, refs.film_box_uid, meta_uid=BasicGrayscalePrintManagementMeta))
    assert_status(reply, 0x0106, keyword)
    session.prints_good_film()


# --------------------------------------------------------------------------
# Film Session
# --------------------------------------------------------------------------


@SENDS_INVALID_VALUES
@pytest.mark.parametrize("keyword,value", [
    ("MediumType", "GLASS"),
    ("PrintPriority", "URGENT"),
    ("NumberOfCopies", 0),
    ("FilmDestination", "BIN_X"),
    ("FilmSessionLabel", "x" * 65),
])
def test_bad_film_session_value_is_0106_and_a_good_session_follows(printer, keyword, value):
    with connect(printer) as scu:
        scu.create_film_session(dataset(**{keyword: value}))
        assert_status(last_reply(scu), 0x0106, keyword)
        PrintSession.create(scu, printer.output_dir).prints_good_film()


def test_film_session_n_set_with_unsupported_medium_changes_nothing(session):
    reply = reply_of(session.association.send_n_set(
        dataset(MediumType="GLASS"), BasicFilmSession, session.uid,
        meta_uid=BasicGrayscalePrintManagementMeta))
    assert_status(reply, 0x0106, "MediumType")
    metadata = session.prints_good_film()
    assert metadata["film_session"]["in_force"]["medium_type"] == "BLUE FILM"


def test_number_of_copies_above_the_printer_maximum_is_0116_with_the_value_used(printer):
    with connect(printer) as scu:
        uid = generate_uid()
        reply = reply_of(association_of(scu).send_n_create(
            dataset(NumberOfCopies=500), BasicFilmSession, uid,
            meta_uid=BasicGrayscalePrintManagementMeta))
        assert_status(reply, 0x0116, "NumberOfCopies")
        assert reply.dataset.NumberOfCopies == printer.profile.max_copies
        metadata = PrintSession(scu, printer.output_dir, uid).prints_good_film()
        assert metadata["print_job"]["copies"] == printer.profile.max_copies


def test_second_film_session_on_one_association_is_0111(session):
    for uid in (session.uid, generate_uid()):
        reply = reply_of(session.association.send_n_create(
            dataset(NumberOfCopies=1), BasicFilmSession, uid,
            meta_uid=BasicGrayscalePrintManagementMeta))
        assert_status(reply, 0x0111, "Film Session")
    session.prints_good_film()


@SENDS_INVALID_VALUES
def test_n_create_with_a_malformed_instance_uid_is_0117(printer):
    with connect(printer) as scu:
        reply = reply_of(association_of(scu).send_n_create(
            dataset(NumberOfCopies=1), BasicFilmSession, "1.2.3.abc",
            meta_uid=BasicGrayscalePrintManagementMeta))
        assert_status(reply, 0x0117, "1.2.3.abc")
        PrintSession.create(scu, printer.output_dir).prints_good_film()


def test_film_session_n_action_without_film_boxes_is_c600(session):
    session.scu.print_film_session(session.uid)
    assert_status(last_reply(session.scu), 0xC600, "film box")
    session.prints_good_film()


# --------------------------------------------------------------------------
# N-ACTION
# --------------------------------------------------------------------------


def test_n_action_on_empty_film_box_is_b603_and_prints_an_empty_page(session):
    """Border and empty boxes are WHITE by default: the whole sheet is Min Density."""
    refs = session.film_box("STANDARD\\2,2")
    reply, job_uid = session.print_box(refs.film_box_uid)
    assert_status(reply, 0xB603)
    density = density_map(wait_for_job(session.output_dir, job_uid))
    assert float(density.min()) == pytest.approx(DEFAULT_MIN_OD, abs=OD_TOLERANCE)
    assert float(density.max()) == pytest.approx(DEFAULT_MIN_OD, abs=OD_TOLERANCE)
    session.prints_good_film()


@pytest.mark.parametrize("class_uid", [BasicFilmBox, BasicFilmSession])
def test_n_action_type_2_is_0123(session, class_uid):
    refs = session.film_box()
    uid = refs.film_box_uid if class_uid == BasicFilmBox else session.uid
    reply = reply_of(session.association.send_n_action(
        None, 2, class_uid, uid, meta_uid=BasicGrayscalePrintManagementMeta))
    assert_status(reply, 0x0123, "Action Type ID")
    session.prints_good_film()


def test_queue_full_on_film_box_n_action_is_c602(tmp_path):
    """One film fits the queue; the printer is jammed, so a second one does not.

    PS3.4 Table H.4-9 (Film Box N-ACTION): C602; the Film Session's is C601.
    """
    with fast_printer(tmp_path, queue_capacity=1) as server, print_session(server) as s:
        server.printer.set_status("FAILURE", "FILM JAM")
        waiting = s.film_box()
        assert_status(s.set_image(waiting.image_box_uids[0], uniform_image(1, BLACK)), 0x0000)
        reply, job_uid = s.print_box(waiting.film_box_uid)
        assert_status(reply, 0x0000)
        refused = s.film_box()
        reply, _ = s.print_box(refused.film_box_uid)
        assert_status(reply, 0xC602, "queue")
        server.printer.set_status("NORMAL")
        wait_for_job(server.output_dir, job_uid)
        wait_until_done(s.scu, job_uid)  # its film leaves the queue when the job is DONE
        s.prints_good_film()


# --------------------------------------------------------------------------
# Unknown instances, wrong contexts
# --------------------------------------------------------------------------

UNKNOWN_INSTANCE_OPERATIONS: dict[str, Callable[[PrintAssociation], Any]] = {
    "Image Box N-SET": lambda scu: scu.set_image_box(UNKNOWN_UID, uniform_image(1, BLACK)),
    "Annotation Box N-SET": lambda scu: scu.set_annotation_box(
        UNKNOWN_UID, dataset(AnnotationPosition=1, TextString="x")),
    "Film Box N-ACTION": lambda scu: scu.print_film_box(UNKNOWN_UID),
    "Film Box N-DELETE": lambda scu: scu.delete_film_box(UNKNOWN_UID),
    "Film Session N-ACTION": lambda scu: scu.print_film_session(UNKNOWN_UID),
    "Film Session N-DELETE": lambda scu: scu.delete_film_session(UNKNOWN_UID),
    "Presentation LUT N-DELETE": lambda scu: scu.delete_presentation_lut(UNKNOWN_UID),
    "Print Job N-GET": lambda scu: scu.get_print_job(UNKNOWN_UID),
}


@pytest.mark.parametrize("operation", list(UNKNOWN_INSTANCE_OPERATIONS))
def test_unknown_sop_instance_is_0112(session, operation):
    UNKNOWN_INSTANCE_OPERATIONS[operation](session.scu)
    assert_status(last_reply(session.scu), 0x0112, UNKNOWN_UID)
    session.prints_good_film()


def test_film_box_n_set_of_unknown_instance_is_0112(session):
    reply = reply_of(session.association.send_n_set(
        dataset(MaxDensity=250), BasicFilmBox, UNKNOWN_UID,
        meta_uid=BasicGrayscalePrintManagementMeta))
    assert_status(reply, 0x0112, UNKNOWN_UID)
    session.prints_good_film()


def test_film_box_n_create_on_the_presentation_lut_context_is_0122(session):
    reply = reply_of(session.association.send_n_create(
        dataset(ImageDisplayFormat="STANDARD\\1,1",
                ReferencedFilmSessionSequence=reference(BasicFilmSession, session.uid)),
        BasicFilmBox, generate_uid(), meta_uid=PresentationLUT))
    assert_status(reply, 0x0122, BasicFilmBox)
    session.prints_good_film()


# --------------------------------------------------------------------------
# Presentation LUT
# --------------------------------------------------------------------------


def lut_table(entries: int, bits: int = 12) -> Dataset:
    """Presentation LUT N-CREATE attribute list of an ``entries``-entry linear table."""
    item = Dataset()
    item.add_new("LUTDescriptor", "US", [entries, 0, bits])
    values = np.linspace(0, 2**bits - 1, entries).round().astype("<u2")
    item.add_new("LUTData", "OW", values.tobytes())
    return dataset(PresentationLUTSequence=[item])


def test_presentation_lut_of_255_entries_is_refused_for_8_bit_images(session):
    """An 8-bit image needs a 256-entry table (PS3.3 C.11.4.1)."""
    status, lut_uid = session.scu.create_presentation_lut(lut_table(255))
    assert status == 0x0000, "the table is valid; only the image's bit depth rules it out"
    lut_ref = reference(PresentationLUT, lut_uid)
    refs = session.film_box()
    reply = session.set_image(refs.image_box_uids[0],
                              uniform_image(1, BLACK, ReferencedPresentationLUTSequence=lut_ref))
    assert_status(reply, 0x0106, "ReferencedPresentationLUTSequence")

    by_film_box = session.film_box(ReferencedPresentationLUTSequence=lut_ref)
    reply = session.set_image(by_film_box.image_box_uids[0], uniform_image(1, BLACK))
    assert_status(reply, 0x0106, "ReferencedPresentationLUTSequence")
    session.prints_good_film()


@pytest.mark.parametrize("lut,status,named", [
    (dataset(PresentationLUTShape="INVERSE"), 0x0106, "PresentationLUTShape"),
    (dataset(PresentationLUTShape="IDENTITY", PresentationLUTSequence=lut_table(256)
             .PresentationLUTSequence), 0x0106, "PresentationLUTShape"),
    (lut_table(256, bits=8), 0x0106, "LUTDescriptor"),  # 8 bits per entry: below 10
])
def test_bad_presentation_lut_is_refused_at_n_create(session, lut, status, named):
    session.scu.create_presentation_lut(lut)
    assert_status(last_reply(session.scu), status, named)
    session.prints_good_film()


def test_image_box_referencing_an_unknown_presentation_lut_is_0106(session):
    refs = session.film_box()
    attrs = uniform_image(1, BLACK,
                          ReferencedPresentationLUTSequence=reference(PresentationLUT, UNKNOWN_UID))
    assert_status(session.set_image(refs.image_box_uids[0], attrs),
                  0x0106, "ReferencedPresentationLUTSequence")
    session.prints_good_film()


# --------------------------------------------------------------------------
# Associations that go wrong
# --------------------------------------------------------------------------


def test_aborted_association_leaves_the_printer_and_other_associations_working(printer):
    output = printer.output_dir
    with print_session(printer, "BYSTANDER") as bystander:
        with connect(printer, "ABORTER") as scu:
            aborter = PrintSession.create(scu, output)
            aborter.prints_good_film()
            unprinted = aborter.film_box()
            assert_status(aborter.set_image(unprinted.image_box_uids[0],
                                            uniform_image(1, BLACK)), 0x0000)
            scu.abort()
            assert not scu.is_established
        bystander.prints_good_film()
        with print_session(printer, "NEWCOMER") as newcomer:
            newcomer.prints_good_film()
    kept = films_of(output, "ABORTER")
    assert len(kept) == 1, "the printed film is kept and the unprinted film box is dropped"
    folder = Path(output)
    for name in kept[0]["film"]["files"].values():
        if isinstance(name, str):
            assert (folder / name).stat().st_size > 0


def test_n_create_announcing_a_dataset_it_never_sends_is_ended_by_the_network_timeout(tmp_path):
    """pynetdicom sends an empty Dataset() as "data set present" and then no data set.

    That is the SCU's bug; the printer must not keep the association forever:
    its network timeout (idle ARTIM) aborts it and the printer keeps serving.
    """
    server = PrintServer(PrinterProfile(**FAST), tmp_path, network_timeout_s=1.0)
    _, server.port = server.start("127.0.0.1", 0)  # as scp_harness.running_printer does
    try:
        ae = AE(ae_title="EMPTYDS")
        ae.add_requested_context(BasicGrayscalePrintManagementMeta)
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
        assoc = ae.associate("127.0.0.1", server.port, ae_title=server.profile.ae_title)
        assert assoc.is_established
        done = threading.Event()
        result: list[Dataset] = []

        def send() -> None:
            result.append(assoc.send_n_create(Dataset(), BasicFilmSession, generate_uid(),
                                              meta_uid=BasicGrayscalePrintManagementMeta)[0])
            done.set()

        threading.Thread(target=send, daemon=True).start()
        assert done.wait(TIMEOUT_S * 2), "the SCU's own DIMSE timeout should have ended it"
        assert "Status" not in result[0], "no response was possible: the data set never came"
        deadline = time.monotonic() + TIMEOUT_S
        while assoc.is_established and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not assoc.is_established
        with print_session(server) as s:
            s.prints_good_film()
    finally:
        server.stop()

"""The print SCU's DIMSE driver against DCMTK's dcmprscp.

What dcmprscp stores is compared with what the driver sent: the film box
attributes, the number of image boxes and every pixel value. Defaults the
SCP fills in come from the PrinterProfile the test harness wrote into its
dcmpstat.cfg (first listed magnification type, max and min density).

dcmprscp never rejects an association (it ignores the Called AE Title) and
never sends N-EVENT-REPORTs; those two paths are tested against a minimal
pynetdicom stand-in, and the color image box builder on its own, at the end
of this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pytest
from dcmtk_peer import DcmprscpServer, PrinterProfile, read_stored_films
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import (
    BasicFilmBox,
    BasicGrayscaleImageBox,
    BasicGrayscalePrintManagementMeta,
    PresentationLUT,
    PrintJob,
)

from print_scu.address import PrinterAddress
from print_scu.association import (
    DimseResult,
    PrintAssociation,
    PrintAssociationError,
    ReceivedEvent,
)
from print_scu.image_box_requests import color_image_box, grayscale_image_box

PRINTER_NAME = 0x21100030  # (2110,0030), which dcmprscp does not support in N-GET


def _address(server: DcmprscpServer, **options: object) -> PrinterAddress:
    host, port, aetitle, _storage = server.endpoint
    return PrinterAddress(
        host, port, aetitle, acse_timeout_s=10, dimse_timeout_s=10, network_timeout_s=10, **options
    )


def _film_box(display_format: str, **attrs: object) -> Dataset:
    dataset = Dataset()
    dataset.ImageDisplayFormat = display_format
    for keyword, value in attrs.items():
        setattr(dataset, keyword, value)
    return dataset


def _film_session() -> Dataset:
    dataset = Dataset()
    dataset.NumberOfCopies = 1
    dataset.MediumType = "BLUE FILM"
    dataset.FilmDestination = "MAGAZINE"
    return dataset


def test_prints_standard_2x2_8bit_film(dcmprscp: DcmprscpServer) -> None:
    rng = np.random.default_rng(11)
    images = [
        np.arange(256).reshape(16, 16),
        rng.integers(0, 256, size=(20, 12)),
        np.full((9, 10), 255),
        np.tile(np.array([0, 1]), (7, 4)),
    ]
    with PrintAssociation(_address(dcmprscp)) as assoc:
        assert assoc.transfer_syntax(assoc.meta_uid) == ExplicitVRLittleEndian
        status, printer = assoc.get_printer()
        assert status == 0x0000
        assert printer.PrinterStatus == "NORMAL"

        status, session_uid = assoc.create_film_session(_film_session())
        assert status == 0x0000
        status, refs = assoc.create_film_box(
            _film_box("STANDARD\\2,2", FilmSizeID="14INX17IN", FilmOrientation="PORTRAIT"),
            film_session_uid=session_uid,
        )
        assert status == 0x0000
        assert refs.attributes.ImageDisplayFormat == "STANDARD\\2,2"
        assert [class_uid for class_uid, _ in refs.image_boxes] == [BasicGrayscaleImageBox] * 4
        assert len(set(refs.image_box_uids)) == 4
        boxes = zip(refs.image_box_uids, images, strict=True)
        for position, (uid, image) in enumerate(boxes, start=1):
            assert assoc.set_image_box(uid, grayscale_image_box(position, image, 8)) == 0x0000
        status, _reply = assoc.print_film_box(refs.film_box_uid)
        assert status == 0x0000
        assert assoc.delete_film_box(refs.film_box_uid) == 0x0000
        assert assoc.delete_film_session(session_uid) == 0x0000
        assert assoc.last_result == DimseResult("N-DELETE Basic Film Session", 0x0000)

    [film] = read_stored_films(dcmprscp.endpoint.storage_dir)
    assert film.image_display_format == "STANDARD\\2,2"
    assert film.film_size_id == "14INX17IN"
    assert film.film_orientation == "PORTRAIT"
    profile = PrinterProfile()
    assert film.film_box.MagnificationType == profile.magnification_types[0]
    assert film.film_box.MaxDensity == profile.max_density
    assert film.film_box.MinDensity == profile.min_density
    assert [box.position for box in film.image_boxes] == [1, 2, 3, 4]
    for box, image in zip(film.image_boxes, images, strict=True):
        assert box.hardcopy.BitsStored == 8
        np.testing.assert_array_equal(box.pixels, image)


def test_prints_12bit_film_over_implicit_vr_with_presentation_lut(
    dcmprscp: DcmprscpServer,
) -> None:
    image = np.arange(64 * 64).reshape(64, 64)  # 0..4095, every 12-bit value once
    with PrintAssociation(_address(dcmprscp, implicit_only=True)) as assoc:
        assert assoc.transfer_syntax(assoc.meta_uid) == ImplicitVRLittleEndian
        lin_od = Dataset()
        lin_od.PresentationLUTShape = "LIN OD"
        status, lut_uid = assoc.create_presentation_lut(lin_od)
        assert status == 0x0000
        lut_ref = Dataset()
        lut_ref.ReferencedSOPClassUID = PresentationLUT
        lut_ref.ReferencedSOPInstanceUID = lut_uid
        status, session_uid = assoc.create_film_session(Dataset())
        assert status == 0x0000
        status, refs = assoc.create_film_box(
            _film_box(
                "STANDARD\\1,1", FilmSizeID="8INX10IN", FilmOrientation="LANDSCAPE",
                ReferencedPresentationLUTSequence=[lut_ref],
            ),
            film_session_uid=session_uid,
        )
        assert status == 0x0000
        [box_uid] = refs.image_box_uids
        box = grayscale_image_box(1, image, 12, polarity="REVERSE")
        assert assoc.set_image_box(box_uid, box) == 0x0000
        status, _reply = assoc.print_film_session(session_uid)
        assert status == 0x0000
        assert assoc.delete_film_session(session_uid) == 0x0000
        assert assoc.delete_presentation_lut(lut_uid) == 0x0000

    [film] = read_stored_films(dcmprscp.endpoint.storage_dir)
    assert (film.film_orientation, film.film_size_id) == ("LANDSCAPE", "8INX10IN")
    assert film.presentation_lut.PresentationLUTShape == "LIN OD"
    [stored] = film.image_boxes
    assert stored.polarity == "REVERSE"
    assert stored.hardcopy.BitsStored == 12
    np.testing.assert_array_equal(stored.pixels, image)


def test_printer_n_get_of_an_unsupported_attribute_reports_0105(
    dcmprscp: DcmprscpServer,
) -> None:
    with PrintAssociation(_address(dcmprscp)) as assoc:
        status, reply = assoc.get_printer([PRINTER_NAME])
        assert (status, reply) == (0x0105, None)
        assert assoc.last_result.category == "Failure"
        assert assoc.last_result.description == "No Such Attribute"
        assert str(assoc.last_result).startswith("N-GET Printer: 0x0105 Failure")


def test_refused_film_box_leaves_the_association_usable(dcmprscp: DcmprscpServer) -> None:
    with PrintAssociation(_address(dcmprscp)) as assoc:
        _status, session_uid = assoc.create_film_session(_film_session())
        status, refs = assoc.create_film_box(
            _film_box("STANDARD\\5,5"), film_session_uid=session_uid
        )
        assert (status, refs) == (0x0106, None)
        assert assoc.last_result.description == "Invalid Attribute Value"
        status, refs = assoc.create_film_box(
            _film_box("STANDARD\\1,2"), film_session_uid=session_uid
        )
        assert status == 0x0000
        assert len(refs.image_boxes) == 2
    assert "unsupported image display format: 'STANDARD\\5,5'" in dcmprscp.log


@pytest.mark.parametrize(("implicit_only", "expected"), [(False, 0x0000), (True, 0x0105)])
def test_dcmprscp_takes_lut_tables_in_explicit_vr_only(
    dcmprscp: DcmprscpServer, implicit_only: bool, expected: int
) -> None:
    """DCMTK 3.6.7 quirk: under Implicit VR it cannot find the LUT Data it was sent."""
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 12]
    item.add_new("LUTData", "OW", np.arange(4096, dtype="<u2").tobytes())
    table = Dataset()
    table.PresentationLUTSequence = [item]
    with PrintAssociation(_address(dcmprscp, implicit_only=implicit_only)) as assoc:
        status, _uid = assoc.create_presentation_lut(table)
    assert status == expected


def test_color_print_is_refused_with_a_clear_error(dcmprscp: DcmprscpServer) -> None:
    with pytest.raises(PrintAssociationError, match="did not accept the Basic Color Print"):
        PrintAssociation(_address(dcmprscp), color=True)


def test_nothing_listening_raises(free_tcp_port: int) -> None:
    address = PrinterAddress("127.0.0.1", free_tcp_port, "NOBODY", network_timeout_s=5)
    with pytest.raises(PrintAssociationError, match="could not open a TCP connection"):
        PrintAssociation(address)


def test_optional_context_not_proposed_raises_when_used(dcmprscp: DcmprscpServer) -> None:
    with PrintAssociation(_address(dcmprscp), print_job=False) as assoc:
        with pytest.raises(PrintAssociationError, match="Print Job SOP Class"):
            assoc.get_print_job(generate_uid())


# --------------------------------------------------------------------------
# Paths dcmprscp cannot exercise: a minimal pynetdicom stand-in print SCP
# --------------------------------------------------------------------------


@contextmanager
def _stand_in_scp(
    port: int, handlers: list[tuple[evt.EventType, Callable[..., object]]],
    *, require_called_aet: bool = False,
) -> Iterator[None]:
    """A pynetdicom print SCP on 127.0.0.1:``port`` with the given event handlers."""
    ae = AE(ae_title="STAND_IN")
    ae.require_called_aet = require_called_aet
    ae.add_supported_context(BasicGrayscalePrintManagementMeta, ExplicitVRLittleEndian)
    ae.add_supported_context(PrintJob, ExplicitVRLittleEndian)
    server = ae.start_server(("127.0.0.1", port), block=False, evt_handlers=handlers)
    try:
        yield
    finally:
        server.shutdown()


def test_rejected_association_raises_with_the_reason(free_tcp_port: int) -> None:
    address = PrinterAddress("127.0.0.1", free_tcp_port, "WRONG_AE", acse_timeout_s=5)
    with _stand_in_scp(free_tcp_port, [], require_called_aet=True):
        with pytest.raises(PrintAssociationError) as error:
            PrintAssociation(address)
    message = str(error.value)
    assert "WRONG_AE@127.0.0.1" in message
    assert "rejected the association" in message
    assert "Called AE title not recognised" in message


def test_event_reports_are_recorded_answered_and_passed_on(free_tcp_port: int) -> None:
    job_uid = generate_uid()
    answers: list[int] = []

    def on_create(event: evt.Event) -> tuple[int, Dataset]:
        reply = Dataset()
        if event.request.AffectedSOPClassUID == BasicFilmBox:
            box = Dataset()
            box.ReferencedSOPClassUID = BasicGrayscaleImageBox
            box.ReferencedSOPInstanceUID = generate_uid()
            reply.ReferencedImageBoxSequence = [box]
        return 0x0000, reply

    def on_action(event: evt.Event) -> tuple[int, Dataset]:
        info = Dataset()
        info.ExecutionStatus = "DONE"
        info.ExecutionStatusInfo = "NORMAL"
        status, _reply = event.assoc.send_n_event_report(info, 3, PrintJob, job_uid)
        answers.append(int(status.Status))
        job_ref = Dataset()
        job_ref.ReferencedSOPClassUID = PrintJob
        job_ref.ReferencedSOPInstanceUID = job_uid
        reply = Dataset()
        reply.add_new(0x21000500, "SQ", [job_ref])  # Referenced Print Job Sequence
        return 0x0000, reply

    handlers = [(evt.EVT_N_CREATE, on_create), (evt.EVT_N_ACTION, on_action)]
    passed_on: list[ReceivedEvent] = []
    address = PrinterAddress("127.0.0.1", free_tcp_port, "STAND_IN", dimse_timeout_s=10)
    with _stand_in_scp(free_tcp_port, handlers):
        with PrintAssociation(address, on_event=passed_on.append) as assoc:
            _status, session_uid = assoc.create_film_session(_film_session())
            _status, refs = assoc.create_film_box(
                _film_box("STANDARD\\1,1"), film_session_uid=session_uid
            )
            status, reply = assoc.print_film_box(refs.film_box_uid)
            done = assoc.events.wait_for(lambda event: event.event_type_id == 3, timeout_s=5)
            received = assoc.events.snapshot()

    assert status == 0x0000
    assert reply[0x21000500].value[0].ReferencedSOPInstanceUID == job_uid
    assert answers == [0x0000]
    [event] = received
    assert done is event
    assert (event.sop_class_uid, event.sop_instance_uid, event.event_type_id) == (
        PrintJob, job_uid, 3,
    )
    assert event.event_information.ExecutionStatus == "DONE"
    assert passed_on == [event]


# --------------------------------------------------------------------------
# Image box builders where dcmprscp cannot check them (it prints grayscale only)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("planar_configuration", "expected"),
    [
        (1, [10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33]),  # R plane, G plane, B plane
        (0, [10, 20, 30, 11, 21, 31, 12, 22, 32, 13, 23, 33]),  # R, G, B of each pixel
    ],
)
def test_color_image_box_pixel_layout(planar_configuration: int, expected: list[int]) -> None:
    rgb = np.stack(
        [np.array([[10, 11], [12, 13]]), np.array([[20, 21], [22, 23]]),
         np.array([[30, 31], [32, 33]])],
        axis=-1,
    )
    box = color_image_box(3, rgb, planar_configuration=planar_configuration, polarity="NORMAL")

    assert box.ImageBoxPosition == 3
    assert box.Polarity == "NORMAL"
    item = box.BasicColorImageSequence[0]
    assert (item.SamplesPerPixel, item.PhotometricInterpretation) == (3, "RGB")
    assert (item.Rows, item.Columns, item.PlanarConfiguration) == (2, 2, planar_configuration)
    assert (item.BitsAllocated, item.BitsStored, item.HighBit) == (8, 8, 7)
    assert item["PixelData"].VR == "OB"
    assert list(item.PixelData) == expected


def test_grayscale_image_box_12bit_is_little_endian_ow() -> None:
    box = grayscale_image_box(1, np.array([[0x0123, 0x0FFF]]), 12, MagnificationType="NONE")

    item = box.BasicGrayscaleImageSequence[0]
    assert (item.BitsAllocated, item.BitsStored, item.HighBit) == (16, 12, 11)
    assert item["PixelData"].VR == "OW"
    assert item.PixelData == bytes([0x23, 0x01, 0xFF, 0x0F])
    assert box.MagnificationType == "NONE"


@pytest.mark.parametrize(
    ("pixels", "bits", "attrs", "message"),
    [
        (np.zeros((2, 2), int), 10, {}, "Bits Stored"),
        (np.array([[0, 256]]), 8, {}, r"0\.\.255 for 8 bits, got 0\.\.256"),
        (np.zeros((2, 2, 2), int), 8, {}, "2-D"),
        (np.zeros((2, 2)), 8, {}, "integers"),
        (np.zeros((2, 2), int), 8, {"Magnification": "NONE"}, "'Magnification' is not a DICOM"),
    ],
)
def test_grayscale_image_box_says_what_is_wrong(
    pixels: np.ndarray, bits: int, attrs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        grayscale_image_box(1, pixels, bits, **attrs)

"""Deviations real SCUs commit: a lenient printer accepts them, a strict one refuses.

Lenient (the default) prints and records each deviation in the film's JSON
(``deviations``); strict answers with the failure status and an Error Comment
naming the attribute, and the association keeps printing good films.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE, evt
from pynetdicom.association import Association
from pynetdicom.sop_class import (
    BasicColorImageBox,
    BasicFilmBox,
    BasicFilmSession,
    BasicGrayscaleImageBox,
    BasicGrayscalePrintManagementMeta,
    PresentationLUT,
    PrinterInstance,
    PrintJob,
    Verification,
)
from test_scp_bad_input import (
    BLACK,
    DEFAULT_MAX_OD,
    FILM_SIZE,
    OD_TOLERANCE,
    TIMEOUT_S,
    PrintSession,
    Reply,
    assert_status,
    box_centre_density,
    connect,
    dataset,
    fast_printer,
    job_uid_of,
    last_reply,
    print_session,
    reference,
    reply_of,
    uniform_image,
    wait_for_job,
)

from print_scp.server import PrintServer
from print_scu.association import PrintAssociation
from print_scu.image_box_requests import color_image_box

META = BasicGrayscalePrintManagementMeta
RED = (255, 0, 0)


@pytest.fixture(scope="module")
def lenient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrintServer]:
    with fast_printer(tmp_path_factory.mktemp("lenient")) as server:
        assert not server.profile.strict, "lenient is the default"
        yield server


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrintServer]:
    with fast_printer(tmp_path_factory.mktemp("strict"), strict=True) as server:
        yield server


def has_deviation(metadata: dict, text: str) -> bool:
    return any(text in deviation for deviation in metadata["deviations"])


# --------------------------------------------------------------------------
# Film Box N-CREATE without Referenced Film Session Sequence (required, PS3.4 H.4.2.2.1)
# --------------------------------------------------------------------------


def create_unreferenced_film_box(session: PrintSession) -> tuple[str, Reply]:
    """Film Box N-CREATE without Referenced Film Session Sequence; its UID and the reply."""
    uid = generate_uid()
    reply = reply_of(session.association.send_n_create(
        dataset(ImageDisplayFormat="STANDARD\\1,1", FilmSizeID=FILM_SIZE),
        BasicFilmBox, uid, meta_uid=META))
    return uid, reply


def test_lenient_film_box_without_film_session_reference_joins_the_session(lenient):
    with print_session(lenient) as session:
        film_box_uid, reply = create_unreferenced_film_box(session)
        assert_status(reply, 0x0000)
        session_ref = reply.dataset.ReferencedFilmSessionSequence[0]
        assert session_ref.ReferencedSOPInstanceUID == session.uid
        image_box_uid = reply.dataset.ReferencedImageBoxSequence[0].ReferencedSOPInstanceUID
        assert_status(session.set_image(image_box_uid, uniform_image(1, BLACK)), 0x0000)
        metadata = session.print_and_wait(film_box_uid)
        assert metadata["film_session"]["uid"] == session.uid
        assert box_centre_density(metadata, 1) == pytest.approx(DEFAULT_MAX_OD, abs=OD_TOLERANCE)
        assert has_deviation(metadata, "without Referenced Film Session Sequence")


def test_strict_film_box_without_film_session_reference_is_0120(strict):
    with print_session(strict) as session:
        _uid, reply = create_unreferenced_film_box(session)
        assert_status(reply, 0x0120, "ReferencedFilmSessionSequence")
        assert session.prints_good_film()["deviations"] == []


# --------------------------------------------------------------------------
# Individual SOP classes proposed instead of the meta SOP class (PS3.4 H.3)
# --------------------------------------------------------------------------

INDIVIDUAL = (BasicFilmSession, BasicFilmBox, BasicGrayscaleImageBox)


def associate_individually(server: PrintServer) -> Association:
    """An association proposing Film Session, Film Box and Image Box on their own."""
    ae = AE(ae_title="INDIVIDUAL")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
    for uid in (*INDIVIDUAL, PrintJob, Verification):
        ae.add_requested_context(uid)
    assoc = ae.associate("127.0.0.1", server.port, ae_title=server.profile.ae_title,
                         evt_handlers=[(evt.EVT_N_EVENT_REPORT, lambda event: (0x0000, None))])
    assert assoc.is_established
    return assoc


def test_lenient_prints_through_individually_proposed_sop_classes(lenient):
    assoc = associate_individually(lenient)
    try:
        accepted = {cx.abstract_syntax for cx in assoc.accepted_contexts}
        assert set(INDIVIDUAL) <= accepted
        session_uid, film_box_uid = generate_uid(), generate_uid()
        assert_status(reply_of(assoc.send_n_create(
            dataset(NumberOfCopies=1), BasicFilmSession, session_uid)), 0x0000)
        reply = reply_of(assoc.send_n_create(
            dataset(ImageDisplayFormat="STANDARD\\1,1", FilmSizeID=FILM_SIZE,
                    ReferencedFilmSessionSequence=reference(BasicFilmSession, session_uid)),
            BasicFilmBox, film_box_uid))
        assert_status(reply, 0x0000)
        image_ref = reply.dataset.ReferencedImageBoxSequence[0]
        assert image_ref.ReferencedSOPClassUID == BasicGrayscaleImageBox
        assert_status(reply_of(assoc.send_n_set(uniform_image(1, BLACK), BasicGrayscaleImageBox,
                                                image_ref.ReferencedSOPInstanceUID)), 0x0000)
        status, action_reply = assoc.send_n_action(None, 1, BasicFilmBox, film_box_uid)
        assert_status(reply_of(status), 0x0000)
        metadata = wait_for_job(lenient.output_dir, job_uid_of(action_reply))
    finally:
        assoc.release()
    assert box_centre_density(metadata, 1) == pytest.approx(DEFAULT_MAX_OD, abs=OD_TOLERANCE)
    assert has_deviation(metadata, "individual print SOP classes")


def test_strict_rejects_individually_proposed_sop_classes(strict):
    assoc = associate_individually(strict)
    try:
        accepted = {cx.abstract_syntax for cx in assoc.accepted_contexts}
        rejected = {cx.abstract_syntax for cx in assoc.rejected_contexts}
        assert set(INDIVIDUAL) <= rejected
        assert accepted == {PrintJob, Verification}
        assert assoc.send_c_echo().Status == 0x0000, "the association itself stays usable"
    finally:
        assoc.release()


# --------------------------------------------------------------------------
# Printer N-GET under the Print Job SOP Class UID (ISG style)
# --------------------------------------------------------------------------


def isg_printer_n_get(session: PrintSession, meta_uid: str | None) -> Reply:
    """N-GET of the Printer instance naming the Print Job SOP Class."""
    return reply_of(session.association.send_n_get([], PrintJob, PrinterInstance,
                                                   meta_uid=meta_uid))


@pytest.mark.parametrize("meta_uid", [None, META], ids=["print-job-context", "meta-context"])
def test_lenient_answers_printer_n_get_sent_as_print_job(lenient, meta_uid):
    with print_session(lenient) as session:
        reply = isg_printer_n_get(session, meta_uid)
        assert_status(reply, 0x0000)
        assert reply.dataset.PrinterStatus == "NORMAL"
        assert reply.dataset.PrinterName == lenient.profile.printer_name
        metadata = session.prints_good_film()
        assert has_deviation(metadata, "Printer N-GET sent with the Print Job SOP Class UID")


@pytest.mark.parametrize("meta_uid", [None, META], ids=["print-job-context", "meta-context"])
def test_strict_refuses_printer_n_get_sent_as_print_job_with_0119(strict, meta_uid):
    with print_session(strict) as session:
        assert_status(isg_printer_n_get(session, meta_uid), 0x0119, "Print Job")
        session.prints_good_film()


# --------------------------------------------------------------------------
# Planar Configuration 0 for color (PS3.3 C.13.5.1 requires 1)
# --------------------------------------------------------------------------


def png_centre(metadata: dict, position: int, half_px: int = 5) -> np.ndarray:
    """The light-box PNG's RGB pixels around the centre of image box ``position``."""
    rect = next(r for r in metadata["film"]["image_box_rects_px"] if r["position"] == position)
    x = rect["x"] + rect["width"] // 2 - half_px
    y = rect["y"] + rect["height"] // 2 - half_px
    png = Path(metadata["json_path"]).parent / metadata["film"]["files"]["png"]
    with Image.open(png) as image:
        pixels = np.asarray(image.convert("RGB"))
    return pixels[y:y + 2 * half_px, x:x + 2 * half_px].reshape(-1, 3)


def red_image_box(planar_configuration: int) -> Dataset:
    """A 16 x 16 pure red Basic Color Image Box N-SET."""
    return color_image_box(1, np.broadcast_to(np.array(RED, np.uint8), (16, 16, 3)),
                           planar_configuration=planar_configuration)


def color_session(server: PrintServer) -> tuple[PrintAssociation, PrintSession]:
    scu = connect(server, color=True)
    return scu, PrintSession.create(scu, server.output_dir)


def test_lenient_prints_interleaved_color_as_sent(lenient):
    """R,G,B,R,G,B… read as interleaved prints pure red; read as planes it would stripe."""
    scu, session = color_session(lenient)
    with scu:
        refs = session.film_box()
        assert refs.image_boxes[0][0] == BasicColorImageBox
        assert_status(session.set_image(refs.image_box_uids[0], red_image_box(0)), 0x0000)
        metadata = session.print_and_wait(refs.film_box_uid)
    assert (png_centre(metadata, 1) == RED).all()
    assert has_deviation(metadata, "Planar Configuration 0")


def test_strict_refuses_interleaved_color_with_0106(strict):
    scu, session = color_session(strict)
    with scu:
        refs = session.film_box()
        assert_status(session.set_image(refs.image_box_uids[0], red_image_box(0)),
                      0x0106, "PlanarConfiguration")
        assert_status(session.set_image(refs.image_box_uids[0], red_image_box(1)), 0x0000)
        metadata = session.print_and_wait(refs.film_box_uid)
    assert (png_centre(metadata, 1) == RED).all()
    assert metadata["deviations"] == []


# --------------------------------------------------------------------------
# Illumination and Referenced Presentation LUT Sequence in the Film Session
# (PS3.3 C.13.3 puts them in the Film Box)
# --------------------------------------------------------------------------

LIN_OD = dataset(PresentationLUTShape="LIN OD")
MID_GRAY = 128


def lin_od_density(value: int, low_od: float, high_od: float, bits: int = 8) -> float:
    """LIN OD (PS3.3 C.11.4): densities linear over Min..Max Density, brightest value at Min."""
    return high_od - value * (high_od - low_od) / (2**bits - 1)


def test_lenient_applies_film_box_attributes_sent_in_the_film_session(lenient):
    with connect(lenient) as scu:
        status, lut_uid = scu.create_presentation_lut(LIN_OD)
        assert status == 0x0000
        session = PrintSession.create(
            scu, lenient.output_dir, Illumination=1500, ReflectedAmbientLight=5,
            ReferencedPresentationLUTSequence=reference(PresentationLUT, lut_uid))
        refs = session.film_box()
        assert_status(session.set_image(refs.image_box_uids[0], uniform_image(1, MID_GRAY)),
                      0x0000)
        metadata = session.print_and_wait(refs.film_box_uid)
        overriding = session.film_box(Illumination=3000)
        assert overriding.attributes.Illumination == 3000, "the film box's own value wins"
    in_force = metadata["film_box"]["in_force"]
    assert (in_force["illumination"], in_force["reflected_ambient_light"]) == (1500, 5)
    assert in_force["presentation_lut_uid"] == lut_uid
    assert metadata["film"]["illumination_cd_m2"] == 1500
    assert box_centre_density(metadata, 1) == pytest.approx(
        lin_od_density(MID_GRAY, 0.20, 3.00), abs=OD_TOLERANCE)
    for keyword in ("Illumination", "ReflectedAmbientLight", "ReferencedPresentationLUTSequence"):
        assert has_deviation(metadata, f"{keyword} sent in the Film Session")


@pytest.mark.parametrize("keyword", ["Illumination", "ReferencedPresentationLUTSequence"])
def test_strict_refuses_film_box_attributes_in_the_film_session_with_0105(strict, keyword):
    with connect(strict) as scu:
        status, lut_uid = scu.create_presentation_lut(LIN_OD)
        assert status == 0x0000
        misplaced = {"Illumination": 1500,
                     "ReferencedPresentationLUTSequence": reference(PresentationLUT, lut_uid)}
        scu.create_film_session(dataset(**{keyword: misplaced[keyword]}))
        assert_status(last_reply(scu), 0x0105, keyword)
        PrintSession.create(scu, strict.output_dir).prints_good_film()


# --------------------------------------------------------------------------
# Image Box N-SET without Image Box Position (required, PS3.4 H.4.3.1.2)
# --------------------------------------------------------------------------


def unpositioned_image() -> Dataset:
    attrs = uniform_image(1, BLACK)
    del attrs.ImageBoxPosition
    return attrs


def test_lenient_image_box_n_set_without_position_fills_that_box(lenient):
    with print_session(lenient) as session:
        refs = session.film_box("STANDARD\\2,1")
        assert_status(session.set_image(refs.image_box_uids[1], unpositioned_image()), 0x0000)
        metadata = session.print_and_wait(refs.film_box_uid)
    assert box_centre_density(metadata, 2) == pytest.approx(DEFAULT_MAX_OD, abs=OD_TOLERANCE)
    assert metadata["image_boxes"][0]["image"] is None
    assert has_deviation(metadata, "without Image Box Position")


def test_strict_image_box_n_set_without_position_is_0120(strict):
    with print_session(strict) as session:
        refs = session.film_box()
        assert_status(session.set_image(refs.image_box_uids[0], unpositioned_image()),
                      0x0120, "ImageBoxPosition")
        session.prints_good_film()


# --------------------------------------------------------------------------
# Attributes the SOP class does not define
# --------------------------------------------------------------------------


def test_lenient_ignores_an_unknown_attribute_with_0107(lenient):
    with print_session(lenient) as session:
        refs = session.film_box(PatientName="DOE^JOHN")
        assert_status(last_reply(session.scu), 0x0107, "PatientName")
        assert_status(session.set_image(refs.image_box_uids[0], uniform_image(1, BLACK)), 0x0000)
        metadata = session.print_and_wait(refs.film_box_uid)
    assert box_centre_density(metadata, 1) == pytest.approx(DEFAULT_MAX_OD, abs=OD_TOLERANCE)


def test_strict_refuses_an_unknown_attribute_with_0105(strict):
    with print_session(strict) as session:
        reply = session.try_film_box(ImageDisplayFormat="STANDARD\\1,1", PatientName="DOE^JOHN")
        assert_status(reply, 0x0105, "PatientName")
        session.prints_good_film()

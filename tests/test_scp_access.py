"""AE title allow-lists: the profile's [access] section.

An association from a calling AE title not in ``allowed_calling_aes``, or
(with ``require_called_ae``) addressed to another called AE title, must be
refused with the A-ASSOCIATE-RJ of PS3.8 9.3.4 / Table 9-21: result 1
(rejected-permanent), source 1 (DICOM UL service-user), reason 3 (calling
AE title not recognized) or 7 (called AE title not recognized). Checked
with a bare pynetdicom AE (the raw PDU fields), with the project's own SCU,
and with DCMTK's echoscu. Allowed peers print a film whose density is the
PS3.14 value of its pixels.
"""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from dcmtk_peer import requires_dcmtk
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification
from scp_harness import running_printer
from test_scp_feat_support import (
    DENSITY_TOLERANCE_OD,
    SUCCESS,
    TIMEOUT_S,
    centre_density,
    density_map,
    expected_od,
    new_film_box,
    new_session,
    print_film_box,
    printed_films,
    rects,
    uniform,
)

from print_scp.profile import ProfileError, profile_from_dict
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation, PrintAssociationError
from print_scu.image_box_requests import grayscale_image_box

ECHOSCU = Path("/usr/bin/echoscu")
REJECTED_PERMANENT, SERVICE_USER = 1, 1
CALLING_AE_NOT_RECOGNIZED, CALLED_AE_NOT_RECOGNIZED = 3, 7
P_VALUE = 128  # of the uniform 8-bit image printed on each test film


def address_of(server, calling_ae: str = "TEST_SCU", called_ae: str | None = None,
               **fields) -> PrinterAddress:
    """Where ``server`` (running_printer) listens, with this test module's bounded timeouts."""
    return PrinterAddress("127.0.0.1", server.port, called_ae or server.profile.ae_title,
                          calling_ae=calling_ae, acse_timeout_s=10, dimse_timeout_s=TIMEOUT_S,
                          network_timeout_s=TIMEOUT_S, **fields)


def print_one_film(address: PrinterAddress, value: int = P_VALUE) -> None:
    """One STANDARD\\1,1 8INX10IN film of a uniform image of P-Value ``value``."""
    with PrintAssociation(address, presentation_lut=False, annotation=False) as assoc:
        refs = new_film_box(assoc, new_session(assoc), "STANDARD\\1,1")
        status = assoc.set_image_box(refs.image_box_uids[0],
                                     grayscale_image_box(1, uniform(value), 8))
        assert status == SUCCESS, str(assoc.last_result)
        print_film_box(assoc, refs)


def assert_films_printed(output_dir: Path, count: int, value: int = P_VALUE) -> list[dict]:
    """``count`` films rendered, each showing the PS3.14 density of ``value``."""
    films = printed_films(output_dir, count)
    for film in films:
        density, _dpi = density_map(output_dir, film)
        measured = centre_density(density, rects(film)[1])
        assert measured == pytest.approx(float(expected_od(value)), abs=DENSITY_TOLERANCE_OD)
    return films


def association_answer(port: int, calling_ae: str, called_ae: str) -> tuple:
    """(established, result, source, reason) of a bare pynetdicom A-ASSOCIATE-RQ."""
    ae = AE(ae_title=calling_ae)
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.network_timeout = ae.connection_timeout = 10
    answers = []
    assoc = ae.associate("127.0.0.1", port, ae_title=called_ae, evt_handlers=[
        (evt.EVT_ACSE_RECV, lambda event: answers.append(event.primitive))])
    established = assoc.is_established
    if established:
        assoc.release()
    answer = answers[0]  # the A-ASSOCIATE response (an A-RELEASE response may follow)
    return established, answer.result, answer.result_source, answer.diagnostic


def rejection_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "print_scp.server" and r.levelno >= logging.INFO
            and "rejected" in r.getMessage()]


# -- profile ------------------------------------------------------------------------------

def test_access_section_is_read_from_the_profile() -> None:
    profile = profile_from_dict({"access": {"allowed_calling_aes": ["CT1", "MR_2"],
                                            "require_called_ae": True}})
    assert profile.allowed_calling_aes == ("CT1", "MR_2")
    assert profile.require_called_ae is True
    default = profile_from_dict({})
    assert default.allowed_calling_aes == () and default.require_called_ae is False


@pytest.mark.parametrize("access, key", [
    ({"allowed_calling_aes": ["A_TITLE_OF_17_CHAR"]}, "allowed_calling_aes"),
    ({"allowed_calling_aes": ["BACK\\SLASH"]}, "allowed_calling_aes"),
    ({"allowed_calling_aes": ["   "]}, "allowed_calling_aes"),
    ({"allowed_calling_aes": ["NEW\nLINE"]}, "allowed_calling_aes"),
    ({"allowed_calling_aes": "CT1"}, "allowed_calling_aes"),
    ({"allowed_calling_aes": [1]}, "allowed_calling_aes"),
    ({"require_called_ae": "yes"}, "require_called_ae"),
    ({"allowed_callers": ["CT1"]}, "allowed_callers"),
])
def test_bad_access_settings_are_refused_naming_the_key(access: dict, key: str) -> None:
    with pytest.raises(ProfileError, match=key):
        profile_from_dict({"access": access})


# -- calling AE title ---------------------------------------------------------------------

def test_unlisted_calling_ae_is_rejected_permanently_reason_3(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="print_scp.server")
    with running_printer(tmp_path, allowed_calling_aes=("CT_ROOM_1", "TEST_SCU")) as server:
        answer = association_answer(server.port, "INTRUDER", server.profile.ae_title)
        assert answer == (False, REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNIZED)
        with pytest.raises(PrintAssociationError, match="Calling AE title not recognised"):
            print_one_film(address_of(server, calling_ae="INTRUDER2"))
    lines = rejection_lines(caplog)
    assert len(lines) == 2, lines
    assert "'INTRUDER'" in lines[0] and "127.0.0.1:" in lines[0]
    assert "Calling AE title not recognised" in lines[0]
    assert "'INTRUDER2'" in lines[1]
    assert not list(tmp_path.glob("*.json"))


def test_allowed_calling_ae_prints_a_film(tmp_path: Path) -> None:
    with running_printer(tmp_path, allowed_calling_aes=("CT_ROOM_1", "TEST_SCU")) as server:
        assert association_answer(server.port, "CT_ROOM_1", "FILMBOX")[0] is True
        print_one_film(address_of(server, calling_ae="TEST_SCU"))
        [film] = assert_films_printed(tmp_path, 1)
    assert film["association"]["calling_ae"] == "TEST_SCU"


def test_calling_ae_titles_match_exactly_but_for_padding(tmp_path: Path) -> None:
    """AE titles are compared as sent, without their trailing space padding."""
    with running_printer(tmp_path, allowed_calling_aes=("CT_ROOM_1",)) as server:
        assert association_answer(server.port, "CT_ROOM_1  ", "FILMBOX")[0] is True
        assert association_answer(server.port, "ct_room_1", "FILMBOX")[1:] == (
            REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNIZED)
        assert association_answer(server.port, "CT_ROOM_10", "FILMBOX")[1:] == (
            REJECTED_PERMANENT, SERVICE_USER, CALLING_AE_NOT_RECOGNIZED)


def test_without_an_allow_list_anyone_may_print(tmp_path: Path) -> None:
    with running_printer(tmp_path) as server:
        assert association_answer(server.port, "ANYBODY", "ANY_CALLED_AE")[0] is True
        print_one_film(address_of(server, calling_ae="WHOEVER", called_ae="NOT_FILMBOX"))
        assert_films_printed(tmp_path, 1)


# -- called AE title ----------------------------------------------------------------------

def test_wrong_called_ae_is_rejected_permanently_reason_7(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="print_scp.server")
    with running_printer(tmp_path, require_called_ae=True) as server:
        answer = association_answer(server.port, "TEST_SCU", "OTHER_PRINTER")
        assert answer == (False, REJECTED_PERMANENT, SERVICE_USER, CALLED_AE_NOT_RECOGNIZED)
        with pytest.raises(PrintAssociationError, match="Called AE title not recognised"):
            print_one_film(address_of(server, called_ae="OTHER_PRINTER"))
        print_one_film(address_of(server))  # the printer's own AE title
        assert_films_printed(tmp_path, 1)
    lines = rejection_lines(caplog)
    assert len(lines) == 2 and all("'OTHER_PRINTER'" in line for line in lines), lines
    assert "Called AE title not recognised" in lines[0]


# -- DCMTK --------------------------------------------------------------------------------

def _echoscu(port: int, calling_ae: str, called_ae: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ECHOSCU), "-aet", calling_ae, "-aec", called_ae, "-to", "10", "-ta", "10",
         "127.0.0.1", str(port)], capture_output=True, text=True, timeout=TIMEOUT_S)


@requires_dcmtk
def test_dcmtk_echoscu_sees_the_standard_rejections(tmp_path: Path) -> None:
    with running_printer(tmp_path, allowed_calling_aes=("DCMTK_OK",),
                         require_called_ae=True) as server:
        refused = _echoscu(server.port, "DCMTK_BAD", "FILMBOX")
        wrong_called = _echoscu(server.port, "DCMTK_OK", "NOT_FILMBOX")
        allowed = _echoscu(server.port, "DCMTK_OK", "FILMBOX")
    assert refused.returncode != 0
    assert "Rejected Permanent, Source: Service User" in refused.stderr
    assert "Calling AE Title Not Recognized" in refused.stderr
    assert wrong_called.returncode != 0
    assert "Called AE Title Not Recognized" in wrong_called.stderr
    assert allowed.returncode == 0, allowed.stderr

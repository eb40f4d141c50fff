"""Strings from the network never reach a path, a shell or a PDF unescaped.

Hostile values (path traversal, absolute paths, NUL, CR/LF, PDF syntax,
backslashes, non-ASCII with and without Specific Character Set, 10 000
characters) are sent as Film Session Label, Owner ID, Film Box Configuration
Information, Annotation Box Text String, calling AE title and SCU-chosen SOP
Instance UIDs. What must hold:

* every file the printer writes is in its output directory, under a name it
  generated (time, calling AE made safe, job token, film number); nothing
  appears beside the output directory or where a path in a value points;
* the JSON holds each accepted string exactly as sent;
* the PDF still parses (poppler's pdfinfo) and its Subject shows the label
  as sent (the writer stores document information as UTF-16 hex strings);
* values the standard does not allow are refused with the status that says
  so: 0x0106 for over-long text, 0x0117 for a SOP Instance UID that is not a
  UID; the association stays usable.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import warnings
from pathlib import Path

import pytest
from pydicom.dataset import Dataset
from pydicom.tag import Tag
from pynetdicom import AE
from pynetdicom.sop_class import (
    BasicFilmBox,
    BasicFilmSession,
    BasicGrayscalePrintManagementMeta,
    PresentationLUT,
)
from scp_harness import running_printer
from test_scp_access import address_of
from test_scp_feat_support import (
    SUCCESS,
    TIMEOUT_S,
    dataset,
    new_film_box,
    printed_films,
    uniform,
)

from print_scu.association import PrintAssociation
from print_scu.image_box_requests import grayscale_image_box

PDFINFO = shutil.which("pdfinfo")
requires_pdfinfo = pytest.mark.skipif(PDFINFO is None, reason="pdfinfo (poppler-utils) missing")

INVALID_ATTRIBUTE_VALUE = 0x0106
INVALID_OBJECT_INSTANCE = 0x0117
PRINT_JOB_DONE = 3  # Event Type ID of Print Job N-EVENT-REPORT "Done" (PS3.4 H.4.5.1.1)
FILM_SESSION_LABEL = Tag(0x2000, 0x0050)
LO_MAX, SH_MAX = 64, 16  # characters of Film Session Label / Text String (LO), Owner ID (SH)
# What print_scp.service.printing names films: YYYYMMDD-HHMMSS-<calling AE made safe>-<8 hex>-<NN>.
FILM_FILE = re.compile(r"\d{8}-\d{6}-[A-Za-z0-9_-]{1,16}-[0-9a-f]{8}(-\d{2}"
                       r"(\.pdf|\.png|\.density\.png|\.json)|\.pdf)")  # a film's, or its job's
UNIQUE = secrets.token_hex(4)  # marks the paths this module names, to look for them afterwards

HOSTILE = {
    "traversal": "../../etc/passwd",
    "unique traversal": f"../../filmbox-hostile-{UNIQUE}/x",
    "absolute": f"/tmp/filmbox-hostile-{UNIQUE}",
    "nul": "before\x00after",
    "cr lf": "first\r\nSubject: forged",
    "pdf syntax": ") Tj (x) Tj ET << /JS (alert) >> %%EOF",
    "backslashes": "C:\\films\\today\\",
    "non-ascii": "Grüße, Ωμέγα, 日本語",
    "shell": "$(touch /tmp/filmbox-hostile-" + UNIQUE + ")`id`;|&",
}
CALLING_AE = "../../etc/pass"  # a valid AE title (no backslash, no control character)


JOB_RECORD = re.compile(r"[0-9]+(\.[0-9]+)*\.json")


def _paths_named_by_this_module() -> list[Path]:
    return list(Path("/tmp").glob(f"filmbox-hostile-{UNIQUE}*"))


def _assert_only_generated_files(tmp_path: Path, output: Path) -> list[Path]:
    """The output directory's regular files all have generated names; nothing beside it."""
    assert sorted(os.listdir(tmp_path)) == [output.name]
    films = []
    for root, directories, files in os.walk(output):
        here = Path(root)
        if here == output:
            assert set(directories) <= {".spool", ".jobs"}, directories
            films = [here / name for name in files]
        elif here == output / ".jobs":  # finished Print Jobs, named by printer-made UIDs
            assert all(JOB_RECORD.fullmatch(name) for name in files), files
        else:
            assert here.is_relative_to(output / ".spool")
    assert films and all(FILM_FILE.fullmatch(path.name) for path in films), films
    assert not (tmp_path.parent / "etc").exists()
    assert not (output.parent.parent / f"filmbox-hostile-{UNIQUE}").exists()
    assert not (Path.cwd().parent.parent / f"filmbox-hostile-{UNIQUE}").exists()
    assert _paths_named_by_this_module() == []
    return films


def _pdf_subject(pdf: Path) -> bytes:
    """The PDF's Subject as pdfinfo prints it (UTF-8); fails if the PDF does not parse."""
    run = subprocess.run([PDFINFO, "-enc", "UTF-8", str(pdf)], capture_output=True,
                         timeout=TIMEOUT_S)
    assert run.returncode == 0 and not run.stderr, run.stderr
    assert re.search(rb"^Pages: +1$", run.stdout, re.MULTILINE), run.stdout
    match = re.search(rb"^Subject: +(.*?)\nKeywords:", run.stdout, re.MULTILINE | re.DOTALL)
    assert match, run.stdout
    return match.group(1)


def _print_labelled_film(server, label: str | bytes, *, character_set: str | None) -> None:
    """A one-image film whose text attributes all carry ``label``.

    A ``bytes`` label goes on the wire as it is (Film Session Label only).
    """
    session = Dataset()
    session.NumberOfCopies = 1
    if character_set:
        session.SpecificCharacterSet = character_set
    if isinstance(label, bytes):
        session.add_new(FILM_SESSION_LABEL, "LO", label)
        text = None
    else:
        session.FilmSessionLabel = label
        session.OwnerID = label[:SH_MAX]
        text = label
    with PrintAssociation(address_of(server, calling_ae=CALLING_AE),
                          presentation_lut=False) as assoc:
        status, session_uid = assoc.create_film_session(session)
        assert status == SUCCESS, str(assoc.last_result)
        box_text = {} if text is None else {"ConfigurationInformation": text}
        if character_set:
            box_text["SpecificCharacterSet"] = character_set
        refs = new_film_box(assoc, session_uid, "STANDARD\\1,1",
                            AnnotationDisplayFormatID="LABEL", **box_text)
        if text is not None:
            annotation = dataset(AnnotationPosition=1, TextString=text)
            if character_set:
                annotation.SpecificCharacterSet = character_set
            status = assoc.set_annotation_box(refs.annotation_boxes[0], annotation)
            assert status == SUCCESS, str(assoc.last_result)
        status = assoc.set_image_box(refs.image_box_uids[0],
                                     grayscale_image_box(1, uniform(100), 8))
        assert status == SUCCESS, str(assoc.last_result)
        status, _ = assoc.print_film_box(refs.film_box_uid)
        assert status == SUCCESS, str(assoc.last_result)


@requires_pdfinfo
@pytest.mark.parametrize("name", list(HOSTILE))
# pydicom measures SH in bytes, not characters: a 16-character UTF-8 Owner ID is fine.
@pytest.mark.filterwarnings("ignore:The value length:UserWarning")
def test_hostile_text_is_kept_exactly_and_written_nowhere(tmp_path: Path, name: str) -> None:
    label = HOSTILE[name]
    output = tmp_path / "out"
    character_set = "ISO_IR 192" if not label.isascii() else None
    with running_printer(output) as server:
        _print_labelled_film(server, label, character_set=character_set)
        [film] = printed_films(output, 1)
    files = _assert_only_generated_files(tmp_path, output)
    job_document = f"{film['name'][:-3]}.pdf"
    assert {path.name for path in files} == {job_document} | {
        f"{film['name']}{suffix}" for suffix in (".pdf", ".png", ".density.png", ".json")}
    assert film["association"]["calling_ae"] == CALLING_AE
    assert film["film_session"]["in_force"]["film_session_label"] == label
    # Leading and trailing spaces of SH and LO values are not significant (PS3.5 6.2).
    assert film["film_session"]["in_force"]["owner_id"] == label[:SH_MAX].strip(" ")
    assert film["film_box"]["in_force"]["configuration_information"] == label
    assert film["annotation_boxes"][0]["text"] == label
    subject = _pdf_subject(output / film["film"]["files"]["pdf"])
    assert subject == f"{label} from {CALLING_AE}".encode()


@requires_pdfinfo
def test_non_ascii_bytes_without_character_set_arrive_byte_for_byte(tmp_path: Path) -> None:
    """No Specific Character Set: each byte is one character (pydicom reads ISO 8859-1)."""
    raw = "Grüße 日本".encode()
    output = tmp_path / "out"
    with running_printer(output) as server:
        _print_labelled_film(server, raw, character_set=None)
        [film] = printed_films(output, 1)
    _assert_only_generated_files(tmp_path, output)
    label = film["film_session"]["in_force"]["film_session_label"]
    assert label.encode("latin-1") == raw
    assert _pdf_subject(output / film["film"]["files"]["pdf"]) == \
        f"{label} from {CALLING_AE}".encode()


def test_over_long_text_is_refused_and_the_association_goes_on(tmp_path: Path) -> None:
    long_text = "A" * 10_000
    output = tmp_path / "out"
    with running_printer(output) as server, PrintAssociation(
            address_of(server), presentation_lut=False) as assoc, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about the over-long LO it sends
        status, _ = assoc.create_film_session(dataset(FilmSessionLabel=long_text))
        assert status == INVALID_ATTRIBUTE_VALUE
        assert "FilmSessionLabel" in assoc.last_result.error_comment
        assert f"longer than {LO_MAX}" in assoc.last_result.error_comment
        status, session_uid = assoc.create_film_session(dataset(FilmSessionLabel="ok"))
        assert status == SUCCESS, str(assoc.last_result)
        status, _ = assoc.create_film_box(
            dataset(ImageDisplayFormat="STANDARD\\1,1", ConfigurationInformation=long_text),
            film_session_uid=session_uid)
        assert status == INVALID_ATTRIBUTE_VALUE
        assert "ConfigurationInformation" in assoc.last_result.error_comment
        refs = new_film_box(assoc, session_uid, "STANDARD\\1,1",
                            AnnotationDisplayFormatID="LABEL")
        status = assoc.set_annotation_box(
            refs.annotation_boxes[0], dataset(AnnotationPosition=1, TextString=long_text))
        assert status == INVALID_ATTRIBUTE_VALUE
        assert "TextString" in assoc.last_result.error_comment
        assert assoc.set_image_box(refs.image_box_uids[0],
                                   grayscale_image_box(1, uniform(100), 8)) == SUCCESS
        assert assoc.print_film_box(refs.film_box_uid)[0] == SUCCESS
        [film] = printed_films(output, 1)
    assert film["film_session"]["in_force"]["film_session_label"] == "ok"
    assert film["annotation_boxes"][0]["text"] == ""
    _assert_only_generated_files(tmp_path, output)


BAD_UIDS = ["../../etc/passwd", f"/tmp/filmbox-hostile-{UNIQUE}", "1.2.840.10008/../x",
            "1.2.3;rm -rf", "1.2..3"]


@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom: "Invalid value for VR UI"
def test_scu_chosen_uids_that_are_not_uids_are_refused(tmp_path: Path) -> None:
    """Film Session, Film Box and Presentation LUT instance UIDs chosen by the SCU."""
    output = tmp_path / "out"
    meta = BasicGrayscalePrintManagementMeta
    with running_printer(output) as server:
        ae = AE(ae_title="TEST_SCU")
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
        ae.add_requested_context(meta)
        ae.add_requested_context(PresentationLUT)
        assoc = ae.associate("127.0.0.1", server.port, ae_title="FILMBOX")
        assert assoc.is_established
        try:
            for uid in BAD_UIDS:
                status, _ = assoc.send_n_create(dataset(NumberOfCopies=1), BasicFilmSession,
                                                uid, meta_uid=meta)
                assert status.Status == INVALID_OBJECT_INSTANCE, uid
                status, _ = assoc.send_n_create(dataset(PresentationLUTShape="IDENTITY"),
                                                PresentationLUT, uid)
                assert status.Status == INVALID_OBJECT_INSTANCE, uid
            session_uid = "1.2.826.0.1.3680043.10.1.1"
            status, _ = assoc.send_n_create(dataset(NumberOfCopies=1), BasicFilmSession,
                                            session_uid, meta_uid=meta)
            assert status.Status == SUCCESS
            reference = dataset(ReferencedSOPClassUID=BasicFilmSession,
                                ReferencedSOPInstanceUID=session_uid)
            for uid in BAD_UIDS:
                box = dataset(ImageDisplayFormat="STANDARD\\1,1",
                              ReferencedFilmSessionSequence=[reference])
                status, _ = assoc.send_n_create(box, BasicFilmBox, uid, meta_uid=meta)
                assert status.Status == INVALID_OBJECT_INSTANCE, uid
        finally:
            assoc.release()
    assert os.listdir(tmp_path) == ["out"]
    assert sorted(p.name for p in output.iterdir()) == [".jobs", ".spool"]
    assert list((output / ".jobs").iterdir()) == []  # no job was made
    assert _paths_named_by_this_module() == []


def test_replies_and_events_echo_non_ascii_text_intact(tmp_path: Path) -> None:
    """Replies and Print Job events that echo a label declare their character set.

    Without it pydicom sends each non-ASCII character as "?" (and warns: an
    error here, so a printer thread writing "?" fails the operation instead).
    """
    label = HOSTILE["non-ascii"]
    meta = BasicGrayscalePrintManagementMeta
    with running_printer(tmp_path) as server, warnings.catch_warnings():
        warnings.simplefilter("error")
        ae = AE(ae_title="TEST_SCU")
        ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
        ae.add_requested_context(meta)
        assoc = ae.associate("127.0.0.1", server.port, ae_title="FILMBOX")
        try:
            status, reply = assoc.send_n_create(
                dataset(SpecificCharacterSet="ISO_IR 192", FilmSessionLabel=label),
                BasicFilmSession, "1.2.826.0.1.3680043.10.1.2", meta_uid=meta)
        finally:
            assoc.release()
        assert status.Status == SUCCESS
        assert reply.FilmSessionLabel == label

        with PrintAssociation(address_of(server), presentation_lut=False,
                              annotation=False) as scu:
            status, session_uid = scu.create_film_session(
                dataset(SpecificCharacterSet="ISO_IR 192", FilmSessionLabel=label))
            assert status == SUCCESS, str(scu.last_result)
            refs = new_film_box(scu, session_uid, "STANDARD\\1,1")
            assert scu.set_image_box(refs.image_box_uids[0],
                                     grayscale_image_box(1, uniform(100), 8)) == SUCCESS
            assert scu.print_film_box(refs.film_box_uid)[0] == SUCCESS
            done = scu.events.wait_for(lambda e: e.event_type_id == PRINT_JOB_DONE, TIMEOUT_S)
    assert done is not None
    assert done.event_information.FilmSessionLabel == label

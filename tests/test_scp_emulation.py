"""Emulated real printers (print_scp/emulated): their profiles, the matrix they publish,
and DCMTK's dcmpsprt + dcmprscu printing to each of them.

Expected values are read from the profile files with tomllib here, not through the
profile loader, so a loader that dropped or converted a value wrongly fails.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from dcmtk_peer import dcmtk_available, print_with_dcmtk, write_grayscale_image
from scp_harness import running_printer
from test_scp_feat_printer_info import _configuration
from test_scp_feat_support import SUCCESS, connect, dataset, printed_films, rects

from print_scp.emulated import emulated_printers, emulated_profile
from print_scp.profile import ProfileError

REPOSITORY = Path(__file__).resolve().parents[1]
NAMES = ["agfa-drystar-5302", "carestream-dryview-5950", "fujifilm-drypix-7000",
         "konica-minolta-drypro-832", "sony-up-df550", "codonics-horizon"]
CANDIDATE_SIZES = ["8INX10IN", "10INX12IN", "10INX14IN", "11INX14IN", "14INX14IN", "14INX17IN",
                   "A4", "24CMX30CM"]
RENDER_DPI = 25  # the geometry is in mm; rendering at the printers' 254-508 dpi only costs time
MM_PER_INCH = 25.4
ATTRIBUTE_LIST_ERROR = 0x0107
INVALID_ATTRIBUTE_VALUE = 0x0106

needs_dcmtk = pytest.mark.skipif(not dcmtk_available(),
                                 reason="DCMTK (dcmpsprt, dcmprscu) is not installed")


def published(name: str) -> dict:
    return tomllib.loads(emulated_printers()[name].read_text())


def test_the_six_printers_ship_strict_with_their_sources():
    assert set(NAMES) <= set(emulated_printers())
    for name in NAMES:
        path = emulated_printers()[name]
        assert "Sources:" in path.read_text().split("[printer]")[0], name
        assert (REPOSITORY / "examples" / "printers" / f"{name}.toml").resolve() == path
        profile = emulated_profile(name)
        assert profile.strict
        table = published(name)
        assert set(table["resolution"]["printable_area"]) == set(profile.film_sizes), name
        assert profile.manufacturer == table["printer"]["manufacturer"]


def test_an_unknown_printer_names_the_known_ones():
    with pytest.raises(ProfileError, match="sony-up-df550"):
        emulated_profile("acme-9000")


@pytest.mark.parametrize("name", NAMES)
def test_configuration_retrieval_publishes_the_printers_own_matrix(tmp_path, name):
    table = published(name)
    dpi = table["resolution"]["standard_dpi"]
    with running_printer(tmp_path, emulated_profile(name)) as server:
        item = _configuration(server)
    answered = {
        ds.FilmSizeID: (int(ds.Columns), int(ds.Rows))
        for ds in item.SupportedImageDisplayFormatsSequence
        if ds.ImageDisplayFormat == "STANDARD\\1,1" and ds.FilmOrientation == "PORTRAIT"
        and ds.PrinterResolutionID == "STANDARD"
    }
    assert set(answered) == set(table["resolution"]["printable_area"])
    for size, (columns, rows) in table["resolution"]["printable_area"].items():
        got_columns, got_rows = answered[size]
        assert abs(got_columns - columns) <= 1 and abs(got_rows - rows) <= 1, (size, dpi)


def test_an_unsupported_optional_attribute_is_ignored_with_0107(tmp_path):
    # The DRYPRO 832 takes no Film Session Label ([capabilities] unsupported_attributes)
    with running_printer(tmp_path, emulated_profile("konica-minolta-drypro-832")) as server:
        with connect(server) as assoc:
            status, _ = assoc.create_film_session(
                dataset(NumberOfCopies=1, FilmSessionLabel="CHEST", MediumType="BLUE FILM"))
            assert status == ATTRIBUTE_LIST_ERROR
            assert "FilmSessionLabel" in assoc.last_result.error_comment


@needs_dcmtk
@pytest.mark.parametrize("name", NAMES)
def test_dcmtk_prints_every_film_size_and_reads_the_identity(tmp_path, name):
    table = published(name)
    identity = table["printer"]
    areas = table["resolution"]["printable_area"]
    source_dpi = table["resolution"]["standard_dpi"]
    image = write_grayscale_image(tmp_path / "image.dcm", np.full((16, 16), 120))
    profile = replace(emulated_profile(name), standard_dpi=RENDER_DPI, high_dpi=RENDER_DPI)
    output = tmp_path / "films"
    with running_printer(output, profile) as server:
        for count, size in enumerate(areas, start=1):
            result = print_with_dcmtk("127.0.0.1", server.port, identity["ae_title"], [image],
                                      tmp_path, display_format="STANDARD\\1,1", film_size=size)
            assert result.succeeded, result.send.log
            assert {r.status for r in result.responses} <= {SUCCESS, ATTRIBUTE_LIST_ERROR}
            log = result.send.log
            for keyword, value in (("Manufacturer", identity["manufacturer"]),
                                   ("ManufacturerModelName", identity["model_name"]),
                                   ("PrinterName", identity["printer_name"])):
                assert f"[{value}]" in log and keyword in log, (keyword, value)
            films = printed_films(output, count)
            [film] = [f for f in films if f["film_box"]["in_force"]["film_size_id"] == size]
            columns, rows = areas[size]
            _, _, width_px, height_px = rects(film)[1]
            assert abs(width_px - columns * RENDER_DPI / source_dpi) <= 1, size
            assert abs(height_px - rows * RENDER_DPI / source_dpi) <= 1, size


@needs_dcmtk
@pytest.mark.parametrize("name", NAMES)
def test_dcmtk_film_size_the_printer_lacks_is_refused(tmp_path, name):
    table = published(name)
    missing = next(size for size in CANDIDATE_SIZES
                   if size not in table["resolution"]["printable_area"])
    image = write_grayscale_image(tmp_path / "image.dcm", np.full((16, 16), 120))
    profile = replace(emulated_profile(name), standard_dpi=RENDER_DPI, high_dpi=RENDER_DPI)
    with running_printer(tmp_path / "films", profile) as server:
        result = print_with_dcmtk("127.0.0.1", server.port, table["printer"]["ae_title"],
                                  [image], tmp_path, display_format="STANDARD\\1,1",
                                  film_size=missing)
    assert not result.succeeded
    # Film Session, Presentation LUT, then the Film Box: refused, and nothing printed
    creates = [r.status for r in result.responses if r.message == "N-CREATE RSP"]
    assert creates[:-1] == [SUCCESS] * (len(creates) - 1)
    assert creates[-1] == INVALID_ATTRIBUTE_VALUE
    assert f"CS [{missing}]" in result.send.log  # the Film Box N-CREATE asked for it
    assert "N-ACTION RSP" not in {r.message for r in result.responses}
    assert not list((tmp_path / "films").glob("*.json"))


def test_a_strict_printer_refuses_a_bin_it_does_not_have(tmp_path):
    # The UP-DF550 delivers to its MAGAZINE only
    with running_printer(tmp_path, emulated_profile("sony-up-df550")) as server:
        with connect(server) as assoc:
            status, _ = assoc.create_film_session(dataset(NumberOfCopies=1,
                                                          FilmDestination="BIN_3"))
            assert status == INVALID_ATTRIBUTE_VALUE
            assert "MAGAZINE" in assoc.last_result.error_comment
            status, _ = assoc.create_film_session(dataset(NumberOfCopies=1,
                                                          FilmDestination="MAGAZINE"))
            assert status == SUCCESS

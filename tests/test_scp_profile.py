"""Printer profiles: loading TOML, refusing bad ones, and a restricted printer at work.

``load_profile`` must turn every mistake in a profile into a ProfileError
that names the key (or section) at fault. A restricted grayscale dry imager
(STANDARD formats only, 8-bit, no color) must refuse what it cannot print:
the color meta SOP class at association time, other formats with 0x0106.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pynetdicom import AE
from pynetdicom.sop_class import (
    BasicColorPrintManagementMeta,
    BasicGrayscalePrintManagementMeta,
    PrinterConfigurationRetrieval,
)
from scp_harness import running_printer
from test_scp_bad_input import (
    TIMEOUT_S,
    assert_status,
    connect,
    dataset,
    last_reply,
    print_session,
)

from film.annotation_format import AnnotationBoxGeometry, AnnotationFormat, Edge, TextAlign
from print_scp.profile import PrinterProfile, ProfileError, load_profile, profile_from_dict
from print_scp.server import PrintServer
from print_scu.association import PrintAssociationError
from print_scu.image_box_requests import grayscale_image_box

DRY_IMAGER = """\
[printer]
ae_title = "DRYIMAGER"
printer_name = "DRY 8"
strict = true

[capabilities]
color = false
bits_12 = false
annotation = false
film_sizes = ["8INX10IN", "14INX17IN"]
media = ["BLUE FILM", "CLEAR FILM"]
display_formats = ["STANDARD"]
max_standard_columns = 4
max_standard_rows = 5
magnification_types = ["REPLICATE", "BILINEAR"]

[capabilities.annotation_formats]

[density]
density_range = [0.15, 3.10]

[resolution]
standard_dpi = 100
high_dpi = 100

[defaults]
default_film_size = "8INX10IN"

[limits]
queue_capacity = 20
max_image_rows = 2048
max_image_columns = 2048

[network]
max_pdu_bytes = 16384
"""


def write_profile(directory: Path, text: str) -> Path:
    path = directory / "printer.toml"
    path.write_text(text)
    return path


# --------------------------------------------------------------------------
# load_profile
# --------------------------------------------------------------------------


def test_dry_imager_profile_loads_with_its_values(tmp_path):
    profile = load_profile(write_profile(tmp_path, DRY_IMAGER))
    assert (profile.ae_title, profile.printer_name, profile.strict) == ("DRYIMAGER", "DRY 8", True)
    assert (profile.color, profile.bits_12, profile.annotation) == (False, False, False)
    assert profile.film_sizes == ("8INX10IN", "14INX17IN")
    assert profile.display_formats == ("STANDARD",)
    assert profile.annotation_formats == {}
    assert profile.density_range == (0.15, 3.10)
    assert profile.density_range_hundredths == (15, 310)
    assert (profile.standard_dpi, profile.max_image_rows) == (100, 2048)
    assert profile.max_pdu_bytes == 16384
    assert PrinterProfile().max_pdu_bytes == 1024 * 1024
    assert profile.port == PrinterProfile().port, "keys left out keep their defaults"


def test_annotation_formats_with_their_geometry(tmp_path):
    profile = load_profile(write_profile(tmp_path, """
[capabilities.annotation_formats]
LABEL = 2
[capabilities.annotation_formats.HEADER]
line_height_mm = 6
boxes = [
  { edge = "top", align = "center" },
  { edge = "bottom", line = 1, x = 0.5, width = 0.5, align = "right" },
]
"""))
    assert profile.annotation_formats["LABEL"] == AnnotationFormat.strip(2)
    header = profile.annotation_formats["HEADER"]
    assert header.line_height_mm == 6.0
    assert header.boxes == (
        AnnotationBoxGeometry(edge=Edge.TOP, align=TextAlign.CENTER),
        AnnotationBoxGeometry(edge=Edge.BOTTOM, line=1, x=0.5, width=0.5, align=TextAlign.RIGHT))


def test_no_profile_is_the_built_in_virtual_printer():
    assert load_profile(None) == PrinterProfile()


def test_unknown_section_is_named(tmp_path):
    with pytest.raises(ProfileError, match=r"\[colour\]"):
        load_profile(write_profile(tmp_path, "[colour]\nenabled = true\n"))


def test_unknown_key_is_named_with_its_section(tmp_path):
    with pytest.raises(ProfileError, match=r"'colour'.*\[capabilities\]"):
        load_profile(write_profile(tmp_path, "[capabilities]\ncolour = true\n"))


def test_the_old_spelling_after_seconds_is_read_with_a_warning(tmp_path):
    path = write_profile(tmp_path, '[[script]]\nstatus = "WARNING"\nafter_seconds = 2.5\n')
    with pytest.warns(FutureWarning, match=r"after_seconds is deprecated, use after_s"):
        profile = load_profile(path)
    assert [(e.status, e.after_s, e.after_films) for e in profile.script] == [
        ("WARNING", 2.5, None)]


def test_after_seconds_and_after_s_together_are_an_error(tmp_path):
    path = write_profile(tmp_path, '[[script]]\nstatus = "WARNING"\nafter_seconds = 1\n'
                                   'after_s = 2\n')
    with pytest.raises(ProfileError, match="after_seconds is the old spelling of after_s"):
        load_profile(path)


def test_invalid_toml_is_a_profile_error(tmp_path):
    with pytest.raises(ProfileError, match="not valid TOML"):
        load_profile(write_profile(tmp_path, "[printer\nport = 1\n"))


def test_missing_file_is_a_profile_error_naming_it(tmp_path):
    with pytest.raises(ProfileError, match="nowhere.toml"):
        load_profile(tmp_path / "nowhere.toml")


BAD_VALUES = [
    # (TOML, the key the error must name)
    ('[printer]\nport = 70000', "port"),
    ('[printer]\nae_title = ""', "ae_title"),
    ('[printer]\nae_title = "SEVENTEEN_CHARS_X"', "ae_title"),
    ('[capabilities]\nfilm_sizes = ["99INX99IN"]', "film_sizes"),
    ('[capabilities]\nmedia = ["GLASS"]', "media"),
    ('[capabilities]\ndisplay_formats = ["DIAGONAL"]', "display_formats"),
    ('[capabilities]\nmagnification_types = ["SINC"]', "magnification_types"),
    ('[capabilities.custom_layouts]\n1 = [[0.0, 0.0, 2.0, 1.0]]', "custom_layouts"),
    ('[capabilities.custom_layouts]\nfirst = [[0.0, 0.0, 1.0, 1.0]]', "custom_layouts"),
    ('[capabilities.annotation_formats]\nLABEL = "two"', "annotation_formats"),
    ('[capabilities.annotation_formats.TOP]\nboxes = [{edge = "left"}]', "annotation_formats.TOP"),
    ('[capabilities.annotation_formats.TOP]\nboxes = [{x = 0.8, width = 0.5}]',
     "annotation_formats.TOP"),
    ('[capabilities.annotation_formats.TOP]\nboxes = []\nheight = 3', "annotation_formats.TOP"),
    ('[capabilities]\nannotation_fonts = ["no-such-font.ttf"]', "annotation_fonts"),
    ('[density]\ndensity_range = [3.0, 1.0]', "density_range"),
    ('[density]\ndensity_range = [0.1, 7.0]', "density_range"),
    ('[density]\ndensity_range = [0.1, 2.0, 3.0]', "density_range"),
    ('[density]\ndefault_min_density = 0.05', "default_min_density"),
    ('[density]\nillumination = -1.0', "illumination"),
    ('[density]\ndefault_border_density = "GREY"', "default_border_density"),
    ('[resolution]\nstandard_dpi = 0', "standard_dpi"),
    ('[resolution]\nhigh_dpi = 5000', "high_dpi"),
    ('[capabilities]\nfilm_sizes = ["A4"]\n[defaults]\ndefault_film_size = "A3"',
     "default_film_size"),
    ('[capabilities]\nmedia = ["BLUE FILM"]\n[defaults]\ndefault_medium = "PAPER"',
     "default_medium"),
    ('[defaults]\ndefault_magnification = "SINC"', "default_magnification"),
    ('[defaults]\ndefault_orientation = "DIAGONAL"', "default_orientation"),
    ('[defaults]\ndefault_priority = "URGENT"', "default_priority"),
    ('[defaults]\ndefault_destination = "BIN_X"', "default_destination"),
    ('[limits]\nqueue_capacity = 0', "queue_capacity"),
    ('[limits]\nmax_image_rows = 0', "max_image_rows"),
    ('[network]\nmax_pdu_bytes = 4095', "max_pdu_bytes"),
    ('[network]\nmax_pdu_bytes = 2097152', "max_pdu_bytes"),
    ('[[script]]\nstatus = "BROKEN"\nafter_films = 1', "status"),
    ('[[script]]\nstatus = "FAILURE"\nafter_films = 1\nafter_s = 2.0', "after_films"),
    ('[[script]]\nstatus = "FAILURE"\nafter_jobs = 1', "after_jobs"),
    # values of the wrong TOML type
    ('[printer]\nstrict = "yes"', "strict"),
    ('[printer]\nport = "10400"', "port"),
    ('[capabilities]\ncolor = 1', "color"),
    ('[capabilities]\nfilm_sizes = "A4"', "film_sizes"),
    ('[density]\ndensity_range = "dark"', "density_range"),
    ('[resolution]\nstandard_dpi = 99.5', "standard_dpi"),
    ('[network]\nmax_pdu_bytes = "16k"', "max_pdu_bytes"),
    ('[[script]]\nstatus = "FAILURE"\nafter_films = "one"', "after_films"),
    ('printer = 5', "printer"),
]


@pytest.mark.parametrize("toml,key", BAD_VALUES, ids=[key for _, key in BAD_VALUES])
def test_bad_value_is_a_profile_error_naming_the_key(tmp_path, toml, key):
    path = write_profile(tmp_path, toml + "\n")
    with pytest.raises(ProfileError, match=key) as error:
        load_profile(path)
    assert str(path) in str(error.value), "the error says which file"


# --------------------------------------------------------------------------
# A restricted grayscale dry imager at work
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dry_imager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrintServer]:
    directory = tmp_path_factory.mktemp("dry-imager")
    profile = load_profile(write_profile(directory, DRY_IMAGER))
    with running_printer(directory / "films", profile) as server:
        yield server


def test_dry_imager_refuses_the_color_meta_sop_class_at_association(dry_imager):
    ae = AE(ae_title="COLORSCU")
    ae.acse_timeout = ae.dimse_timeout = ae.network_timeout = TIMEOUT_S
    ae.add_requested_context(BasicColorPrintManagementMeta)
    ae.add_requested_context(BasicGrayscalePrintManagementMeta)
    assoc = ae.associate("127.0.0.1", dry_imager.port, ae_title=dry_imager.profile.ae_title)
    try:
        assert assoc.acceptor.maximum_length == 16384  # its [network] max_pdu_bytes
        assert [cx.abstract_syntax for cx in assoc.accepted_contexts] == \
            [BasicGrayscalePrintManagementMeta]
        assert [cx.abstract_syntax for cx in assoc.rejected_contexts] == \
            [BasicColorPrintManagementMeta]
    finally:
        assoc.release()
    with pytest.raises(PrintAssociationError, match="Color Print Management Meta"):
        connect(dry_imager, color=True)


def test_dry_imager_configuration_reports_its_restrictions(dry_imager):
    with connect(dry_imager, configuration_retrieval=True) as scu:
        assert scu.accepts(PrinterConfigurationRetrieval)
        status, reply = scu.get_printer_configuration()
    assert status == 0x0000
    item = reply.PrinterConfigurationSequence[0]
    assert BasicColorPrintManagementMeta not in item.SOPClassesSupported
    assert BasicGrayscalePrintManagementMeta in item.SOPClassesSupported
    assert (item.MemoryBitDepth, item.PrintingBitDepth) == (8, 8)
    assert (item.MinDensity, item.MaxDensity) == (15, 310)
    assert {f.FilmSizeID for f in item.SupportedImageDisplayFormatsSequence} == \
        {"8INX10IN", "14INX17IN"}


@pytest.mark.parametrize("text", ["ROW\\2,1", "COL\\1,2", "SLIDE", "STANDARD\\5,1",
                                  "STANDARD\\1,6"])
def test_dry_imager_refuses_formats_it_cannot_print_with_0106(dry_imager, text):
    with print_session(dry_imager) as session:
        assert_status(session.try_film_box(ImageDisplayFormat=text), 0x0106, "ImageDisplayFormat")
        session.prints_good_film()


@pytest.mark.parametrize("keyword,value", [("FilmSizeID", "14INX14IN"),
                                           ("MagnificationType", "CUBIC")])
def test_dry_imager_refuses_film_box_values_it_lacks_with_0106(dry_imager, keyword, value):
    with print_session(dry_imager) as session:
        reply = session.try_film_box(ImageDisplayFormat="STANDARD\\1,1", **{keyword: value})
        assert_status(reply, 0x0106, keyword)
        session.prints_good_film()


def test_dry_imager_refuses_paper_with_0106(dry_imager):
    with connect(dry_imager) as scu:
        scu.create_film_session(dataset(MediumType="PAPER"))
        assert_status(last_reply(scu), 0x0106, "MediumType")


def test_dry_imager_refuses_12_bit_images_with_0106(dry_imager):
    with print_session(dry_imager) as session:
        refs = session.film_box()
        attrs = grayscale_image_box(1, np.full((8, 8), 4095, np.uint16), 12)
        assert_status(session.set_image(refs.image_box_uids[0], attrs), 0x0106, "BitsStored")
        metadata = session.prints_good_film()
    assert metadata["film_box"]["in_force"]["max_density"] == 300
    assert metadata["film"]["dpi"] == 100


def test_smoothing_tables_add_to_the_built_in_filters() -> None:
    profile = profile_from_dict({"smoothing": {"SHARP": {"radius_mm": 0.1, "amount": 1.5}}})
    filters = profile.smoothing_filters
    assert (filters["SHARP"].radius_mm, filters["SHARP"].amount) == (0.1, 1.5)
    assert (filters["SMOOTH"].amount, filters["MEDIUM"].amount) == (-0.5, 0.0)


@pytest.mark.parametrize(("smoothing", "named"), [
    ({"SHRAP": {"amount": 1.0}}, r"\[smoothing\.SHRAP\]: 'SHRAP' is not in smoothing_types"),
    ({"SHARP": {"amount": 9.0}}, r"\[smoothing\.SHARP\] unsharp mask amount 9\.0 is outside"),
    ({"SHARP": {"radius": 1.0}}, r"unknown key 'radius' in \[smoothing\.SHARP\]"),
    ({"SHARP": 1.0}, r"smoothing must be tables \[smoothing\.TYPE\]"),
])
def test_a_wrong_smoothing_table_is_named(smoothing: dict, named: str) -> None:
    with pytest.raises(ProfileError, match=named):
        profile_from_dict({"smoothing": smoothing})

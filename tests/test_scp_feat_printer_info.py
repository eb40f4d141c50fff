"""Loopback Printer N-GET (PS3.4 H.4.6) and Printer Configuration Retrieval N-GET (H.4.11).

Values are checked against the profile the printer was started with, so a
printer that answered with built-in defaults instead would fail.
"""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from pydicom import config
from pydicom.valuerep import validate_value
from scp_harness import running_printer
from test_scp_feat_support import SUCCESS, connect

ATTRIBUTE_LIST_ERROR = 0x0107
GRAYSCALE_META = "1.2.840.10008.5.1.1.9"
COLOR_META = "1.2.840.10008.5.1.1.18"
PRESENTATION_LUT = "1.2.840.10008.5.1.1.23"
ANNOTATION_BOX = "1.2.840.10008.5.1.1.15"
PRINTER_STATUS, PRINTER_NAME = 0x21100010, 0x21100030
IDENTITY = dict(printer_name="FILMBOX TEST 3", manufacturer="ACME Imaging",
                model_name="Dry 9000", serial_number="SN-77", software_versions="fw 1.2")


def test_printer_n_get_returns_every_attribute_from_the_profile(tmp_path):
    with running_printer(tmp_path, **IDENTITY) as server:
        with connect(server) as assoc:
            status, printer = assoc.get_printer()
    assert status == SUCCESS
    assert printer.PrinterStatus == "NORMAL"
    assert printer.PrinterStatusInfo == "NORMAL"
    assert printer.PrinterName == "FILMBOX TEST 3"
    assert printer.Manufacturer == "ACME Imaging"
    assert printer.ManufacturerModelName == "Dry 9000"
    assert printer.DeviceSerialNumber == "SN-77"
    assert printer.SoftwareVersions == "fw 1.2"
    datetime.strptime(printer.DateOfLastCalibration, "%Y%m%d")  # DA
    datetime.strptime(printer.TimeOfLastCalibration[:6], "%H%M%S")  # TM


def test_printer_n_get_of_selected_attributes_returns_only_those(tmp_path):
    with running_printer(tmp_path, **IDENTITY) as server:
        with connect(server) as assoc:
            status, selected = assoc.get_printer([PRINTER_STATUS, PRINTER_NAME])
            assert status == SUCCESS
            assert sorted(int(tag) for tag in selected.keys()) == [PRINTER_STATUS, PRINTER_NAME]
            assert (selected.PrinterStatus, selected.PrinterName) == ("NORMAL", "FILMBOX TEST 3")
            # An attribute the Printer does not have: warning 0107, the rest answered.
            status, partial = assoc.get_printer([PRINTER_STATUS, 0x00100010])
            assert status == ATTRIBUTE_LIST_ERROR
            assert partial is not None and partial.PrinterStatus == "NORMAL"
            assert "PatientName" not in partial


def test_printer_n_get_follows_status_changes(tmp_path):
    with running_printer(tmp_path) as server:
        with connect(server) as assoc:
            server.printer.set_status("WARNING", "SUPPLY LOW")
            _, printer = assoc.get_printer([PRINTER_STATUS, 0x21100020])
            assert (printer.PrinterStatus, printer.PrinterStatusInfo) == ("WARNING", "SUPPLY LOW")


def _configuration(server):
    with connect(server, configuration_retrieval=True) as assoc:
        status, reply = assoc.get_printer_configuration()
    assert status == SUCCESS
    [item] = reply.PrinterConfigurationSequence
    return item


MM_PER_INCH = 25.4
MARGIN_MM, GAP_MM = 5.0, 2.0  # the printer's layout: margins around, gaps between boxes
PORTRAIT_MM = {"8INX10IN": (203.2, 254.0), "14INX17IN": (355.6, 431.8), "A4": (210.0, 297.0)}


def edge_px(mm: float, dpi: int) -> int:
    """The pixel edge nearest to ``mm`` (halves round up)."""
    return math.floor(mm * dpi / MM_PER_INCH + 0.5)


def expected_matrix(size: str, orientation: str, columns: int, rows: int,
                    dpi: int) -> tuple[int, int]:
    """(Rows, Columns) of the smallest image box of STANDARD\\columns,rows, computed here:
    the film less its margins, less the gaps, shared among the boxes, at ``dpi``."""
    width, height = PORTRAIT_MM[size]
    if orientation == "LANDSCAPE":
        width, height = height, width

    def smallest(extent: float, count: int) -> int:
        cell = (extent - 2 * MARGIN_MM - (count - 1) * GAP_MM) / count
        starts = [MARGIN_MM + i * (cell + GAP_MM) for i in range(count)]
        return min(edge_px(x + cell, dpi) - edge_px(x, dpi) for x in starts)

    return smallest(height, rows), smallest(width, columns)


def test_printer_configuration_describes_the_profile(tmp_path):
    formats = ("STANDARD\\1,1", "STANDARD\\2,3", "STANDARD\\4,5")
    with running_printer(tmp_path, standard_dpi=100, high_dpi=320,
                         density_range=(0.15, 3.40), media=("PAPER", "BLUE FILM"),
                         default_medium="BLUE FILM", film_sizes=tuple(PORTRAIT_MM),
                         default_film_size="14INX17IN", configuration_formats=formats,
                         max_film_boxes_per_session=12) as server:
        item = _configuration(server)
    assert {GRAYSCALE_META, COLOR_META, PRESENTATION_LUT, ANNOTATION_BOX} <= set(
        item.SOPClassesSupported)
    assert item.PrintingBitDepth == 12  # the default profile prints 12-bit images
    assert item.MemoryBitDepth >= item.PrintingBitDepth
    assert item.MaximumMemoryAllocation == 0
    assert item.MaximumCollatedFilms == 12
    assert item.DefaultMagnificationType == "BILINEAR"
    assert set(item.OtherMagnificationTypesAvailable) == {"REPLICATE", "CUBIC", "NONE"}
    assert item.DefaultPrinterResolutionID == "STANDARD"
    # Media: one item per medium and film size, the defaults first, with the density range
    media = [(m.ItemNumber, m.MediumType, m.FilmSizeID, m.MinDensity, m.MaxDensity)
             for m in item.MediaInstalledSequence]
    assert media[0] == (1, "BLUE FILM", "14INX17IN", 15, 340)
    assert sorted(m[1:3] for m in media) == sorted(
        (medium, size) for medium in ("PAPER", "BLUE FILM") for size in PORTRAIT_MM)
    assert [m[0] for m in media] == list(range(1, 7))
    assert {m[3:] for m in media} == {(15, 340)}
    assert len(item.OtherMediaAvailableSequence) == 0
    # Display formats: every format x film size x orientation x resolution, with its matrix
    seen = {}
    for f in item.SupportedImageDisplayFormatsSequence:
        seen[(f.ImageDisplayFormat, f.FilmSizeID, f.FilmOrientation, f.PrinterResolutionID)] = (
            f.Rows, f.Columns, [float(v) for v in f.PrinterPixelSpacing],
            f.RequestedImageSizeFlag)
    assert len(seen) == len(item.SupportedImageDisplayFormatsSequence) == 3 * 3 * 2 * 2
    for (fmt, size, orientation, resolution), found in seen.items():
        dpi = 100 if resolution == "STANDARD" else 320
        columns, rows = (int(n) for n in fmt.split("\\")[1].split(","))
        assert found == (*expected_matrix(size, orientation, columns, rows, dpi),
                         pytest.approx([MM_PER_INCH / dpi] * 2, abs=1e-6), "YES"), (
            fmt, size, orientation, resolution)
    assert seen[("STANDARD\\1,1", "8INX10IN", "PORTRAIT", "STANDARD")][:2] == (
        edge_px(249.0, 100) - edge_px(5.0, 100), edge_px(198.2, 100) - edge_px(5.0, 100))


def test_every_printer_configuration_value_is_valid_for_its_vr(tmp_path):
    with running_printer(tmp_path) as server:
        item = _configuration(server)
    checked = 0
    for element in item.iterall():
        if element.VR != "SQ":
            values = element.value if element.VM > 1 else [element.value]
            for value in values:
                # IS and DS are checked as the strings they are sent as
                text = str(value) if element.VR in ("IS", "DS") else value
                validate_value(element.VR, text, config.RAISE)
                checked += 1
    assert checked > 1000  # every display format item of every film size was looked at


def test_printer_configuration_leaves_out_what_the_profile_disables(tmp_path):
    with running_printer(tmp_path, color=False, presentation_lut=False, bits_12=False) as server:
        item = _configuration(server)
    assert GRAYSCALE_META in item.SOPClassesSupported
    assert COLOR_META not in item.SOPClassesSupported
    assert PRESENTATION_LUT not in item.SOPClassesSupported
    assert item.PrintingBitDepth == 8

"""Loopback Printer N-GET (PS3.4 H.4.6) and Printer Configuration Retrieval N-GET (H.4.11).

Values are checked against the profile the printer was started with, so a
printer that answered with built-in defaults instead would fail.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from scp_harness import running_printer
from test_scp_feat_support import SUCCESS, connect

from print_scp.profile import ALL_FILM_SIZES

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


def test_printer_configuration_describes_the_profile(tmp_path):
    with running_printer(tmp_path, standard_dpi=100, density_range=(0.15, 3.40),
                         media=("BLUE FILM", "PAPER"), default_medium="BLUE FILM") as server:
        item = _configuration(server)
    assert {GRAYSCALE_META, COLOR_META, PRESENTATION_LUT, ANNOTATION_BOX} <= set(
        item.SOPClassesSupported)
    assert (item.MinDensity, item.MaxDensity) == (15, 340)  # hundredths of OD
    assert [m.MediumType for m in item.MediaInstalledSequence] == ["BLUE FILM", "PAPER"]
    assert item.PrintingBitDepth == 12  # the default profile prints 12-bit images
    assert item.MemoryBitDepth >= item.PrintingBitDepth
    assert item.DefaultMagnificationType == "BILINEAR"
    assert set(item.OtherMagnificationTypesAvailable) == {"REPLICATE", "CUBIC", "NONE"}
    formats = item.SupportedImageDisplayFormatsSequence
    assert {(f.FilmSizeID, f.FilmOrientation) for f in formats} == {
        (size, orientation) for size in ALL_FILM_SIZES for orientation in ("PORTRAIT", "LANDSCAPE")}
    for f in formats:
        assert [float(v) for v in f.PrinterPixelSpacing] == pytest.approx([0.254, 0.254])  # 100 dpi
        assert f.ImageDisplayFormat == "STANDARD\\10,10"
        assert (f.Columns, f.Rows) == (10, 10)


def test_printer_configuration_leaves_out_what_the_profile_disables(tmp_path):
    with running_printer(tmp_path, color=False, presentation_lut=False, bits_12=False) as server:
        item = _configuration(server)
    assert GRAYSCALE_META in item.SOPClassesSupported
    assert COLOR_META not in item.SOPClassesSupported
    assert PRESENTATION_LUT not in item.SOPClassesSupported
    assert item.PrintingBitDepth == 8

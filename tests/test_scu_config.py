"""Printer profiles of the print client: TOML loading, validation, round trip."""

import json
import re
from pathlib import Path

import pytest

from print_scu.config import (
    ConfigError,
    PrinterConfig,
    adhoc_printer,
    default_config_path,
    load_printers,
)

PROFILE = """
[printers.dryview]
host = "10.0.0.7"
port = 104
called_ae = "DRYVIEW"
bits = 12
presentation_lut = true
acse_timeout_s = 5               # an integer for a float field
film_sizes = ["14INX17IN", "8INX10IN"]
display_formats = ["STANDARD"]

[printers.dryview.session_defaults]
MediumType = "BLUE FILM"

[printers.dryview.film_box_defaults]
FilmSizeID = "14INX17IN"
MinDensity = 20
BorderDensity = 150
Trim = false

[printers.paper]
host = "printer.example"
port = 11112
called_ae = "PAPER"
color = true
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "printers.toml"
    path.write_text(text)
    return path


def test_load_printers_reads_every_table(tmp_path: Path) -> None:
    printers = load_printers(write(tmp_path, PROFILE))
    assert sorted(printers) == ["dryview", "paper"]
    dry = printers["dryview"]
    assert (dry.name, dry.host, dry.port, dry.called_ae) == ("dryview", "10.0.0.7", 104, "DRYVIEW")
    assert dry.bits == 12 and dry.presentation_lut and not dry.color
    assert dry.acse_timeout_s == 5.0 and isinstance(dry.acse_timeout_s, float)
    assert dry.film_sizes == ("14INX17IN", "8INX10IN")
    assert dry.session_defaults == {"MediumType": "BLUE FILM"}
    # densities and Trim as they go on the wire (CS strings), US numbers kept
    assert dry.film_box_defaults == {"FilmSizeID": "14INX17IN", "MinDensity": 20,
                                     "BorderDensity": "150", "Trim": "NO"}
    paper = printers["paper"]
    assert paper.color and paper.calling_ae == "FILMBOX_SCU" and paper.max_attempts == 20


def test_address_carries_the_network_settings() -> None:
    printer = adhoc_printer("127.0.0.1", 10400, "FILMBOX", calling_ae="ME", max_pdu=16384,
                            implicit_only=True, dimse_timeout_s=7)
    address = printer.address()
    assert (address.host, address.port, address.called_ae, address.calling_ae) == (
        "127.0.0.1", 10400, "FILMBOX", "ME")
    assert address.max_pdu == 16384 and address.implicit_only and address.dimse_timeout_s == 7.0


def test_adhoc_printer_is_named_after_its_address() -> None:
    assert adhoc_printer("10.1.2.3", 104, "LASER").name == "LASER@10.1.2.3:104"


def test_to_dict_from_dict_round_trip_through_json() -> None:
    printer = adhoc_printer("h", 1, "A", film_sizes=("A4",), film_box_defaults={"Trim": True})
    restored = PrinterConfig.from_dict(json.loads(json.dumps(printer.to_dict())))
    assert restored == printer
    assert restored.film_sizes == ("A4",)


def test_missing_default_file_means_no_printers(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FILMBOX_PRINTERS", str(tmp_path / "absent.toml"))
    assert default_config_path() == tmp_path / "absent.toml"
    assert load_printers() == {}


def test_default_path_without_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FILMBOX_PRINTERS", raising=False)
    monkeypatch.setenv("HOME", "/home/someone")
    assert default_config_path() == Path("/home/someone/.config/filmbox/printers.toml")


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="absent.toml: cannot read"):
        load_printers(tmp_path / "absent.toml")


@pytest.mark.parametrize(("table", "expected"), [
    ('port = 70000', r"port: 70000 is outside 1\.\.65535"),
    ('port = "104"', r"port: must be an integer, not '104'"),
    ('bits = 10', r"bits: 10 is not 8 or 12"),
    ('color = 1', r"color: must be true or false, not 1"),
    ('called_ae = "A_TITLE_LONGER_THAN_16"', r"called_ae: .* longer than 16"),
    ('colour = true', r"unknown key 'colour'"),
    ('film_sizes = ["14X17"]', r"film_sizes: '14X17' is not a Film Size ID"),
    ('display_formats = ["GRID"]', r"display_formats: 'GRID' is not an Image Display Format"),
    ('retry_backoff_cap_s = 1.0', r"retry_backoff_cap_s: 1\.0 s is below retry_backoff_s"),
    ('dimse_timeout_s = 0', r"dimse_timeout_s: 0\.0 s must be positive"),
    ('name = "y"', r"name: set by the table name"),
    ('session_defaults = { MediumType = "GREEN FILM" }',
     r"session_defaults\.MediumType: Medium Type \(2000,0030\) 'GREEN FILM'"),
    ('film_box_defaults = { ImageDisplayFormat = "STANDARD\\\\1,1" }',
     r"film_box_defaults\.ImageDisplayFormat: not an attribute a profile may default"),
    ('film_box_defaults = { MaxDensity = -1 }',
     r"film_box_defaults\.MaxDensity: Max Density \(2010,0130\) -1 is outside 0\.\.65535"),
])
def test_errors_name_file_printer_and_key(tmp_path: Path, table: str, expected: str) -> None:
    base = 'host = "h"\nport = 104\ncalled_ae = "A"\n'
    lines = [line for line in base.splitlines() if not line.startswith(table.split(" =")[0])]
    path = write(tmp_path, "[printers.x]\n" + "\n".join([*lines, table]) + "\n")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: printer 'x': {expected}"):
        load_printers(path)


def test_missing_required_key_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, '[printers.x]\nhost = "h"\nport = 104\n')
    with pytest.raises(ConfigError, match=r"printers\.toml: printer 'x': called_ae: missing"):
        load_printers(path)


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[printers.x\n")
    with pytest.raises(ConfigError, match=r"printers\.toml: not valid TOML"):
        load_printers(path)


def test_unknown_top_level_table(tmp_path: Path) -> None:
    path = write(tmp_path, '[printer.x]\nhost = "h"\n')
    with pytest.raises(ConfigError, match=r"unknown top-level key 'printer'"):
        load_printers(path)


def test_old_spellings_of_times_in_seconds_are_read_with_a_warning(tmp_path: Path) -> None:
    old = 'host = "h"\nport = 104\ncalled_ae = "A"\nacse_timeout = 7\nnetwork_timeout = 9\n'
    with pytest.warns(FutureWarning) as warned:
        printer = load_printers(write(tmp_path, f"[printers.x]\n{old}"))["x"]
    assert sorted(str(w.message) for w in warned) == [
        "printer profile key 'acse_timeout' is deprecated, use 'acse_timeout_s'",
        "printer profile key 'network_timeout' is deprecated, use 'network_timeout_s'"]
    assert (printer.acse_timeout_s, printer.network_timeout_s) == (7.0, 9.0)
    assert printer.to_dict()["acse_timeout_s"] == 7.0 and "acse_timeout" not in printer.to_dict()


def test_an_old_and_a_new_spelling_together_are_an_error(tmp_path: Path) -> None:
    both = 'host = "h"\nport = 104\ncalled_ae = "A"\nacse_timeout = 7\nacse_timeout_s = 8\n'
    with pytest.raises(ConfigError, match="acse_timeout: an old spelling of acse_timeout_s"):
        load_printers(write(tmp_path, f"[printers.x]\n{both}"))

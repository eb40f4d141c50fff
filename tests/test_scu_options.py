"""Print options: validation, display formats, frames, and the N-CREATE attribute lists."""

import json

import pytest

from print_scu.config import adhoc_printer
from print_scu.options import OptionError, PrintOptions, frame_indices, parse_display_format
from print_scu.request_attributes import (
    film_box_attributes,
    image_box_attributes,
    p_value_bits,
    prints_color,
    session_attributes,
)


@pytest.mark.parametrize(("text", "expected"), [
    ("2x3", "STANDARD\\2,3"),          # columns x rows
    (" 4 X 5 ", "STANDARD\\4,5"),
    ("STANDARD\\1,1", "STANDARD\\1,1"),
    ("standard\\3, 2", "STANDARD\\3,2"),
    ("ROW\\1,2,3", "ROW\\1,2,3"),
    ("COL\\2,1", "COL\\2,1"),
    ("SLIDE", "SLIDE"),
    ("custom\\ 02", "CUSTOM\\2"),
])
def test_parse_display_format(text: str, expected: str) -> None:
    assert parse_display_format(text) == expected


@pytest.mark.parametrize(("text", "why"), [
    ("0x3", r"count 0 is outside 1\.\.32"),
    ("GRID\\2,2", r"unknown format 'GRID'"),
    ("STANDARD\\2", r"exactly two values"),
    ("CUSTOM\\A", r"CUSTOM\\i needs the printer's layout number"),
])
def test_parse_display_format_errors(text: str, why: str) -> None:
    with pytest.raises(OptionError, match=rf"Image Display Format \(2010,0010\).*{why}"):
        parse_display_format(text)


def test_frame_indices() -> None:
    assert frame_indices(None, 4) == [0, 1, 2, 3]
    assert frame_indices("all", 3) == [0, 1, 2]
    assert frame_indices("1,3-4", 4) == [0, 2, 3]
    assert frame_indices(" 2 - 3 , 1", 4) == [1, 2, 0]  # the order given
    with pytest.raises(OptionError, match=r"frame 5 does not exist, the image has 4 frame"):
        frame_indices("2-5", 4)


@pytest.mark.parametrize(("options", "message"), [
    ({"medium": "GREEN FILM"}, r"^medium: Medium Type \(2000,0030\) 'GREEN FILM' is not one of"),
    ({"priority": "URGENT"}, r"^priority: Print Priority \(2000,0020\) 'URGENT' is not one of"),
    ({"copies": 0}, r"^copies: Number of Copies \(2000,0010\) 0 is outside"),
    ({"film_size": "14X17"}, r"^film_size: Film Size ID \(2010,0050\) '14X17'"),
    ({"destination": "BIN_0"}, r"^destination: Film Destination \(2000,0040\) 'BIN_0'"),
    ({"border_density": "GRAY"}, r"^border_density: Border Density \(2010,0100\) 'GRAY'"),
    ({"polarity": "INVERSE"}, r"^polarity: Polarity \(2020,0020\) 'INVERSE'"),
    ({"window": (40, 0.5)}, r"^window: width 0\.5 must be at least 1"),
    ({"window": (40, 400), "window_preset": "bone"}, r"exclude each other"),
    ({"window_preset": "liver"}, r"^window_preset: 'liver' is not one of lung"),
    ({"bits": 16}, r"^bits: P-Values are 8 or 12 bits"),
    ({"frames": "1,x"}, r"frames '1,x': 'x' is not a frame number"),
    ({"frames": "0"}, r"frames '0': '0' is not an increasing range"),
    ({"annotations": ["a" * 65]}, r"^annotations: Text String \(2030,0020\) .* longer than 64"),
    ({"trim": "yes"}, r"^trim: must be true or false"),
])
def test_invalid_options_name_option_and_attribute(options: dict, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        PrintOptions(**options)


def test_options_are_normalised() -> None:
    options = PrintOptions(display_format="2x2", medium=" BLUE FILM", plut="lin od",
                           window=[40, 400], window_preset=None, border_density=150)
    assert options.display_format == "STANDARD\\2,2"
    assert options.medium == "BLUE FILM"
    assert options.plut == "LIN OD" and options.plut_file is None
    assert options.window == (40.0, 400.0)
    assert options.border_density == "150"
    assert PrintOptions(plut="/tmp/my.lut").plut_file is not None


def test_to_dict_from_dict_round_trip_through_json() -> None:
    options = PrintOptions(film_size="8INX10IN", display_format="3x4", copies=2,
                           priority="HIGH", window=(-600, 1500), annotations=["A", "B"],
                           frames="1-2", trim=True, bits=12)
    restored = PrintOptions.from_dict(json.loads(json.dumps(options.to_dict())))
    assert restored == options
    with pytest.raises(OptionError, match="unknown print option 'colour'"):
        PrintOptions.from_dict({"colour": True})


def test_session_attributes_printer_defaults_then_options() -> None:
    printer = adhoc_printer("h", 104, "A", session_defaults={
        "MediumType": "CLEAR FILM", "FilmDestination": "MAGAZINE", "OwnerID": "RAD"})
    ds = session_attributes(PrintOptions(copies=3, priority="LOW", medium="PAPER"), printer)
    assert ds.NumberOfCopies == 3
    assert ds.PrintPriority == "LOW"
    assert ds.MediumType == "PAPER"  # the option wins
    assert ds.FilmDestination == "MAGAZINE" and ds.OwnerID == "RAD"  # defaults kept
    assert "FilmSessionLabel" not in ds


def test_film_box_attributes_printer_defaults_then_options() -> None:
    printer = adhoc_printer("h", 104, "A", presentation_lut=True, film_box_defaults={
        "FilmSizeID": "14INX17IN", "MagnificationType": "CUBIC", "MinDensity": 20,
        "MaxDensity": 300, "BorderDensity": "BLACK"})
    options = PrintOptions(display_format="2x3", film_size="8INX10IN", orientation="LANDSCAPE",
                           max_density=280, trim=True, empty_density=10, illumination=2000)
    ds = film_box_attributes(options, printer)
    assert ds.ImageDisplayFormat == "STANDARD\\2,3"
    assert ds.FilmSizeID == "8INX10IN" and ds.FilmOrientation == "LANDSCAPE"
    assert ds.MagnificationType == "CUBIC" and ds.BorderDensity == "BLACK"
    assert (ds.MinDensity, ds.MaxDensity) == (20, 280)
    assert ds.Trim == "YES" and ds.EmptyImageDensity == "10" and ds.Illumination == 2000
    assert "AnnotationDisplayFormatID" not in ds and "ReferencedFilmSessionSequence" not in ds


def test_film_box_asks_for_the_annotation_format_when_annotating() -> None:
    printer = adhoc_printer("h", 104, "A", annotation=True, annotation_format_id="PATIENT",
                            annotation_boxes=4)
    ds = film_box_attributes(PrintOptions(annotations=["NAME", "ID"]), printer)
    assert ds.AnnotationDisplayFormatID == "PATIENT"


@pytest.mark.parametrize(("printer", "options", "message"), [
    ({"film_sizes": ("14INX17IN",)}, {"film_size": "8INX10IN"},
     r"film_size: 8INX10IN is not among the film sizes of printer"),
    ({"display_formats": ("STANDARD",)}, {"display_format": "ROW\\1,2"},
     r"display_format: ROW formats are not supported by printer"),
    ({}, {"annotations": ["X"]}, r"not configured for Basic Annotation Box"),
    ({"annotation": True, "annotation_boxes": 1}, {"annotations": ["X", "Y"]},
     r"2 texts, but annotation format 'LABEL' .* has 1 boxes"),
    ({}, {"illumination": 2000}, r"Illumination \(2010,015E\) is only sent to printers"),
    ({}, {"plut": "LIN OD"}, r"plut: printer .* without the Presentation LUT SOP Class"),
    ({}, {"min_density": 300, "max_density": 200},
     r"Min Density \(2010,0120\) 300 must be below Max Density \(2010,0130\) 200"),
    ({"film_box_defaults": {"MinDensity": 250}}, {"max_density": 200},
     r"Min Density \(2010,0120\) 250 must be below Max Density \(2010,0130\) 200"),
])
def test_film_box_refuses_what_the_printer_does_not_support(printer: dict, options: dict,
                                                            message: str) -> None:
    with pytest.raises(OptionError, match=message):
        film_box_attributes(PrintOptions(**options), adhoc_printer("h", 104, "A", **printer))


def test_image_box_attributes() -> None:
    assert image_box_attributes(PrintOptions()) == {"Polarity": "NORMAL"}
    assert image_box_attributes(PrintOptions(polarity="REVERSE", magnification="NONE",
                                             smoothing="SHARP")) == {
        "Polarity": "REVERSE", "MagnificationType": "NONE", "SmoothingType": "SHARP"}


def test_color_and_bits_follow_options_then_printer() -> None:
    gray8 = adhoc_printer("h", 104, "A")
    color12 = adhoc_printer("h", 104, "A", color=True, bits=12)
    assert not prints_color(PrintOptions(), gray8)
    assert prints_color(PrintOptions(), color12)
    assert not prints_color(PrintOptions(color=False), color12)
    with pytest.raises(OptionError, match="not configured for color"):
        prints_color(PrintOptions(color=True), gray8)
    assert p_value_bits(PrintOptions(), gray8) == 8
    assert p_value_bits(PrintOptions(), color12) == 12
    assert p_value_bits(PrintOptions(bits=8), color12) == 8
    with pytest.raises(OptionError, match="takes 8-bit images, not 12"):
        p_value_bits(PrintOptions(bits=12), gray8)


def test_code_strings_in_any_case_are_sent_upper_case() -> None:
    options = PrintOptions(priority="high", medium="blue film", destination="bin_2",
                           smoothing="sharp", orientation="landscape")
    assert (options.priority, options.medium, options.destination) == ("HIGH", "BLUE FILM",
                                                                        "BIN_2")
    assert (options.smoothing, options.orientation) == ("SHARP", "LANDSCAPE")

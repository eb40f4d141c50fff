"""DCMTK as the print SCU: dcmpsprt + dcmprscu print to print-scp.

These films, each sent by DCMTK 3.6.7 as an
independent peer: a STANDARD\\2,2 8-bit film; a 12-bit LANDSCAPE 14INX17IN
STANDARD\\3,2 film with REVERSE polarity and a table Presentation LUT; a film
printed by Film Session N-ACTION; MONOCHROME1 images; Implicit VR Little
Endian only (here with a table Presentation LUT, whose LUT Descriptor and LUT
Data have ambiguous VRs in Implicit VR). Each test asserts that DCMTK got
success for every request, that the film was written as PDF, PNG, density map
and JSON, that the JSON records what DCMTK sent, that the printer logged no
warning, error or traceback, and that every image box printed the density the
standard predicts.

Every input image is uniform, one value per box, so each box has one density.
What DCMTK transmits follows its measured behaviour (tests/dcmtk_peer.py,
tests/test_dcmtk_peer.py): dcmpsprt renders an 8-bit value v into a 12-bit
image as 16·v; dcmprscu sends 16·v to a 12-bit printer and v again to an 8-bit
one; with --monochrome1 it inverts, rounding one step off 255 − v for some v,
so for MONOCHROME1 the sent value is read from dcmprscu's dump of its N-SET.
The printer then (PS3.4 H.2.1.2) inverts MONOCHROME1 and REVERSE values,
x → 2^N − 1 − x, maps the result through the Presentation LUT (IDENTITY: the
value is the P-Value; table: LUT Data[x] is a P-Value of the descriptor's
bits) and prints the density PS3.14 §7 gives for that P-Value under the film's
Min/Max Density, Illumination and Reflected Ambient Light
(lut.density.p_values_to_density, tested against the standard on its own).
P-Value 0 prints exactly Max Density and the highest P-Value exactly Min
Density, whatever the GSDF, so the boxes at both ends pin the scale.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from dcmtk_peer import (
    LOOPBACK,
    DcmtkPrintResult,
    print_with_dcmtk,
    requires_dcmtk,
    write_grayscale_image,
)
from scp_harness import running_printer
from test_scp_feat_support import (
    DENSITY_TOLERANCE_OD,
    centre_density,
    density_map,
    printed_films,
    rects,
)

from lut.density import ViewingConditions, p_values_to_density

pytestmark = requires_dcmtk

DPI = 100  # the test printer's standard resolution
CALLING_AE = "DCMTK_SCU"  # print_with_dcmtk's default Calling AE Title
PRESENTATION_LUT_CLASS = "1.2.840.10008.5.1.1.23"
# dcmpsprt's film box always carries Illumination 2000 cd/m² and Reflected
# Ambient Light 10 cd/m² (asserted in every film's JSON).
ILLUMINATION, AMBIENT = 2000, 10
VIEWING = ViewingConditions(float(ILLUMINATION), float(AMBIENT))
IMAGE_SIDE = 8  # rows and columns of every input image
CENTRE_HALF = 3  # densities are read over the 7 × 7 px at the centre of each box

Rect = tuple[int, int, int, int]


@dataclass
class PrintedFilm:
    """One film DCMTK printed: its run, the film's JSON, density map (OD) and box rectangles."""

    result: DcmtkPrintResult
    metadata: dict
    density: np.ndarray
    boxes: dict[int, Rect]

    def box_densities(self, count: int) -> list[float]:
        """OD at the centre of image boxes 1..``count``."""
        return [centre_density(self.density, self.boxes[position], CENTRE_HALF)
                for position in range(1, count + 1)]


def uniform_images(values: list[int]) -> list[np.ndarray]:
    """One uniform 8-bit image per value."""
    return [np.full((IMAGE_SIDE, IMAGE_SIDE), value) for value in values]


def print_one_film(tmp_path: Path, caplog: pytest.LogCaptureFixture, values: list[int], *,
                   strict: bool = False, **options: object) -> PrintedFilm:
    """Print uniform images of ``values`` with DCMTK to a fresh print-scp; the film it wrote.

    ``strict`` is the printer profile's (deviations refused, not recorded);
    ``options`` go to :func:`print_with_dcmtk`. Asserts that DCMTK succeeded
    with status 0x0000 for every request, that the four files exist, and that
    the printer logged nothing at WARNING or above and no traceback, from the
    association to the rendered film.
    """
    caplog.set_level(logging.INFO, logger="print_scp")
    paths = [write_grayscale_image(tmp_path / f"box{k}.dcm", image)
             for k, image in enumerate(uniform_images(values), start=1)]
    output = tmp_path / "films"
    with running_printer(output, standard_dpi=DPI, strict=strict) as server:
        result = print_with_dcmtk(LOOPBACK, server.port, server.profile.ae_title, paths,
                                  tmp_path, **options)
        assert result.succeeded, result.send.log
        [film] = printed_films(output, 1)
    refused = [response for response in result.responses if response.status != 0x0000]
    assert not refused, f"print-scp answered DCMTK with {refused}"
    _assert_four_files(output, film)
    _assert_clean_log(caplog)
    density, dpi = density_map(output, film)
    assert dpi == DPI
    return PrintedFilm(result, film, density, rects(film))


def _assert_four_files(output: Path, film: dict) -> None:
    files = film["film"]["files"]
    stem = film["name"]
    assert (files["pdf"], files["png"], files["density_png"]) == (
        f"{stem}.pdf", f"{stem}.png", f"{stem}.density.png")
    assert (output / files["pdf"]).read_bytes().startswith(b"%PDF-")
    assert (output / files["png"]).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert (output / files["density_png"]).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert (output / f"{stem}.json").is_file()


def _assert_clean_log(caplog: pytest.LogCaptureFixture) -> None:
    """No record at WARNING or above and no traceback, from any logger or thread."""
    troubles = [f"{r.name} {r.levelname}: {r.getMessage()}" for r in caplog.records
                if r.levelno >= logging.WARNING or r.exc_info]
    assert not troubles, "\n".join(troubles)


def assert_received(metadata: dict, *, display_format: str, film_size: str, orientation: str,
                    min_density: int, max_density: int) -> None:
    """The JSON records the association and the Film Box attributes dcmpsprt puts in every job."""
    assert metadata["association"]["calling_ae"] == CALLING_AE
    assert metadata["association"]["called_ae"] == "FILMBOX"
    received = metadata["film_box"]["received"]
    assert received["ImageDisplayFormat"] == display_format
    assert received["FilmSizeID"] == film_size
    assert received["FilmOrientation"] == orientation
    assert (received["MinDensity"], received["MaxDensity"]) == (min_density, max_density)
    assert (received["Illumination"], received["ReflectedAmbientLight"]) == (ILLUMINATION, AMBIENT)
    assert metadata["warnings"] == [] and metadata["deviations"] == []


def assert_images(metadata: dict, count: int, *, bits_stored: int, photometric: str,
                  polarity: str) -> None:
    """Boxes 1..``count`` received 8 × 8 images of these bits and photometric, at ``polarity``."""
    boxes = metadata["image_boxes"]
    assert [box["position"] for box in boxes[:count]] == list(range(1, count + 1))
    assert all(box["image"] is None for box in boxes[count:])
    for box in boxes[:count]:
        item = box["received"]["BasicGrayscaleImageSequence"][0]
        assert (item["BitsStored"], item["PhotometricInterpretation"]) == (
            bits_stored, photometric)
        assert box["image"] == {"rows": IMAGE_SIDE, "columns": IMAGE_SIDE,
                                "bits_stored": bits_stored, "photometric": photometric,
                                "pixel_aspect_ratio": [1, 1]}
        assert box["polarity"] == polarity
        assert box["received"].get("Polarity", "NORMAL") == polarity


def film_box_lut(metadata: dict) -> dict:
    """The Presentation LUT attributes received for the LUT the film box references."""
    [reference] = metadata["film_box"]["received"]["ReferencedPresentationLUTSequence"]
    assert reference["ReferencedSOPClassUID"] == PRESENTATION_LUT_CLASS
    uid = reference["ReferencedSOPInstanceUID"]
    assert metadata["film_box"]["in_force"]["presentation_lut_uid"] == uid
    return metadata["presentation_luts"][uid]


def sent_pixel_values(send_log: str) -> dict[int, int]:
    """{Image Box Position: first pixel value} of each image box N-SET dcmprscu sent.

    Read from dcmprscu's --debug dump of its outgoing messages, where Pixel
    Data shows as 16-bit words: for 8-bit pixels a word holds two pixels, so a
    uniform image of value m shows m in both bytes.
    """
    sent = {}
    for block in re.findall(r"OUTGOING DIMSE MESSAGE =+\n(.*?)END DIMSE MESSAGE", send_log, re.S):
        if "N-SET RQ" not in block or "(7fe0,0010)" not in block:
            continue
        position = int(re.search(r"\(2020,0010\) US (\d+)", block).group(1))
        bits = int(re.search(r"\(0028,0101\) US (\d+)", block).group(1))
        word = int(re.search(r"\(7fe0,0010\) O[BW] ([0-9a-f]{4})", block).group(1), 16)
        if bits == 8:
            assert word >> 8 == word & 0xFF, f"box {position}: pixel pair {word:04x} not uniform"
            word &= 0xFF
        sent[position] = word
    return sent


def predicted_od(p_values: list[int] | np.ndarray, p_max: int, min_density: int,
                 max_density: int) -> np.ndarray:
    """PS3.14 density (OD) of P-Values 0..p_max; Min/Max Density in hundredths of OD."""
    return p_values_to_density(np.asarray(p_values), p_max, min_density / 100,
                               max_density / 100, VIEWING)


def assert_densities(film: PrintedFilm, expected_od: np.ndarray) -> None:
    """Box k (from 1) printed ``expected_od[k - 1]``."""
    np.testing.assert_allclose(film.box_densities(len(expected_od)), expected_od, rtol=0,
                               atol=DENSITY_TOLERANCE_OD)


# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("strict", [False, True], ids=["lenient", "strict"])
def test_standard_2x2_8bit_film(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                strict: bool) -> None:
    values = [0, 85, 170, 255]
    film = print_one_film(tmp_path, caplog, values, strict=strict,
                          display_format="STANDARD\\2,2",
                          film_size="14INX17IN", orientation="PORTRAIT", bits=8,
                          min_density=20, max_density=300)

    meta = film.metadata
    assert_received(meta, display_format="STANDARD\\2,2", film_size="14INX17IN",
                    orientation="PORTRAIT", min_density=20, max_density=300)
    assert_images(meta, len(values), bits_stored=8, photometric="MONOCHROME2", polarity="NORMAL")
    assert film_box_lut(meta) == {"PresentationLUTShape": "IDENTITY"}  # dcmpsprt's default
    assert (meta["film"]["width_mm"], meta["film"]["height_mm"]) == (355.6, 431.8)
    # DCMTK: v → 16 v in 12 bits → v again for an 8-bit printer.
    assert sent_pixel_values(film.result.send.log) == {1: 0, 2: 85, 3: 170, 4: 255}
    expected = predicted_od(values, 255, 20, 300)
    assert expected[0] == pytest.approx(3.00) and expected[-1] == pytest.approx(0.20)
    assert_densities(film, expected)


def test_12bit_landscape_3x2_reverse_with_table_lut(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    values = [0, 51, 102, 153, 204, 255]
    # A squaring table of 4096 12-bit entries, one per 12-bit value (PS3.3 C.11.4.1).
    table = np.round(4095 * (np.arange(4096) / 4095) ** 2).astype(int)
    film = print_one_film(tmp_path, caplog, values, display_format="STANDARD\\3,2",
                          film_size="14INX17IN", orientation="LANDSCAPE", bits=12,
                          polarity="REVERSE", presentation_lut="table", lut_table=table,
                          lut_bits=12, min_density=15, max_density=320)

    meta = film.metadata
    assert_received(meta, display_format="STANDARD\\3,2", film_size="14INX17IN",
                    orientation="LANDSCAPE", min_density=15, max_density=320)
    assert_images(meta, len(values), bits_stored=12, photometric="MONOCHROME2", polarity="REVERSE")
    [lut] = film_box_lut(meta)["PresentationLUTSequence"]
    assert lut["LUTDescriptor"] == [4096, 0, 12]
    assert lut["LUTData"] == "<8192 bytes>"
    # Landscape: 17 in across, 14 in down; three boxes a row, two rows.
    assert (meta["film"]["width_mm"], meta["film"]["height_mm"]) == (431.8, 355.6)
    top, bottom = [film.boxes[p] for p in (1, 2, 3)], [film.boxes[p] for p in (4, 5, 6)]
    assert len({y for _, y, _, _ in top}) == 1 and len({y for _, y, _, _ in bottom}) == 1
    assert top[0][1] < bottom[0][1]
    assert [x for x, *_ in top] == sorted(x for x, *_ in top) == [x for x, *_ in bottom]

    sent = 16 * np.array(values)  # 8-bit v → 12-bit 16 v, sent as is
    assert sent_pixel_values(film.result.send.log) == dict(enumerate(sent.tolist(), start=1))
    p_values = table[4095 - sent]  # REVERSE inverts, then the table
    expected = predicted_od(p_values, 4095, 15, 320)
    assert expected[0] == pytest.approx(0.15) and expected[-1] == pytest.approx(3.20)
    # The table matters: without it the middle boxes would print far lighter.
    assert np.all(np.abs(expected[1:-1] - predicted_od(4095 - sent, 4095, 15, 320)[1:-1]) > 0.1)
    assert_densities(film, expected)


def test_film_printed_by_film_session_n_action(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    values = [255, 60, 200]
    film = print_one_film(tmp_path, caplog, values, display_format="STANDARD\\1,3",
                          film_size="8INX10IN", orientation="PORTRAIT", bits=8,
                          session_print=True, copies=2, medium_type="CLEAR FILM",
                          film_destination="MAGAZINE", session_label="DCMTK SESSION",
                          min_density=10, max_density=250)

    action = re.search(r"Message Type\s*: N-ACTION RQ\n.*\nRequested SOP Class UID\s*: (\S+)",
                       film.result.send.log.replace("D: ", ""))
    assert action is not None and action.group(1) == "BasicFilmSessionSOPClass"
    actions = [r.getMessage() for r in caplog.records if " N-ACTION " in r.getMessage()]
    assert len(actions) == 1 and actions[0].startswith(f"{CALLING_AE} N-ACTION Film Session ")
    assert actions[0].endswith("-> 0x0000")
    meta = film.metadata
    assert_received(meta, display_format="STANDARD\\1,3", film_size="8INX10IN",
                    orientation="PORTRAIT", min_density=10, max_density=250)
    assert meta["film_session"]["received"] == {
        "NumberOfCopies": 2, "MediumType": "CLEAR FILM", "FilmDestination": "MAGAZINE",
        "FilmSessionLabel": "DCMTK SESSION"}
    assert meta["print_job"]["copies"] == 2
    assert_images(meta, len(values), bits_stored=8, photometric="MONOCHROME2", polarity="NORMAL")
    assert sent_pixel_values(film.result.send.log) == {1: 255, 2: 60, 3: 200}
    assert_densities(film, predicted_od(values, 255, 10, 250))


def test_monochrome1_images(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    values = [0, 85, 170, 255]
    film = print_one_film(tmp_path, caplog, values, display_format="STANDARD\\2,2",
                          film_size="10INX12IN", orientation="PORTRAIT", bits=8,
                          monochrome1=True, min_density=20, max_density=300)

    meta = film.metadata
    assert_received(meta, display_format="STANDARD\\2,2", film_size="10INX12IN",
                    orientation="PORTRAIT", min_density=20, max_density=300)
    assert_images(meta, len(values), bits_stored=8, photometric="MONOCHROME1", polarity="NORMAL")
    sent = sent_pixel_values(film.result.send.log)
    inverted = [sent[position] for position in (1, 2, 3, 4)]
    # DCMTK inverts to keep the look, at most one step off 255 - v.
    assert np.all(np.abs(np.array(inverted) - (255 - np.array(values))) <= 1)
    assert inverted[0] == 255  # black stays black: Max Density
    # The printer inverts MONOCHROME1 back (PS3.4 H.2.1.2) before IDENTITY.
    expected = predicted_od([255 - m for m in inverted], 255, 20, 300)
    assert expected[0] == pytest.approx(3.00)
    assert_densities(film, expected)


def test_implicit_vr_only_with_table_lut(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    values = [0, 64, 128, 192, 255]
    # 256 entries for 8-bit images; 12-bit P-Values rising as the square root.
    table = np.round(4095 * np.sqrt(np.arange(256) / 255)).astype(int)
    film = print_one_film(tmp_path, caplog, values, display_format="STANDARD\\3,2",
                          film_size="11INX14IN", orientation="PORTRAIT", bits=8,
                          presentation_lut="table", lut_table=table, lut_bits=12,
                          implicit_only=True, min_density=20, max_density=300)

    log = film.result.send.log
    assert "implicit xfer syntax only" in log
    incoming = re.findall(r"INCOMING DIMSE MESSAGE =+\n(.*?)END DIMSE MESSAGE", log, re.S)
    assert set(re.findall(r"Used TransferSyntax: (.+)", "".join(incoming))) == {
        "Little Endian Implicit"}
    meta = film.metadata
    assert_received(meta, display_format="STANDARD\\3,2", film_size="11INX14IN",
                    orientation="PORTRAIT", min_density=20, max_density=300)
    assert_images(meta, len(values), bits_stored=8, photometric="MONOCHROME2", polarity="NORMAL")
    [lut] = film_box_lut(meta)["PresentationLUTSequence"]
    assert lut["LUTDescriptor"] == [256, 0, 12]
    assert lut["LUTData"] == "<512 bytes>"
    assert sent_pixel_values(log) == dict(enumerate(values, start=1))
    expected = predicted_od(table[values], 4095, 20, 300)
    assert_densities(film, expected)
    # Five images in six boxes: the sixth stays at Empty Image Density, WHITE: Min Density.
    assert meta["film_box"]["in_force"]["empty_image_density"] == "WHITE"
    assert centre_density(film.density, film.boxes[6], CENTRE_HALF) == pytest.approx(
        0.20, abs=DENSITY_TOLERANCE_OD)

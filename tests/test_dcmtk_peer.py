"""The DCMTK test peer proves itself with DCMTK at both ends.

dcmpsprt + dcmprscu print to dcmprscp; the films dcmprscp stored are read
back and compared with the input images.

Expected pixel values follow from DCMTK's linear rescaling without a VOI
window (dcmimgle dimoopxt.h, ``nowindow``): an input of N possible values is
mapped onto an output of M possible values as ``trunc(v * M / N)``.
dcmpsprt renders every image into a 12-bit Hardcopy Grayscale Image, so an
8-bit value v becomes trunc(v * 4096 / 256) = 16 v; dcmprscu sends those 12
bits unchanged, or, when the printer takes 8 bits only, trunc(16 v * 256 /
4096) = v again.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path

import dcmtk_peer
import numpy as np
import pytest
from dcmtk_peer import (
    DcmprscpServer,
    ScpEndpoint,
    free_port,
    is_listening,
    print_with_dcmtk,
    read_stored_films,
    requires_dcmtk,
    write_grayscale_image,
)

pytestmark = requires_dcmtk


def _four_images() -> list[np.ndarray]:
    """Four 8-bit images told apart by size and content; the first is a full 0..255 ramp."""
    ramp = np.arange(256).reshape(16, 16)
    rng = np.random.default_rng(7)
    return [
        ramp,
        rng.integers(0, 256, size=(10, 12)),
        np.full((8, 14), 200),
        np.tile(np.array([0, 255]), (6, 9)),
    ]


def _write(tmp_path: Path, images: list[np.ndarray]) -> list[Path]:
    return [
        write_grayscale_image(tmp_path / f"input{k}.dcm", image) for k, image in enumerate(images)
    ]


def _print(endpoint: ScpEndpoint, paths: list[Path], tmp_path: Path, **options: object):
    return print_with_dcmtk(
        endpoint.host, endpoint.port, endpoint.aetitle, paths, tmp_path, **options
    )


def test_free_port_can_be_bound_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
    assert 1024 <= port <= 65535


def test_server_listens_only_while_running(tmp_path: Path) -> None:
    server = DcmprscpServer(tmp_path)
    with server as endpoint:
        assert endpoint.host == "127.0.0.1"
        assert is_listening(endpoint.port)
    assert server.endpoint is None
    assert not is_listening(endpoint.port)


def test_standard_2x2_film_of_four_8bit_images(dcmprscp: DcmprscpServer, tmp_path: Path) -> None:
    images = _four_images()
    result = _print(dcmprscp.endpoint, _write(tmp_path, images), tmp_path, bits=8)

    assert result.succeeded, result.send.log
    assert ("N-ACTION RSP", 0x0000) in result.responses
    [film] = read_stored_films(dcmprscp.endpoint.storage_dir)
    assert film.image_display_format == "STANDARD\\2,2"
    assert film.film_size_id == "14INX17IN"
    assert film.film_orientation == "PORTRAIT"
    assert [box.position for box in film.image_boxes] == [1, 2, 3, 4]
    for box, image in zip(film.image_boxes, images, strict=True):
        assert box.hardcopy.BitsStored == 8
        # 8 → 12 → 8 bits: trunc(16 v / 16) = v, exactly the input.
        np.testing.assert_array_equal(box.pixels, image)


def test_12bit_transfer_keeps_dcmpsprt_scaling(dcmprscp: DcmprscpServer, tmp_path: Path) -> None:
    ramp = np.arange(256).reshape(16, 16)
    paths = _write(tmp_path, [ramp])
    result = _print(dcmprscp.endpoint, paths, tmp_path, bits=12, display_format="STANDARD\\1,1")

    assert result.succeeded, result.send.log
    [film] = read_stored_films(dcmprscp.endpoint.storage_dir)
    [box] = film.image_boxes
    assert box.hardcopy.BitsStored == 12
    assert box.pixels[0, 1] == 16  # v = 1
    assert box.pixels.max() == 4080  # v = 255: 16 · 255, not 4095
    np.testing.assert_array_equal(box.pixels, 16 * ramp)


def test_reverse_polarity_is_sent_not_applied(dcmprscp: DcmprscpServer, tmp_path: Path) -> None:
    image = np.arange(64).reshape(8, 8) * 4
    result = _print(
        dcmprscp.endpoint, _write(tmp_path, [image]), tmp_path,
        display_format="STANDARD\\1,1", orientation="LANDSCAPE", film_size="8INX10IN",
        polarity="REVERSE",
    )

    assert result.succeeded, result.send.log
    [film] = read_stored_films(dcmprscp.endpoint.storage_dir)
    assert (film.film_orientation, film.film_size_id) == ("LANDSCAPE", "8INX10IN")
    [box] = film.image_boxes
    assert box.polarity == "REVERSE"
    np.testing.assert_array_equal(box.pixels, image)  # the printer inverts, not the SCU


def test_table_presentation_lut_reaches_the_printer_with_session_print(
    dcmprscp: DcmprscpServer, tmp_path: Path
) -> None:
    table = np.round(4095 * (np.arange(256) / 255) ** 2).astype(int)  # 256 entries of 12 bits
    image = np.arange(256).reshape(16, 16)
    result = _print(
        dcmprscp.endpoint, _write(tmp_path, [image]), tmp_path, bits=12,
        display_format="STANDARD\\1,1", presentation_lut="table", lut_table=table,
        session_print=True,
    )

    assert result.succeeded, result.send.log
    action = re.search(r"N-ACTION RQ\n.*\n.*Requested SOP Class UID\s*: (\S+)", result.send.log)
    assert action is not None and action.group(1) == "BasicFilmSessionSOPClass"
    [film] = read_stored_films(dcmprscp.endpoint.storage_dir)
    lut = film.presentation_lut.PresentationLUTSequence[0]
    assert list(lut.LUTDescriptor) == [256, 0, 12]
    np.testing.assert_array_equal(np.frombuffer(lut.LUTData, "<u2"), table)
    # The LUT was sent to the printer, not burnt into the image.
    np.testing.assert_array_equal(film.image_boxes[0].pixels, 16 * image)


@pytest.mark.parametrize(("option", "shape"), [("identity", "IDENTITY"), ("lin od", "LIN OD")])
def test_presentation_lut_shapes(
    dcmprscp: DcmprscpServer, tmp_path: Path, option: str, shape: str
) -> None:
    paths = _write(tmp_path, [np.zeros((4, 4), dtype=int)])
    result = _print(
        dcmprscp.endpoint, paths, tmp_path, display_format="STANDARD\\1,1", presentation_lut=option
    )

    assert result.succeeded, result.send.log
    [film] = read_stored_films(dcmprscp.endpoint.storage_dir)
    assert film.presentation_lut.PresentationLUTShape == shape


def test_implicit_only_negotiates_implicit_vr(dcmprscp: DcmprscpServer, tmp_path: Path) -> None:
    paths = _write(tmp_path, [np.zeros((4, 4), dtype=int)])
    result = _print(
        dcmprscp.endpoint, paths, tmp_path, display_format="STANDARD\\1,1", implicit_only=True
    )

    assert result.succeeded, result.send.log
    # dcmprscu dumps each incoming DIMSE data set with the transfer syntax it was read in.
    incoming = re.findall(
        r"INCOMING DIMSE MESSAGE =+\n(.*?)END DIMSE MESSAGE", result.send.log, re.S
    )
    syntaxes = set(re.findall(r"Used TransferSyntax: (.+)", "".join(incoming)))
    assert syntaxes == {"Little Endian Implicit"}


def test_refused_film_box_is_a_failure_although_dcmprscu_exits_0(
    dcmprscp: DcmprscpServer, tmp_path: Path
) -> None:
    paths = _write(tmp_path, [np.zeros((4, 4), dtype=int)])
    result = _print(dcmprscp.endpoint, paths, tmp_path, display_format="STANDARD\\5,5")

    assert result.send.returncode == 0
    assert not result.succeeded
    assert ("N-CREATE RSP", 0x0106) in result.responses  # Invalid Attribute Value
    assert any("unable to create basic film box" in line for line in result.errors)
    assert "unsupported image display format: 'STANDARD\\5,5'" in dcmprscp.log
    assert read_stored_films(dcmprscp.endpoint.storage_dir) == []


def test_server_moves_to_another_port_when_its_port_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        ports = iter([taken, free_port()])
        monkeypatch.setattr(dcmtk_peer, "free_port", lambda: next(ports))
        server = DcmprscpServer(tmp_path)
        with server as endpoint:
            assert endpoint.port != taken
            assert "Address already in use" in server.log


def test_session_and_film_box_options_reach_the_printer(
    dcmprscp: DcmprscpServer, tmp_path: Path
) -> None:
    ramp = np.arange(256).reshape(16, 16)
    result = _print(
        dcmprscp.endpoint, _write(tmp_path, [ramp]), tmp_path, display_format="STANDARD\\1,1",
        magnification_type="NONE", max_density=300, min_density=25, copies=2,
        medium_type="PAPER", film_destination="PROCESSOR", session_label="LABEL X",
        monochrome1=True,
    )

    assert result.succeeded, result.send.log
    [film] = read_stored_films(dcmprscp.endpoint.storage_dir)
    assert film.film_box.MagnificationType == "NONE"
    assert (film.film_box.MaxDensity, film.film_box.MinDensity) == (300, 25)
    # dcmprscp does not store the film session: read the N-CREATE dcmprscu sent.
    session = result.send.log.split("BasicFilmSessionSOPClass", 1)[1].split("END DIMSE", 1)[0]
    for element in ("IS [2]", "CS [PAPER]", "CS [PROCESSOR]", "LO [LABEL X]"):
        assert element in session
    # MONOCHROME1 keeps the image's look: the ramp arrives inverted, black (0) as
    # the maximum. DCMTK's inverse rescaling repeats a value here and there, so
    # only the order and the ends are asserted.
    [box] = film.image_boxes
    assert box.hardcopy.PhotometricInterpretation == "MONOCHROME1"
    sent = box.pixels.ravel().astype(int)
    assert (sent[0], sent[-1]) == (255, 1)
    assert np.all(np.diff(sent) <= 0)

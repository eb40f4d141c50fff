"""`print-scu` end to end: real files, the real queue, real printers on 127.0.0.1.

The project's print-scp (in this process, 50 dpi films) and DCMTK's dcmprscp
receive the jobs; what they printed is read back from their output and
compared with values derived by hand:

* VOI window (PS3.3 C.11.2.1.2.1, linear): with center c and width w, 8-bit
  P-Values are ((x − (c − 0.5)) / (w − 1) + 0.5) · 255 inside the window,
  0 below, 255 above. For c = 64, w = 256 that is x + 64, clipped to 0..255
  (x ≤ −64 gives 0, x > 191 gives 255); for 12 bits and c = 2048, w = 4096
  it is x itself.
* Polarity REVERSE prints P-Value p of an 8-bit MONOCHROME2 image as 255 − p
  (PS3.3 C.13.5.1); the density of a P-Value under the film's Min/Max Density
  and viewing conditions comes from lut.density (PS3.14, tested on its own).
* An image display format of C columns and R rows holds C·R images per film,
  so N images need ceil(N / (C·R)) films.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from dcmtk_peer import DcmprscpServer, free_port, read_stored_films, write_grayscale_image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
from scp_harness import running_printer
from test_scp_feat_support import (
    COLOR_IMAGE_BOX_CLASS,
    DENSITY_TOLERANCE_OD,
    MAX_DENSITY,
    MIN_DENSITY,
    centre_density,
    density_map,
    expected_od,
    printed_films,
    rects,
)

from print_scu import cli
from print_scu.queue import JobQueue, JobState

DPI = 50  # print-scp resolution for these tests: small, fast films
CLI_TIMEOUT_S = 60  # bound of every print-scu subprocess


# -- helpers shared with test_scu_worker.py ------------------------------------------


def uniform_files(directory: Path, values: list[int], rows: int = 8) -> list[Path]:
    """One 8-bit MONOCHROME2 file per value, every pixel that value."""
    directory.mkdir(parents=True, exist_ok=True)
    return [write_grayscale_image(directory / f"image{index:03d}.dcm",
                                  np.full((rows, 8), value, dtype=np.uint8))
            for index, value in enumerate(values)]


def printer_args(server) -> list[str]:  # noqa: ANN001 - a running print-scp
    return ["--host", "127.0.0.1", "--port", str(server.port),
            "--called-ae", server.profile.ae_title]


def write_printers(path: Path, printers: dict[str, dict]) -> Path:
    """A printers TOML file: [printers.NAME] tables and their sub-tables."""
    lines = []
    for name, table in printers.items():
        lines.append(f"[printers.{name}]")
        subtables = {k: v for k, v in table.items() if isinstance(v, dict)}
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()
                  if key not in subtables]
        for key, values in subtables.items():
            lines.append(f"[printers.{name}.{key}]")
            lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def print_scu(*args: str) -> subprocess.CompletedProcess:
    """Run the installed `print-scu` console script (or its module) in a child process."""
    script = Path(sys.executable).with_name("print-scu")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "print_scu.cli"]
    return subprocess.run([*command, *args], capture_output=True, text=True,
                          timeout=CLI_TIMEOUT_S, check=False)


def images_per_film(films: list[dict]) -> list[int]:
    return sorted((sum(box["image"] is not None for box in film["image_boxes"])
                   for film in films), reverse=True)


# -- print-scp -----------------------------------------------------------------------


def test_print_lays_out_windows_and_reverses_films_on_print_scp(tmp_path: Path, capsys) -> None:
    values = [0, 50, 120, 190, 250]
    files = uniform_files(tmp_path / "in", values)
    with running_printer(tmp_path / "out", standard_dpi=DPI) as server:
        status = cli.main([
            "print", "--spool", str(tmp_path / "spool"), *printer_args(server),
            "--format", "2x1", "--film-size", "8INX10IN", "--orientation", "PORTRAIT",
            "--copies", "2", "--priority", "HIGH", "--medium", "CLEAR FILM",
            "--destination", "MAGAZINE", "--label", "CLI TEST", "--magnification", "REPLICATE",
            f"--min-density={MIN_DENSITY}", f"--max-density={MAX_DENSITY}",
            "--border-density", "BLACK", "--empty-density", "WHITE", "--polarity", "REVERSE",
            "--window=64,256", *map(str, files)])
        films = printed_films(tmp_path / "out", 3)
        maps = [density_map(tmp_path / "out", film)[0] for film in films]

    assert status == 0
    progress = capsys.readouterr().err
    assert [f"film {n}/3 printed" in progress for n in (1, 2, 3)] == [True] * 3
    assert images_per_film(films) == [2, 2, 1]
    for film in films:
        session, box = film["film_session"]["in_force"], film["film_box"]["in_force"]
        assert (session["number_of_copies"], session["medium_type"], session["film_destination"],
                session["film_session_label"]) == (2, "CLEAR FILM", "MAGAZINE", "CLI TEST")
        assert film["print_job"]["priority"] == "HIGH"
        assert (box["image_display_format"], box["film_size_id"], box["film_orientation"],
                box["magnification_type"], box["border_density"], box["empty_image_density"],
                box["min_density"], box["max_density"]) == (
            "STANDARD\\2,1", "8INX10IN", "PORTRAIT", "REPLICATE", "BLACK", "WHITE",
            MIN_DENSITY, MAX_DENSITY)
        assert {b["polarity"] for b in film["image_boxes"] if b["image"]} == {"REVERSE"}

    # Box densities of each film, as (box 1, box 2); an empty box shows Min Density (WHITE).
    measured = sorted(
        tuple(round(centre_density(density, rect), 3) for _, rect in sorted(rects(film).items()))
        for film, density in zip(films, maps, strict=True))
    p_values = [min(x + 64, 255) for x in values]  # window 64,256
    od = [float(expected_od(255 - p)) for p in p_values]  # REVERSE
    expected = sorted([(od[0], od[1]), (od[2], od[3]), (od[4], MIN_DENSITY / 100)])
    np.testing.assert_allclose(measured, expected, atol=DENSITY_TOLERANCE_OD + 0.001)


def test_associations_divide_the_films_into_jobs_printed_concurrently(tmp_path: Path) -> None:
    values = [10, 40, 70, 100, 130, 160, 190, 220]  # one film each, in this order
    files = uniform_files(tmp_path / "in", values)
    with running_printer(tmp_path / "out", standard_dpi=DPI) as server:
        run = print_scu("print", "--spool", str(tmp_path / "spool"), *printer_args(server),
                        "--format", "1x1", "--window=128,256", f"--min-density={MIN_DENSITY}",
                        f"--max-density={MAX_DENSITY}", "--associations", "4", *map(str, files))
        films = printed_films(tmp_path / "out", len(values))
        density = {film["name"]: density_map(tmp_path / "out", film)[0] for film in films}

    assert run.returncode == 0, run.stderr
    jobs = JobQueue(tmp_path / "spool").jobs()
    assert [(j.state, j.films_total, j.films_done) for j in jobs] == [(JobState.DONE, 2, 2)] * 4
    # Jobs hold consecutive films; window 128,256 maps pixel value x to P-Value x.
    by_association: dict[str, list[dict]] = {}
    for film in films:
        by_association.setdefault(film["association"]["peer"], []).append(film)
    assert len(by_association) == 4
    printed = []
    for peer_films in by_association.values():
        peer_films.sort(key=lambda f: f["print_job"]["created"])
        printed.append([round(centre_density(density[f["name"]], rects(f)[1]), 3)
                        for f in peer_films])
    expected = [[round(float(expected_od(v)), 3) for v in values[k:k + 2]]
                for k in range(0, len(values), 2)]
    np.testing.assert_allclose(sorted(printed), sorted(expected),
                               atol=DENSITY_TOLERANCE_OD + 0.001)
    # The associations were open at the same time: each started before another's last film.
    spans = sorted((f[0]["association"]["started"], f[-1]["print_job"]["created"])
                   for f in by_association.values())
    assert any(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))


def test_associations_and_session_print_exclude_each_other(tmp_path: Path) -> None:
    files = uniform_files(tmp_path / "in", [10, 20])
    run = print_scu("print", "--spool", str(tmp_path / "spool"), "--host", "127.0.0.1",
                    "--port", "9", "--called-ae", "X", "--associations", "2", "--session-print",
                    *map(str, files))
    assert run.returncode == 2
    assert "--associations and --session-print" in run.stderr


def test_profile_printer_session_print_12_bit_plut_and_annotations(tmp_path: Path) -> None:
    values = [0, 1000, 2048, 4095]
    source = tmp_path / "in"
    source.mkdir()
    files = [write_grayscale_image(source / f"{v}.dcm", np.full((6, 6), v), bits_stored=12)
             for v in values]
    with running_printer(tmp_path / "out", standard_dpi=DPI) as server:
        config = write_printers(tmp_path / "printers.toml", {"virtual": {
            "host": "127.0.0.1", "port": server.port, "called_ae": server.profile.ae_title,
            "bits": 12, "presentation_lut": True, "annotation": True,
            "session_defaults": {"MediumType": "PAPER"},
            "film_box_defaults": {"FilmSizeID": "10INX12IN", "FilmOrientation": "LANDSCAPE"},
        }})
        status = cli.main(["print", "--config", str(config), "--spool", str(tmp_path / "spool"),
                           "--printer", "virtual", "--format", "1x2", "--session-print",
                           "--plut", "LIN OD", "--window=2048,4096",
                           "--annotation", "LEFT", "--annotation", "RIGHT", *map(str, files)])
        films = printed_films(tmp_path / "out", 2)

    assert status == 0
    assert images_per_film(films) == [2, 2]
    assert len({film["print_job"]["uid"] for film in films}) == 1  # one Film Session N-ACTION
    for film in films:
        box = film["film_box"]["in_force"]
        assert film["film_session"]["in_force"]["medium_type"] == "PAPER"
        assert (box["film_size_id"], box["film_orientation"]) == ("10INX12IN", "LANDSCAPE")
        [(lut_uid, lut)] = film["presentation_luts"].items()
        assert lut["PresentationLUTShape"] == "LIN OD"
        assert box["presentation_lut_uid"] == lut_uid
        assert {b["image"]["bits_stored"] for b in film["image_boxes"]} == {12}
        assert [a["text"] for a in film["annotation_boxes"]] == ["LEFT", "RIGHT"]


def test_color_print_uses_basic_color_image_boxes(tmp_path: Path) -> None:
    files = uniform_files(tmp_path / "in", [30, 200])
    with running_printer(tmp_path / "out", standard_dpi=DPI) as server:
        assert cli.main(["print", "--spool", str(tmp_path / "spool"), *printer_args(server),
                         "--color", "--format", "2x1", "--window=128,256",
                         *map(str, files)]) == 0
        [film] = printed_films(tmp_path / "out", 1)
    boxes = film["image_boxes"]
    assert {box["sop_class_uid"] for box in boxes} == {COLOR_IMAGE_BOX_CLASS}
    assert {box["image"]["photometric"] for box in boxes} == {"RGB"}


def test_status_and_printers_show_the_printer_and_its_profile(tmp_path: Path, capsys) -> None:
    with running_printer(tmp_path / "out", printer_name="LAB PRINTER") as server:
        config = write_printers(tmp_path / "printers.toml", {"lab": {
            "host": "127.0.0.1", "port": server.port, "called_ae": server.profile.ae_title,
            "color": True, "configuration_retrieval": True}})
        assert cli.main(["status", "lab", "--config", str(config)]) == 0
        status = capsys.readouterr().out
        server.printer.set_status("WARNING", "SUPPLY LOW")
        assert cli.main(["status", "--config", str(config)]) == 0
        warning = capsys.readouterr().out
    assert cli.main(["printers", "--config", str(config)]) == 0
    listing = capsys.readouterr().out

    assert f"lab ({server.profile.ae_title}@127.0.0.1:{server.port})" in status
    assert [line.split() for line in status.splitlines() if "PrinterStatus" in line] == [
        ["PrinterStatus", "NORMAL"], ["PrinterStatusInfo", "NORMAL"]]
    assert "LAB PRINTER" in status and "color, 8 bit" in status
    # Printer Configuration Retrieval: the profile's density range 0.10..3.60 OD, in 1/100 OD
    assert {("MinDensity", "10"), ("MaxDensity", "360")} <= {
        tuple(line.split()) for line in status.splitlines()}
    [formats] = [line for line in status.splitlines()
                 if "SupportedImageDisplayFormatsSequence" in line]
    assert len(formats) < 200 and " items, the first: " in formats  # counted, not listed
    assert "SUPPLY LOW" in warning and "WARNING" in warning
    assert f"{server.profile.ae_title}@127.0.0.1:{server.port}" in listing


# -- DCMTK dcmprscp ------------------------------------------------------------------


@pytest.mark.parametrize("bits", [8, 12])
def test_print_to_dcmprscp_stores_the_windowed_pixel_values(
    dcmprscp: DcmprscpServer, tmp_path: Path, bits: int
) -> None:
    host, port, aetitle, storage = dcmprscp.endpoint
    rng = np.random.default_rng(bits)
    images = [rng.integers(0, 256, size=(12, 10)) for _ in range(6)]
    files = [write_grayscale_image(tmp_path / f"{i}.dcm", image)
             for i, image in enumerate(images)]

    status = cli.main(["print", "--spool", str(tmp_path / "spool"), "--host", host,
                       "--port", str(port), "--called-ae", aetitle, "--bits", str(bits),
                       "--format", "2x2", "--film-size", "14INX17IN", "--polarity", "REVERSE",
                       "--window=64,256", *map(str, files)])

    assert status == 0
    films = read_stored_films(storage)
    assert [len([b for b in f.image_boxes if b.hardcopy is not None]) for f in films] == [4, 2]
    scale = (2**bits - 1) / 255  # 12 bits: ((x − 63.5) / 255 + 0.5) · 4095
    stored = [box for film in films for box in film.image_boxes if box.hardcopy is not None]
    for box, image in zip(stored, images, strict=True):
        assert box.polarity == "REVERSE"
        assert box.hardcopy.BitsStored == bits
        np.testing.assert_array_equal(box.pixels, np.rint(np.clip(image + 64, 0, 255) * scale))
    assert {(f.image_display_format, f.film_size_id) for f in films} == {
        ("STANDARD\\2,2", "14INX17IN")}
    # dcmprscp answers a Printer N-GET of all attributes (not Printer Name alone)
    assert cli.main(["status", "--host", host, "--port", str(port), "--called-ae", aetitle]) == 0


# -- user errors ---------------------------------------------------------------------


def test_a_file_that_is_not_dicom_is_named_and_no_job_is_created(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not an image\n")
    no_pixels = tmp_path / "no-pixels.dcm"
    _write_dataset_without_pixels(no_pixels)
    spool = tmp_path / "spool"

    for path, why in ((text, "not a DICOM file"), (no_pixels, "has no pixel data")):
        result = print_scu("print", "--spool", str(spool), "--host", "127.0.0.1",
                           "--port", "104", "--called-ae", "ANY", str(path))
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert str(path) in result.stderr and why in result.stderr
    assert JobQueue(spool).jobs() == []


def test_an_unreachable_printer_leaves_the_job_queued_and_says_so(tmp_path: Path) -> None:
    image = uniform_files(tmp_path / "in", [100])
    spool = tmp_path / "spool"

    result = print_scu("print", "--spool", str(spool), "--host", "127.0.0.1",
                       "--port", str(free_port()), "--called-ae", "NOBODY", *map(str, image))

    assert result.returncode == 3
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert "stays queued" in last and "could not open a TCP connection" in last
    [job] = JobQueue(spool).jobs()
    assert (job.state, job.films_done, job.attempts) == (JobState.QUEUED, 0, 1)


def test_unknown_printer_and_bad_options_are_one_line_errors(tmp_path: Path) -> None:
    image = uniform_files(tmp_path / "in", [100])
    config = write_printers(tmp_path / "printers.toml", {"known": {
        "host": "127.0.0.1", "port": 104, "called_ae": "KNOWN"}})
    cases = [
        (["--printer", "other"], "unknown printer 'other'"),
        (["--printer", "known", "--format", "7y2"], "Image Display Format"),
        (["--printer", "known", "--window=40"], "window"),
        (["--printer", "known", "--color"], "not configured for color"),
    ]
    for extra, words in cases:
        result = print_scu("submit", "--config", str(config), "--spool",
                           str(tmp_path / "spool"), *extra, *map(str, image))
        assert result.returncode == 2, result.stderr
        assert result.stderr.count("\n") == 1 and words in result.stderr
        assert "Traceback" not in result.stderr


# -- the queue from the command line -------------------------------------------------


def test_submit_jobs_cancel_and_retry(tmp_path: Path, capsys) -> None:
    image = uniform_files(tmp_path / "in", [10, 20, 30])
    spool = ["--spool", str(tmp_path / "spool")]
    nowhere = ["--host", "127.0.0.1", "--port", str(free_port()), "--called-ae", "LATER"]
    ids = []
    for priority in ("LOW", "HIGH"):
        assert cli.main(["submit", *spool, *nowhere, "--priority", priority,
                         *map(str, image)]) == 0
        ids.append(int(capsys.readouterr().out))
    assert cli.main(["jobs", *spool]) == 0
    table = [line.split()[:5] for line in capsys.readouterr().out.splitlines()]
    assert table[0] == ["ID", "STATE", "PRINTER", "PRIORITY", "FILMS"]
    assert table[1:] == [[str(ids[0]), "queued", "LATER@127.0.0.1:" + nowhere[3], "LOW", "0/3"],
                         [str(ids[1]), "queued", "LATER@127.0.0.1:" + nowhere[3], "HIGH", "0/3"]]

    assert cli.main(["cancel", *spool, str(ids[0])]) == 0
    assert cli.main(["cancel", *spool, str(ids[0])]) == 1  # no longer queued
    assert cli.main(["jobs", *spool, "--state", "cancelled"]) == 0
    assert [line.split()[:2] for line in capsys.readouterr().out.splitlines()[1:]] == [
        [str(ids[0]), "cancelled"]]
    assert cli.main(["retry", *spool, str(ids[0])]) == 0
    assert cli.main(["retry", *spool, str(ids[0])]) == 1  # queued, not failed
    assert cli.main(["cancel", *spool, "999"]) == 2
    assert "no job 999" in capsys.readouterr().err
    queue = JobQueue(tmp_path / "spool")
    assert [job.state for job in queue.jobs()] == [JobState.QUEUED, JobState.QUEUED]


def _write_dataset_without_pixels(path: Path) -> None:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.PatientName = "No^Pixels"
    ds.save_as(path, enforce_file_format=True)


def test_an_old_profile_key_is_read_with_a_one_line_warning(tmp_path: Path, capsys) -> None:
    config = write_printers(tmp_path / "printers.toml", {"old": {
        "host": "127.0.0.1", "port": 104, "called_ae": "OLD", "acse_timeout": 5}})
    assert cli.main(["printers", "--config", str(config)]) == 0
    captured = capsys.readouterr()
    assert "OLD@127.0.0.1:104" in captured.out
    assert captured.err.splitlines() == [
        "print-scu: warning: printer profile key 'acse_timeout' is deprecated, "
        "use 'acse_timeout_s'"]

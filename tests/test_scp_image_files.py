"""Images are written to the spool as they arrive, and a print's N-ACTION links them.

* :class:`ImageFiles` alone: a written file holds the array in the spool's
  format; a forgotten one is removed, even while it is being written; one
  that cannot be written is not offered, and the spool then writes the array
  itself;
* with a real association: after an Image Box N-SET the image's file
  appears in ``<spool>/.images``; the N-ACTION's job holds the same file
  (one inode, two links) while the association lasts; a replaced image's
  file is removed; when the association ends only the job's link is left,
  holding the pixels sent; a new server removes what an earlier one left.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scp_harness import running_printer
from test_scp_access import address_of
from test_scp_feat_support import SUCCESS, new_film_box, new_session, wait_until

from dicomnet.terms import PrinterStatus
from film.model import FilmSpec, ImageBoxContent, ImagePixels
from print_scp.output.image_files import ImageFiles
from print_scp.output.spool import IMAGES_DIR, Spool, SpooledFilm, SpooledJob
from print_scu.association import PrintAssociation
from print_scu.image_box_requests import grayscale_image_box

STORED = {0x0000, 0xB604, 0xB605, 0xB609}  # success, or a warning that still stores


def pattern(rows: int = 256, columns: int = 256, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (rows, columns), dtype=np.uint8)


# -- ImageFiles alone ---------------------------------------------------------------------

def test_a_written_image_is_in_the_spool_format_and_removed_when_forgotten(
        tmp_path: Path) -> None:
    files = ImageFiles(tmp_path)
    pixels = pattern()
    files.write(pixels)
    path = files.written(pixels)
    assert path is not None and path.parent == tmp_path / IMAGES_DIR
    np.testing.assert_array_equal(np.load(path), pixels)
    assert files.written(pattern()) is None  # an equal array is not the same image
    files.forget(pixels)
    assert not path.exists()
    assert files.written(pixels) is None
    files.stop()


def test_an_image_forgotten_while_it_is_written_leaves_no_file(tmp_path: Path) -> None:
    files = ImageFiles(tmp_path)
    images = [pattern(2048, 2048, seed) for seed in range(4)]
    for pixels in images:
        files.write(pixels)
    for pixels in images:
        files.forget(pixels)
    files.stop()  # waits for the writer
    assert list((tmp_path / IMAGES_DIR).iterdir()) == []


def test_an_image_that_cannot_be_written_is_written_by_the_spool(tmp_path: Path) -> None:
    files = ImageFiles(tmp_path / "spool")
    (tmp_path / "spool" / IMAGES_DIR).rmdir()  # every write ahead fails
    pixels = pattern()
    files.write(pixels)
    assert files.written(pixels) is None
    spool = Spool(tmp_path / "spool")
    spec = FilmSpec(film_size_id="8INX10IN", orientation="PORTRAIT",
                    image_display_format="STANDARD\\1,1",
                    image_boxes=[ImageBoxContent(1, ImagePixels(pixels, "MONOCHROME2", 8))])
    spool.save(SpooledJob("1.2.3", "MED", "TEST", "2026-12-05T10:00:00",
                          [SpooledFilm("film-01", spec, {})]), files.written)
    loaded = spool.load("1.2.3").films[0].spec.image_boxes[0].image
    assert loaded is not None
    np.testing.assert_array_equal(loaded.pixels, pixels)
    files.stop()


# -- with a real association --------------------------------------------------------------

def test_the_print_links_the_images_written_at_n_set(tmp_path: Path) -> None:
    first, second = pattern(seed=1), pattern(seed=2)
    with running_printer(tmp_path) as server:
        server.printer.set_status(PrinterStatus.FAILURE, "FILM JAM")  # the job stays spooled
        images = server.spool.root / IMAGES_DIR
        with PrintAssociation(address_of(server)) as scu:
            refs = new_film_box(scu, new_session(scu), "STANDARD\\1,1")
            box_uid = refs.image_box_uids[0]
            assert scu.set_image_box(box_uid, grayscale_image_box(1, first, 8)) in STORED
            assert wait_until(lambda: len(list(images.iterdir())) == 1)
            [first_file] = list(images.iterdir())
            assert scu.set_image_box(box_uid, grayscale_image_box(1, second, 8)) in STORED
            assert wait_until(lambda: not first_file.exists())  # replaced: removed
            assert wait_until(lambda: len(list(images.iterdir())) == 1)
            [second_file] = list(images.iterdir())
            status, _ = scu.print_film_box(refs.film_box_uid)
            assert status == SUCCESS, str(scu.last_result)
            [job_uid] = server.spool.pending()
            [job_file] = list((server.spool.root / job_uid).glob("*.npy"))
            assert job_file.stat().st_ino == second_file.stat().st_ino
            assert job_file.stat().st_nlink == 2
        assert wait_until(lambda: list(images.iterdir()) == [])  # the association ended
        assert job_file.stat().st_nlink == 1
        np.testing.assert_array_equal(np.load(job_file), second)


def test_a_new_printer_removes_the_images_an_earlier_one_left(tmp_path: Path) -> None:
    images = tmp_path / ".spool" / IMAGES_DIR
    images.mkdir(parents=True)
    (images / "7.npy").write_bytes(b"left by a printer that was killed")
    with running_printer(tmp_path) as server:
        assert list(images.iterdir()) == []
        assert server.spool.pending() == []

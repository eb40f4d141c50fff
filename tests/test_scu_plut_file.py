"""A Presentation LUT file is stored with the job: it may vanish before printing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from dcmtk_peer import write_grayscale_image
from scp_harness import film_metadata, running_printer, wait_for_films

from film.densitometry import measure, read_density_map
from print_scu import cli
from print_scu.queue import JobQueue, JobState
from print_scu.worker import Worker


def test_lut_file_deleted_after_submit_still_prints_with_its_table(tmp_path: Path) -> None:
    image = write_grayscale_image(tmp_path / "black.dcm", np.zeros((16, 16), dtype=np.uint8))
    lut = tmp_path / "invert.lut"  # 8-bit in, 12-bit P-Values out, inverting
    lut.write_text("256 0 12\n" + " ".join(str(round((255 - v) * 4095 / 255))
                                           for v in range(256)) + "\n")
    spool = tmp_path / "spool"
    out = tmp_path / "films"
    out.mkdir()
    with running_printer(out, standard_dpi=50) as server:
        status = cli.main(["submit", "--spool", str(spool), "--host", "127.0.0.1",
                           "--port", str(server.port), "--called-ae", "FILMBOX",
                           "--film-size", "8INX10IN", "--min-density", "20",
                           "--max-density", "300", "--window=128,256", "--plut", str(lut),
                           str(image)])
        assert status == 0
        lut.unlink()
        image.unlink()
        queue = JobQueue(spool)
        Worker(queue).run_until_idle(timeout_s=60)
        [job] = queue.jobs()
        assert job.state is JobState.DONE, job.last_error
        [json_path] = wait_for_films(out, 1)
    film = film_metadata(json_path)
    assert len(film["presentation_luts"]) == 1
    density, _ = read_density_map(json_path.with_suffix("").with_suffix(".density.png"))
    rect = film["film"]["image_box_rects_px"][0]
    centre = (rect["x"] + rect["width"] // 4, rect["y"] + rect["height"] // 4,
              rect["width"] // 2, rect["height"] // 2)
    # Black (P-Value 0) through the inverting table is the top P-Value: Min Density.
    assert abs(measure(density, centre) - 0.20) < 0.002

"""A render process imports what rendering and writing a film need, and nothing of the network;
the objects it inherits from the fork server are frozen; it runs at a lower CPU priority.

The render processes are started as print-scp starts them (the render worker's
process context: forked from the fork server, which preloads the render
modules; the worker's pool initializer), from a program whose top is that of
print-scp's console script. multiprocessing runs its parent's main module
again in every process it starts, so that import counts too. The process
renders a real spooled film, then reports its ``sys.modules``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np

from film.model import AnnotationContent, FilmSpec, ImageBoxContent, ImagePixels
from lut.presentation import PresentationLUT, PresentationLUTShape
from print_scp.output.spool import Spool, SpooledFilm, SpooledJob

PROBE_TIMEOUT_S = 120.0

#: The top of print-scp's console script, then what the test needs under the main guard.
PROBE = '''\
import sys
from print_scp.cli import main


def loaded_modules():
    return sorted(sys.modules)


if __name__ == "__main__":
    import gc
    import json
    import os
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from print_scp.output.render_process import start_render_process, render_spooled_film
    from print_scp.output.render_worker import _process_context

    spool_root, job_uid, output = sys.argv[1:4]
    server_alive, _server_alive_writer = multiprocessing.Pipe(duplex=False)
    with ProcessPoolExecutor(1, mp_context=_process_context(), initializer=start_render_process,
                             initargs=(server_alive,)) as pool:
        film, _ = pool.submit(render_spooled_film, spool_root, job_uid, 0, output).result(60)
        modules = pool.submit(loaded_modules).result(60)
        frozen = pool.submit(gc.get_freeze_count).result(60)
        nice = pool.submit(os.nice, 0).result(60)
    print(json.dumps({"film": film, "modules": modules, "frozen": frozen,
                      "nice": nice, "server_nice": os.nice(0)}))
'''

#: Packages of the network side that rendering must not load.
NOT_FOR_RENDERING = ("pydicom", "pynetdicom", "highdicom", "rich", "print_scu",
                     "print_scp.server", "print_scp.service", "lut.windowing")


def _spool_film(spool_root: Path) -> str:
    """Spool a one-film job (an image, a LIN OD Presentation LUT, an annotation); its UID."""
    ramp = np.tile(np.arange(0, 256, 4, dtype=np.uint8), (64, 1))
    spec = FilmSpec(film_size_id="8INX10IN", orientation="PORTRAIT",
                    image_display_format="STANDARD\\1,1",
                    image_boxes=[ImageBoxContent(1, ImagePixels(ramp, "MONOCHROME2", 8))],
                    annotations=[AnnotationContent(1, "render process")],
                    presentation_lut=PresentationLUT(PresentationLUTShape.LIN_OD),
                    resolution_dpi=50)
    job_uid = "1.2.826.0.1.3680043.8.498.1"
    Spool(spool_root).save(SpooledJob(job_uid, "MED", "TEST", datetime.now().isoformat(),
                                      [SpooledFilm("imports-1", spec, {})]))
    return job_uid


def _render_in_a_render_process(tmp_path: Path) -> dict:
    """Render a spooled film in a render process started as print-scp does; what it reported."""
    spool_root, output = tmp_path / "spool", tmp_path / "out"
    output.mkdir()
    job_uid = _spool_film(spool_root)
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    done = subprocess.run([sys.executable, str(probe), str(spool_root), job_uid, str(output)],
                          capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_a_render_process_renders_without_the_network_packages(tmp_path: Path) -> None:
    report = _render_in_a_render_process(tmp_path)
    assert report["film"] == "imports-1"
    assert (tmp_path / "out" / "imports-1.png").is_file()
    assert (tmp_path / "out" / "imports-1.json").is_file()
    modules = set(report["modules"])
    # the listing is the render process's: it holds what it rendered with
    assert {"film.render", "film.writers", "lut.presentation", "reportlab"} <= modules
    loaded = sorted(module for module in modules
                    if any(module == name or module.startswith(f"{name}.")
                           for name in NOT_FOR_RENDERING))
    assert loaded == []


def test_a_render_process_leaves_the_objects_it_inherits_to_the_fork_server(
        tmp_path: Path) -> None:
    # Frozen objects are never traversed by the garbage collector, so the pages that
    # hold them stay shared with the fork server (a traversal writes to each object).
    report = _render_in_a_render_process(tmp_path)
    assert report["frozen"] > 10_000  # the fork server preloaded numpy, Pillow, ReportLab...


def test_a_render_process_runs_at_a_lower_cpu_priority_than_the_server(
        tmp_path: Path) -> None:
    report = _render_in_a_render_process(tmp_path)
    assert report["nice"] == min(19, report["server_nice"] + 10)

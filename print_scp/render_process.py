"""What a render process does: one spooled film to PDF, PNG, density map and JSON.

The render worker (``print_scp.render_worker``) runs :func:`render_spooled_film`
in a pool of processes, so rendering uses every core and never competes with
the DIMSE threads for the GIL. The spool is the only thing the processes
share with the server: a task names a job and a film, the process reads the
job from the spool (its pixels memory-mapped) and writes the film's files.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from film.render import render_film
from film.writers import write_film
from print_scp.spool import Spool, SpoolSync


def render_spooled_film(spool_root: str, job_uid: str, index: int, output_dir: str) -> str:
    """Render film ``index`` (0-based) of spooled job ``job_uid``; returns the film's name.

    Raises OSError when the output cannot be written, other exceptions when
    the film cannot be rendered.
    """
    spool = Spool(Path(spool_root), sync=SpoolSync.BEFORE_RESPONSE)  # reads only: no flusher
    film = spool.load(job_uid).films[index]
    started = datetime.now()
    rendered = render_film(film.spec)
    metadata = dict(film.metadata)
    metadata["rendered"] = {"started": started.isoformat(), "finished": datetime.now().isoformat()}
    write_film(rendered, Path(output_dir), film.name, metadata)
    return film.name

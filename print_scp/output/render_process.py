"""What a render process does: one spooled film to PDF, PNG, density map and JSON.

The render worker (``print_scp.output.render_worker``) runs :func:`render_spooled_film`
in a pool of processes, so rendering uses every core and never competes with
the DIMSE threads for the GIL. The spool is the only thing the processes
share with the server: a task names a job and a film, the process reads the
job from the spool (its pixels memory-mapped) and writes the film's files.

A render process ends when the server does, however the server ended
(SIGKILL included), once the film in hand is written
(:func:`start_render_process`): else it would wait for work forever, and keep the
fork server and multiprocessing's resource tracker running with it.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path

from dicomnet.freed_memory import keep_freed_memory
from film.render import render_film
from film.writers import write_film
from print_scp.fit_status import FIT_STATUS
from print_scp.output.job_document import write_job_document
from print_scp.output.spool import Spool

LOG = logging.getLogger("print_scp.render")

_rendering = threading.Lock()  # held while this process renders a film
NICE_INCREMENT = 10  # a render process's niceness above the server's


def start_render_process(server_alive: Connection) -> None:
    """Pool initializer: freeze the objects inherited from the fork server, take a lower
    CPU priority than the server (:data:`NICE_INCREMENT`), keep freed canvas
    memory for the next film (:mod:`dicomnet.freed_memory`), and end this
    process once the server has ended, after the film in hand.

    Rendering waits for the CPU while the server's associations need it: a
    modality waits for every response, a film in the spool waits for nobody
    (measured: 10 films of four 512² images from print-scu, accepted in 0.42-0.47 s
    instead of 0.55-0.65 s while the films before them were rendered).

    Frozen objects are left alone by the garbage collector, whose traversal
    would write to every one of them and so copy, page by page, the memory
    this process shares with the fork server and its siblings (measured:
    1.5-2 MiB less each, 8×10 in films at 150 dpi).

    ``server_alive`` is the read end of a pipe whose write end only the server
    holds, so it becomes readable (end of file) when the server's process is
    gone, whatever ended it.
    """
    gc.freeze()
    os.nice(NICE_INCREMENT)
    if not keep_freed_memory():
        LOG.info("render process: malloc settings not available here; freed memory is "
                 "returned to the system after each film")
    threading.Thread(target=_exit_when_readable, args=(server_alive,), name="server-watch",
                     daemon=True).start()


def _exit_when_readable(server_alive: Connection) -> None:
    server_alive.poll(None)
    with _rendering:
        os._exit(0)


def render_spooled_film(spool_root: str, job_uid: str, index: int,
                        output_dir: str) -> tuple[str, float]:
    """Render film ``index`` (0-based) of spooled job ``job_uid``; returns the film's name
    and the seconds its rendering and writing took.

    Raises OSError when the output cannot be written, other exceptions when
    the film cannot be rendered.
    """
    with _rendering:
        spool = Spool(Path(spool_root))  # only read here: no flush thread is started
        film = spool.load(job_uid).films[index]
        started = datetime.now()
        rendered = render_film(film.spec, FIT_STATUS)
        metadata = dict(film.metadata)
        metadata["rendered"] = {"started": started.isoformat(),
                                "finished": datetime.now().isoformat()}
        write_film(rendered, Path(output_dir), film.name, metadata)
        return film.name, (datetime.now() - started).total_seconds()


def write_spooled_job_document(spool_root: str, job_uid: str, output_dir: str,
                               report: bool, forwarding: dict[str, list[str]]) -> str:
    """Write the job document of spooled job ``job_uid`` from its written films; its name.

    ``forwarding`` names the sinks each film is forwarded to, for the report.

    Raises OSError when it cannot be written, ValueError when a film's files are
    not what the film writer wrote.
    """
    with _rendering:
        names = [film.name for film in Spool(Path(spool_root)).load(job_uid).films]
        return write_job_document(Path(output_dir), names, report, forwarding).name

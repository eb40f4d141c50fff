"""What a render process does: one spooled film to PDF, PNG, density map and JSON.

A render process (started by ``print_scp.output.render_pool``) runs
:func:`main`: it reads tasks from its standard input, runs each
(:data:`OPERATIONS`) and writes its answer to its standard output, one film at a
time, until its standard input closes. The spool is the only thing it shares
with the server: a task names a job and a film, the process reads the job from
the spool (its pixels memory-mapped) and writes the film's files.
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import traceback
from collections.abc import Callable
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from dicomnet.freed_memory import keep_freed_memory
from film.render import render_film
from film.writers import write_film
from print_scp.fit_status import FIT_STATUS
from print_scp.log_format import LOG_FORMAT
from print_scp.output.job_document import write_job_document
from print_scp.output.spool import Spool

NICE_INCREMENT = 10  # a render process's niceness above the server's


def main() -> None:
    """Serve the printer's tasks until it closes this process's standard input.

    The process takes a lower CPU priority than the server
    (:data:`NICE_INCREMENT`): rendering waits for the CPU while the server's
    associations need it, since a modality waits for every response and a film
    in the spool waits for nobody (measured: 10 films of four 512² images from
    print-scu, accepted in 0.42-0.47 s instead of 0.55-0.65 s while the films
    before them were rendered). It keeps freed canvas memory for the next film
    (:mod:`dicomnet.freed_memory`).

    SIGINT and SIGTERM are ignored: a Ctrl-C or a service manager's stop reaches
    the whole process group, and the server, which stops its render processes
    by closing their input, decides when a film in hand is abandoned. Anything
    written to standard output goes to standard error instead, so that only
    answers reach the server.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    tasks = Connection(os.dup(0), writable=False)
    answers = Connection(os.dup(1), readable=False)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    logging.basicConfig(level=logging.WARNING, format=LOG_FORMAT)
    logging.captureWarnings(True)  # a library's warning: one log line, as the server's
    os.nice(NICE_INCREMENT)
    keep_freed_memory()  # where the C library is not glibc, freed memory goes back instead
    while True:
        try:
            operation, args = tasks.recv()
        except EOFError:
            return
        try:
            answer: tuple[str, Any] = ("done", OPERATIONS[operation](*args))
        except Exception as exc:
            answer = ("failed", _sendable(exc))
        try:
            answers.send(answer)
        except OSError:  # the server has gone
            return


def _sendable(exc: Exception) -> Exception:
    """``exc`` with its traceback here as a note, or, if it cannot be pickled, a
    RuntimeError that names it."""
    exc.add_note("".join(traceback.format_exception(exc)).rstrip())
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        failure = RuntimeError(f"{type(exc).__name__}: {exc}")
        failure.__notes__ = exc.__notes__
        return failure
    return exc


def render_spooled_film(spool_root: str, job_uid: str, index: int,
                        output_dir: str) -> tuple[str, float]:
    """Render film ``index`` (0-based) of spooled job ``job_uid``; returns the film's name
    and the seconds its rendering and writing took.

    Raises OSError when the output cannot be written, other exceptions when
    the film cannot be rendered.
    """
    spool = Spool(Path(spool_root))  # only read here: no flush thread is started
    film = spool.load(job_uid).films[index]
    started = datetime.now()
    rendered = render_film(film.spec, FIT_STATUS)
    metadata = dict(film.metadata)
    metadata["rendered"] = {"started": started.isoformat(),
                            "finished": datetime.now().isoformat()}
    write_film(rendered, Path(output_dir), film.name, metadata)
    return film.name, (datetime.now() - started).total_seconds()


def write_named_job_document(output_dir: str, film_names: list[str], report: bool,
                             forwarding: dict[str, list[str]]) -> str:
    """Write the job document of the films ``film_names``, written in ``output_dir``; its
    name. The server names the films: it has read the job from the spool already.

    ``forwarding`` names the sinks each film is forwarded to, for the report.

    Raises OSError when it cannot be written, ValueError when a film's files are
    not what the film writer wrote.
    """
    return write_job_document(Path(output_dir), film_names, report, forwarding).name


#: What a render process runs, by the name a task gives.
OPERATIONS: dict[str, Callable[..., Any]] = {
    "render_film": render_spooled_film,
    "write_job_document": write_named_job_document,
}

if __name__ == "__main__":
    main()

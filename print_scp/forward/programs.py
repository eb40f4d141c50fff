"""Command and paper sinks: programs run with the film's paths, never through a shell.

Nothing from the network reaches an argument: a command's placeholders
stand for the paths of files the printer named itself, and ``lp`` gets the
queue and options of the profile and the path of the film's PDF.
"""

from __future__ import annotations

import subprocess

from print_scp.forward.sinks import CommandSink, Fit, PaperSink
from print_scp.forward.written_film import DeliveryError, WrittenFilm

__all__ = ["deliver_command", "deliver_paper", "lp_argv"]

_OUTPUT_SHOWN = 300  # characters of a failed program's output kept in the reason


def deliver_command(film: WrittenFilm, sink: CommandSink) -> None:
    """Run the sink's program; exit status 0 means delivered, anything else is retried."""
    values = film.placeholders()
    _run([values.get(argument, argument) for argument in sink.argv], sink.timeout_s)


def lp_argv(film: WrittenFilm, sink: PaperSink) -> list[str]:
    """The ``lp`` command that prints the film's PDF on the sink's queue."""
    server = ["-h", sink.server] if sink.server else []
    fit = ["-o", "fit-to-page"] if sink.fit is Fit.PAGE else ["-o", "print-scaling=none"]
    return ["lp", *server, "-d", sink.queue, *fit, "-t", film.name, "--",
            str(film.path(".pdf"))]


def deliver_paper(film: WrittenFilm, sink: PaperSink) -> None:
    """Submit the film's PDF to the CUPS queue (delivered once CUPS has accepted the job)."""
    if not film.path(".pdf").is_file():
        raise DeliveryError(f"film {film.name}: its PDF is gone", permanent=True)
    _run(lp_argv(film, sink), sink.timeout_s)


def _run(argv: list[str], timeout_s: float) -> None:
    try:
        result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise DeliveryError(f"{argv[0]} did not finish within {timeout_s:g} s") from None
    except OSError as exc:
        raise DeliveryError(f"{argv[0]} cannot be run: {exc.strerror or exc}") from None
    if result.returncode != 0:
        output = (result.stderr or result.stdout).decode("utf-8", "replace").strip()
        raise DeliveryError(f"{argv[0]} exited with status {result.returncode}"
                            + (f": {output[:_OUTPUT_SHOWN]}" if output else ""))

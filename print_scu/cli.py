"""``print-scu``: print DICOM images on DICOM printers through a durable queue.

    print-scu print   [--printer NAME | --host H --port P --called-ae AET] [options] FILES...
    print-scu submit  (as print)        queue the job, print its id, return
    print-scu worker                    deliver queued jobs until SIGTERM/SIGINT
    print-scu jobs [ID]                 the queue as a table, or one job and its events
    print-scu cancel ID / retry ID
    print-scu status [PRINTER]          Printer N-GET: status and identity, and the profile
    print-scu printers                  the configured printers, their last status polled

Printers come from --config (default $FILMBOX_PRINTERS, else
~/.config/filmbox/printers.toml); the queue lives in --spool (default
$FILMBOX_SPOOL, else ~/.local/share/filmbox/spool). User errors end with one
line on stderr, never a traceback; so does an internal error (a bug), whose
traceback goes to print-scu-debug.log in the spool. Exit status: 0 done,
1 failed, 2 usage or input error, 3 job not printed yet (still queued),
4 internal error.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.uid import UID

from dicomnet.freed_memory import keep_freed_memory
from print_scu.arguments import UserError, parser, print_options
from print_scu.config import (
    ConfigError,
    PrinterConfig,
    adhoc_printer,
    default_config_path,
    load_printers,
)
from print_scu.film_assembly import assemble_films
from print_scu.options import OptionError
from print_scu.prepare import PrepareError, inline_plut, prepare_files
from print_scu.queue import DATABASE_NAME, JobQueue, JobRecord, JobState, QueueError
from print_scu.request_attributes import film_box_attributes, p_value_bits, session_attributes
from print_scu.session import PrintError, PrinterSession
from print_scu.terminal import film_progress, note, print_table
from print_scu.worker import Worker

__all__ = ["default_spool_dir", "main"]

SPOOL_ENV = "FILMBOX_SPOOL"
DEFAULT_SPOOL = Path("~/.local/share/filmbox/spool")
PRINT_TIMEOUT_S = 3600.0  # longest `print` waits for its printer to take the job, s

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_QUEUED, EXIT_INTERNAL = 0, 1, 2, 3, 4
DEBUG_LOG = "print-scu-debug.log"  # in the spool directory: tracebacks of internal errors
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
_EXIT_SEVERITY = (EXIT_OK, EXIT_QUEUED, EXIT_FAILED)  # of several jobs, the worst is reported

#: Printer attributes shown by `status` (PS3.3 C.13.9), in this order.
PRINTER_ATTRIBUTES = (
    "PrinterStatus", "PrinterStatusInfo", "PrinterName", "Manufacturer",
    "ManufacturerModelName", "DeviceSerialNumber", "SoftwareVersions",
    "DateOfLastCalibration", "TimeOfLastCalibration",
)


def default_spool_dir() -> Path:
    """$FILMBOX_SPOOL if set, else ~/.local/share/filmbox/spool."""
    configured = os.environ.get(SPOOL_ENV)
    return Path(configured) if configured else DEFAULT_SPOOL.expanduser()


# --------------------------------------------------------------------------
# printers and spool
# --------------------------------------------------------------------------


def _printers(args: argparse.Namespace) -> dict[str, PrinterConfig]:
    return load_printers(args.config)


def _chosen_printer(args: argparse.Namespace, **adhoc: Any) -> PrinterConfig:
    """--printer NAME, or --host/--port/--called-ae (``adhoc`` are its capabilities)."""
    given = [args.host, args.port, args.called_ae]
    if any(value is not None for value in given):
        if args.printer is not None:
            raise UserError("give either --printer or --host/--port/--called-ae, not both")
        if any(value is None for value in given):
            raise UserError("a printer not in --config needs all of --host, --port and "
                            "--called-ae")
        if args.calling_ae is not None:
            adhoc["calling_ae"] = args.calling_ae
        return adhoc_printer(args.host, args.port, args.called_ae, **adhoc)
    printers = _printers(args)
    source = args.config or default_config_path()
    if args.printer is None:
        if len(printers) == 1:
            return next(iter(printers.values()))
        raise UserError(f"which printer? give --printer NAME ({_known(printers, source)}) or "
                        "--host, --port and --called-ae")
    if args.printer not in printers:
        raise UserError(f"unknown printer {args.printer!r} ({_known(printers, source)})")
    return printers[args.printer]


def _known(printers: dict[str, PrinterConfig], source: Path) -> str:
    if not printers:
        return f"no printers configured in {source}"
    return f"{source} has {', '.join(sorted(printers))}"


def _queue(args: argparse.Namespace) -> JobQueue:
    return JobQueue(args.spool or default_spool_dir())


# --------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------


def _submit(args: argparse.Namespace, jobs: int = 1
            ) -> tuple[JobQueue, PrinterConfig, list[int], int]:
    """Prepare the files and queue them as up to ``jobs`` jobs, the films divided in
    order, each job once per copy with --copies-as-jobs: (queue, printer, job ids,
    films).

    A printer given by --host/--port/--called-ae has no profile: it is taken
    to support what the options ask for (color, 12 bits, Presentation LUT,
    annotations), and the printer's answers tell otherwise.
    """
    options = print_options(args)
    printer = _chosen_printer(
        args, dpi=args.dpi, color=bool(options.color), bits=options.bits or 8,
        presentation_lut=any(v is not None for v in (options.plut, options.illumination,
                                                     options.reflected_ambient_light)),
        annotation=bool(options.annotations), implicit_only=options.implicit_only)
    try:
        session_attributes(options, printer)
        film_box_attributes(options, printer)
        if options.plut is not None:  # stored as a table: the file may vanish after submit
            options.plut = inline_plut(options.plut, p_value_bits(options, printer))
        images = prepare_files(args.files, options, printer,
                               on_skip=lambda error: note(f"skipped: {error}"))
        assembled = assemble_films(images, options, printer, datetime.now())
    except (OptionError, PrepareError) as exc:
        raise UserError(str(exc)) from None
    films, texts = assembled.films, assembled.annotations
    queue = _queue(args)
    parts = min(jobs, len(films))
    bounds = [len(films) * i // parts for i in range(parts + 1)]
    options, copies = assembled.options, 1
    if options.copies_as_jobs:  # each copy a job of its own, as syngo MR sends them
        options, copies = dataclasses.replace(options, copies=1), options.copies
    job_ids = [queue.submit(printer, options, films[start:end], texts[start:end])
               for _copy in range(copies)
               for start, end in zip(bounds, bounds[1:], strict=False)]
    return queue, printer, job_ids, len(films)


def _cmd_submit(args: argparse.Namespace) -> int:
    _, printer, job_ids, films = _submit(args)
    for job_id in job_ids:
        print(job_id)
    if len(job_ids) == 1:
        note(f"job {job_ids[0]} queued for {printer.name}: {films} film(s)")
    else:
        note(f"jobs {', '.join(map(str, job_ids))} queued for {printer.name}: {films} "
             "film(s) each, one job per copy")
    return EXIT_OK


def _cmd_print(args: argparse.Namespace) -> int:
    if args.associations > 1 and args.session_print:
        raise UserError("--associations and --session-print exclude each other: a film "
                        "session printed as a whole needs one association")
    queue, printer, job_ids, films = _submit(args, jobs=args.associations)
    with film_progress() as shown:
        for job_id in job_ids:
            job = queue.get(job_id)
            assert job is not None  # submitted above; jobs are never deleted
            shown.add_job(job_id, job.films_total, printer.name)

        def progress(job: JobRecord, index: int) -> None:
            if job.id in job_ids:
                shown.film_printed(job.id, index, job.films_total)

        worker = Worker(queue, progress=progress, associations=args.associations)
        with _stop_on_signals() as stop:
            worker.run_until_idle(PRINT_TIMEOUT_S, printers=[printer.name], stop=stop)
    statuses = []
    for job_id in job_ids:
        job = queue.get(job_id)
        assert job is not None
        statuses.append(_report(job))
    return max(statuses, key=_EXIT_SEVERITY.index)


#: How a job ended up: the line that says so ({id}, {printed}, {printer}, {worker} and
#: {error} filled in) and the exit status.
_OUTCOMES: dict[JobState, tuple[str, int]] = {
    JobState.DONE: ("job {id}: done, {printed} on {printer}", EXIT_OK),
    JobState.FAILED: ("job {id} failed ({printed}): {error}", EXIT_FAILED),
    JobState.CANCELLED: ("job {id} was cancelled ({printed})", EXIT_FAILED),
    JobState.PRINTING: ("job {id} is being printed by worker {worker} ({printed})", EXIT_QUEUED),
    JobState.QUEUED: ("job {id} not printed, it stays queued ({printed}): {reason}; "
                      "`print-scu worker` will retry it", EXIT_QUEUED),
}


def _report(job: JobRecord) -> int:
    """One line on how ``job`` ended up; the exit status."""
    line, status = _OUTCOMES[job.state]
    note(line.format(id=job.id, printed=f"{job.films_done}/{job.films_total} film(s) printed",
                      printer=job.printer, worker=job.worker, error=job.last_error,
                      reason=job.last_error or "not printed yet"))
    return status


def _cmd_worker(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pynetdicom").setLevel(logging.ERROR)
    worker = Worker(_queue(args), printers=_printers(args), associations=args.associations)
    logging.getLogger("print_scu.worker").info("worker %s started", worker.name)
    with _stop_on_signals() as stop:
        worker.run(stop)
    logging.getLogger("print_scu.worker").info("worker %s stopped", worker.name)
    return EXIT_OK


def _cmd_jobs(args: argparse.Namespace) -> int:
    queue = _queue(args)
    if args.job is not None:
        return _show_job(queue, args.job)
    jobs = queue.jobs([JobState(s) for s in args.state] if args.state else None)
    rows = [("ID", "STATE", "PRINTER", "PRIORITY", "FILMS", "ATTEMPTS", "UPDATED", "LAST ERROR")]
    rows += [(str(j.id), j.state.value, j.printer, j.priority, f"{j.films_done}/{j.films_total}",
              str(j.attempts), _time(j.updated), j.last_error or "") for j in jobs]
    print_table(rows)
    return EXIT_OK


def _show_job(queue: JobQueue, job_id: int) -> int:
    job = queue.get(job_id)
    if job is None:
        raise UserError(f"no job {job_id}")
    fields = [("job", str(job.id)), ("state", job.state.value), ("printer", job.printer),
              ("priority", job.priority), ("films", f"{job.films_done}/{job.films_total}"),
              ("attempts", str(job.attempts)), ("created", _time(job.created)),
              ("updated", _time(job.updated)), ("worker", job.worker or ""),
              ("last error", job.last_error or "")]
    if job.state is JobState.QUEUED:
        fields.append(("next attempt", _time(job.next_attempt_at)))
    print_table(fields, header=False)
    for when, text in queue.events(job_id):
        print(f"  {_time(when)}  {text}")
    return EXIT_OK


def _cmd_cancel(args: argparse.Namespace) -> int:
    return _change(args, JobQueue.cancel, "cancelled", "only a queued job can be cancelled")


def _cmd_retry(args: argparse.Namespace) -> int:
    return _change(args, JobQueue.retry, "queued again",
                   "only a failed or cancelled job can be retried")


def _change(args: argparse.Namespace, change: Callable[[JobQueue, int], bool], done: str,
            rule: str) -> int:
    queue = _queue(args)
    job = queue.get(args.job)
    if job is None:
        raise UserError(f"no job {args.job}")
    if not change(queue, args.job):
        note(f"job {args.job} is {job.state.value}: {rule}")
        return EXIT_FAILED
    note(f"job {args.job} {done}")
    return EXIT_OK


def _cmd_status(args: argparse.Namespace) -> int:
    if args.printer is not None or any(
        value is not None for value in (args.host, args.port, args.called_ae)
    ):
        printers = [_chosen_printer(args)]
    else:
        printers = list(_printers(args).values())
        if not printers:
            raise UserError(f"no printers configured in {args.config or default_config_path()}"
                            "; give PRINTER or --host, --port and --called-ae")
    return max(_status_of(printer) for printer in printers)


def _status_of(printer: PrinterConfig) -> int:
    """Print one printer's N-GET answer and profile; 1 if it cannot be reached."""
    session = PrinterSession(printer)
    try:
        attributes = session.printer_attributes()
        configuration = (session.printer_configuration() if printer.configuration_retrieval
                         else None)
    except PrintError as exc:
        print(f"{printer.name}: unreachable or refused: {exc}")
        return EXIT_FAILED
    finally:
        session.close()
    print(f"{printer.name} ({printer.called_ae}@{printer.host}:{printer.port})")
    rows = [(keyword, str(attributes.get(keyword, "")))
            for keyword in PRINTER_ATTRIBUTES if keyword in attributes]
    rows += [("profile", _capabilities(printer))]
    if configuration is not None:
        rows += [(element.keyword or str(element.tag), _element_text(element))
                 for item in configuration.get("PrinterConfigurationSequence", [])
                 for element in item]
    print_table([("  " + key, value) for key, value in rows], header=False)
    return EXIT_OK


#: Items of a sequence that `print-scu status` lists; longer ones are counted.
SEQUENCE_ITEMS_SHOWN = 8


def _element_text(element: DataElement) -> str:
    """A data element's value on one line: UIDs by name, sequence items comma-separated."""
    if element.VR == "SQ":
        items = list(dict.fromkeys(" ".join(_element_text(e) for e in item)
                                   for item in element.value))  # without repeats, in order
        if len(items) > SEQUENCE_ITEMS_SHOWN:
            return f"{len(element.value)} items, the first: {items[0]}"
        return ", ".join(items)
    values = element.value if isinstance(element.value, (list, MultiValue)) else [element.value]
    if element.VR == "UI":
        values = [UID(str(v)).name for v in values]
    return "\\".join(str(v) for v in values)


def _cmd_printers(args: argparse.Namespace) -> int:
    printers = _printers(args)
    if not printers:
        note(f"no printers configured in {args.config or default_config_path()}")
        return EXIT_OK
    spool = args.spool or default_spool_dir()  # the worker's status polls, if it ran
    polls = JobQueue(spool).printer_polls() if (spool / DATABASE_NAME).exists() else {}
    rows = [("NAME", "ADDRESS", "CAPABILITIES", "LAST STATUS", "WHEN")]
    rows += [(p.name, f"{p.called_ae}@{p.host}:{p.port}", _capabilities(p),
              polls[p.name].summary if p.name in polls else "not polled yet",
              _time(polls[p.name].time) if p.name in polls else "")
             for p in printers.values()]
    print_table(rows)
    return EXIT_OK


def _capabilities(printer: PrinterConfig) -> str:
    features = ["color" if printer.color else "grayscale", f"{printer.bits} bit"]
    features += [name for name, present in (
        ("presentation LUT", printer.presentation_lut), ("annotation", printer.annotation),
        ("print job", printer.print_job), ("implicit VR only", printer.implicit_only)) if present]
    if printer.film_sizes:
        features.append("films " + "/".join(printer.film_sizes))
    if printer.display_formats:
        features.append("formats " + "/".join(printer.display_formats))
    return ", ".join(features)


# --------------------------------------------------------------------------
# plumbing
# --------------------------------------------------------------------------


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "print": _cmd_print, "submit": _cmd_submit, "worker": _cmd_worker, "jobs": _cmd_jobs,
    "cancel": _cmd_cancel, "retry": _cmd_retry, "status": _cmd_status,
    "printers": _cmd_printers,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run one print-scu command; the exit status."""
    args = parser().parse_args(argv)
    keep_freed_memory()  # before any association's threads start
    # The worker's log is for `print-scu worker`; elsewhere jobs and events tell.
    logging.getLogger("print_scu").addHandler(logging.NullHandler())
    with warnings.catch_warnings():  # restores the process's warning display afterwards
        warnings.showwarning = _show_one_line
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The command ``args`` names; errors as one line each and their exit status."""
    try:
        return COMMANDS[args.command](args)
    except (UserError, ConfigError, OptionError, PrepareError, QueueError) as exc:
        print(f"print-scu: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # e.g. a spool directory that cannot be created
        where = f" {exc.filename}" if exc.filename else ""
        print(f"print-scu: error:{where} {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:  # before a job exists (printing catches SIGINT itself)
        print("print-scu: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug: one line here, the traceback in the debug log
        log = _log_traceback(args)
        detail = f" (traceback in {log})" if log else ""
        print(f"print-scu: error: internal error: {type(exc).__name__}: "
              f"{' '.join(str(exc).split())}{detail}", file=sys.stderr)
        return EXIT_INTERNAL


def _log_traceback(args: argparse.Namespace) -> Path | None:
    """Append the exception being handled to the spool's debug log; its path, None if that
    cannot be written."""
    path = (getattr(args, "spool", None) or default_spool_dir()) / DEBUG_LOG
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as log:
            log.write(f"{datetime.now().isoformat()} print-scu {args.command}\n"
                      f"{traceback.format_exc()}\n")
    except OSError:
        return None
    return path


def _show_one_line(message: Warning | str, category: type[Warning], *_: object,
                   **__: object) -> None:
    """Show a warning as "print-scu: warning: ..." (deprecated profile keys)."""
    print(f"print-scu: warning: {message}", file=sys.stderr)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT while the block runs (main thread only)."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda _signum, _frame: stop.set())
                for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _time(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s).strftime("%Y-%m-%d %H:%M:%S")


if __name__ == "__main__":
    sys.exit(main())

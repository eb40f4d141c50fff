"""``print-scp``: run the virtual printer, and change its state while it runs.

    print-scp serve --output DIR [--port PORT] [--ae-title AET]
                    [--config PROFILE.toml | --emulate NAME]
    print-scp web --output DIR --web HOST:PORT [--config PROFILE.toml]
    print-scp profiles
    print-scp forwards --output DIR [--failed] [--retry ID]
    print-scp set-status --output DIR STATUS [INFO]
    print-scp status --output DIR

Its top imports little, the rest is imported by the command that needs it:
print-scp's render processes import this module again (multiprocessing runs
the parent's main module in each), and keep whatever it imports.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dicomnet.freed_memory import keep_freed_memory
from dicomnet.terms import PRINTER_STATUS_INFO, PrinterStatus
from print_scp.control import ControlServer, send
from print_scp.forward.outbox import FAILED, OUTBOX_FILE, Outbox
from print_scp.log_format import LOG_FORMAT
from print_scp.output.render_pool import DEFAULT_RENDER_PROCESSES

if TYPE_CHECKING:
    from print_scp.profile import PrinterProfile

LOG = logging.getLogger("print_scp")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="print-scp",
        description="filmbox virtual DICOM printer: accepts Basic Grayscale/Color Print "
                    "Management and renders every film to PDF, PNG, density map and JSON.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the printer in the foreground until SIGINT/SIGTERM",
                           description="Run the printer in the foreground until SIGINT/SIGTERM. "
                                       "Films are written to --output as <name>.pdf, .png, "
                                       ".density.png and .json.")
    serve.add_argument("--output", "-o", type=Path, required=True,
                       help="directory for rendered films (created if missing)")
    profile = serve.add_mutually_exclusive_group()
    profile.add_argument("--config", "-c", type=Path,
                         help="printer profile (TOML); default: the built-in virtual printer")
    profile.add_argument("--emulate", "-e", metavar="NAME",
                         help="behave as a real printer model (print-scp profiles lists them)")
    serve.add_argument("--port", "-p", type=int, help="TCP port (default: the profile's, 10400)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1; 0.0.0.0 for the network)")
    serve.add_argument("--ae-title", "-a", help="AE title (default: the profile's, FILMBOX)")
    serve.add_argument("--strict", action="store_true",
                       help="answer deviations from the standard with failures")
    serve.add_argument("--render-processes", type=int, default=DEFAULT_RENDER_PROCESSES,
                       help="films rendered in parallel, each in its own process "
                            f"(default {DEFAULT_RENDER_PROCESSES})")
    for name, key, what in (
            ("acse", "acse_timeout_s", "a new connection has to send its A-ASSOCIATE-RQ"),
            ("dimse", "dimse_timeout_s", "the printer waits for an N-EVENT-REPORT response"),
            ("network", "network_timeout_s", "an association may stay idle, or a PDU stall")):
        serve.add_argument(f"--{name}-timeout", type=_seconds, dest=key, metavar="SECONDS",
                           help=f"seconds {what} (default: the profile's [network] {key})")
    serve.add_argument("--max-pdu", type=_pdu_bytes, dest="max_pdu_bytes", metavar="BYTES",
                       help="longest PDU accepted, announced to every SCU, 4096 to 1048576 "
                            "(default: the profile's [network] max_pdu_bytes, 1048576)")
    serve.add_argument("--verbose", "-v", action="store_true", help="log every DIMSE detail")
    serve.add_argument("--web", metavar="HOST:PORT",
                       help="also serve the web console there (HOST default 127.0.0.1)")
    web = sub.add_parser("web", help="serve the web console, read-only, over an output "
                                     "directory (no printer running)",
                         description="Serve the web console over the films of an output "
                                     "directory when no printer runs there; printer "
                                     "controls are off.")
    web.add_argument("--output", "-o", type=Path, required=True, help="the output directory")
    web.add_argument("--web", metavar="HOST:PORT", required=True,
                     help="where to listen (HOST default 127.0.0.1)")
    web.add_argument("--config", "-c", type=Path, help="printer profile ([web] token, [tls])")

    sub.add_parser("profiles", help="list the printers --emulate can behave as",
                   description="List the real printer models that serve --emulate NAME "
                               "behaves as, with their film sizes and resolution.")
    forwards = sub.add_parser("forwards", help="list the deliveries of forwarded films; retry",
                              description="List every delivery of a printed film to a "
                                          "[[forward]] sink, with its state; retry failed ones "
                                          "(a running printer takes them up at once).")
    forwards.add_argument("--output", "-o", type=Path, required=True,
                          help="the printer's --output directory")
    forwards.add_argument("--failed", action="store_true", help="only the failed deliveries")
    forwards.add_argument("--retry", type=int, metavar="ID", action="append",
                          help="make failed delivery ID pending again (repeatable)")
    for name, text in (("set-status", "change the printer's status (sends N-EVENT-REPORTs)"),
                       ("status", "show the printer's status")):
        cmd = sub.add_parser(name, help=text, description=text)
        cmd.add_argument("--output", "-o", type=Path, required=True,
                         help="the --output directory of the running printer")
        if name == "set-status":
            cmd.add_argument("status", choices=[s.value for s in PrinterStatus],
                             help="Printer Status")
            cmd.add_argument("info", nargs="?",
                             help="Printer Status Info, e.g. 'FILM JAM' (PS3.3 C.13.9.1 "
                                  "defined terms: " + ", ".join(PRINTER_STATUS_INFO[:8]) + ", ...)")
    return parser


def _seconds(text: str) -> float:
    """argparse type: a positive number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not (0 < value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text} must be a number of seconds > 0")
    return value


def _pdu_bytes(text: str) -> int:
    """argparse type: a Maximum Length Received print-scp may announce, bytes."""
    from print_scp.profile import max_pdu_problem
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of bytes") from None
    problem = max_pdu_problem(value)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return value


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "profiles":
        return _profiles()
    if args.command == "web":
        return _web_only(args)
    if args.command == "forwards":
        return _forwards(args)
    request = {"command": args.command}
    if args.command == "set-status":
        request.update(status=args.status, info=args.info)
    try:
        reply = send(args.output, request)
    except OSError as exc:
        print(f"print-scp: no printer is running with output {args.output} ({exc.strerror or exc})",
              file=sys.stderr)
        return 2
    if not reply.get("ok"):
        print(f"print-scp: {reply.get('error')}", file=sys.stderr)
        return 2
    print(f"{reply['status']} ({reply['info']}); {reply['associations']} associations, "
          f"{reply['films_rendered']} films rendered, {reply['films_waiting']} waiting")
    return 0


def _profiles() -> int:
    """Print one line per emulated printer: name, model, film sizes, dpi, color."""
    from print_scp.emulated import emulated_printers
    from print_scp.profile import ProfileError, load_profile

    rows = []
    for name, path in emulated_printers().items():
        try:
            p = load_profile(path)
        except ProfileError as exc:
            print(f"print-scp: {exc}", file=sys.stderr)
            return 2
        dpi = f"{p.standard_dpi}" + (f"/{p.high_dpi}" if p.high_dpi != p.standard_dpi else "")
        rows.append((name, f"{p.manufacturer} {p.model_name}", f"{dpi} dpi",
                     "color" if p.color else "grayscale", " ".join(p.film_sizes)))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
    print("\nprint-scp serve --output DIR --emulate NAME")
    return 0


def _forwards(args: argparse.Namespace) -> int:
    """List the outbox's deliveries (or the failed ones); retry the --retry IDs."""
    if not (args.output / OUTBOX_FILE).is_file():
        print(f"print-scp: no deliveries recorded in {args.output}", file=sys.stderr)
        return 2
    outbox = Outbox(args.output)
    try:
        for delivery_id in args.retry or ():
            if not outbox.retry(delivery_id):
                print(f"print-scp: delivery {delivery_id} is not a failed delivery",
                      file=sys.stderr)
                return 2
            print(f"delivery {delivery_id}: pending again")
        if args.retry:
            return 0
        for d in outbox.list(FAILED if args.failed else None):
            reason = f"  {d.last_error}" if d.last_error else ""
            print(f"{d.id:>6}  {d.state:<8} {d.attempts:>2} attempt(s)  {d.sink:<16} "
                  f"{d.film}{reason}")
    finally:
        outbox.close()
    return 0


def _start_console(args: argparse.Namespace, profile: PrinterProfile, output: Path,
                   control: ControlServer | None, metrics: Any = None) -> Any:
    """Start the web console of ``--web``; it, or None after printing why it cannot start."""
    from print_scp.profile import describe_profile
    from print_scp.web.app import ConsoleSettings
    from print_scp.web.server import WebAddress, WebConsole, console_token, is_loopback
    try:
        address = WebAddress.parse(args.web)
    except ValueError as exc:
        print(f"print-scp: {exc}", file=sys.stderr)
        return None
    output.mkdir(parents=True, exist_ok=True)
    token, new = console_token(output, profile.web_token)
    required = profile.web_require_token or not is_loopback(address.host)
    settings = ConsoleSettings(output, token, required,
                               control=None if control is None else control.execute,
                               profile_text=describe_profile(profile), metrics=metrics)
    console = WebConsole(settings, address, profile.tls)
    try:
        bound = console.start()
    except OSError as exc:
        print(f"print-scp: {exc}", file=sys.stderr)
        return None
    link = f"{console.scheme}://{bound.host}:{bound.port}/" + (
        f"?token={token}" if required else "")
    print(f"web console: {link}" + (" (new token, kept in the output directory)"
                                    if new and required else ""), flush=True)
    return console


def _web_only(args: argparse.Namespace) -> int:
    from print_scp.profile import ProfileError, load_profile

    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        profile = load_profile(args.config)
    except ProfileError as exc:
        print(f"print-scp: {exc}", file=sys.stderr)
        return 2
    if not args.output.is_dir():
        print(f"print-scp: {args.output} is not a directory of films", file=sys.stderr)
        return 2
    console = _start_console(args, profile, args.output, None)
    if console is None:
        return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    stop.wait()
    console.stop()
    return 0


def _serve(args: argparse.Namespace) -> int:
    from print_scp.emulated import emulated_profile
    from print_scp.profile import ProfileError, load_profile

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format=LOG_FORMAT)
    logging.captureWarnings(True)  # deprecated profile keys: one log line, no source line
    if not args.verbose:
        # pynetdicom's own per-message dump handlers then go too (dicomnet.unlogged_dumps;
        # they also log a spurious traceback for an N-GET without attribute list)
        logging.getLogger("pynetdicom").setLevel(logging.WARNING)
    from print_scp.server import PrintServer  # heavy imports after argument checks

    keep_freed_memory()  # before any association's threads start (dicomnet.freed_memory)

    try:
        profile = emulated_profile(args.emulate) if args.emulate else load_profile(args.config)
    except ProfileError as exc:
        print(f"print-scp: {exc}", file=sys.stderr)
        return 2
    changes = {}
    if args.ae_title:
        changes["ae_title"] = args.ae_title
    if args.strict:
        changes["strict"] = True
    for key in ("acse_timeout_s", "dimse_timeout_s", "network_timeout_s", "max_pdu_bytes"):
        if getattr(args, key) is not None:
            changes[key] = getattr(args, key)
    profile = replace(profile, **changes)
    server = PrintServer(profile, args.output, render_processes=max(1, args.render_processes))
    try:
        host, port = server.start(args.host, args.port)
    except OSError as exc:
        print(f"print-scp: cannot listen on {args.host}:{args.port or profile.port}: "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 2
    control = ControlServer(server)
    control.start()
    console = None
    if args.web:
        console = _start_console(args, profile, args.output, control, server.metrics)
        if console is None:
            control.stop()
            server.stop()
            return 2
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"print-scp: {profile.ae_title} listening on {host}:{port}, films in {args.output}",
          flush=True)
    stop.wait()
    LOG.info("stopping")
    if console is not None:
        console.stop()
    control.stop()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

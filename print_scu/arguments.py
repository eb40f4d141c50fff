"""The ``print-scu`` command line: its parser, and the print options it gives.

Options are named after the DICOM attributes they set (densities in
hundredths of OD, luminances in cd/m²); :func:`print_options` turns them
into a checked :class:`print_scu.options.PrintOptions`, and a value that
cannot be used is a :class:`UserError`, printed as one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dicomnet.terms import PrintPriority
from film.model import DecimateCropBehavior
from lut.windowing import WINDOW_PRESETS, AutoWindow
from print_scu.input_files import InputOrder
from print_scu.options import OptionError, PrintOptions
from print_scu.queue import JobState

__all__ = ["UserError", "parser", "print_options"]

AUTO_WINDOW = "auto-"  # --window auto-series|auto-job|auto-frame


class UserError(Exception):
    """Something the user can fix; printed as one line, exit status 2."""


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path,
                        help="printer profiles (TOML) [default: $FILMBOX_PRINTERS, else "
                             "~/.config/filmbox/printers.toml]")
    common.add_argument("--spool", type=Path,
                        help="queue directory [default: $FILMBOX_SPOOL, else "
                             "~/.local/share/filmbox/spool]")
    parser = argparse.ArgumentParser(
        prog="print-scu",
        description="Queueing DICOM print client (Basic Grayscale/Color Print Management).",
        epilog="Exit status: 0 done, 1 failed, 2 usage or input error, 3 not printed yet "
               "(the job stays queued), 4 internal error (its traceback in the debug log).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    for name, text in (("print", "queue a job and print it now, showing progress per film"),
                       ("submit", "queue a job for `print-scu worker` and print its id")):
        command = sub.add_parser(name, parents=[common], help=text, description=text)
        _printer_arguments(command)
        _print_options(command)
        if name == "print":
            command.add_argument(
                "--associations", type=_positive_int, default=1, metavar="N",
                help="print over up to N concurrent associations: the films are divided "
                     "into up to N film sessions (jobs), in order [default 1; not with "
                     "--session-print]")
        command.add_argument("files", nargs="+", type=Path, metavar="FILE",
                             help="DICOM image files or directories (read recursively), "
                                  "printed by series (see --order)")

    worker = sub.add_parser("worker", parents=[common],
                            help="deliver queued jobs until SIGTERM or SIGINT",
                            description="Deliver queued jobs until SIGTERM or SIGINT; the film "
                                        "in flight is finished first.")
    worker.add_argument("--associations", type=_positive_int, default=1, metavar="N",
                        help="jobs delivered to each printer at once, each over its own "
                             "association [default 1]")
    jobs = sub.add_parser("jobs", parents=[common], help="list jobs, or show one with its events")
    jobs.add_argument("job", nargs="?", type=int, metavar="ID", help="show this job in detail")
    jobs.add_argument("--state", action="append", choices=[s.value for s in JobState],
                      help="only jobs in this state (repeatable)")
    for name, text in (("cancel", "cancel a queued job"),
                       ("retry", "queue a failed or cancelled job again")):
        command = sub.add_parser(name, parents=[common], help=text, description=text)
        command.add_argument("job", type=int, metavar="ID")
    status = sub.add_parser("status", parents=[common],
                            help="ask printers for their status (Printer N-GET)")
    status.add_argument("printer", nargs="?", metavar="PRINTER",
                        help="a configured printer [default: all]")
    _adhoc_arguments(status)
    sub.add_parser("printers", parents=[common],
                   help="list the configured printers and the status the worker last polled")
    return parser


def _printer_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--printer", "-P", metavar="NAME", help="a printer of --config")
    adhoc = _adhoc_arguments(command)
    adhoc.add_argument("--dpi", type=float,
                       help="printer pixels per inch, for --resample and --compose (profiles "
                            "set dpi)")


def _adhoc_arguments(command: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    group = command.add_argument_group("a printer not in --config")
    group.add_argument("--host", help="printer host name or address")
    group.add_argument("--port", type=int, help="printer TCP port")
    group.add_argument("--called-ae", metavar="AET", help="printer AE title")
    group.add_argument("--calling-ae", metavar="AET", help="our AE title [default FILMBOX_SCU]")
    return group


def _print_options(command: argparse.ArgumentParser) -> None:
    """Options named after the DICOM attributes they set (densities in hundredths of OD)."""
    film = command.add_argument_group("film (Film Session and Film Box)")
    film.add_argument("--film-size", metavar="ID", help="Film Size ID, e.g. 14INX17IN, 8INX10IN")
    film.add_argument("--format", dest="display_format", metavar="FORMAT",
                      help="Image Display Format, e.g. STANDARD\\2,3 or 2x3 (columns x rows) "
                           "[default 1x1]")
    film.add_argument("--orientation", metavar="O", help="Film Orientation: PORTRAIT, LANDSCAPE")
    film.add_argument("--copies", type=int, help="Number of Copies [default 1]")
    film.add_argument("--copies-as-jobs", action="store_true",
                      help="send --copies N as N jobs of Number of Copies 1, for printers "
                           "that ignore Number of Copies")
    film.add_argument("--priority", type=str.upper, choices=[p.value for p in PrintPriority],
                      help="Print Priority; also the queue's order [default MED]")
    film.add_argument("--medium", metavar="M", help="Medium Type, e.g. 'BLUE FILM', PAPER")
    film.add_argument("--destination", metavar="D",
                      help="Film Destination: MAGAZINE, PROCESSOR, BIN_i")
    film.add_argument("--label", help="Film Session Label")
    film.add_argument("--magnification", metavar="M",
                      help="Magnification Type: REPLICATE, BILINEAR, CUBIC, NONE")
    film.add_argument("--smoothing", metavar="S", help="Smoothing Type (printer specific)")
    film.add_argument("--min-density", type=int, metavar="N", help="Min Density, 1/100 OD")
    film.add_argument("--max-density", type=int, metavar="N", help="Max Density, 1/100 OD")
    film.add_argument("--border-density", metavar="D",
                      help="Border Density: BLACK, WHITE or 1/100 OD")
    film.add_argument("--empty-density", metavar="D",
                      help="Empty Image Density: BLACK, WHITE or 1/100 OD")
    film.add_argument("--trim", action=argparse.BooleanOptionalAction, default=None,
                      help="Trim: a border-density frame around each image")
    film.add_argument("--illumination", type=int, metavar="CD_M2",
                      help="Illumination, cd/m² (printers with Presentation LUT)")
    film.add_argument("--reflected-ambient-light", type=int, metavar="CD_M2",
                      help="Reflected Ambient Light, cd/m² (printers with Presentation LUT)")
    film.add_argument("--annotation", action="append", dest="annotations", metavar="TEXT",
                      help="an Annotation Box text (repeatable, in box order), a template: "
                           "{Keyword} is that DICOM attribute of the film's first image, "
                           "{page}/{pages} the film's number and count, {date} {time} the "
                           "submission's; {{ }} are braces")
    film.add_argument("--session-print", action="store_true",
                      help="print all films with one Film Session N-ACTION at the end")

    image = command.add_argument_group("images")
    image.add_argument("--polarity", type=str.upper, choices=("NORMAL", "REVERSE"),
                       help="Polarity [default NORMAL]")
    image.add_argument("--window", metavar="C,W",
                       help="VOI window center,width (HU for CT; write --window=-600,1500 for "
                            f"a negative center), a preset: {', '.join(WINDOW_PRESETS)}, or "
                            "for images without a window of their own, one computed over "
                            f"{', '.join(AUTO_WINDOW + mode.value for mode in AutoWindow)} "
                            "[default: the file's, else auto-series]")
    image.add_argument("--plut", metavar="SHAPE|FILE",
                       help="Presentation LUT: IDENTITY, 'LIN OD' or a LUT file")
    image.add_argument("--bits", type=int, choices=(8, 12),
                       help="P-Value bits [default: the printer's]")
    image.add_argument("--color", action=argparse.BooleanOptionalAction, default=None,
                       help="print in color (Basic Color Print Management) [default: the "
                            "printer's]")
    image.add_argument("--frames", metavar="LIST",
                       help="frames of multi-frame files: all or e.g. 1,3-5 [default all]")
    image.add_argument("--keep-monochrome1", action="store_true",
                       help="send MONOCHROME1 as is (else inverted to MONOCHROME2)")
    image.add_argument("--resample", action="store_true",
                       help="resample each image to its image box's size at the printer's "
                            "resolution, so the printer need not magnify; off: leave "
                            "magnification to the printer")
    image.add_argument("--overlays", action="store_true",
                       help="burn in the files' overlay planes (60xx groups) in white")

    inputs = command.add_argument_group("input files")
    inputs.add_argument("--force", action="store_true",
                        help="also read data sets without preamble and file meta (the "
                             "transfer syntax guessed, as DCMTK's +f)")
    inputs.add_argument("--skip-invalid", action="store_true",
                        help="print what can be printed, list the files skipped [default: "
                             "the first file that cannot be printed stops the job]")
    inputs.add_argument("--order", choices=[order.value for order in InputOrder],
                        help="series: by series, then Instance Number; files: as given, "
                             "directories in file name order [default series]")

    sizes = command.add_argument_group("sizes")
    sizes.add_argument("--true-size", action="store_true",
                       help="print each image 1:1 (Requested Image Size from Pixel Spacing, or "
                            "Imager Pixel Spacing corrected for magnification); an image "
                            "larger than its box is refused")
    sizes.add_argument("--requested-image-size", type=float, metavar="MM",
                       help="Requested Image Size: the printed width of every image, mm")
    sizes.add_argument("--decimate-crop", type=str.upper,
                       choices=[b.value for b in DecimateCropBehavior],
                       help="Requested Decimate/Crop Behavior for an image larger than its "
                            "box: DECIMATE shrinks it, CROP cuts it, FAIL refuses it")

    page = command.add_argument_group("whole page")
    page.add_argument("--compose", action="store_true",
                      help="compose each film on this side as one STANDARD\\1,1 image at the "
                           "printer's pixel matrix (its Printer Configuration, else dpi), "
                           "the annotations drawn in")
    page.add_argument("--scale-bar", action="store_true",
                      help="with --compose: a scale bar on each image of known pixel spacing")

    network = command.add_argument_group("network")
    network.add_argument("--implicit-only", action="store_true",
                         help="propose Implicit VR Little Endian only")


def print_options(args: argparse.Namespace) -> PrintOptions:
    """PrintOptions from the command line; unset options keep their defaults."""
    values: dict[str, Any] = {
        name: getattr(args, name)
        for name in ("film_size", "display_format", "orientation", "copies", "priority",
                     "medium", "destination", "label", "magnification", "smoothing",
                     "min_density", "max_density", "border_density", "empty_density", "trim",
                     "polarity", "plut", "illumination", "reflected_ambient_light", "bits",
                     "color", "annotations", "frames", "order", "requested_image_size",
                     "decimate_crop")
        if getattr(args, name) is not None
    }
    for flag in ("session_print", "copies_as_jobs", "implicit_only", "keep_monochrome1",
                 "resample", "force", "skip_invalid", "overlays", "true_size", "compose",
                 "scale_bar"):
        values[flag] = getattr(args, flag)
    if args.window is not None:
        values.update(_window(args.window))
    try:
        return PrintOptions(**values)
    except OptionError as exc:
        raise UserError(str(exc)) from None


def _window(text: str) -> dict[str, Any]:
    """``--window``: "C,W" gives window, auto-MODE window_auto, a preset name window_preset."""
    modes = [AUTO_WINDOW + mode.value for mode in AutoWindow]
    if text.strip().lower() in modes:
        return {"window_auto": text.strip().lower().removeprefix(AUTO_WINDOW)}
    center, comma, width = text.partition(",")
    if not comma:
        return {"window_preset": text}
    try:
        return {"window": (float(center), float(width))}
    except ValueError:
        raise UserError(f"--window {text!r}: give center,width (numbers), a preset: "
                        f"{', '.join(WINDOW_PRESETS)}, or {', '.join(modes)}") from None

"""The main job: start the virtual printer, print the bundled examples, keep the PDFs.

    python examples/print_examples.py [--output films] [--config examples/printers/virtual.toml]

Starts ``print-scp serve`` on a free loopback port, prints five films of the
sample images in ``examples/images/`` to it over DICOM (grayscale 8- and
12-bit, windowed CT, MR, MONOCHROME1 CR, a multi-frame image, RGB
ultrasound, with annotations and a landscape film), waits until every film is
rendered, stops the printer and lists the files. Exit status 0 when every
film printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset

from lut.windowing import to_p_values
from print_scp.launcher import free_port, start_print_scp
from print_scu.address import PrinterAddress
from print_scu.association import PrintAssociation
from print_scu.image_box_requests import color_image_box, grayscale_image_box

HERE = Path(__file__).resolve().parent
IMAGES = HERE / "images"
RENDER_TIMEOUT = 120.0  # s for every film to be rendered


@dataclass
class Film:
    """One film: what goes in each box, and the film box attributes."""

    title: str
    display_format: str
    images: list[tuple[Path, int | None]]  # (file, frame) per box
    bits: int = 8
    orientation: str = "PORTRAIT"
    color: bool = False
    polarity: str = "NORMAL"
    annotations: list[str] = field(default_factory=list)


FILMS = [
    Film("gray wedge, 8-bit", "STANDARD\\1,1", [(IMAGES / "01_gray_wedge_8bit.dcm", None)]),
    Film("12-bit test pattern, landscape", "STANDARD\\1,1",
         [(IMAGES / "02_test_pattern_12bit.dcm", None)], bits=12, orientation="LANDSCAPE"),
    Film("CT, MR, CR and wedge with annotations", "STANDARD\\2,2",
         [(IMAGES / "03_ct_window.dcm", None), (IMAGES / "04_mr.dcm", None),
          (IMAGES / "05_cr_monochrome1.dcm", None), (IMAGES / "01_gray_wedge_8bit.dcm", None)],
         annotations=["FILMBOX^DEMO", "filmbox example film"]),
    Film("multi-frame, all frames", "STANDARD\\2,2",
         [(IMAGES / "07_multiframe_4x64.dcm", frame) for frame in range(4)]),
    Film("color ultrasound", "STANDARD\\1,1", [(IMAGES / "06_us_rgb.dcm", None)], color=True),
]


def image_box(film: Film, position: int, path: Path, frame: int | None) -> Dataset:
    ds = pydicom.dcmread(path)
    if film.color:
        rgb = ds.pixel_array.astype(np.uint8)
        return color_image_box(position, rgb, polarity=film.polarity)
    pixels, photometric = to_p_values(ds, frame=frame, bits=film.bits)
    return grayscale_image_box(position, pixels, film.bits, photometric, polarity=film.polarity)


def print_film(address: PrinterAddress, film: Film) -> None:
    """One association per film: session, film box, image boxes, annotations, print."""
    with PrintAssociation(address, color=film.color) as printer:
        session = Dataset()
        session.NumberOfCopies = 1
        session.FilmSessionLabel = film.title
        status, session_uid = printer.create_film_session(session)
        _check(printer, status)
        box = Dataset()
        box.ImageDisplayFormat = film.display_format
        box.FilmOrientation = film.orientation
        box.FilmSizeID = "14INX17IN"
        box.MagnificationType = "CUBIC"
        if film.annotations:
            box.AnnotationDisplayFormatID = "LABEL"
        status, refs = printer.create_film_box(box, film_session_uid=session_uid)
        _check(printer, status)
        boxes = zip(refs.image_box_uids, film.images, strict=True)
        for position, (uid, (path, frame)) in enumerate(boxes, 1):
            _check(printer, printer.set_image_box(uid, image_box(film, position, path, frame)))
        notes = zip(refs.annotation_boxes, film.annotations, strict=True)
        for position, (uid, text) in enumerate(notes, 1):
            note = Dataset()
            note.AnnotationPosition = position
            note.TextString = text
            _check(printer, printer.set_annotation_box(uid, note))
        status, _ = printer.print_film_box(refs.film_box_uid)
        _check(printer, status)


def _check(printer: PrintAssociation, status: int) -> None:
    if status not in (0x0000,) and not 0xB000 <= status <= 0xBFFF:
        raise RuntimeError(f"printer answered {printer.last_result}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=Path("films"),
                        help="folder for the rendered films (default ./films)")
    parser.add_argument("--config", type=Path, help="printer profile for print-scp")
    args = parser.parse_args(argv)
    output = args.output.resolve()
    output.mkdir(parents=True, exist_ok=True)
    before = set(output.glob("*.json"))
    port = free_port()
    extra = ["--config", str(args.config)] if args.config else []
    log_path = output / "print-scp.log"
    with log_path.open("w") as log:
        try:
            printer = start_print_scp(output, port, *extra, log=log)
        except RuntimeError as exc:
            print(f"print_examples: {exc}; see {log_path}", file=sys.stderr)
            return 1
        try:
            address = PrinterAddress("127.0.0.1", port, "FILMBOX", calling_ae="FILMBOX_DEMO")
            for film in FILMS:
                print(f"printing: {film.title}", flush=True)
                print_film(address, film)
            deadline = time.monotonic() + RENDER_TIMEOUT
            while len(set(output.glob("*.json")) - before) < len(FILMS):
                if time.monotonic() > deadline:
                    raise RuntimeError("films not rendered in time; see " + str(log_path))
                time.sleep(0.2)
        except Exception as exc:
            print(f"print_examples: {exc}", file=sys.stderr)
            return 1
        finally:
            printer.terminate()
            printer.wait(timeout=30)
    new = sorted(set(output.glob("*.json")) - before)
    print(f"\n{len(new)} films printed to {output}:")
    for film in new:
        print(f"  {film.stem}.pdf  (+ .png, .density.png, .json; the job: "
              f"{film.stem[:-3]}.pdf)")
    print(f"printer log: {log_path}")
    print(f"\nto look at them in the web console:\n  .venv/bin/print-scp web --output {output} "
          "--web 127.0.0.1:8080   (then open http://127.0.0.1:8080/)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

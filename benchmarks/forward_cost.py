"""The CPU time forwarding adds to the printer, per film.

    python benchmarks/forward_cost.py [--films 20] [--dpi 150]

print-scp runs as a child process twice, once without forward sinks and
once with a store sink (Secondary Capture and Encapsulated PDF) to a private
Orthanc; each run prints ``--films`` 8×10 in films of one 512² image over one
association, waits until every film is written (and, with the sink, every
delivery is done), and reads the CPU time (user + system) of print-scp's main
process from /proc, where deliveries run. Render processes do the same work
in both runs and are not counted. Reports both figures per film and the
difference, which is what forwarding costs the printer (Orthanc's own CPU is
not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from orthanc_server import OrthancServer
from pydicom.dataset import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from print_scp.forward.outbox import DONE, deliveries_in  # noqa: E402
from print_scp.launcher import free_port, start_print_scp  # noqa: E402
from print_scu.address import PrinterAddress  # noqa: E402
from print_scu.association import PrintAssociation  # noqa: E402
from print_scu.image_box_requests import grayscale_image_box  # noqa: E402

TIMEOUT_S = 300.0


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (its own, not its children's)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(work: Path, films: int, dpi: int, pacs: OrthancServer | None) -> float:
    """CPU seconds of print-scp's main process for ``films`` films (and their deliveries)."""
    output = work / ("forward" if pacs else "plain")
    output.mkdir(parents=True)
    profile = work / f"{output.name}.toml"
    text = f"[resolution]\nstandard_dpi = {dpi}\n"
    if pacs is not None:
        text += (f'[[forward]]\nname = "pacs"\ntype = "store"\nhost = "127.0.0.1"\n'
                 f'port = {pacs.dicom_port}\ncalled_ae = "{pacs.aet}"\n'
                 'objects = ["secondary-capture", "encapsulated-pdf"]\n')
    profile.write_text(text)
    port = free_port()
    with (work / f"{output.name}.log").open("wb") as log:
        printer = start_print_scp(output, port, "--config", str(profile), log=log)
    try:
        address = PrinterAddress("127.0.0.1", port, "FILMBOX", calling_ae="BENCH")
        image = np.random.default_rng(1).integers(0, 256, (512, 512), dtype=np.uint8)
        with PrintAssociation(address, presentation_lut=False, annotation=False) as scu:
            for _ in range(films):
                session = Dataset()
                session.NumberOfCopies = 1
                _, session_uid = scu.create_film_session(session)
                box = Dataset()
                box.ImageDisplayFormat = "STANDARD\\1,1"
                box.FilmSizeID = "8INX10IN"
                _, refs = scu.create_film_box(box, film_session_uid=session_uid)
                scu.set_image_box(refs.image_box_uids[0], grayscale_image_box(1, image, 8))
                scu.print_film_box(refs.film_box_uid)
                scu.delete_film_session(session_uid)
        deadline = time.monotonic() + TIMEOUT_S
        while not (len(list(output.glob("*-01.json"))) == films
                   and len(deliveries_in(output, DONE)) == (films if pacs else 0)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"films or deliveries not done in {TIMEOUT_S:g} s: {output}")
            time.sleep(0.1)
        return _cpu_s(printer.pid)
    finally:
        printer.terminate()
        printer.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=20)
    parser.add_argument("--dpi", type=int, default=150)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="filmbox-forward-cost-") as directory:
        work = Path(directory)
        plain = run(work, args.films, args.dpi, None)
        with OrthancServer(work) as pacs:
            forwarded = run(work, args.films, args.dpi, pacs)
    print(json.dumps({
        "films": args.films, "dpi": args.dpi,
        "printer_cpu_s_per_film_without_forwarding": round(plain / args.films, 4),
        "printer_cpu_s_per_film_with_store_sink": round(forwarded / args.films, 4),
        "forwarding_adds_cpu_s_per_film": round((forwarded - plain) / args.films, 4),
    }, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

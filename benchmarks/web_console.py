"""The web console with 10,000 films: how fast its gallery pages are, and its idle CPU.

    python benchmarks/web_console.py [--films 10000] [--runs 5]

Writes ``--films`` film JSON documents (copies of one real film's JSON under
new names, calling AEs and times) into a temporary output directory, starts
the console over it (read-only, in this process), and reports:

* the time to build the index from the JSONs (the first start over an old folder);
* the median time to serve the gallery's first page and a page filtered by
  calling AE and text (HTTP request to complete response, over loopback);
* the CPU the console uses while idle: CPU seconds per second of this
  process over 5 s with no request (its index poller and server threads).

The target is under 300 ms per page and an idle CPU near zero.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from print_scp.web.app import ConsoleSettings  # noqa: E402
from print_scp.web.server import WebAddress, WebConsole  # noqa: E402

IDLE_S = 5.0


def film_document(number: int) -> tuple[str, dict]:
    """A film's JSON as the printer writes it (the parts the console reads)."""
    ae = f"CT_ROOM_{number % 7}"
    name = f"20261205-{number:06d}-{ae}-{number:08x}-01"
    document = {
        "name": name,
        "association": {"calling_ae": ae, "peer": "127.0.0.1:1"},
        "print_job": {"uid": f"1.2.3.{number}", "created": f"2026-12-{1 + number % 28:02d}"
                      f"T{number % 24:02d}:00:00", "copies": 1},
        "film_session": {"in_force": {"medium_type": "BLUE FILM",
                                      "film_session_label": f"PATIENT {number}"}},
        "film_box": {"in_force": {"film_size_id": "14INX17IN",
                                  "image_display_format": "STANDARD\\2,2"}},
        "annotation_boxes": [{"position": 1, "text": f"ID {number}"}],
        "warnings": [], "deviations": [],
        "film": {"warnings": [] if number % 50 else ["a warning"]},
    }
    return name, document


def timed_get(url: str, runs: int) -> float:
    """Median seconds of GET ``url`` (after one warm-up)."""
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
        if run:
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=10000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="filmbox-web-bench-") as directory:
        output = Path(directory)
        for number in range(args.films):
            name, document = film_document(number)
            (output / f"{name}.json").write_text(json.dumps(document))
        settings = ConsoleSettings(output, "benchmark-token-0123456789", False)
        console = WebConsole(settings, WebAddress("127.0.0.1", 0))
        started = time.perf_counter()
        console.index.sync()
        index_s = time.perf_counter() - started
        bound = console.start()
        base = f"http://127.0.0.1:{bound.port}"
        try:
            first = timed_get(base + "/", args.runs)
            filtered = timed_get(base + "/?calling_ae=CT_ROOM_3&text=patient+1", args.runs)
            time.sleep(1.0)
            cpu_before, wall_before = time.process_time(), time.monotonic()
            time.sleep(IDLE_S)
            idle = (time.process_time() - cpu_before) / (time.monotonic() - wall_before)
        finally:
            console.stop()
    print(json.dumps({"films": args.films, "index_build_s": round(index_s, 2),
                      "gallery_first_page_s": round(first, 4),
                      "gallery_filtered_page_s": round(filtered, 4),
                      "idle_cpu_s_per_s": round(idle, 4)}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

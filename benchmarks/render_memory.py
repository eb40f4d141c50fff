"""Memory of print-scp's render processes: before their first film, and after some films.

    python benchmarks/render_memory.py [--render-processes 1] [--films 3] [--json out.json]

Starts ``print-scp serve`` in its own process, waits until its render
processes are up (they start with the printer, each a fresh interpreter that
imports the render modules), and reads for the printer and every render
process:

- RSS (``VmRSS`` of /proc/PID/status): counts every page a process maps,
  so pages it shares with others (the interpreter and libraries, from the
  page cache) are counted in each; and its peak (``VmHWM``);
- PSS (``Pss`` of /proc/PID/smaps_rollup): each shared page divided among
  the processes sharing it, so the PSS of several processes add up to what
  they really hold.

Then prints ``--films`` films (one 512² 8-bit image on 14×17 in, from
print-scu's association in this process) and reads them again.
Figures in MiB.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from harness import descendants, pss_mib, spooled_jobs
from run import print_one_film

from print_scp.launcher import free_port, start_print_scp
from print_scp.output.render_pool import DEFAULT_RENDER_PROCESSES

SETTLE_TIMEOUT_S = 60.0  # the render processes' start and the films' rendering, at most
_POLL_S = 0.2


def _status_kib(pid: int, field: str) -> int:
    """A ``kB`` field of /proc/PID/status (VmRSS, VmHWM ...)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def memory(printer_pid: int) -> dict:
    """RSS and PSS (MiB) of the printer and each render process, and sums."""
    rows = {"print-scp": printer_pid,
            **{f"render process {i}": pid
               for i, pid in enumerate(sorted(descendants(printer_pid)), 1)}}
    table = {role: {"pid": pid, "rss_mib": _status_kib(pid, "VmRSS") / 1024,
                    "peak_rss_mib": _status_kib(pid, "VmHWM") / 1024,
                    "pss_mib": pss_mib(pid)}
             for role, pid in rows.items()}
    rendering = [table[role] for role in table if role != "print-scp"]
    return {"processes": table,
            "render_rss_sum_mib": sum(r["rss_mib"] for r in rendering),
            "render_peak_rss_sum_mib": sum(r["peak_rss_mib"] for r in rendering),
            "render_pss_sum_mib": sum(r["pss_mib"] for r in rendering),
            "all_pss_sum_mib": sum(r["pss_mib"] for r in table.values())}


def _wait(condition: str, check: Callable[[], bool]) -> None:
    """Poll ``check()`` until true, or raise after SETTLE_TIMEOUT_S."""
    deadline = time.monotonic() + SETTLE_TIMEOUT_S
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"not {condition} after {SETTLE_TIMEOUT_S:.0f} s")
        time.sleep(_POLL_S)


def _settled(printer_pid: int, processes: int) -> bool:
    """All render processes started, and their RSS the same in two readings in a row."""
    renderers = descendants(printer_pid)
    if len(renderers) < processes:
        return False
    before = [_status_kib(pid, "VmRSS") for pid in renderers]
    time.sleep(_POLL_S)
    return before == [_status_kib(pid, "VmRSS") for pid in renderers]


def _printed(output: Path, films: int) -> bool:
    """``films`` film PNGs written and no job left in the spool."""
    return not spooled_jobs(output) and len(list(output.glob("*.density.png"))) >= films


def measure(processes: int, films: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="render_memory_") as workdir:
        output = Path(workdir) / "out"
        port = free_port()
        printer = start_print_scp(output, port, "--render-processes", str(processes))
        try:
            _wait("render processes up", lambda: _settled(printer.pid, processes))
            before = memory(printer.pid)
            image = np.random.default_rng(1).integers(0, 256, (512, 512), dtype=np.uint8)
            for _ in range(films):
                print_one_film(port, [image], "STANDARD\\1,1")
            _wait(f"{films} films printed", lambda: _printed(output, films))
            after = memory(printer.pid)
        finally:
            printer.terminate()
            printer.wait(timeout=60)
    return {"before_first_film": before, f"after_{films}_films": after}


def _print_table(results: dict) -> None:
    for moment, figures in results.items():
        print(moment.replace("_", " "))
        print(f"  {'process':<20}{'pid':>8}{'RSS MiB':>10}{'peak RSS':>10}{'PSS MiB':>10}")
        for role, row in figures["processes"].items():
            print(f"  {role:<20}{row['pid']:>8}{row['rss_mib']:>10.1f}{row['peak_rss_mib']:>10.1f}"
                  f"{row['pss_mib']:>10.1f}")
        print(f"  render processes: RSS summed {figures['render_rss_sum_mib']:.1f} "
              f"(peaks {figures['render_peak_rss_sum_mib']:.1f}), "
              f"PSS summed {figures['render_pss_sum_mib']:.1f}; "
              f"with print-scp, PSS summed {figures['all_pss_sum_mib']:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render-processes", type=int, default=DEFAULT_RENDER_PROCESSES)
    parser.add_argument("--films", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = measure(args.render_processes, args.films)
    _print_table(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

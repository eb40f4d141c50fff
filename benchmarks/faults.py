"""Fault injection: print-scp killed with SIGKILL while print-scu delivers films.

    python benchmarks/faults.py [--films 100] [--kills 10] [--jobs 4] [--seed N ...]
                                [--timeout 300] [--pacs] [--film-printer] [--keep]
                                [--json results.json]

Runs the scenario of ``fault_scenario`` once per seed (see its docstring):
print-scp killed ``--kills`` times at seeded random points while a
``print-scu worker`` delivers ``--films`` one-image films, restarted each
time. Reports per run the films lost (must be 0), the films duplicated and
why (each one a Print Job print-scp spooled and was killed before answering),
each kill, anything left half-written or running, and the wall time. With
``--pacs`` the printer also forwards every film to a private Orthanc (as
Secondary Capture and Encapsulated PDF), and the report says what Orthanc
holds: distinct films per object type, films missing, duplicates, strays.
With ``--film-printer`` it also forwards every film to DCMTK's dcmprscp
through print-scu's queue, and reports the films dcmprscp printed.
Exit status 1 if a run lost a film or left a problem.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path

from dcmtk import Dcmprscp
from fault_scenario import MAX_FILMS, FaultOutcome, FaultPlan, run_scenario
from orthanc_server import OrthancServer

from print_scp.forward.sinks import StoreObject


def summary(outcome: FaultOutcome) -> dict:
    """The figures of one run, JSON-ready."""
    return {
        "plan": asdict(outcome.plan),
        "kills": len(outcome.kills),
        "lost": outcome.lost,
        "duplicated": outcome.duplicated,
        "duplicates": [{"film": film.number, "print_job": film.print_job_uid,
                        "stem": film.stem}
                       for film in outcome.unacknowledged_renders()],
        "recovered_after_restart": outcome.recovered,
        "problems": outcome.problems,
        "wall_s": round(outcome.wall_s, 2),
        "deliveries": dict(zip(("deliveries", "attempts", "failed"), outcome.deliveries,
                               strict=True)),
        "pacs": None if outcome.stored is None else {
            kind.value: {"instances": len(outcome.stored[kind]),
                         "distinct_films": len(outcome.stored_numbers(kind)),
                         "duplicates": outcome.stored_duplicates(kind),
                         "strays": outcome.stored[kind].count(None)}
            for kind in StoreObject},
        "film_printer": None if outcome.printed_on is None else {
            "printed": len(outcome.printed_on),
            "distinct_films": len(outcome.printed_on_numbers()),
            "duplicates": len(outcome.printed_on) - len(outcome.printed_on_numbers())},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--films", type=int, default=100, help=f"films, 1..{MAX_FILMS}")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs of print-scp per run")
    parser.add_argument("--jobs", type=int, default=4, help="print-scu jobs the films form")
    parser.add_argument("--seed", type=int, nargs="+", default=[1], help="one run per seed")
    parser.add_argument("--timeout", type=float, default=300.0, help="per run, s")
    parser.add_argument("--pacs", action="store_true",
                        help="also forward every film to a private Orthanc, and count it there")
    parser.add_argument("--film-printer", action="store_true",
                        help="also forward every film to DCMTK's dcmprscp, and count it there")
    parser.add_argument("--keep", action="store_true",
                        help="keep each run's directory (images, output, logs) and say where")
    parser.add_argument("--json", type=Path, help="write the figures of every run here")
    args = parser.parse_args(argv)
    results, failed = [], False
    for seed in args.seed:
        plan = FaultPlan(films=args.films, kills=args.kills, seed=seed, jobs=args.jobs,
                         timeout_s=args.timeout)
        work_dir = Path(tempfile.mkdtemp(prefix=f"filmbox-faults-{seed}-"))
        try:
            with ExitStack() as peers:
                pacs = peers.enter_context(OrthancServer(work_dir)) if args.pacs else None
                printer = (peers.enter_context(Dcmprscp()) if args.film_printer else None)
                outcome = run_scenario(plan, work_dir / "run", pacs, printer)
        finally:
            if not args.keep:
                shutil.rmtree(work_dir, ignore_errors=True)
        print(outcome.report() + (f"\n  run directory: {work_dir}" if args.keep else ""),
              flush=True)
        results.append(summary(outcome))
        failed |= bool(outcome.lost or outcome.problems)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

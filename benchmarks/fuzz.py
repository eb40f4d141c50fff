"""The long fuzz run of the virtual printer.

    python benchmarks/fuzz.py --cases 20000 [--attack-share 0.4] [--seed N] [--json out.json]

Same strategies, oracle and printer set-up as ``tests/test_scp_fuzz.py``
(they live in benchmarks/fuzzing/), for many more cases: request scripts
(DIMSE-N on one association) and raw PDU attacks (one connection each), in
one printer in this process, while a well-behaved SCU prints a film every
second. A case that goes wrong is recorded, not shrunk, and the run goes on.

The summary gives cases per kind, requests per kind, the histogram of
statuses and outcomes, the findings by category (crashes: a thread died,
an error in the printer's log, association state left behind, the health
check failed; hangs: no answer in time; wrong answers: an undefined status
or a dropped association) which must all be 0, and the wall time. Exit
status 1 if anything was found. Without ``--seed`` the run is derandomized
(the same cases every time).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
import warnings
from pathlib import Path

from fuzzing.oracle import Finding, LogWatch
from fuzzing.pdu_attacks import attacks
from fuzzing.requests import scripts
from fuzzing.runner import FuzzRunner, SteadyPrinter, Tally, fuzz_printer
from hypothesis import HealthCheck, Phase, given, seed, settings

# A finding's category, by the words that open its description.
_CATEGORIES = (
    ("hang", ("no answer", "neither aborted nor closed")),
    ("crash", ("printer log", "ended associations", "health check", "association refused")),
)


def category(finding: Finding) -> str:
    for name, markers in _CATEGORIES:
        if any(marker in finding.what for marker in markers):
            return name
    return "wrong answer"


def run(cases: int, attack_share: float, random_seed: int | None) -> tuple[Tally, int, float]:
    """Run ``cases`` cases; (tally, films the steady SCU printed, wall time in s)."""
    attack_cases = round(cases * attack_share)
    script_cases = cases - attack_cases
    logs = LogWatch().attach()
    tally = Tally()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fuzz-") as output, \
            fuzz_printer(Path(output)) as server, SteadyPrinter(server.port) as steady:
        runner = FuzzRunner(server, tally, logs, others=1)
        for strategy, count, send in ((scripts(), script_cases, runner.run_script),
                                      (attacks(), attack_cases, runner.run_attack)):
            if count:
                _drive(strategy, count, send, random_seed)
        logs.detach()
        films, steady_failures = steady.films, list(steady.failures)
    tally.findings.extend(Finding(failure, "steady SCU") for failure in steady_failures)
    return tally, films, time.perf_counter() - started


def _drive(strategy, count: int, send, random_seed: int | None) -> None:
    """``count`` hypothesis examples of ``strategy``, each sent with ``send``; no shrinking."""
    test_settings = settings(max_examples=count, deadline=None, database=None,
                             derandomize=random_seed is None, phases=[Phase.generate],
                             suppress_health_check=list(HealthCheck))

    @test_settings
    @given(strategy)
    def each(case) -> None:
        send(case)

    if random_seed is not None:
        each = seed(random_seed)(each)
    each()


def summary(tally: Tally, films: int, wall_s: float) -> dict:
    categories = {"crash": 0, "hang": 0, "wrong answer": 0}
    for finding in tally.findings:
        categories[category(finding)] += 1
    return {
        "cases": tally.total_cases,
        "cases_by_kind": dict(tally.cases.most_common()),
        "requests": tally.total_requests,
        "requests_by_kind": dict(tally.requests.most_common()),
        "statuses": dict(sorted(tally.statuses.items())),
        "outcomes": dict(tally.outcomes.most_common()),
        "findings": categories,
        "finding_details": [str(f) for f in tally.findings[:50]],
        "steady_scu_films": films,
        "wall_time_s": round(wall_s, 1),
        "cases_per_s": round(tally.total_cases / wall_s, 2) if wall_s else 0.0,
    }


def _print(report: dict) -> None:
    print(f"{report['cases']} cases, {report['requests']} DIMSE requests, "
          f"{report['wall_time_s']} s ({report['cases_per_s']} cases/s); "
          f"the steady SCU printed {report['steady_scu_films']} films")
    for title, key in (("cases by kind", "cases_by_kind"), ("requests by kind", "requests_by_kind"),
                       ("statuses", "statuses"), ("outcomes", "outcomes"),
                       ("findings (all must be 0)", "findings")):
        print(f"\n{title}:")
        for name, count in report[key].items():
            print(f"  {count:7d}  {name}")
    for detail in report["finding_details"]:
        print(f"\nFINDING: {detail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20000, help="hypothesis examples in all")
    parser.add_argument("--attack-share", type=float, default=0.4,
                        help="share of the cases that are raw PDU attacks (0..1)")
    parser.add_argument("--seed", type=int, default=None,
                        help="random seed (default: derandomized, the same cases each run)")
    parser.add_argument("--json", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    # The printer's log and pydicom's warnings about the values sent would flood the run;
    # the oracle's LogWatch still sees the printer's ERROR records.
    logging.basicConfig(handlers=[logging.NullHandler()])
    warnings.simplefilter("ignore")
    tally, films, wall_s = run(args.cases, args.attack_share, args.seed)
    report = summary(tally, films, wall_s)
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 1 if tally.findings else 0


if __name__ == "__main__":
    sys.exit(main())

"""Fault injection: print-scp killed with SIGKILL while print-scu delivers 100 films.

One run of the scenario of ``benchmarks/fault_scenario.py`` (module
fixture, ~20-30 s): print-scp and a ``print-scu worker`` as child processes,
100 one-image films in 4 jobs, print-scp killed 6 times at seeded random
points and restarted on the same port and output directory. Each film's image
codes its number, read back from the rendered density map, so copies are
counted by content (a film sent again gets a new Print Job and a new name).

The bound on duplicates, from the code:

* print-scp saves a job in its spool (renamed into place whole) before the
  N-ACTION response, removes it only after its films are written, and a
  restarted print-scp renders what is left under the same names: a job it
  answered is rendered, and never as a second copy (rendering again after a
  kill between writing and removal overwrites).
* print-scu records a film as printed (``films_done``) only after a success
  response and resends from ``films_done`` on; with one association per
  printer (the worker's default) one N-ACTION at a time is in flight.
* So a second copy needs an N-ACTION that print-scp spooled and whose
  response never reached print-scu: the print-scp run that spooled it was
  killed before answering. From a kill to the restart the printer refuses
  associations, so each kill loses at most the one response in flight:
  duplicates <= kills, and every duplicate is an unacknowledged Print Job
  spooled by a print-scp run that was killed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from dcmtk import Dcmprscp, dcmtk_available  # noqa: E402
from fault_scenario import (  # noqa: E402 - benchmarks/ is on sys.path from here
    DARK,
    LIGHT,
    MAX_DENSITY,
    MAX_FILMS,
    MIN_DENSITY,
    FaultOutcome,
    FaultPlan,
    code_image,
    decode_film,
    run_scenario,
)
from orthanc_server import OrthancServer, orthanc_available  # noqa: E402

from print_scp.forward.sinks import StoreObject  # noqa: E402

pytestmark = pytest.mark.slow

PLAN = FaultPlan(films=100, kills=6, seed=5, jobs=4, timeout_s=100.0)
ASSOCIATIONS = 1  # N-ACTIONs print-scu has in flight per printer (its worker's default)


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> FaultOutcome:
    return run_scenario(PLAN, tmp_path_factory.mktemp("faults"))


def test_the_film_code_reads_back_from_a_density_map_built_by_hand() -> None:
    # The film as the printer should render it, built independently: each image pixel
    # 9 x 9 film pixels, LIGHT at Min Density and DARK at Max Density, on a white box.
    for number in (1, 42, 85, MAX_FILMS):
        image = code_image(number)
        assert set(np.unique(image)) <= {DARK, LIGHT}
        density = np.where(image == LIGHT, MIN_DENSITY / 100, MAX_DENSITY / 100)
        film = np.full((400, 500), MIN_DENSITY / 100, dtype=np.float32)
        film[50:50 + 32 * 9, 70:70 + 32 * 9] = np.kron(density, np.ones((9, 9)))
        assert decode_film(film, (20, 30, 460, 360)) == number


def test_every_job_completes_and_nothing_is_half_written_or_left_running(
        outcome: FaultOutcome) -> None:
    # problems: *.tmp files, films whose PDF/PNG/density map is missing or does not
    # decode, jobs quarantined or left in print-scp's spool, print-scu jobs not DONE,
    # processes of killed print-scp runs still running, time-outs.
    assert outcome.problems == [], outcome.report()
    assert len(outcome.kills) == PLAN.kills


def test_no_film_is_lost(outcome: FaultOutcome) -> None:
    assert outcome.lost == [], outcome.report()


def test_every_film_acknowledged_once_is_rendered_exactly_once(outcome: FaultOutcome) -> None:
    films = range(1, PLAN.films + 1)
    # print-scu never sends a film again once its N-ACTION got a success response ...
    assert {n: len(outcome.acknowledged.get(n, [])) for n in films} == dict.fromkeys(films, 1)
    # ... and print-scp renders that Print Job once, showing that film.
    rendered = {n: [film.number for film in outcome.rendered_from(uid)]
                for n, (uid,) in outcome.acknowledged.items()}
    assert rendered == {n: [n] for n in films}, outcome.report()


def test_duplicates_are_unanswered_n_actions_of_killed_runs_at_most_one_per_kill(
        outcome: FaultOutcome) -> None:
    unanswered = outcome.unacknowledged_renders()
    assert outcome.duplicated == len(unanswered), outcome.report()
    assert all(outcome.kill_of(film) is not None for film in unanswered), outcome.report()
    assert len({outcome.kill_of(film) for film in unanswered}) == len(unanswered)
    assert outcome.duplicated <= len(outcome.kills) * ASSOCIATIONS, outcome.report()


FORWARD_PLAN = FaultPlan(films=50, kills=5, seed=11, jobs=2, timeout_s=150.0)


@pytest.mark.skipif(not orthanc_available(), reason="Orthanc (Debian package orthanc) is not "
                                                    "installed")
@pytest.mark.skipif(not dcmtk_available(), reason="DCMTK (dcmprscp) is not installed")
def test_films_forwarded_through_five_kills_reach_orthanc_once_and_dcmprscp(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp("forward-faults")
    with OrthancServer(work) as pacs, Dcmprscp() as film_printer:
        result = run_scenario(FORWARD_PLAN, work / "run", pacs=pacs, film_printer=film_printer)
    assert result.problems == [] and result.lost == [], result.report()
    films = list(range(1, FORWARD_PLAN.films + 1))
    assert result.stored is not None
    for kind in StoreObject:
        # exactly the 50 films, nothing that is not a written film; an instance more
        # only for a film rendered twice (its N-ACTION answer lost in a kill)
        assert result.stored_numbers(kind) == films, result.report()
        assert None not in result.stored[kind], result.report()
        assert result.stored_duplicates(kind) == result.duplicated, result.report()
    # every film reaches the film printer; one more only for a film rendered twice, or the
    # one film in flight when print-scp was killed (print-scu's queue had not recorded it)
    assert result.printed_on_numbers() == films, result.report()
    assert None not in (result.printed_on or []), result.report()
    extra = len(result.printed_on or []) - len(films)
    assert extra <= result.duplicated + len(result.kills), result.report()

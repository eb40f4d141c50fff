"""Load: 50 concurrent associations printing 10 films each, every film checked.

The driver and the checks are ``benchmarks/load.py`` (run alone, it prints
the figures): each film's image spells a code unique to its (association,
film) in black and white cells; each film is read back from its density map
(cell densities to 0.002 OD of the PS3.14 values) and must show the code
sent for its own Print Job. ``print-scp serve`` runs as its own process.
About 45 s on a 2-core machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from load import GRID, LoadRun, check, code_of, pattern, run_load  # noqa: E402

pytestmark = pytest.mark.slow

ASSOCIATIONS, FILMS = 50, 10


def test_pattern_spells_its_code_cell_by_cell() -> None:
    """Cell i (row-major, 16 x 16 pixels) is white exactly when bit i of the code is set."""
    code = 0b1010_0000_0000_0011
    image = pattern(code)
    cells = image[8::16, 8::16]  # one pixel from the middle of each cell
    assert cells.shape == (GRID, GRID)
    expected = [255 if code >> i & 1 else 0 for i in range(GRID * GRID)]
    assert cells.ravel().tolist() == expected
    assert set(np.unique(image)) == {0, 255}


def test_codes_of_different_films_differ_in_at_least_two_cells() -> None:
    codes = [code_of(a, f, FILMS) for a in range(ASSOCIATIONS) for f in range(FILMS)]
    assert len(set(codes)) == len(codes)
    assert min(bin(x ^ y).count("1") for i, x in enumerate(codes) for y in codes[i + 1:]) >= 2


def test_fifty_associations_print_ten_films_each_from_their_own_images(tmp_path: Path) -> None:
    run, result = run_load(tmp_path, ASSOCIATIONS, FILMS)
    assert run.errors == []
    total = ASSOCIATIONS * FILMS
    assert len(run.expected) == total, "a Print Job UID was answered twice"
    assert (result.films, result.correct) == (total, total), result.wrong[:5]
    assert result.missing == [] and result.duplicated == []

    # The check has teeth: against each other's codes, every film is wrong.
    uids = list(run.expected)
    swapped = LoadRun(ASSOCIATIONS, FILMS)
    swapped.expected = dict(zip(uids, [run.expected[uid] for uid in uids[1:] + uids[:1]],
                                strict=True))
    assert check(tmp_path / "films", swapped).correct == 0

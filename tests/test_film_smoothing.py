"""Smoothing Types as unsharp masks at magnification: the filter, and films printed with it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scp_harness import running_printer
from test_scp_feat_support import (
    SUCCESS,
    connect,
    density_map,
    new_film_box,
    new_session,
    print_film_box,
    printed_films,
    rects,
)

from film.smoothing import UnsharpMask, gaussian_blur
from print_scu.image_box_requests import grayscale_image_box

DPI = 100


def step(width: int = 60, height: int = 20) -> np.ndarray:
    """0 on the left half, 1 on the right half."""
    image = np.zeros((height, width), np.float32)
    image[:, width // 2:] = 1.0
    return image


def test_a_gaussian_blur_keeps_flat_areas_and_the_mean_and_spreads_an_edge() -> None:
    flat = np.full((10, 12), 3.25, np.float32)
    assert np.allclose(gaussian_blur(flat, 2.0), 3.25)
    blurred = gaussian_blur(step(), 2.0)
    row = blurred[10]
    assert row[0] == pytest.approx(0.0, abs=1e-6) and row[-1] == pytest.approx(1.0, abs=1e-6)
    assert row[29] + row[30] == pytest.approx(1.0, abs=1e-5)  # symmetric about the edge
    assert 0.2 < row[29] < 0.5 < row[30] < 0.8
    assert np.all(np.diff(row) >= -1e-6)  # still monotonic


def test_a_positive_amount_sharpens_a_negative_one_softens_and_zero_does_nothing() -> None:
    image = step()
    assert np.array_equal(UnsharpMask(0.5, 0.0).apply(image, DPI), image)
    sharp = UnsharpMask(0.5, 0.8).apply(image, DPI)[10]
    assert sharp.min() < -0.05 and sharp.max() > 1.05  # overshoot on both sides of the edge
    assert sharp[0] == pytest.approx(0.0, abs=1e-6) and sharp[-1] == pytest.approx(1.0, abs=1e-6)
    soft = UnsharpMask(0.5, -0.5).apply(image, DPI)[10]
    assert np.abs(np.diff(soft)).max() < 0.9 * np.abs(np.diff(image[10])).max()
    assert 0.0 <= soft.min() and soft.max() <= 1.0


@pytest.mark.parametrize(("radius_mm", "amount"), [(0.0, 1.0), (-1.0, 1.0), (0.2, -1.5),
                                                   (0.2, 6.0)])
def test_a_filter_out_of_its_range_is_refused(radius_mm: float, amount: float) -> None:
    with pytest.raises(ValueError):
        UnsharpMask(radius_mm, amount)


def test_a_film_printed_sharp_shows_overshoot_at_edges_medium_does_not(tmp_path: Path) -> None:
    half = np.zeros((64, 64), np.uint8)
    half[:, 32:] = 255
    image = np.where(half > 0, 180, 80).astype(np.uint8)  # two mid-grey plateaus
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as assoc:
            session = new_session(assoc)
            for smoothing in ("MEDIUM", "SHARP"):
                refs = new_film_box(assoc, session, "STANDARD\\1,1", SmoothingType=smoothing,
                                    MagnificationType="REPLICATE")
                assert assoc.set_image_box(refs.image_box_uids[0],
                                           grayscale_image_box(1, image, 8)) == SUCCESS
                print_film_box(assoc, refs)
        films = printed_films(tmp_path, 2)
    spread = {}
    for film in films:
        smoothing = film["film_box"]["in_force"]["smoothing_type"]
        density, _ = density_map(tmp_path, film)
        x, y, w, h = rects(film)[1]
        side = min(w, h)
        box = density[y + (h - side) // 2: y + (h + side) // 2, x + (w - side) // 2:
                      x + (w + side) // 2]
        row = box[side // 2]
        low, high = np.median(row[: side // 4]), np.median(row[-side // 4:])
        spread[smoothing] = (row.min() - min(low, high), row.max() - max(low, high))
    assert spread["MEDIUM"] == pytest.approx((0.0, 0.0), abs=0.002)  # plateaus only
    below, above = spread["SHARP"]
    assert below < -0.02 and above > 0.02  # darker and lighter than either plateau

"""The virtual densitometer: density maps read back and measured.

Wedges are built here from known densities (whole thousandths of OD), so the
expected readings are those numbers; edge and margin cases are worked out by
hand from the pixel counts.
"""

import numpy as np
import pytest
from PIL import Image

from film.densitometry import WedgeDirection, measure, measure_wedge, read_density_map
from film.model import RenderedFilm
from film.writers import write_film
from lut.density import ViewingConditions

DPI = 100
STEP_WIDTH = 12  # px
WEDGE_UNITS = np.arange(0, 3001, 150)  # 21 steps, 0.00 .. 3.00 OD
WEDGE_ROWS = 20


def wedge_density():
    """A horizontal wedge: step i is STEP_WIDTH px wide at WEDGE_UNITS[i] / 1000 OD."""
    row = np.repeat(WEDGE_UNITS, STEP_WIDTH)
    return (np.tile(row, (WEDGE_ROWS, 1)) / 1000).astype(np.float32)


@pytest.fixture
def written_wedge(tmp_path):
    density = wedge_density()
    rows, columns = density.shape
    film = RenderedFilm(density=density, dpi=DPI, width_mm=columns / DPI * 25.4,
                        height_mm=rows / DPI * 25.4, viewing=ViewingConditions())
    return write_film(film, tmp_path, "wedge", {}).density_png


def test_density_map_reads_back_exactly(written_wedge):
    density, dpi = read_density_map(written_wedge)
    assert dpi == DPI
    assert density.dtype == np.float32
    assert np.array_equal(density, wedge_density())


def test_wedge_read_back_from_the_file_gives_the_printed_steps(written_wedge):
    density, _ = read_density_map(written_wedge)
    steps = measure_wedge(density, (0, 0, density.shape[1], WEDGE_ROWS), len(WEDGE_UNITS))
    assert steps == pytest.approx(WEDGE_UNITS / 1000, abs=1e-6)


def test_measure_mean_over_a_rectangle():
    density = np.zeros((10, 10), dtype=np.float32)
    density[:, 5:] = 2.0
    # 4 columns at 0 OD and 2 columns at 2 OD: (4*0 + 2*2) / 6.
    assert measure(density, (1, 2, 6, 3)) == pytest.approx(4 / 6)


def test_measure_margin_keeps_away_from_the_edges():
    density = np.full((20, 30), 0.2, dtype=np.float32)  # border
    density[5:15, 5:25] = 1.5  # patch of 20 x 10 px
    rect = (4, 4, 22, 12)  # the patch plus one pixel of border all round
    # 22 x 12 = 264 px of which 20 x 10 = 200 are patch.
    assert measure(density, rect) == pytest.approx((200 * 1.5 + 64 * 0.2) / 264)
    assert measure(density, rect, margin_px=1) == pytest.approx(1.5)


def test_margin_that_leaves_nothing_is_an_error():
    with pytest.raises(ValueError, match="margin"):
        measure(np.zeros((10, 10)), (0, 0, 4, 10), margin_px=2)


def test_wedge_steps_skip_blurred_edges():
    # 4 steps of 10 px with the two pixels at each step edge halfway between.
    levels = np.array([0.5, 1.0, 1.5, 2.0])
    row = np.repeat(levels, 10)
    for edge in (10, 20, 30):
        row[edge - 1:edge + 1] = (levels[edge // 10 - 1] + levels[edge // 10]) / 2
    density = np.tile(row, (6, 1))
    assert measure_wedge(density, (0, 0, 40, 6), 4) == pytest.approx(levels)


def test_vertical_wedge():
    levels = np.array([0.3, 0.9, 2.7])
    density = np.repeat(levels, 8)[:, np.newaxis] * np.ones((1, 5))
    assert measure_wedge(density, (0, 0, 5, 24), 3, "vertical") == pytest.approx(levels)
    assert measure_wedge(density, (0, 0, 5, 24), 3, WedgeDirection.VERTICAL) == pytest.approx(
        levels)


def test_wedge_inside_a_larger_map():
    density = np.full((30, 50), 3.0)
    density[10:20, 10:40] = np.repeat([0.1, 0.2, 0.4], 10)
    assert measure_wedge(density, (10, 10, 30, 10), 3) == pytest.approx([0.1, 0.2, 0.4])


def test_uneven_steps_are_sampled_around_their_centres():
    # Density = column index over 25 px in 4 steps of 6.25 px: edges at
    # 0, 6, 13, 19, 25 (rounded). Each sample is symmetric inside its step, so
    # it reads the mean column of the step: (first + last) / 2.
    density = np.tile(np.arange(25, dtype=float), (3, 1))
    expected = [(0 + 5) / 2, (6 + 12) / 2, (13 + 18) / 2, (19 + 24) / 2]
    assert measure_wedge(density, (0, 0, 25, 3), 4) == pytest.approx(expected)


def test_one_pixel_steps():
    density = np.tile(np.arange(256) / 100, (4, 1))
    assert measure_wedge(density, (0, 0, 256, 4), 256) == pytest.approx(np.arange(256) / 100)


@pytest.mark.parametrize("rect", [(0, 0, 0, 5), (-1, 0, 5, 5), (0, 0, 11, 5), (8, 8, 3, 3)])
def test_rectangle_outside_the_map_is_an_error(rect):
    with pytest.raises(ValueError, match="rectangle"):
        measure(np.zeros((10, 10)), rect)


def test_more_steps_than_pixels_is_an_error():
    with pytest.raises(ValueError, match="steps"):
        measure_wedge(np.zeros((4, 10)), (0, 0, 10, 4), 11)


def test_eight_bit_png_is_not_a_density_map(tmp_path):
    path = tmp_path / "gray.png"
    Image.fromarray(np.zeros((4, 4), dtype=np.uint8)).save(path, dpi=(100, 100))
    with pytest.raises(ValueError, match="16-bit"):
        read_density_map(path)


def test_density_map_without_resolution_is_an_error(tmp_path):
    path = tmp_path / "nodpi.png"
    Image.fromarray(np.zeros((4, 4), dtype=np.uint16)).save(path)
    with pytest.raises(ValueError, match="resolution"):
        read_density_map(path)

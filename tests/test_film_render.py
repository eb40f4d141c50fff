"""Rendering films to density.

Geometry: 14INX17IN portrait at 100 dpi is 1400 × 1700 px (355.6 mm and
431.8 mm × 100 / 25.4). With the documented 5 mm margin and 2 mm gap,
STANDARD\\2,2 boxes are (x, y, w, h) = (20, 20, 676, 826), (704, 20, 676, 826),
(20, 854, 676, 826), (704, 854, 676, 826) px (worked in test_film_layout).
Expected densities come from lut.density (a separately tested unit): for
MONOCHROME2 NORMAL with no Presentation LUT a stored value is a P-Value.
"""

import numpy as np
import pytest
from PIL import Image

from film import render
from film.annotation_format import AnnotationBoxGeometry, AnnotationFormat, Edge, TextAlign
from film.model import (
    AnnotationContent,
    DecimateCropBehavior,
    FilmSpec,
    ImageBoxContent,
    ImagePixels,
    MagnificationType,
    MediumType,
)
from film.render import render_film
from lut.density import ViewingConditions, p_values_to_density
from lut.pipeline import density_lut
from lut.polarity import Polarity
from lut.presentation import PresentationLUT, PresentationLUTShape
from lut.windowing import rgb_to_gray
from print_scp.fit_status import FIT_STATUS

BORDER, EMPTY, DMIN, DMAX = 0.25, 0.40, 0.20, 2.80
VIEWING = ViewingConditions(2000.0, 10.0)
BOX1 = (20, 20, 676, 826)
BOXES = {1: BOX1, 2: (704, 20, 676, 826), 3: (20, 854, 676, 826), 4: (704, 854, 676, 826)}


def spec(*boxes, **overrides):
    fields = dict(
        film_size_id="14INX17IN", orientation="PORTRAIT", image_display_format="STANDARD\\2,2",
        image_boxes=list(boxes), border_density=BORDER, empty_image_density=EMPTY,
        min_density=DMIN, max_density=DMAX, resolution_dpi=100,
    )
    fields.update(overrides)
    return FilmSpec(**fields)


def gray(pixels, photometric="MONOCHROME2", bits=8):
    dtype = np.uint8 if bits == 8 else np.uint16
    return ImagePixels(np.asarray(pixels, dtype=dtype), photometric, bits)


def uniform(value, rows=64, columns=64, **kwargs):
    return gray(np.full((rows, columns), value), **kwargs)


def density_of(p, p_max=255, viewing=VIEWING):
    return float(p_values_to_density(p, p_max, DMIN, DMAX, viewing))


def centre(rect):
    x, y, w, h = rect
    return y + h // 2, x + w // 2


def test_canvas_border_and_empty_boxes():
    film = render_film(spec())
    assert film.density.shape == (1700, 1400)
    assert film.density.dtype == np.float32
    assert (film.width_mm, film.height_mm, film.dpi) == (355.6, 431.8, 100)
    assert film.image_box_rects_px == BOXES
    assert film.density[0, 0] == np.float32(BORDER)
    assert film.density[19, 300] == np.float32(BORDER)       # margin above box 1
    assert film.density[400, 700] == np.float32(BORDER)      # gap between boxes 1 and 2
    assert film.density[850, 300] == np.float32(BORDER)      # gap between rows
    for rect in BOXES.values():
        x, y, w, h = rect
        assert np.all(film.density[y:y + h, x:x + w] == np.float32(EMPTY))
    assert film.rgb is None and film.color_mask is None
    assert film.warnings == []
    assert film.reflective is False
    assert film.viewing == VIEWING


def test_landscape_swaps_canvas_dimensions():
    assert render_film(spec(orientation="LANDSCAPE")).density.shape == (1400, 1700)


def test_uniform_p_value_prints_its_density_and_is_placed_by_fit():
    film = render_film(spec(ImageBoxContent(1, uniform(100))))
    # 64×64 fills 676 wide: 676×676 at (20, 20 + (826 − 676)//2 = 95).
    expected = np.float32(density_of(100))
    assert film.density[centre(BOX1)] == pytest.approx(expected, abs=1e-6)
    assert np.all(film.density[95:95 + 676, 20:20 + 676] == film.density[centre(BOX1)])
    assert film.density[94, 300] == np.float32(EMPTY)
    assert film.density[95 + 676, 300] == np.float32(EMPTY)


@pytest.mark.parametrize("photometric, polarity, printed_p", [
    ("MONOCHROME2", Polarity.NORMAL, 100),
    ("MONOCHROME2", Polarity.REVERSE, 155),
    ("MONOCHROME1", Polarity.NORMAL, 155),
    ("MONOCHROME1", Polarity.REVERSE, 100),
])
def test_polarity_and_photometric(photometric, polarity, printed_p):
    box = ImageBoxContent(2, uniform(100, photometric=photometric), polarity=polarity)
    film = render_film(spec(box))
    assert film.density[centre(BOXES[2])] == pytest.approx(density_of(printed_p), abs=1e-6)


def test_twelve_bit_image():
    film = render_film(spec(ImageBoxContent(3, uniform(1000, bits=12))))
    assert film.density[centre(BOXES[3])] == pytest.approx(density_of(1000, 4095), abs=1e-6)


def test_extremes_print_min_and_max_density():
    film = render_film(spec(ImageBoxContent(1, uniform(0)), ImageBoxContent(2, uniform(255))))
    assert film.density[centre(BOXES[1])] == pytest.approx(DMAX, abs=1e-5)
    assert film.density[centre(BOXES[2])] == pytest.approx(DMIN, abs=1e-5)


def test_box_presentation_lut_overrides_the_film_one():
    lin_od = PresentationLUT(PresentationLUTShape.LIN_OD)
    film = render_film(spec(
        ImageBoxContent(1, uniform(51)),
        ImageBoxContent(2, uniform(51), presentation_lut=PresentationLUT()),
        presentation_lut=lin_od,
    ))
    # LIN OD: 51/255 = 0.2 of the way from Max down to Min Density.
    assert film.density[centre(BOXES[1])] == pytest.approx(DMAX - 0.2 * (DMAX - DMIN), abs=1e-5)
    assert film.density[centre(BOXES[2])] == pytest.approx(density_of(51), abs=1e-6)


def test_replicate_checkerboard_gives_exact_blocks():
    board = gray([[0, 255], [255, 0]])
    box = ImageBoxContent(1, board, magnification_type=MagnificationType.REPLICATE)
    film = render_film(spec(box))
    # 676×676 at (20, 95): blocks of 338 px.
    image = film.density[95:95 + 676, 20:20 + 676]
    dark, light = np.float32(density_of(0)), np.float32(density_of(255))
    assert np.all(image[:338, :338] == dark)
    assert np.all(image[:338, 338:] == light)
    assert np.all(image[338:, :338] == light)
    assert np.all(image[338:, 338:] == dark)


def test_cubic_overshoot_is_clipped_to_the_density_range():
    board = gray(np.tile([[0, 255], [255, 0]], (4, 4)))
    film = render_film(spec(ImageBoxContent(1, board, magnification_type=MagnificationType.CUBIC)))
    image = film.density[95:95 + 676, 20:20 + 676]
    assert image.min() >= np.float32(DMIN) and image.max() <= np.float32(DMAX)
    assert image.max() == np.float32(DMAX) and image.min() == np.float32(DMIN)


def test_none_centres_without_scaling():
    values = np.arange(200).reshape(10, 20)
    box = ImageBoxContent(1, gray(values), magnification_type=MagnificationType.NONE)
    film = render_film(spec(box))
    # 20 × 10 centred in 676 × 826: offsets (676 − 20)//2 = 328, (826 − 10)//2 = 408.
    x, y = 20 + 328, 20 + 408
    expected = p_values_to_density(values, 255, DMIN, DMAX, VIEWING).astype(np.float32)
    np.testing.assert_allclose(film.density[y:y + 10, x:x + 20], expected, atol=1e-6)
    assert film.density[y - 1, x] == np.float32(EMPTY)
    assert film.density[y, x + 20] == np.float32(EMPTY)


def test_crop_keeps_the_centre_one_to_one_and_warns_b609():
    columns = np.arange(1000) % 256
    image = gray(np.broadcast_to(columns, (1000, 1000)))
    box = ImageBoxContent(1, image, decimate_crop=DecimateCropBehavior.CROP)
    film = render_film(spec(box), FIT_STATUS)
    # Window starts at column (1000 − 676)//2 = 162: box column i shows source column 162 + i.
    x, y, w, h = BOX1
    expected = p_values_to_density((162 + np.arange(w)) % 256, 255, DMIN, DMAX, VIEWING)
    np.testing.assert_allclose(film.density[y + 5, x:x + w], expected.astype(np.float32), atol=1e-6)
    np.testing.assert_allclose(film.density[y + h - 1, x:x + w], expected.astype(np.float32),
                               atol=1e-6)
    assert film.warnings == ["image box 1: image 1000x1000 cropped to fit (B609)"]


@pytest.mark.parametrize("behavior, warning", [
    (None, "image box 4: image 2000x2000 demagnified to fit (B604)"),
    (DecimateCropBehavior.DECIMATE, "image box 4: image 2000x2000 decimated to fit (B60A)"),
])
def test_large_image_is_demagnified_with_a_warning(behavior, warning):
    film = render_film(spec(ImageBoxContent(4, uniform(100, 2000, 2000), decimate_crop=behavior)),
                       FIT_STATUS)
    x, y, w, h = BOXES[4]
    top = y + (h - w) // 2
    printed = film.density[top:top + w, x:x + w]
    assert np.allclose(printed, density_of(100), atol=1e-6)
    assert film.warnings == [warning]


def test_without_the_printer_s_codes_a_warning_gives_the_reason_alone():
    box = ImageBoxContent(1, uniform(100, 2000, 2000), decimate_crop=DecimateCropBehavior.CROP)
    assert render_film(spec(box)).warnings == ["image box 1: image 2000x2000 cropped to fit"]


def test_fail_leaves_the_box_empty_with_c603():
    box = ImageBoxContent(1, uniform(100, 2000, 2000), decimate_crop=DecimateCropBehavior.FAIL)
    film = render_film(spec(box), FIT_STATUS)
    x, y, w, h = BOX1
    assert np.all(film.density[y:y + h, x:x + w] == np.float32(EMPTY))
    assert len(film.warnings) == 1 and film.warnings[0].endswith("(C603)")
    assert film.warnings[0].startswith("image box 1: image 2000x2000")


def test_trim_frames_each_printed_image_at_max_density():
    film = render_film(spec(ImageBoxContent(1, uniform(255)), trim=True))
    # Image at (20, 95, 676, 676); 0.5 mm at 100 dpi rounds to 2 px.
    d = film.density
    assert d[93, 300] == np.float32(DMAX) and d[94, 300] == np.float32(DMAX)
    assert d[92, 300] == np.float32(EMPTY)
    assert d[95, 300] == pytest.approx(DMIN, abs=1e-5)
    assert d[400, 18] == np.float32(DMAX) and d[400, 19] == np.float32(DMAX)
    assert d[400, 17] == np.float32(BORDER)
    assert d[95 + 676, 300] == np.float32(DMAX) and d[95 + 677, 300] == np.float32(DMAX)
    assert d[95 + 678, 300] == np.float32(EMPTY)
    # Boxes without an image get no frame.
    assert d[18, 704 + 300] == np.float32(BORDER)


def test_color_image_lands_in_rgb_with_exact_values():
    red, green, blue, white = (200, 10, 10), (10, 200, 10), (10, 10, 200), (255, 255, 255)
    rgb = np.array([[red, green], [blue, white]], dtype=np.uint8)
    box = ImageBoxContent(1, ImagePixels(rgb, "RGB", 8),
                          magnification_type=MagnificationType.REPLICATE)
    film = render_film(spec(box))
    quadrants = {(95 + 169, 20 + 169): red, (95 + 169, 20 + 507): green,
                 (95 + 507, 20 + 169): blue, (95 + 507, 20 + 507): white}
    for (row, column), colour in quadrants.items():
        assert tuple(film.rgb[row, column]) == colour
        assert film.color_mask[row, column]
        luma = rgb_to_gray(np.array([[colour]], dtype=np.uint8))[0, 0]
        assert film.density[row, column] == pytest.approx(density_of(int(luma)), abs=1e-6)
    assert film.color_mask.sum() == 676 * 676
    assert not film.color_mask[94, 300] and not film.color_mask[centre(BOXES[2])]


def test_reverse_color_image_is_inverted():
    rgb = np.full((4, 4, 3), (200, 10, 10), dtype=np.uint8)
    box = ImageBoxContent(1, ImagePixels(rgb, "RGB", 8), polarity=Polarity.REVERSE)
    film = render_film(spec(box))
    assert tuple(film.rgb[centre(BOX1)]) == (55, 245, 245)


def test_annotation_text_is_darker_than_the_strip():
    annotations = [AnnotationContent(1, "PATIENT 42"), AnnotationContent(2, "")]
    film = render_film(spec(annotations=annotations))
    # Strip: y = 431.8 − 5 − 10 = 416.8 mm → px 1641..1680; two boxes 171.8 mm wide.
    assert film.annotation_rects_px == {1: (20, 1641, 676, 39), 2: (704, 1641, 676, 39)}
    x, y, w, h = film.annotation_rects_px[1]
    text = film.density[y:y + h, x:x + w]
    assert text.max() == pytest.approx(DMAX, abs=1e-5)
    assert (text > BORDER + 1.0).sum() > 50
    assert text.min() == np.float32(BORDER)
    x2, y2, w2, h2 = film.annotation_rects_px[2]
    assert np.all(film.density[y2:y2 + h2, x2:x2 + w2] == np.float32(BORDER))
    # The strip shortens the image area: image boxes end above it.
    assert max(y + h for _, y, _, h in film.image_box_rects_px.values()) < 1641


def test_hostile_annotation_text_is_only_drawn():
    text = "{0.__class__}\n\x00%s\x1b[2J" * 10000
    film = render_film(spec(annotations=[AnnotationContent(1, text)]))
    x, y, w, h = film.annotation_rects_px[1]
    assert film.density[y:y + h, x:x + w].max() > BORDER + 1.0


def test_image_box_outside_the_format_is_ignored_with_a_warning():
    film = render_film(spec(ImageBoxContent(5, uniform(0))))
    assert film.warnings == ["image box 5: no such position in STANDARD\\2,2, ignored"]
    assert film.density.max() == np.float32(EMPTY)


def test_paper_is_viewed_without_ambient_light():
    film = render_film(spec(ImageBoxContent(1, uniform(100)), medium_type=MediumType.PAPER,
                            illumination=150.0))
    paper = ViewingConditions.reflective(150.0)
    assert film.reflective is True and film.viewing == paper
    assert film.density[centre(BOX1)] == pytest.approx(density_of(100, viewing=paper), abs=1e-6)


def test_custom_layout_from_spec():
    layouts = {3: [(0.0, 0.0, 1.0, 0.5), (0.0, 0.5, 1.0, 0.5)]}
    film = render_film(spec(image_display_format="CUSTOM\\3", custom_layouts=layouts))
    # Two full-width boxes: 345.6 × (421.8 − 2)/2 = 209.9 mm, second at y = 216.9 mm.
    assert film.image_box_rects_px == {1: (20, 20, 1360, 826), 2: (20, 854, 1360, 826)}


@pytest.mark.parametrize("align, inked_third", [(TextAlign.LEFT, 0), (TextAlign.CENTER, 1),
                                                (TextAlign.RIGHT, 2)])
def test_annotation_text_is_aligned_in_its_box_as_the_format_says(align, inked_third):
    fmt = AnnotationFormat((AnnotationBoxGeometry(edge=Edge.TOP, align=align),), 8.0)
    film = render_film(spec(annotations=[AnnotationContent(1, "ABC")], annotation_format=fmt))
    x, y, w, h = film.annotation_rects_px[1]
    assert y == round(5.0 * 100 / 25.4)  # the top margin: a top-edge line
    inked = film.density[y:y + h, x:x + w] > (BORDER + DMAX) / 2
    thirds = [inked[:, i * w // 3:(i + 1) * w // 3].any() for i in range(3)]
    assert thirds == [i == inked_third for i in range(3)]
    [placed] = film.annotation_texts
    assert placed.text == "ABC" and y < placed.baseline_px < y + h


@pytest.mark.parametrize("magnification", [MagnificationType.REPLICATE,
                                           MagnificationType.BILINEAR, MagnificationType.CUBIC])
def test_an_image_resized_into_its_box_band_by_band_is_pillow_s_whole_resize(
        magnification, monkeypatch):
    # 338 x 413 doubled is exactly box 1 (676 x 826); bands of 1 KiB are 64 rows of it.
    monkeypatch.setattr(render, "_BAND_BYTES", 1024)
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (413, 338), dtype=np.uint8)
    box = ImageBoxContent(1, gray(pixels), magnification_type=magnification)
    film = render_film(spec(box))
    table = density_lut(8, "MONOCHROME2", Polarity.NORMAL, None, DMIN, DMAX, VIEWING)
    resample = {MagnificationType.REPLICATE: Image.Resampling.NEAREST,
                MagnificationType.BILINEAR: Image.Resampling.BILINEAR,
                MagnificationType.CUBIC: Image.Resampling.BICUBIC}[magnification]
    expected = np.clip(np.asarray(Image.fromarray(table[pixels]).resize((676, 826), resample)),
                       DMIN, DMAX)
    x, y, w, h = BOX1
    np.testing.assert_array_equal(film.density[y:y + h, x:x + w], expected)


def test_a_color_image_resized_band_by_band_is_pillow_s_whole_resize(monkeypatch):
    monkeypatch.setattr(render, "_BAND_BYTES", 3000)
    rgb = np.random.default_rng(6).integers(0, 256, (413, 338, 3), dtype=np.uint8)
    film = render_film(spec(ImageBoxContent(1, ImagePixels(rgb, "RGB", 8),
                                            magnification_type=MagnificationType.CUBIC)))
    expected = np.asarray(Image.fromarray(rgb).resize((676, 826), Image.Resampling.BICUBIC))
    x, y, w, h = BOX1
    np.testing.assert_array_equal(film.rgb[y:y + h, x:x + w], expected)

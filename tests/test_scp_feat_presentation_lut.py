"""Loopback Presentation LUT SOP Class: N-CREATE, reference from film and image boxes, N-DELETE.

Expected densities:

* IDENTITY: a stored MONOCHROME2 value is a P-Value; PS3.14 density from
  lut.density (tested on its own).
* LIN OD (PS3.3 C.11.4): input linear in optical density over Min..Max
  Density. The Presentation LUT does not alter the appearance given by
  Photometric Interpretation and Polarity (PS3.4 H.4.9.1), so for
  MONOCHROME2 the brightest value 255 prints Min Density, 0 prints Max
  Density: D(v) = 3.00 − v·(3.00 − 0.20)/255, worked by hand below.
* A table maps each input value to a P-Value of LUT Descriptor[2] bits. The
  inverting 8-bit table used here, (255 − v)·257 with 16-bit entries, gives
  exactly the P-Value fraction (255 − v)/255, so value v prints what value
  255 − v prints without a LUT.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset
from scp_harness import running_printer
from test_scp_feat_support import (
    DENSITY_TOLERANCE_OD,
    PRESENTATION_LUT_CLASS,
    SUCCESS,
    centre_density,
    connect,
    density_map,
    expected_od,
    new_film_box,
    new_session,
    print_film_box,
    printed_films,
    rects,
    uniform,
)

from print_scu.image_box_requests import grayscale_image_box

DPI = 75
INVALID_ATTRIBUTE_VALUE = 0x0106
NO_SUCH_SOP_INSTANCE = 0x0112


def shape_lut(shape: str) -> Dataset:
    ds = Dataset()
    ds.PresentationLUTShape = shape
    return ds


def table_lut(data: list[int], bits_per_entry: int, entries: int | None = None,
              first_mapped: int = 0) -> Dataset:
    """Presentation LUT Sequence of one item: LUT Descriptor and LUT Data.

    The descriptor is (entries, first value mapped, bits per entry); entries
    default to the length of ``data``.
    """
    item = Dataset()
    descriptor = [len(data) if entries is None else entries, first_mapped, bits_per_entry]
    item.add_new(0x00283002, "US", descriptor)  # LUT Descriptor
    item.add_new(0x00283006, "US", data)  # LUT Data
    ds = Dataset()
    ds.PresentationLUTSequence = [item]
    return ds


def reference(uid: str) -> list[Dataset]:
    """Referenced Presentation LUT Sequence (2050,0500) naming ``uid``."""
    item = Dataset()
    item.ReferencedSOPClassUID = PRESENTATION_LUT_CLASS
    item.ReferencedSOPInstanceUID = uid
    return [item]


INVERTING_8_BIT = [(255 - v) * 257 for v in range(256)]
INVERTING_12_BIT = [4095 - v for v in range(4096)]


def create_lut(assoc, attributes: Dataset) -> str:
    status, uid = assoc.create_presentation_lut(attributes)
    assert status == SUCCESS, str(assoc.last_result)
    return uid


def print_boxes(tmp_path, display_format: str, film_box_lut: Dataset | None,
                boxes: list[tuple[np.ndarray, int, Dataset | None]]) -> list[float]:
    """Print one film; ``boxes`` = (pixels, bits, image box LUT or None) per position.

    Returns the density at the centre of each box.
    """
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as assoc:
            film_attributes = {}
            if film_box_lut is not None:
                film_attributes["ReferencedPresentationLUTSequence"] = reference(
                    create_lut(assoc, film_box_lut))
            refs = new_film_box(assoc, new_session(assoc), display_format, **film_attributes)
            for position, (pixels, bits, lut) in enumerate(boxes, start=1):
                attributes = {} if lut is None else {
                    "ReferencedPresentationLUTSequence": reference(create_lut(assoc, lut))}
                image = grayscale_image_box(position, pixels, bits, **attributes)
                status = assoc.set_image_box(refs.image_box_uids[position - 1], image)
                assert status == SUCCESS, str(assoc.last_result)
            print_film_box(assoc, refs)
        [film] = printed_films(tmp_path, 1)
    density, _ = density_map(tmp_path, film)
    return [centre_density(density, rect) for _, rect in sorted(rects(film).items())]


def test_lin_od_on_the_film_box_is_linear_in_density(tmp_path):
    measured = print_boxes(tmp_path, "STANDARD\\3,1", shape_lut("LIN OD"),
                           [(uniform(v), 8, None) for v in (0, 51, 255)])
    # 3.00 − v·2.80/255: v = 0 -> 3.00, v = 51 -> 3.00 − 0.56 = 2.44, v = 255 -> 0.20.
    assert measured == pytest.approx([3.00, 2.44, 0.20], abs=DENSITY_TOLERANCE_OD)


def test_identity_on_the_film_box_and_an_inverting_table_on_image_boxes(tmp_path):
    inverting = table_lut(INVERTING_8_BIT, 16)
    measured = print_boxes(tmp_path, "STANDARD\\2,2", shape_lut("IDENTITY"), [
        (uniform(40), 8, None), (uniform(40), 8, inverting),
        (uniform(200), 8, None), (uniform(200), 8, inverting),
    ])
    expected = [expected_od(40), expected_od(255 - 40), expected_od(200), expected_od(255 - 200)]
    assert measured == pytest.approx([float(e) for e in expected], abs=DENSITY_TOLERANCE_OD)
    assert measured[0] > 1.5 > measured[1]  # the table really flipped dark to light


def test_inverting_table_on_the_film_box_applies_to_every_image_box(tmp_path):
    measured = print_boxes(tmp_path, "STANDARD\\2,1", table_lut(INVERTING_8_BIT, 16),
                           [(uniform(10), 8, None), (uniform(230), 8, None)])
    assert measured == pytest.approx([float(expected_od(245)), float(expected_od(25))],
                                     abs=DENSITY_TOLERANCE_OD)


def test_twelve_bit_images_with_a_4096_entry_table(tmp_path):
    inverting = table_lut(INVERTING_12_BIT, 12)
    low, high = uniform(100, bits=12), uniform(3000, bits=12)
    measured = print_boxes(tmp_path, "STANDARD\\2,2", None, [
        (low, 12, None), (low, 12, inverting), (high, 12, None), (high, 12, inverting)])
    expected = [expected_od(p, p_max=4095) for p in (100, 4095 - 100, 3000, 4095 - 3000)]
    assert measured == pytest.approx([float(e) for e in expected], abs=DENSITY_TOLERANCE_OD)


def test_table_size_must_match_the_image_bit_depth(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as assoc:
            refs = new_film_box(assoc, new_session(assoc), "STANDARD\\1,1")
            eight_bit_table = create_lut(assoc, table_lut(INVERTING_8_BIT, 16))
            status = assoc.set_image_box(refs.image_box_uids[0], grayscale_image_box(
                1, uniform(100, bits=12), 12,
                ReferencedPresentationLUTSequence=reference(eight_bit_table)))
            assert status == INVALID_ATTRIBUTE_VALUE, str(assoc.last_result)


def test_malformed_luts_are_refused(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as assoc:
            for attributes in (shape_lut("INVERSE"),  # softcopy only
                               table_lut(INVERTING_8_BIT[:255], 16, entries=256),  # 255 values
                               table_lut(INVERTING_8_BIT, 16, first_mapped=1),  # must be 0
                               table_lut(INVERTING_8_BIT, 8)):  # entries of 8 bits: below 10
                status, _ = assoc.create_presentation_lut(attributes)
                assert status == INVALID_ATTRIBUTE_VALUE, str(assoc.last_result)


def test_deleted_lut_can_no_longer_be_referenced(tmp_path):
    with running_printer(tmp_path, standard_dpi=DPI) as server:
        with connect(server) as assoc:
            session = new_session(assoc)
            uid = create_lut(assoc, shape_lut("IDENTITY"))
            new_film_box(assoc, session, "STANDARD\\1,1",
                         ReferencedPresentationLUTSequence=reference(uid))
            assert assoc.delete_presentation_lut(uid) == SUCCESS
            assert assoc.delete_presentation_lut(uid) == NO_SUCH_SOP_INSTANCE
            new_film_box(assoc, session, "STANDARD\\1,1",
                         ReferencedPresentationLUTSequence=reference(uid),
                         expect=INVALID_ATTRIBUTE_VALUE)

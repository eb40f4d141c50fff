"""Presentation LUT (PS3.3 C.11.4): parsing, validation and density tables."""

import numpy as np
import pytest
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from lut.density import ViewingConditions
from lut.presentation import PresentationLUT, PresentationLUTError, PresentationLUTShape

LIGHT_BOX = ViewingConditions(illumination=2000.0, reflected_ambient_light=10.0)


def table_dataset(descriptor, data) -> Dataset:
    item = Dataset()
    item.LUTDescriptor = list(descriptor)
    item.LUTData = list(data)
    ds = Dataset()
    ds.PresentationLUTSequence = Sequence([item])
    return ds


def shape_dataset(term: str) -> Dataset:
    ds = Dataset()
    ds.PresentationLUTShape = term
    return ds


@pytest.mark.parametrize(("term", "shape"), [
    ("IDENTITY", PresentationLUTShape.IDENTITY),
    ("LIN OD", PresentationLUTShape.LIN_OD),
])
def test_shapes_are_read(term, shape):
    plut = PresentationLUT.from_dataset(shape_dataset(term))
    assert plut.shape is shape
    assert plut.descriptor is None and plut.data is None


def test_eight_bit_table_with_256_entries_is_accepted():
    plut = PresentationLUT.from_dataset(table_dataset((256, 0, 12), range(0, 4096, 16)))
    assert plut.shape is None
    assert plut.descriptor == (256, 0, 12)
    assert plut.data.dtype == np.uint16 and plut.data[255] == 4080
    plut.check_bits(8)


def test_table_with_255_entries_is_rejected_for_8_bit_images():
    plut = PresentationLUT.from_dataset(table_dataset((255, 0, 12), range(255)))
    with pytest.raises(PresentationLUTError) as err:
        plut.check_bits(8)
    assert err.value.attribute == "LUTDescriptor"
    assert "256" in str(err.value)


def test_twelve_bit_images_need_4096_entries():
    small = PresentationLUT.from_dataset(table_dataset((256, 0, 12), range(256)))
    with pytest.raises(PresentationLUTError) as err:
        small.check_bits(12)
    assert err.value.attribute == "LUTDescriptor"
    assert "4096" in str(err.value)
    PresentationLUT.from_dataset(table_dataset((4096, 0, 12), range(4096))).check_bits(12)


def test_zero_entries_means_65536():
    plut = PresentationLUT(shape=None, descriptor=(0, 0, 16), data=np.arange(65536))
    assert plut.entries == 65536
    plut.check_bits(16)


def test_shapes_fit_any_bit_depth():
    PresentationLUT().check_bits(8)
    PresentationLUT(shape=PresentationLUTShape.LIN_OD).check_bits(12)


@pytest.mark.parametrize(("ds", "attribute", "why"), [
    (Dataset(), "PresentationLUTShape", "required"),
    (shape_dataset("INVERSE"), "PresentationLUTShape", "INVERSE"),
    (shape_dataset("LOG"), "PresentationLUTShape", "LOG"),
    (table_dataset((256, 0), range(256)), "LUTDescriptor", "3 values"),
    (table_dataset((256, 0, 8), range(256)), "LUTDescriptor", "10..16"),
    (table_dataset((256, 0, 17), range(256)), "LUTDescriptor", "10..16"),
    (table_dataset((256, 1, 12), range(256)), "LUTDescriptor", "first input value"),
    (table_dataset((256, 0, 12), range(255)), "LUTData", "255"),
    (table_dataset((256, 0, 10), range(4, 260 * 4, 4)[:256]), "LUTData", "0..1023"),
])
def test_errors_name_the_attribute(ds, attribute, why):
    with pytest.raises(PresentationLUTError) as err:
        PresentationLUT.from_dataset(ds)
    assert err.value.attribute == attribute
    assert why in str(err.value)


def test_shape_and_table_together_are_rejected():
    ds = table_dataset((256, 0, 12), range(256))
    ds.PresentationLUTShape = "IDENTITY"
    with pytest.raises(PresentationLUTError) as err:
        PresentationLUT.from_dataset(ds)
    assert err.value.attribute == "PresentationLUTShape"
    assert "mutually exclusive" in str(err.value)


def test_sequence_must_hold_one_item():
    ds = table_dataset((256, 0, 12), range(256))
    ds.PresentationLUTSequence.append(ds.PresentationLUTSequence[0])
    with pytest.raises(PresentationLUTError) as err:
        PresentationLUT.from_dataset(ds)
    assert err.value.attribute == "PresentationLUTSequence"


def test_missing_lut_data_is_named():
    ds = table_dataset((256, 0, 12), range(256))
    del ds.PresentationLUTSequence[0].LUTData
    with pytest.raises(PresentationLUTError) as err:
        PresentationLUT.from_dataset(ds)
    assert err.value.attribute == "LUTData"


def test_lut_data_sent_as_ow_bytes_is_read():
    item = Dataset()
    item.add_new(0x00283002, "US", [256, 0, 12])
    item.add_new(0x00283006, "OW", (np.arange(256, dtype="<u2") * 16).tobytes())
    ds = Dataset()
    ds.PresentationLUTSequence = Sequence([item])
    assert PresentationLUT.from_dataset(ds).data[17] == 272


@pytest.mark.parametrize("plut", [
    PresentationLUT(),
    PresentationLUT(shape=PresentationLUTShape.LIN_OD),
    PresentationLUT(shape=None, descriptor=(4096, 0, 16), data=np.arange(4096) * 16),
])
def test_to_dataset_round_trips_also_through_json(plut):
    ds = plut.to_dataset()
    assert PresentationLUT.from_dataset(ds) == plut
    assert PresentationLUT.from_dataset(Dataset.from_json(ds.to_json())) == plut


def test_equal_tables_are_equal_and_hash_alike():
    a = PresentationLUT(shape=None, descriptor=(256, 0, 12), data=np.arange(256))
    b = PresentationLUT(shape=None, descriptor=(256, 0, 12), data=list(range(256)))
    c = PresentationLUT(shape=None, descriptor=(256, 0, 12), data=np.arange(256)[::-1])
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert a != PresentationLUT()
    with pytest.raises(ValueError):
        a.data[0] = 1  # read-only: the hash must not change under a cache


def test_shape_and_table_in_the_constructor_are_rejected():
    with pytest.raises(PresentationLUTError, match="shape=None"):
        PresentationLUT(descriptor=(256, 0, 12), data=np.arange(256))


def test_lin_od_spans_max_to_min_density_in_equal_steps():
    table = PresentationLUT(shape=PresentationLUTShape.LIN_OD).density_table(
        8, 0.20, 3.00, LIGHT_BOX)
    assert table.dtype == np.float32 and table.shape == (256,)
    # Polarity-corrected input: 0 (darkest) prints Max Density, 255 Min Density.
    assert table[0] == pytest.approx(3.00, abs=1e-6)
    assert table[255] == pytest.approx(0.20, abs=1e-6)
    # Linear in OD: every step is (3.00 − 0.20)/255 = 0.010980 OD.
    assert np.diff(table) == pytest.approx(np.full(255, -2.80 / 255), abs=1e-5)
    assert table[51] == pytest.approx(3.00 - 51 * 2.80 / 255, abs=1e-6)  # 2.44 OD


def test_identity_ends_are_max_and_min_density():
    table = PresentationLUT().density_table(12, 0.20, 3.00, LIGHT_BOX)
    assert table.shape == (4096,)
    assert [table[0], table[-1]] == pytest.approx([3.00, 0.20], abs=1e-6)


def test_table_maps_as_given():
    identity = PresentationLUT().density_table(8, 0.20, 3.00, LIGHT_BOX)
    v = np.arange(256)
    # 16-bit P-Values v·257 are exactly the 8-bit P-Values v: same densities.
    scaled = PresentationLUT(shape=None, descriptor=(256, 0, 16), data=v * 257)
    assert scaled.density_table(8, 0.20, 3.00, LIGHT_BOX) == pytest.approx(identity, abs=1e-6)
    # A reversing table reverses them.
    reversed_ = PresentationLUT(shape=None, descriptor=(256, 0, 16), data=(255 - v) * 257)
    assert reversed_.density_table(8, 0.20, 3.00, LIGHT_BOX) == pytest.approx(identity[::-1],
                                                                             abs=1e-6)
    # Everything at the top P-Value prints Min Density, at 0 Max Density.
    flat = PresentationLUT(shape=None, descriptor=(256, 0, 10),
                           data=np.where(v < 128, 0, 1023))
    table = flat.density_table(8, 0.20, 3.00, LIGHT_BOX)
    assert table[:128] == pytest.approx(np.full(128, 3.00), abs=1e-6)
    assert table[128:] == pytest.approx(np.full(128, 0.20), abs=1e-6)


def test_density_table_checks_the_table_size():
    plut = PresentationLUT(shape=None, descriptor=(256, 0, 12), data=np.arange(256))
    with pytest.raises(PresentationLUTError):
        plut.density_table(12, 0.20, 3.00, LIGHT_BOX)

"""Image Box pixels as the printer keeps them from an N-SET, over a real association.

8-bit pixels are kept without a copy: a read-only view of the message's data
set as it arrived (dicomnet.data_sets). 12-bit pixels are copied once (the
bits above Bits Stored cleared on the way). Either way the values are the
ones sent.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scp_harness import running_printer
from test_scp_access import address_of
from test_scp_feat_support import SUCCESS, new_film_box, new_session

from print_scp.server import PrintServer
from print_scu.association import PrintAssociation
from print_scu.image_box_requests import grayscale_image_box


def held_pixels(server: PrintServer, image_box_uid: str) -> np.ndarray:
    """The pixels the printer holds for ``image_box_uid`` (its one association's)."""
    [assoc] = server.ae.active_associations
    ctx = server.context_of(assoc)
    assert ctx is not None
    _, box = ctx.image_boxes[image_box_uid]
    assert box.content.image is not None
    return box.content.image.pixels


def memory_of(array: np.ndarray) -> object:
    """The object that holds ``array``'s memory, at the end of its chain of views."""
    while isinstance(array.base, np.ndarray):
        array = array.base
    return array.base


def test_8_bit_pixels_are_the_received_bytes_and_12_bit_ones_a_copy(
        tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    eight = rng.integers(0, 256, (400, 300), dtype=np.uint8)  # 117 KiB: left in the message
    twelve = rng.integers(0, 4096, (400, 300), dtype=np.uint16)
    with running_printer(tmp_path, bits_12=True) as server:
        with PrintAssociation(address_of(server)) as scu:
            refs = new_film_box(scu, new_session(scu), "STANDARD\\2,1")
            first, second = refs.image_box_uids
            assert scu.set_image_box(first, grayscale_image_box(1, eight, 8)) == SUCCESS
            assert scu.set_image_box(second, grayscale_image_box(2, twelve, 12)) == SUCCESS
            held_eight, held_twelve = held_pixels(server, first), held_pixels(server, second)
            np.testing.assert_array_equal(held_eight, eight)
            assert not held_eight.flags.writeable
            message = memory_of(held_eight)  # a view of the N-SET's data set: pixels and all
            assert isinstance(message, memoryview) and isinstance(message.obj, bytes)
            assert eight.nbytes < len(message.obj) < eight.nbytes + 1024
            np.testing.assert_array_equal(held_twelve, twelve)
            assert held_twelve.flags.owndata and held_twelve.dtype == np.uint16

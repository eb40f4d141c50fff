"""Configuration Information takes effect: each value the profile declares is a contrast
curve; other values get the strict or lenient answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from scp_harness import running_printer
from test_scp_feat_support import (
    DENSITY_TOLERANCE_OD,
    MAX_DENSITY,
    MIN_DENSITY,
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

from print_scp.profile import ProfileError, profile_from_dict
from print_scu.image_box_requests import grayscale_image_box

INVALID_ATTRIBUTE_VALUE = 0x0106
ATTRIBUTE_VALUE_OUT_OF_RANGE = 0x0116
CURVES = {"CS000": 1.0, "CS200": 2.0}  # value -> gamma of its contrast curve
P_VALUE = 128


def print_with(assoc, session: str, value: str, expect: int = SUCCESS) -> None:
    refs = new_film_box(assoc, session, "STANDARD\\1,1", expect=expect,
                        ConfigurationInformation=value)
    assert assoc.set_image_box(refs.image_box_uids[0],
                               grayscale_image_box(1, uniform(P_VALUE, 32, 32), 8)) == SUCCESS
    print_film_box(assoc, refs)


def test_each_declared_value_prints_its_contrast_curve(tmp_path: Path) -> None:
    with running_printer(tmp_path, configuration_values=CURVES) as server:
        with connect(server) as assoc:
            session = new_session(assoc)
            for value in ("CS000", "CS200"):
                print_with(assoc, session, value)
            print_with(assoc, session, "CS999", expect=ATTRIBUTE_VALUE_OUT_OF_RANGE)
        films = printed_films(tmp_path, 3)
    measured = {}
    for film in films:
        value = film["film_box"]["in_force"]["configuration_information"]
        density, _ = density_map(tmp_path, film)
        measured[value] = centre_density(density, rects(film)[1])
    low, high = MIN_DENSITY / 100, MAX_DENSITY / 100
    plain = float(expected_od(P_VALUE))
    fraction = (plain - low) / (high - low)
    assert measured["CS000"] == pytest.approx(plain, abs=DENSITY_TOLERANCE_OD)
    assert measured["CS200"] == pytest.approx(low + (high - low) * fraction ** 2,
                                              abs=DENSITY_TOLERANCE_OD)
    assert measured["CS999"] == pytest.approx(plain, abs=DENSITY_TOLERANCE_OD)  # no effect
    assert any("CS999" in w for w in next(f for f in films if f["film_box"]["in_force"][
        "configuration_information"] == "CS999")["warnings"])


def test_a_strict_printer_refuses_an_undeclared_value(tmp_path: Path) -> None:
    with running_printer(tmp_path, configuration_values=CURVES, strict=True) as server:
        with connect(server) as assoc:
            new_film_box(assoc, new_session(assoc), "STANDARD\\1,1",
                         expect=INVALID_ATTRIBUTE_VALUE, ConfigurationInformation="CS999")
            assert assoc.last_result.error_comment.startswith("ConfigurationInformation")


def test_a_printer_that_declares_no_value_takes_any_text(tmp_path: Path) -> None:
    with running_printer(tmp_path, strict=True) as server:
        with connect(server) as assoc:
            new_film_box(assoc, new_session(assoc), "STANDARD\\1,1",
                         ConfigurationInformation="ANY TEXT")


def test_the_configuration_information_section_of_a_profile() -> None:
    profile = profile_from_dict({"configuration_information": {"CS010": {"gamma": 1.5},
                                                               "CS000": {}}})
    assert profile.configuration_values == {"CS010": 1.5, "CS000": 1.0}
    with pytest.raises(ProfileError, match=r"gamma 0 must be a number from 0\.1 to 10"):
        profile_from_dict({"configuration_information": {"CS1": {"gamma": 0}}})
    with pytest.raises(ProfileError, match=r"unknown key 'curve'"):
        profile_from_dict({"configuration_information": {"CS1": {"curve": 2}}})

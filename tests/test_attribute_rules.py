"""The client and the printer take their value rules from one table, so they agree.

For every numeric or text attribute both ends handle, the largest value the
rule allows is accepted by both, and one past it is refused by both: by the
client's option check, and by the printer's attribute reader with 0x0106.
"""

from __future__ import annotations

import pytest
from pydicom.dataset import Dataset

from dicomnet.attribute_rules import DENSITY_HUNDREDTHS, RULES, NumberRule, TextRule
from dicomnet.status import Status
from print_scp.service.attributes import read_density_term, read_int, read_text
from print_scp.service.outcome import DicomStatusError
from print_scu.options import OptionError, check_attribute

# Attributes print-scu sets and the printer reads, with a rule in the table.
SHARED_NUMBERS = ("NumberOfCopies", "MemoryAllocation", "MinDensity", "MaxDensity",
                  "Illumination", "ReflectedAmbientLight")
SHARED_TEXTS = ("FilmSessionLabel", "OwnerID", "ConfigurationInformation")

# The over-long and out-of-range values are what a faulty SCU sends; pydicom warns on them.
pytestmark = pytest.mark.filterwarnings("ignore:The value length", "ignore:Invalid value")


def printer_reads(keyword: str, value: object) -> object:
    ds = Dataset()
    setattr(ds, keyword, value)
    if keyword in ("BorderDensity", "EmptyImageDensity"):
        return read_density_term(ds, keyword)
    rule = RULES[keyword]
    return read_int(ds, keyword) if isinstance(rule, NumberRule) else read_text(ds, keyword)


def printer_refuses(keyword: str, value: object) -> None:
    with pytest.raises(DicomStatusError) as refused:
        printer_reads(keyword, value)
    assert refused.value.status is Status.INVALID_ATTRIBUTE_VALUE
    assert refused.value.attribute == keyword


@pytest.mark.parametrize("keyword", SHARED_NUMBERS)
def test_both_ends_accept_the_range_and_refuse_one_past_it(keyword: str) -> None:
    rule = RULES[keyword]
    assert isinstance(rule, NumberRule)
    low, high = int(rule.low), int(rule.high)
    for value in (low, high):
        assert check_attribute(keyword, value) == value
        assert printer_reads(keyword, value) == value
    for value in (low - 1, high + 1):
        with pytest.raises(OptionError, match=rf"is outside {low}\.\.{high}"):
            check_attribute(keyword, value)
        printer_refuses(keyword, value)


@pytest.mark.parametrize("keyword", SHARED_TEXTS)
def test_both_ends_accept_the_longest_text_and_refuse_a_longer_one(keyword: str) -> None:
    rule = RULES[keyword]
    assert isinstance(rule, TextRule)
    longest = "A" * rule.max_length
    assert check_attribute(keyword, longest) == longest
    assert printer_reads(keyword, longest) == longest
    with pytest.raises(OptionError, match=rf"longer than {rule.max_length}"):
        check_attribute(keyword, longest + "A")
    printer_refuses(keyword, longest + "A")


@pytest.mark.parametrize("keyword", ["BorderDensity", "EmptyImageDensity"])
def test_a_density_in_hundredths_past_5_od_is_refused_by_both_ends(keyword: str) -> None:
    assert DENSITY_HUNDREDTHS.high == 500
    assert check_attribute(keyword, 500) == "500"
    assert printer_reads(keyword, "500") == 500
    with pytest.raises(OptionError, match=r"600 is outside 0\.\.500 hundredths of OD"):
        check_attribute(keyword, 600)
    printer_refuses(keyword, "600")


def test_illumination_zero_is_refused_by_both_ends() -> None:
    with pytest.raises(OptionError, match=r"Illumination \(2010,015E\) 0 is outside 1\.\."):
        check_attribute("Illumination", 0)
    printer_refuses("Illumination", 0)

"""The tolerance nbval applies to printed floats (tests/tolerance.py, installed by tests/conftest.py)."""
import pytest
from nbval.plugin import IPyNbCell
from tolerance import TolerantText, last_place, outputs_match


@pytest.mark.parametrize("ref,test", [
    ("exact match 0.412", "exact match 0.413"),                 # a rounding flip in the last digit
    ("perplexity 9.18e+08", "perplexity 9.19e+08"),
    ("loss 2.50 | acc 0.1", "loss 2.49 | acc 0.2"),
    ("-0.000", "0.000"),
    ("same text", "same text"),
])
def test_last_digit_differences_are_accepted(ref, test):
    assert outputs_match(ref, test)


@pytest.mark.parametrize("ref,test", [
    ("exact match 0.412", "exact match 0.414"),                 # two units: a real difference
    ("588 wrong answers", "589 wrong answers"),                 # integers are exact
    ("shape (8000, 1, 8, 32)", "shape (8000, 1, 8, 31)"),
    ("perplexity 9.18e+08", "perplexity 9.18e+09"),
    ("val ppl 9.569", "val ppl 9.569 extra"),                    # the text around numbers must match
    ("a 0.5 b", "a 0.5 b 0.5"),
    ("beam", "greedy"),
])
def test_real_differences_are_reported(ref, test):
    assert not outputs_match(ref, test)


def test_last_place():
    assert last_place("12") == 0 and last_place("0.412") == pytest.approx(1e-3)
    assert last_place("9.18e+08") == pytest.approx(1e6) and last_place("3.") == 1


def test_nbval_uses_the_tolerant_comparison():
    """conftest.py wraps nbval's sanitizer, so the strings nbval compares are TolerantText."""
    assert getattr(IPyNbCell.sanitize, "tolerant", False)
    assert TolerantText("acc 0.412") == "acc 0.413" and not (TolerantText("acc 0.412") != "acc 0.413")
    assert TolerantText("acc 0.412") != "acc 0.415"

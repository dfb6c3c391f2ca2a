"""The tolerance nbval applies to printed numbers (tests/tolerance.py, loaded as a pytest plugin by pyproject.toml)."""
import pytest
from nbval.plugin import IPyNbCell
from tolerance import TolerantText, cell_tolerance, last_place, outputs_match


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
    """The tolerance plugin wraps nbval's sanitizer, so the strings nbval compares are TolerantText."""
    assert getattr(IPyNbCell.sanitize, "tolerant", False)
    assert TolerantText("acc 0.412") == "acc 0.413" and not (TolerantText("acc 0.412") != "acc 0.413")
    assert TolerantText("acc 0.412") != "acc 0.415"


def test_declared_tolerance_covers_trained_results():
    """A cell's declared tolerance applies to every number of its output, integers included."""
    assert outputs_match("exact match 0.338", "exact match 0.313", rtol=0.1)
    assert outputs_match("258 wrong captions", "281 wrong captions", rtol=0.1)
    assert not outputs_match("258 wrong captions", "281 wrong captions", rtol=0.05)
    assert outputs_match("ppl 125.0", "ppl 124.0", atol=1.5)
    assert not outputs_match("ppl 125.0 (LSTM)", "ppl 124.0 (GRU)", atol=1.5)    # text stays exact
    assert TolerantText("acc 0.50", rtol=0.1) == "acc 0.53"
    assert "acc 0.53" == TolerantText("acc 0.50", rtol=0.1)


@pytest.mark.parametrize("metadata", [{"tolerance": {"rel": 0.1}}, {"tolerance": {"rtol": -1}},
                                      {"tolerance": {"atol": "0.1"}}, {"tolerance": {"rtol": True}}])
def test_malformed_tolerances_are_refused(metadata):
    with pytest.raises(ValueError):
        cell_tolerance(metadata)


def test_cells_without_a_declaration_keep_the_default_rule():
    assert cell_tolerance({}) == {} and cell_tolerance({"tags": ["x"]}) == {}
    assert cell_tolerance({"tolerance": {"rtol": 0.02}}) == {"rtol": 0.02}


def test_spread_reports_how_far_numbers_moved():
    """tests/spread.py compares a re-executed notebook with the committed one, cell by cell."""
    import nbformat
    from spread import compare
    def notebook(text, tolerance=None):
        cell = nbformat.v4.new_code_cell("print(x)")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        if tolerance:
            cell.metadata["tolerance"] = tolerance
        return nbformat.v4.new_notebook(cells=[cell])
    rows = compare(notebook("ppl 100.0 acc 0.50\n", {"rtol": 0.05}), notebook("ppl 103.0 acc 0.51\n"))
    assert len(rows) == 1 and rows[0]["passes"] and rows[0]["max_abs"] == 3.0
    assert rows[0]["max_rel"] == pytest.approx(3 / 103)
    rows = compare(notebook("ppl 100.0\n"), notebook("ppl 103.0\n"))
    assert not rows[0]["passes"]
    assert compare(notebook("same\n"), notebook("same\n")) == []
    assert compare(notebook("greedy\n"), notebook("beam\n"))[0]["text_differs"]

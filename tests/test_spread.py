"""tests/spread.py: the report over seed offsets (no notebook is executed here)."""
import spread


def row(cell, passes=True, rel=None, error=None):
    return {"cell": cell, "source": "x", "tolerance": {}, "passes": passes, "text_differs": rel is None,
            "max_abs": rel, "max_rel": rel, **({"error": error} if error else {})}


def test_a_failing_row_is_worse_than_any_passing_one():
    rows = [row(1, True, 0.5), row(1, False, 0.01), row(1, True, 0.9)]
    assert max(rows, key=spread._badness)["passes"] is False
    assert max([row(1, True, 0.5), row(1, True, 0.9)], key=spread._badness)["max_rel"] == 0.9


def test_claim_failures_are_the_assertion_errors():
    rows = [row(3, False, error="AssertionError: dropout should win"), row(4, False, error="NameError: x"),
            row(5, True, 0.1)]
    assert [r["cell"] for r in spread.claim_failures(rows)] == [3]


def test_offsets_are_parsed_by_the_command_line(monkeypatch):
    seen = {}
    monkeypatch.setattr(spread, "run_offsets", lambda names, offsets, timeout, jobs, save_dir=None:
                        seen.update(names=names, offsets=offsets, jobs=jobs) or {"runs": {}})
    assert spread.main(["chapters/01_rnn.ipynb", "--offsets", "1", "2", "--jobs", "2"]) == 0
    assert seen == {"names": ["chapters/01_rnn.ipynb"], "offsets": [1, 2], "jobs": 2}

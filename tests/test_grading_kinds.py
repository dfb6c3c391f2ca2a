"""Every kind of graded item, in a small chapter of the tests' own (``grading_demo_spec``): a function with a
known mistake and a staged nudge, a number question, a choice whose wrong options are explained only at the
end, and two experiments (a training function measured in the grader, a configuration run in a clean
process); the report gives each item its kind."""
import contextlib
import io
import pathlib

import nbformat
import pytest

from rnnbook import grading
from rnnbook.grading import catalog
from rnnbook.grading.session import Limits, grade_notebook


@pytest.fixture(autouse=True)
def demo_chapter(monkeypatch):
    """The tests' own chapter, registered only while a test of this file runs."""
    monkeypatch.setitem(catalog._REGISTERED, "90_demo", "grading_demo_spec")

REFERENCE = '''import numpy as np

def row_softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)

def row_softmax__axis0(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)

q_sum = 1.0
c_forget = "f"
'''

RIGHT = {
    "row_softmax": REFERENCE.split("def row_softmax__axis0")[0],
    "q_sum": "q_sum = 1",
    "c_forget": 'c_forget = "f"',
    "fit_slope": "import numpy as np\ndef fit_slope(seed):\n    rng = np.random.default_rng(seed)\n"
                 "    x = rng.standard_normal(200)\n    y = 3 * x\n    w = 0.0\n    for _ in range(200):\n"
                 "        w -= 0.1 * np.mean(2 * (w * x - y) * x)\n    return w",
    "lr_config": 'lr_config = {"lr": 0.3}',
}


def notebook(folder: pathlib.Path, name: str, cells: dict) -> pathlib.Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["rnnbook"] = {"chapter": "90_demo"}
    for src in cells.values():
        cell = nbformat.v4.new_code_cell(src)
        cell.metadata["tags"] = ["graded"]
        nb.cells.append(cell)
    path = folder / name
    nbformat.write(nb, path)
    return path


@pytest.fixture
def refs(tmp_path):
    d = tmp_path / "refs"
    d.mkdir()
    notebook(d, "90_demo.ipynb", {"all": REFERENCE})
    return d


def grade(path, refs, **kw):
    report = grade_notebook(path, solutions=refs, limits=Limits(cell_timeout=60), **kw)
    return {e["name"]: e for e in report["exercises"]}, report


def test_every_kind_scores_full_marks_and_the_report_gives_kinds(tmp_path, refs):
    ex, report = grade(notebook(tmp_path, "right.ipynb", RIGHT), refs)
    assert report["score"] == report["max_score"] == 7, ex
    assert {n: e["kind"] for n, e in ex.items()} == {"row_softmax": "function", "q_sum": "question",
                                                    "c_forget": "choice", "fit_slope": "experiment",
                                                    "lr_config": "experiment"}
    assert len(ex["fit_slope"]["measurement"]) == 2 and max(ex["fit_slope"]["measurement"]) < 1e-3
    assert "measured" in ex["lr_config"]["feedback"] and ex["lr_config"]["measurement"][0] < 1e-3


def test_blank_notebook_scores_zero_for_every_kind(tmp_path, refs):
    blank = {"row_softmax": "def row_softmax(x):\n    raise NotImplementedError", "q_sum": "q_sum = ...",
             "c_forget": "c_forget = ...", "fit_slope": "def fit_slope(seed):\n    raise NotImplementedError",
             "lr_config": "lr_config = ..."}
    ex, report = grade(notebook(tmp_path, "blank.ipynb", blank), refs)
    assert report["score"] == 0
    assert all(e["status"] == "not implemented" for e in ex.values()), ex


def test_known_mistake_is_named_without_code_and_other_bugs_get_a_staged_nudge(tmp_path, refs):
    wrong = dict(RIGHT, row_softmax="import numpy as np\ndef row_softmax(x):\n    e = np.exp(x - x.max(axis=0))\n"
                                    "    return e / e.sum(axis=0)",
                 q_sum="q_sum = 2", c_forget='c_forget = "i"',
                 fit_slope="def fit_slope(seed):\n    return 2.0", lr_config='lr_config = {"lr": 1.5}')
    ex, report = grade(notebook(tmp_path, "wrong.ipynb", wrong), refs)
    assert report["score"] == 0
    fb = ex["row_softmax"]["feedback"]
    assert fb.startswith("known mistake: the probabilities are normalised down the columns") and "exp(" not in fb
    assert "1" not in ex["q_sum"]["feedback"].replace("attempt 1", "") and "distribution" in ex["q_sum"]["feedback"]
    assert "input gate" not in ex["c_forget"]["feedback"] and "'f'" not in ex["c_forget"]["feedback"]
    assert "did not reach the target: measured 1, 1" in ex["fit_slope"]["feedback"]
    assert ex["lr_config"]["measurement"][0] > 1
    # the final submission explains why the chosen option is wrong, still without naming the right one
    ex, _ = grade(notebook(tmp_path, "wrong2.ipynb", wrong), refs, final=True)
    assert "the input gate scales what is WRITTEN" in ex["c_forget"]["feedback"]
    assert "'f'" not in ex["c_forget"]["feedback"]


@pytest.mark.parametrize("src", [
    "from rnnbook.functions import softmax as row_softmax",
    "import rnnbook.functions as F\ndef row_softmax(x):\n    return F.softmax(x)",
])
def test_library_code_listed_as_absent_is_absent(tmp_path, refs, src):
    ex, _ = grade(notebook(tmp_path, "lib.ipynb", dict(RIGHT, row_softmax=src)), refs)
    assert ex["row_softmax"]["score"] == 0
    assert "rnnbook.functions.softmax" in ex["row_softmax"]["feedback"], ex["row_softmax"]["feedback"]
    assert ex["q_sum"]["score"] == 1


def test_in_notebook_check_applies_the_same_judging(refs, monkeypatch):
    monkeypatch.setenv("RNNBOOK_SOLUTIONS", str(refs))
    g = grading.Grader("90_demo")
    ns: dict = {}
    exec("import numpy as np\ndef row_softmax(x):\n    return x * 0 + 0.5", ns)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        g.check(ns["row_softmax"])
    first = out.getvalue()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        g.check(ns["row_softmax"])
    second = out.getvalue()
    assert "nudge: Each row holds" in first and "exp(x - max)" not in first     # the nudge first
    assert "hint: p = exp(x - max)" in second                                  # the formula after failures
    import __main__
    monkeypatch.setattr(__main__, "c_forget", "o", raising=False)
    with contextlib.redirect_stdout(io.StringIO()) as out:
        g.check("c_forget")
    assert "output gate" not in out.getvalue() and "explained after 1 more attempt" in out.getvalue()
    with contextlib.redirect_stdout(io.StringIO()) as out:
        g.check("c_forget")
    assert "the output gate scales what is SHOWN" in out.getvalue()
    assert g.last_result.kind == "choice" and g.last_result.score == 0


def test_a_registered_chapter_needs_a_proper_id():
    with pytest.raises(ValueError, match="looks like"):
        grading.register("demo", "grading_demo_spec")


def test_spec_checks():
    with pytest.raises(ValueError, match="between 0 and 60"):
        grading.Experiment(name="x", points=1, prompt="", target=1, measure=float, budget_s=120)
    with pytest.raises(ValueError, match="two options"):
        grading.Choice(name="c", points=1, prompt="", options={"a": ""}, explanation="")

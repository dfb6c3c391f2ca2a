"""The grader: solutions score full marks, untouched exercises score zero, feedback points at bugs,
and nothing a learner writes can crash the grader or modify their notebook."""
import dataclasses
import hashlib
import importlib
import json
import pathlib
import re
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from rnnbook import grading
from rnnbook.grading.core import run_exercise

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = grading.chapters()


def grade_cli(path, *extra):
    proc = subprocess.run([sys.executable, "-m", "rnnbook.grade", str(path), "--json", *extra],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_chapter_has_its_three_notebooks():
    assert CHAPTERS, "no graded chapters found"
    for ch in CHAPTERS:
        for folder in ("chapters", "exercises", "solutions"):
            assert (ROOT / folder / f"{ch}.ipynb").exists(), f"{folder}/{ch}.ipynb is missing"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solutions_score_full_marks(chapter):
    report = grade_cli(ROOT / "solutions" / f"{chapter}.ipynb")
    assert report["max_score"] > 0 and len(report["exercises"]) >= 4
    failed = [e for e in report["exercises"] if e["score"] != e["max_score"]]
    assert not failed, failed
    assert report["score"] == report["max_score"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_untouched_exercises_score_zero_without_crashing(chapter):
    path = ROOT / "exercises" / f"{chapter}.ipynb"
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    report = grade_cli(path)
    assert report["score"] == 0
    assert all(e["status"] == "not implemented" for e in report["exercises"]), report
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the grader modified the notebook"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solutions_agree_with_the_library(chapter):
    refs = grading.reference_functions(chapter)
    for ex in grading.exercises_for(chapter):
        if not isinstance(ex, grading.Exercise) or ex.library is None:
            continue
        module, name = ex.library.rsplit(".", 1)
        lib_fn = getattr(importlib.import_module(module), name)
        result = run_exercise(ex, lib_fn, refs[ex.name])
        assert result.status == "passed", f"{ex.library} disagrees with the solution: {result.feedback}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_graded_cells_match_between_exercise_and_solution(chapter):
    """Exercise and solutions notebooks grade the same functions, in graded cells of their own."""
    def graded_names(folder):
        nb = nbformat.read(ROOT / folder / f"{chapter}.ipynb", as_version=4)
        names = []
        for cell in nb.cells:
            if "graded" in cell.metadata.get("tags", []):
                names += [line.split("(")[0][4:] for line in cell.source.splitlines() if line.startswith("def ")]
                names += [line.split("=")[0].strip() for line in cell.source.splitlines()
                          if re.match(r"[A-Za-z_]\w*\s*=[^=]", line)]   # answers: questions, choices, configs
        return names
    expected = [ex.name for ex in grading.exercises_for(chapter)]
    for folder in ("exercises", "solutions"):
        names = graded_names(folder)
        assert all(n in names for n in expected), f"{folder}/{chapter}: graded cells define {names}"


# ----- feedback that points at the bug (chapter 1's functions as examples) -----

def _ex(name):
    return {e.name: e for e in grading.exercises_for("01_rnn")}[name]


def _ref(name):
    return grading.reference_functions("01_rnn")[name]


def test_feedback_names_time_step_where_state_is_not_carried():
    def rnn_forward_padded(xs, lengths, h0, Wx, Wh, b):    # bug: always starts from h0
        return np.stack([np.tanh(xs[:, t] @ Wx + h0 @ Wh + b) for t in range(xs.shape[1])], axis=1)
    r = run_exercise(_ex("rnn_forward_padded"), rnn_forward_padded, _ref("rnn_forward_padded"))
    assert r.score == 0
    assert "hs differs first at row 0, time 1" in r.feedback
    assert "expected" in r.feedback and "got" in r.feedback and "nudge:" in r.feedback
    assert "case 1 of 3" in r.feedback


def test_feedback_on_unstable_softmax():
    def softmax(x):
        e = np.exp(x)
        return e / e.sum(axis=-1, keepdims=True)
    with np.errstate(all="ignore"):
        r = run_exercise(_ex("softmax"), softmax, _ref("softmax"))
    assert r.score == 0 and "NaN or inf" in r.feedback and "maximum" in r.feedback


def test_feedback_on_wrong_shape_and_wrong_type():
    step, ref = _ex("rnn_step_masked"), _ref("rnn_step_masked")
    r = run_exercise(step, lambda x, h_prev, mask, Wx, Wh, b: (x @ Wx).T, ref)
    assert "has shape" in r.feedback and "expected" in r.feedback
    r = run_exercise(step, lambda x, h_prev, mask, Wx, Wh, b: "hello", ref)
    assert "should be a NumPy array, got str" in r.feedback


def test_learner_exceptions_missing_functions_and_mutation_are_feedback():
    def softmax(x):
        return 1 / 0
    r = run_exercise(_ex("softmax"), softmax, _ref("softmax"))
    assert r.status == "error" and "ZeroDivisionError" in r.feedback and "line" in r.feedback
    r = run_exercise(_ex("softmax"), None, _ref("softmax"))
    assert r.status == "missing" and "not found" in r.feedback

    def softmax_in_place(x):
        x -= x.max(axis=-1, keepdims=True)
        np.exp(x, out=x)
        x /= x.sum(axis=-1, keepdims=True)
        return x
    r = run_exercise(_ex("softmax"), softmax_in_place, _ref("softmax"))
    assert r.score == 0 and "modified its input `x` in place" in r.feedback


def test_infinite_loop_hits_the_time_limit():
    ex = dataclasses.replace(_ex("one_hot"), time_limit=0.5)

    def one_hot(ids, vocab_size):
        while True:
            pass
    r = run_exercise(ex, one_hot, _ref("one_hot"))
    assert r.score == 0 and "longer than 0.5 s" in r.feedback


def test_megabytes_of_printing_are_contained(capsys):
    def one_hot(ids, vocab_size):
        print("x" * 5_000_000)
        return np.eye(vocab_size)[ids]
    r = run_exercise(_ex("one_hot"), one_hot, _ref("one_hot"))
    assert r.status == "passed"
    assert len(capsys.readouterr().out) < 10_000


def test_cli_survives_a_broken_notebook_and_grades_the_rest(tmp_path):
    """Cells that raise, loop forever, exit, or delete a function: the grader finishes and reports each."""
    nb = nbformat.read(ROOT / "solutions" / "01_rnn.ipynb", as_version=4)
    for cell in nb.cells:
        cell.outputs = [] if cell.cell_type == "code" else cell.get("outputs")
    nb.cells.insert(2, nbformat.v4.new_code_cell("raise RuntimeError('oops')"))
    nb.cells.insert(3, nbformat.v4.new_code_cell("while True:\n    pass"))
    nb.cells.insert(4, nbformat.v4.new_code_cell("import sys\nsys.exit(1)"))
    nb.cells.insert(5, nbformat.v4.new_code_cell("import a_module_that_does_not_exist"))
    nb.cells.append(nbformat.v4.new_code_cell("del rnn_forward_padded"))
    path = tmp_path / "01_rnn.ipynb"
    nbformat.write(nb, path)
    before = path.read_bytes()
    report = grade_cli(path, "--cell-timeout", "5")
    by_name = {e["name"]: e for e in report["exercises"]}
    assert by_name["rnn_forward_padded"]["status"] == "missing"
    assert by_name["softmax"]["score"] == by_name["softmax"]["max_score"]
    assert report["score"] == report["max_score"] - by_name["rnn_forward_padded"]["max_score"]
    assert path.read_bytes() == before


def test_cli_skips_a_cell_that_kills_the_kernel_and_grades_the_rest(tmp_path):
    nb = nbformat.read(ROOT / "solutions" / "01_rnn.ipynb", as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell("import os\nos._exit(3)"))
    path = tmp_path / "01_rnn.ipynb"
    nbformat.write(nb, path)
    report = grade_cli(path)
    assert report["score"] == report["max_score"]
    assert any("cell 3 stopped the process" in n for n in report["notes"]), report["notes"]


def test_cli_rejects_bad_paths_with_a_message(tmp_path):
    unknown = tmp_path / "99_unknown.ipynb"
    unknown.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    for args, msg in [(["nope/01_rnn.ipynb"], "no notebook at"),
                      ([str(unknown)], "cannot tell which chapter"),
                      ([str(unknown), "--chapter", "99_unknown"], "no graded exercises for '99_unknown'")]:
        proc = subprocess.run([sys.executable, "-m", "rnnbook.grade", *args], capture_output=True, text=True,
                              cwd=ROOT, timeout=60)
        assert proc.returncode == 2 and msg in proc.stderr and "Traceback" not in proc.stderr
    corrupt = tmp_path / "01_rnn.ipynb"
    corrupt.write_text("{ this is not json")
    proc = subprocess.run([sys.executable, "-m", "rnnbook.grade", str(corrupt)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 2 and "not a readable Jupyter notebook" in proc.stderr

"""The exercise standard every chapter's exercises meet (the chapters listed in ``MEETS_THE_STANDARD``).

Exercises make the learner think: each notebook has at least one ``experiment`` (judged by a measured
outcome under a CPU budget), at least two ``choice`` questions about mechanisms, and every graded function
lists at least two known mistakes that the grader diagnoses without printing the fix. The exercise and
solution notebooks carry no raw MyST roles (Jupyter would show ``{numref}`...``` as it is). A chapter joins
``MEETS_THE_STANDARD`` when its exercises are rebuilt; the list may only grow.
"""
import json
import pathlib
import re

import pytest

from rnnbook.grading import catalog
from rnnbook.grading.core import Choice, Exercise, Experiment

ROOT = pathlib.Path(__file__).resolve().parents[1]
MEETS_THE_STANDARD = {"01_rnn", "02_bptt", "03_lstm", "04_lm", "05_seq2seq", "06_captioning", "A1_autodiff"}
ROLE = re.compile(r"\{(?:ref|numref|doc|eq|cite[a-z:]*|glue[a-z:]*)\}`")


def specs(chapter):
    return catalog.exercises_for(chapter)


@pytest.mark.parametrize("chapter", sorted(MEETS_THE_STANDARD))
def test_kinds_and_known_mistakes(chapter):
    items = specs(chapter)
    assert sum(isinstance(x, Experiment) for x in items) >= 1, f"{chapter}: no experiment exercise"
    assert sum(isinstance(x, Choice) for x in items) >= 2, f"{chapter}: fewer than two choice questions"
    few = [x.name for x in items if isinstance(x, Exercise) and len(x.mistakes or {}) < 2]
    assert not few, f"{chapter}: function exercises with fewer than two known mistakes: {few}"


@pytest.mark.parametrize("chapter", sorted(MEETS_THE_STANDARD))
def test_no_raw_myst_roles(chapter):
    for folder in ("exercises", "solutions"):
        cells = json.loads((ROOT / folder / f"{chapter}.ipynb").read_text(encoding="utf-8"))["cells"]
        raw = [i for i, c in enumerate(cells) if c["cell_type"] == "markdown" and ROLE.search("".join(c["source"]))]
        assert not raw, f"{folder}/{chapter}.ipynb: raw MyST roles in markdown cells {raw}"

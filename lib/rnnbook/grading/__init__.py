"""Automatic grading of the exercise notebooks against the solutions notebooks.

Each chapter ``NN_slug`` has a module ``rnnbook.grading.chNN_slug`` with a list
``EXERCISES`` of :class:`Exercise` specs. The *reference* implementation of
each exercise is read from the code cells tagged ``graded`` in
``solutions/NN_slug.ipynb``: the solutions notebook is the single source of
truth.

In a notebook::

    from rnnbook.grading import Grader
    grader = Grader("01_rnn")
    ...
    grader.check(rnn_step_forward)     # immediate feedback
    ...
    grader.score(globals())            # the score so far

From a shell (learner code runs in a separate, fresh kernel)::

    python -m rnnbook.grade exercises/01_rnn.ipynb [--json]
"""
from __future__ import annotations

import importlib
import json
import os
import pathlib
import re

from .core import Exercise, Result, run_exercise

__all__ = ["Exercise", "Result", "Grader", "chapters", "exercises_for", "grade_namespace",
           "reference_functions", "solutions_dir"]

_CHAPTER_RE = re.compile(r"^(\d\d|A\d)_([a-z0-9_]+)$")     # "01_rnn", ..., appendices "A1_autodiff"


def solutions_dir() -> pathlib.Path:
    """Where the solutions notebooks are: ``$RNNBOOK_SOLUTIONS`` or the repository's ``solutions/``."""
    env = os.environ.get("RNNBOOK_SOLUTIONS")
    if env:
        return pathlib.Path(env)
    return pathlib.Path(__file__).resolve().parents[3] / "solutions"


def chapters() -> list[str]:
    """The chapter ids that have graded exercises, e.g. ``["01_rnn", ...]``."""
    here = pathlib.Path(__file__).parent
    found = []
    for f in sorted(here.glob("ch[0-9A][0-9]_*.py")):
        found.append(f.stem[2:])
    return found


def _chapter_id(chapter: str) -> str:
    chapter = pathlib.Path(chapter).stem
    if not _CHAPTER_RE.match(chapter) or chapter not in chapters():
        known = ", ".join(chapters()) or "none"
        raise ValueError(f"no graded exercises for {chapter!r}; graded chapters are: {known}")
    return chapter


def exercises_for(chapter: str) -> list[Exercise]:
    """The exercise specs of a chapter."""
    chapter = _chapter_id(chapter)
    return list(importlib.import_module(f"{__name__}.ch{chapter}").EXERCISES)


_REFERENCE_CACHE: dict[str, dict] = {}


def reference_functions(chapter: str) -> dict:
    """Execute the ``graded`` cells of ``solutions/<chapter>.ipynb`` and return their namespace."""
    chapter = _chapter_id(chapter)
    if chapter in _REFERENCE_CACHE:
        return _REFERENCE_CACHE[chapter]
    path = solutions_dir() / f"{chapter}.ipynb"
    if not path.exists():
        raise FileNotFoundError(
            f"the reference solutions {path} are missing; the grader needs the book's solutions/ folder "
            f"(set RNNBOOK_SOLUTIONS to its location)")
    nb = json.loads(path.read_text(encoding="utf-8"))
    ns: dict = {"__name__": f"rnnbook_solutions_{chapter}"}
    for i, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") == "code" and "graded" in cell.get("metadata", {}).get("tags", []):
            src = "".join(cell["source"])
            exec(compile(src, f"{path.name}[cell {i}]", "exec"), ns)
    missing = [ex.name for ex in exercises_for(chapter) if not callable(ns.get(ex.name))]
    if missing:
        raise RuntimeError(f"{path} defines no graded function(s) {missing}: tag their cells 'graded'")
    _REFERENCE_CACHE[chapter] = ns
    return ns


def grade_namespace(chapter: str, namespace: dict) -> dict:
    """Grade every exercise of ``chapter`` using the functions found in ``namespace``.

    Returns ``{"notebook": chapter, "score": S, "max_score": M, "exercises": [...]}``.
    """
    refs = reference_functions(chapter)
    results = [run_exercise(ex, namespace.get(ex.name), refs[ex.name]) for ex in exercises_for(chapter)]
    return {
        "notebook": chapter,
        "score": sum(r.score for r in results),
        "max_score": sum(r.max_score for r in results),
        "exercises": [r.as_dict() for r in results],
    }


def format_table(report: dict) -> str:
    """The report as a plain-text table: exercise, points, feedback, then the total."""
    rows = [(e["name"], f"{e['score']:g}/{e['max_score']:g}", e["feedback"]) for e in report["exercises"]]
    w0 = max([len("exercise")] + [len(r[0]) for r in rows])
    w1 = max([len("points")] + [len(r[1]) for r in rows])
    lines = [f"{'exercise':<{w0}}  {'points':>{w1}}  feedback", f"{'-' * w0}  {'-' * w1}  {'-' * 8}"]
    for name, pts, fb in rows:
        fb_lines = fb.splitlines() or [""]
        lines.append(f"{name:<{w0}}  {pts:>{w1}}  {fb_lines[0]}")
        lines.extend(f"{'':<{w0}}  {'':>{w1}}  {more}" for more in fb_lines[1:])
    lines.append(f"{'total':<{w0}}  {report['score']:g}/{report['max_score']:g}".rstrip())
    return "\n".join(lines)


class Grader:
    """In-notebook feedback for one chapter's exercises."""

    def __init__(self, chapter: str):
        self.chapter = _chapter_id(chapter)
        self._specs = {ex.name: ex for ex in exercises_for(self.chapter)}
        self.last_report: dict | None = None
        self.last_result: Result | None = None

    def check(self, fn) -> None:
        """Grade one function now and print the feedback.

        Returns nothing (so a notebook shows only the feedback line); the
        :class:`Result` is kept in ``self.last_result``.
        """
        name = getattr(fn, "__name__", None)
        if name not in self._specs:
            print(f"✘ {name!r} is not one of this chapter's graded functions: {', '.join(self._specs)}")
            self.last_result = Result(str(name), 0, 0, "unknown exercise", "missing")
            return None
        ex = self._specs[name]
        result = run_exercise(ex, fn, reference_functions(self.chapter)[name])
        mark = "✔" if result.status == "passed" else ("…" if result.status == "not implemented" else "✘")
        print(f"{mark} {name}: {result.feedback}  [{result.score:g}/{result.max_score:g} points]")
        self.last_result = result

    def score(self, namespace: dict) -> None:
        """Grade every exercise with the functions defined in ``namespace`` and print the table.

        The report itself (a dict) is kept in ``self.last_report``.
        """
        self.last_report = grade_namespace(self.chapter, namespace)
        print(format_table(self.last_report))

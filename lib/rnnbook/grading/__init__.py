"""Automatic grading of the exercise notebooks against the solutions notebooks.

Each chapter ``NN_slug`` has a module ``rnnbook.grading.chNN_slug`` with a list
``EXERCISES`` of ``Exercise`` specs. The *reference* implementation of
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

``grader.check`` is feedback in the learner's own kernel, not the grade. The grade comes from the
command line, where the grader process loads the references and builds the inputs first, runs the
learner's notebook in a separate (sandboxed) process that only returns what the learner's functions
return, and compares those values itself (``rnnbook.grading.session``)::

    python -m rnnbook.grade exercises/01_rnn.ipynb [--json]

Where the references are found (``find_solutions``): ``--solutions DIR``, then ``$RNNBOOK_SOLUTIONS``,
then the copy shipped inside the installed package (``rnnbook/_solutions``), then a ``solutions/`` folder
next to the graded notebook's folder, then the repository's ``solutions/``.
"""
from __future__ import annotations

import importlib
import json
import os
import pathlib
import re

import threading
import types

from .core import HINT_AFTER, Exercise, Question, Result, grade_question, run_exercise

__all__ = ["Exercise", "Question", "Result", "Grader", "chapters", "exercises_for", "grade_namespace",
           "reference_functions", "reference_namespace", "solutions_dir", "find_solutions", "rebuild_case",
           "graded_cells", "dependencies"]

_CHAPTER_RE = re.compile(r"^(\d\d|A\d)_([a-z0-9_]+)$")     # "01_rnn", ..., appendices "A1_autodiff"


def _solution_places(solutions=None, notebook=None) -> list:
    here = pathlib.Path(__file__).resolve()
    places = []
    if solutions:
        return [("--solutions", pathlib.Path(solutions))]
    if os.environ.get("RNNBOOK_SOLUTIONS"):
        return [("RNNBOOK_SOLUTIONS", pathlib.Path(os.environ["RNNBOOK_SOLUTIONS"]))]
    places.append(("the installed package", here.parents[1] / "_solutions"))
    near = pathlib.Path(notebook).resolve().parent if notebook else pathlib.Path.cwd()
    places.append(("next to the notebook", near.parent / "solutions"))
    places.append(("the repository", here.parents[3] / "solutions"))
    return places


def find_solutions(chapter: str, solutions=None, notebook=None) -> pathlib.Path:
    """The reference notebook ``<chapter>.ipynb``: in ``solutions`` (``--solutions DIR``) if given, else in
    ``$RNNBOOK_SOLUTIONS`` if set, else the first found of: the installed package's ``_solutions``, a
    ``solutions/`` folder beside the notebook's folder (or the working folder's), the repository's."""
    tried = []
    for why, folder in _solution_places(solutions, notebook):
        path = folder / f"{chapter}.ipynb"
        if path.is_file():
            return path
        tried.append(f"{path} ({why})")
    raise FileNotFoundError(f"cannot find the reference solutions for {chapter}; looked in: " + "; ".join(tried)
                            + ". Pass --solutions DIR or set RNNBOOK_SOLUTIONS to the folder of the book's "
                              "solutions notebooks")


def solutions_dir() -> pathlib.Path:
    """The first folder of ``find_solutions``'s search that exists."""
    places = _solution_places()
    for _, folder in places:
        if folder.is_dir():
            return folder
    return places[-1][1]


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


def exercises_for(chapter: str) -> list:
    """The graded items of a chapter: ``Exercise`` (functions) and ``Question`` (values)."""
    chapter = _chapter_id(chapter)
    return list(importlib.import_module(f"{__name__}.ch{chapter}").EXERCISES)


_REFERENCE_CACHE: dict = {}
_REFERENCE_LOCK = threading.Lock()


def graded_cells(path) -> list[str]:
    """The sources of the code cells tagged ``graded`` in a notebook file."""
    nb = json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"] for c in nb["cells"]
            if c.get("cell_type") == "code" and "graded" in c.get("metadata", {}).get("tags", [])]


def reference_namespace(chapter: str, path=None) -> dict:
    """Execute the ``graded`` cells of the chapter's solutions notebook (``path``, or found by
    ``find_solutions``) and return their namespace: the reference functions and answers."""
    chapter = _chapter_id(chapter)
    path = pathlib.Path(path) if path else find_solutions(chapter)
    key = (chapter, str(path.resolve()))
    with _REFERENCE_LOCK:
        if key not in _REFERENCE_CACHE:
            _REFERENCE_CACHE[key] = _load_references(chapter, path)
        return _REFERENCE_CACHE[key]


def _load_references(chapter: str, path: pathlib.Path) -> dict:
    ns: dict = {"__name__": f"rnnbook_solutions_{chapter}"}
    for i, src in enumerate(graded_cells(path)):
        exec(compile(src, f"{path.name}[graded cell {i}]", "exec"), ns)
    missing = [ex.name for ex in exercises_for(chapter)
               if (not callable(ns.get(ex.name)) if isinstance(ex, Exercise) else ex.name not in ns)]
    if missing:
        raise RuntimeError(f"{path} defines no graded function or answer {missing}: tag their cells 'graded'")
    return ns


def reference_functions(chapter: str) -> dict:
    """The reference namespace of a chapter, found by ``find_solutions``."""
    return reference_namespace(chapter)


def rebuild_case(chapter: str, name: str, k: int) -> dict:
    """The keyword arguments of test case ``k`` (counted from 1) of a graded function, as the grader built
    them (same seed), so a failing case can be reproduced in a notebook."""
    spec = {ex.name: ex for ex in exercises_for(chapter)}[name]
    return spec.make_cases()[k - 1]


def dependencies(name: str, used: set, chapter: str) -> list[str]:
    """The chapter's other graded functions among the names ``used`` by graded function ``name``."""
    return [ex.name for ex in exercises_for(chapter)
            if isinstance(ex, Exercise) and ex.name != name and ex.name in used]


def _with_references(fn, deps: list, refs: dict):
    """``fn`` rebound so that its dependencies are the reference functions (one bug costs one exercise)."""
    if not deps or not isinstance(fn, types.FunctionType):
        return fn
    glb = dict(fn.__globals__)
    glb.update({d: refs[d] for d in deps})
    new = types.FunctionType(fn.__code__, glb, fn.__name__, fn.__defaults__, fn.__closure__)
    new.__kwdefaults__ = fn.__kwdefaults__
    return new


def _grade_in_process(chapter: str, spec, value, refs: dict, namespace: dict, attempt: int = 1) -> Result:
    if isinstance(spec, Question):
        return grade_question(spec, refs[spec.name], namespace.get(spec.name, Ellipsis) if value is None else value)
    used = set(getattr(getattr(value, "__code__", None), "co_names", ()))
    deps = dependencies(spec.name, used, chapter)
    result = run_exercise(spec, _with_references(value, deps, refs), refs[spec.name], attempt=attempt,
                          chapter=chapter)
    specs = {ex.name: ex for ex in exercises_for(chapter)}
    broken = [d for d in deps if callable(namespace.get(d))
              and run_exercise(specs[d], namespace[d], refs[d]).status != "passed"]
    if broken:
        names = ", ".join(f"`{d}`" for d in broken)
        result.feedback += (f"\n  (graded with the reference {names}, since yours does not pass yet: "
                            f"fix {names} first)")
    return result


def grade_namespace(chapter: str, namespace: dict) -> dict:
    """Grade every exercise of ``chapter`` using the functions and answers found in ``namespace``,
    in this process (in-notebook feedback; the command-line grader does not use this).

    Returns ``{"notebook": chapter, "score": S, "max_score": M, "exercises": [...]}``.
    """
    refs = reference_functions(chapter)
    results = [_grade_in_process(chapter, ex, namespace.get(ex.name), refs, namespace)
               for ex in exercises_for(chapter)]
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
    """In-notebook feedback for one chapter's exercises.

    This runs in the learner's own kernel: it is feedback, not the grade (see the module docstring).
    Hints come in steps: a nudge first, the full hint after ``HINT_AFTER`` failed checks of the same
    exercise in this session. While the command-line grader runs the notebook, checks are skipped.
    """

    def __init__(self, chapter: str):
        self.chapter = _chapter_id(chapter)
        self._specs = {ex.name: ex for ex in exercises_for(self.chapter)}
        self._failures: dict = {}
        self.last_report: dict | None = None
        self.last_result: Result | None = None

    @staticmethod
    def _grading() -> bool:
        return os.environ.get("RNNBOOK_GRADING") == "1"

    def check(self, fn) -> None:
        """Grade one function (or a question's name, e.g. ``grader.check("q_dWh_shape")``) now and print the
        feedback.

        Returns nothing (so a notebook shows only the feedback line); the
        :class:`Result` is kept in ``self.last_result``.
        """
        if self._grading():
            return None
        name = fn if isinstance(fn, str) else getattr(fn, "__name__", None)
        if name not in self._specs:
            print(f"✘ {name!r} is not one of this chapter's graded functions: {', '.join(self._specs)}")
            self.last_result = Result(str(name), 0, 0, "unknown exercise", "missing")
            return None
        spec = self._specs[name]
        namespace = getattr(fn, "__globals__", None) or {}
        if isinstance(fn, str):
            import __main__
            namespace = vars(__main__)
        value = namespace.get(name, Ellipsis) if isinstance(fn, str) else fn
        attempt = self._failures.get(name, 0) + 1
        result = _grade_in_process(self.chapter, spec, value, reference_functions(self.chapter), namespace,
                                   attempt=attempt)
        if result.status in ("failed", "error"):
            self._failures[name] = attempt
        mark = "✔" if result.status == "passed" else ("…" if result.status == "not implemented" else "✘")
        print(f"{mark} {name}: {result.feedback}  [{result.score:g}/{result.max_score:g} points]")
        self.last_result = result

    def score(self, namespace: dict) -> None:
        """Grade every exercise with the functions defined in ``namespace`` and print the table.

        The report itself (a dict) is kept in ``self.last_report``.
        """
        if self._grading():
            return None
        self.last_report = grade_namespace(self.chapter, namespace)
        print(format_table(self.last_report))
        print("(feedback in your own kernel; the grade comes from: python -m rnnbook.grade YOUR_NOTEBOOK.ipynb)")

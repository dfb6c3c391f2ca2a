"""Where the graded chapters, their specs and their references are: one place for every grading path.

- :func:`chapters`, :func:`exercises_for`: the chapters with graded exercises and their specs
  (``rnnbook.grading.chNN_slug.EXERCISES``; :func:`register` adds a spec module, e.g. a course's own);
- :func:`find_solutions`: the reference notebook, looked for in ``--solutions DIR``, then
  ``$RNNBOOK_SOLUTIONS``, then the installed package's ``rnnbook/_solutions``, then a ``solutions/`` folder
  beside the graded notebook's folder, then the repository's ``solutions/``;
- :func:`reference_namespace`: the ``graded`` cells of a solutions notebook, executed (in the trusted
  process only: the learner's process never receives them);
- :func:`rebuild_case`, :func:`format_table`.
"""
from __future__ import annotations

import importlib
import json
import os
import pathlib
import re
import threading

from .core import Exercise, Experiment

__all__ = ["chapters", "exercises_for", "find_solutions", "solutions_dir", "graded_cells", "reference_namespace",
           "reference_functions", "rebuild_case", "dependencies", "format_table", "register", "solution_places",
           "chapter_id"]

_CHAPTER_RE = re.compile(r"^(\d\d|A\d)_([a-z0-9_]+)$")     # "01_rnn", ..., appendices "A1_autodiff"


def solution_places(solutions=None, notebook=None) -> list:
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
    for why, folder in solution_places(solutions, notebook):
        path = folder / f"{chapter}.ipynb"
        if path.is_file():
            return path
        tried.append(f"{path} ({why})")
    raise FileNotFoundError(f"cannot find the reference solutions for {chapter}; looked in: " + "; ".join(tried)
                            + ". Pass --solutions DIR or set RNNBOOK_SOLUTIONS to the folder of the book's "
                              "solutions notebooks")


def solutions_dir() -> pathlib.Path:
    """The first folder of ``find_solutions``'s search that exists."""
    places = solution_places()
    for _, folder in places:
        if folder.is_dir():
            return folder
    return places[-1][1]


_REGISTERED: dict = {}          # chapter id -> module name of its spec (a course's own chapters, tests)


def register(chapter: str, module: str) -> None:
    """Grade chapter ``chapter`` (e.g. ``"90_course"``) with the ``EXERCISES`` of module ``module``."""
    if not _CHAPTER_RE.match(chapter):
        raise ValueError(f"a chapter id looks like 03_lstm or A1_autodiff, not {chapter!r}")
    _REGISTERED[chapter] = module


def chapters() -> list[str]:
    """The chapter ids that have graded exercises, e.g. ``["01_rnn", ...]``."""
    here = pathlib.Path(__file__).parent
    found = [f.stem[2:] for f in sorted(here.glob("ch[0-9A][0-9]_*.py"))]
    return found + [c for c in sorted(_REGISTERED) if c not in found]


def chapter_id(chapter: str) -> str:
    chapter = pathlib.Path(chapter).stem
    if not _CHAPTER_RE.match(chapter) or chapter not in chapters():
        known = ", ".join(chapters()) or "none"
        raise ValueError(f"no graded exercises for {chapter!r}; graded chapters are: {known}")
    return chapter


def exercises_for(chapter: str) -> list:
    """The graded items of a chapter: ``Exercise``, ``Question``, ``Choice`` and ``Experiment`` specs."""
    chapter = chapter_id(chapter)
    module = _REGISTERED.get(chapter) or f"{__package__}.ch{chapter}"
    return list(importlib.import_module(module).EXERCISES)


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
    chapter = chapter_id(chapter)
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
               if (not callable(ns.get(ex.name)) if isinstance(ex, Exercise)
                   else ex.name not in ns and not isinstance(ex, Experiment))]
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

"""Grading one notebook the trusted way: the grader decides, the learner's kernel only runs functions.

Order of events in :func:`grade_notebook`:

1. the notebook file is read (never written) and its chapter found (``--chapter``, its metadata, its
   ``Grader("NN_slug")`` cell, its file name);
2. the grader loads the references from the solutions notebook's ``graded`` cells and builds every test
   case and every expected output, **before any learner code runs**;
3. the learner's notebook runs, cell by cell, in a separate kernel (:mod:`rnnbook.grading.worker`), in a
   fresh temporary folder, sandboxed where possible (:mod:`rnnbook.grading.sandbox`). A cell that kills
   the kernel or never ends is skipped: the kernel restarts and the other cells run again;
4. for each graded function the grader sends the inputs (``.npy`` files, never pickles) and reads back
   what the function returned, as plain data; each call runs in a process of its own, so exiting,
   crashing, exhausting memory or looping forever costs that exercise only;
5. the grader compares (:func:`rnnbook.grading.core.evaluate`) and writes the report. Nothing the
   learner's code prints or patches reaches the comparison.

A graded function that is, calls or wraps the library's own implementation of the exercise (the spec's
``library=``) scores 0, decided from the notebook's source and from where the function object comes from.
A graded function that uses another graded function is run with the reference version of it, so one bug
costs one exercise; the feedback then says which dependency to fix first.
"""
from __future__ import annotations

import ast
import copy
import importlib
import inspect
import json
import pathlib
import shutil
import tempfile
import time

from . import _chapter_id, chapters, dependencies, exercises_for, find_solutions, graded_cells, \
    reference_namespace, source, wire
from .core import Exercise, Question, Result, evaluate, grade_question
from .sandbox import Limits, Worker

__all__ = ["grade_notebook", "Limits"]

MAX_RESTARTS = 6


def _read_notebook(path: pathlib.Path) -> dict:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not a readable Jupyter notebook: {e}") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path} is not a readable Jupyter notebook: it has no list of cells")
    return nb


def _deps_source(ref_cells: list[str], keep: list[str], graded: set) -> str:
    """The solutions' graded cells without the graded functions that are not in ``keep``."""
    parts = []
    for src in ref_cells:
        tree = ast.parse(src)
        tree.body = [n for n in tree.body if not (isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                                                  and n.name in graded and n.name not in keep)]
        parts.append(ast.unparse(tree))
    return "\n\n".join(parts)


class _Kernel:
    """The worker plus the cells that ran in it, so that it can be restarted and brought back."""

    def __init__(self, worker: Worker, limits: Limits):
        self.worker, self.limits = worker, limits
        self.replay: list[str] = []
        self.notes: list[str] = []
        self.gave_up = False

    def _cell(self, src: str):
        lim = self.limits.cell_timeout
        return self.worker.request(lim + 20, op="cell", source=src, timeout=lim)

    def revive(self) -> bool:
        if self.worker.restarts >= MAX_RESTARTS:
            self.gave_up = True
            return False
        self.worker.restart()
        for src in self.replay:
            if self._cell(src) is None:
                self.gave_up = True
                return False
        return True

    def run_cells(self, cells: list[str]) -> None:
        for i, src in enumerate(cells):
            if not src.strip():
                continue
            ans = self._cell(src)
            if ans is None:
                self.notes.append(f"cell {i + 1} stopped the kernel or never returned: skipped (the kernel was "
                                  f"restarted and the other cells ran again)")
                if not self.revive():
                    self.notes.append("too many restarts: the remaining cells did not run")
                    return
                continue
            err = ans.get("error") or {}
            if err.get("type") == "_CellTimeout" or err.get("status") == "timeout":
                self.notes.append(f"cell {i + 1} ran longer than {self.limits.cell_timeout:g} s: stopped")
                continue
            self.replay.append(src)

    def request(self, wait: float, **req):
        ans = self.worker.request(wait, **req)
        if ans is None and not self.gave_up:
            self.revive()
        return ans


def _library_twin(path: str):
    module, name = path.rsplit(".", 1)
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return None


def _grade_function(kernel: _Kernel, ex: Exercise, cases, expected, deps, deps_src, folder: pathlib.Path,
                    limits: Limits, chapter: str) -> Result:
    for k, case in enumerate(cases):
        wire.dump(case, folder / str(k) / "in", objects=True)
    seconds = limits.call_timeout or ex.time_limit
    ans = kernel.request(seconds + 30, op="call", name=ex.name, folder=str(folder), n_cases=len(cases),
                         time_limit=seconds, deps=deps, deps_src=deps_src)
    if ans is None:
        return Result(ex.name, 0, ex.points, "your function stopped the kernel that ran it", "error")
    st = ans.get("status")
    if st == "missing":
        return Result(ex.name, 0, ex.points, f"function {ex.name}() was not found: did you rename or delete it?",
                      "missing")
    if st == "not callable":
        return Result(ex.name, 0, ex.points, f"{ex.name} is a {ans.get('type')}, not a function", "missing")
    outcomes = []
    ending = None if st == "done" else ans
    for k in range(len(cases)):
        f = folder / str(k) / "result.json"
        if not f.is_file() or f.is_symlink():
            break
        try:
            out = json.loads(f.read_text(encoding="utf-8"))
            if out.get("status") == "ok":
                out["got"] = wire.load(folder / str(k) / "out", root=folder)
                out["after"] = wire.load(folder / str(k) / "after", root=folder)
            elif out.get("status") == "unsendable":
                ending = out
                break
        except Exception as e:  # whatever the learner's process left there, it is not a value
            ending = {"status": "unsendable", "message": f"{type(e).__name__}: {str(e)[:200]}"}
            break
        outcomes.append(out)
        if out.get("status") != "ok":
            break
    return evaluate(ex, cases, expected, outcomes, ending=ending, chapter=chapter)


def _chapter_for(nb, path: pathlib.Path, chapter: str | None) -> str:
    """The chapter being graded: the ``chapter`` given, else the one the notebook itself names."""
    if chapter:
        return _chapter_id(chapter)
    found = source.chapter_of(nb, path.stem, chapters())
    if found is None:
        raise ValueError(f"cannot tell which chapter {path.name} belongs to (no Grader(\"NN_slug\") cell, no "
                         f"rnnbook metadata, no chapter in its name): pass --chapter, one of "
                         f"{', '.join(chapters())}")
    return found


def _grade_answer(kernel, ex, reference, folder: pathlib.Path, root: pathlib.Path) -> Result:
    """Fetch a graded question's answer from the learner's process as plain data, and grade it."""
    ans = kernel.request(60, op="value", name=ex.name, folder=str(folder))
    try:
        value = wire.load(folder, root=root) if ans and ans.get("ok") else None
    except Exception:
        value = None
    return grade_question(ex, reference, value)


def _uses_twin(ex, binding, imported, info) -> bool:
    """Whether the learner's function is, calls or wraps the library's implementation of the exercise."""
    return bool(ex.library) and (source.uses_library(binding, imported, ex.library)
                                 or any(str(info.get(k, "")).startswith("rnnbook")
                                        for k in ("module", "wrapped_module")))


def _plans(specs, refs) -> dict:
    """For each graded function: its seeded cases and the reference's outputs on them."""
    plans = {}
    for ex in specs:
        if isinstance(ex, Exercise):
            cases = ex.make_cases()
            plans[ex.name] = (cases, [refs[ex.name](**copy.deepcopy(c)) for c in cases])
    return plans


def _note_broken_dependencies(specs, results) -> None:
    for ex in specs:
        r = results[ex.name]
        broken = [d for d in getattr(r, "deps", []) if results[d].status != "passed"]
        if broken:
            names = ", ".join(f"`{d}`" for d in broken)
            r.feedback += f"\n  (graded with the reference {names}, since yours does not pass yet: fix {names} first)"


def grade_notebook(path, *, chapter: str | None = None, solutions=None, limits: Limits | None = None,
                   sandbox: bool | None = None, hide=()) -> dict:
    """Grade the notebook at ``path``; returns the report (see the module docstring for the steps).

    ``solutions`` is a folder of reference notebooks (else :func:`find_solutions` looks for them);
    ``sandbox=False`` runs without bubblewrap, ``None`` uses it when available; ``hide`` lists more folders
    the learner's kernel must not see (batch mode hides the other submissions).
    """
    start = time.monotonic()
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    limits = limits or Limits()
    nb = _read_notebook(path)
    chapter = _chapter_for(nb, path, chapter)
    specs = exercises_for(chapter)
    ref_path = find_solutions(chapter, solutions, path)
    refs = reference_namespace(chapter, ref_path)
    ref_cells = graded_cells(ref_path)
    graded_fns = {ex.name for ex in specs if isinstance(ex, Exercise)}

    plans = _plans(specs, refs)          # every input and expected output, before the learner's code runs

    bindings, imported = source.definitions(nb)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="rnnbook-grade-"))
    root = workdir / "kernel"
    worker = Worker(str(root), limits, sandbox=sandbox,
                    hide=[str(ref_path.parent.resolve()), str(path.resolve().parent), *hide])
    root.mkdir()
    kernel = _Kernel(worker, limits)
    results: dict = {}
    try:
        worker.start()
        kernel.run_cells(source.code_cells(nb))
        described = (kernel.request(60, op="describe", names=[ex.name for ex in specs]) or {}).get("names", {})
        for ex in specs:
            if isinstance(ex, Question):
                results[ex.name] = _grade_answer(kernel, ex, refs[ex.name], root / "answers" / ex.name, root)
                continue
            binding = bindings.get(ex.name)
            if _uses_twin(ex, binding, imported, described.get(ex.name, {})):
                results[ex.name] = Result(ex.name, 0, ex.points,
                                          f"{ex.name} is, calls or wraps the library's {ex.library}: this exercise "
                                          f"asks for your own implementation", "failed")
                continue
            used = binding.names_used() if binding is not None and binding.kind == "def" else set()
            deps = dependencies(ex.name, used, chapter)
            cases, expected = plans[ex.name]
            results[ex.name] = _grade_function(kernel, ex, cases, expected, deps,
                                               _deps_source(ref_cells, deps, graded_fns) if deps else "",
                                               root / "calls" / ex.name, limits, chapter)
            results[ex.name].deps = deps
    finally:
        worker.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    _note_broken_dependencies(specs, results)
    return {
        "notebook": str(path), "chapter": chapter, "solutions": str(ref_path),
        "score": sum(r.score for r in results.values()),
        "max_score": sum(r.max_score for r in results.values()),
        "exercises": [results[ex.name].as_dict() for ex in specs],
        "sandbox": worker.sandboxed,
        "notes": kernel.notes + ([] if worker.sandboxed else
                                 ["running without a sandbox (bubblewrap not available): the learner's code "
                                  "could read and write what your user can"]),
        "similarity": _similarities(specs, bindings, ref_cells),
        "seconds": round(time.monotonic() - start, 2),
    }


def _similarities(specs, bindings, ref_cells) -> dict:
    """For each graded function: how alike its source is to the reference's and the library twin's."""
    refs = {}
    for src in ref_cells:
        for node in ast.parse(src).body:
            if isinstance(node, ast.FunctionDef):
                refs[node.name] = ast.get_source_segment(src, node) or ""
    out = {}
    for ex in specs:
        b = bindings.get(ex.name)
        if not isinstance(ex, Exercise) or b is None or b.kind != "def":
            continue
        entry = {"reference": round(source.similarity(b.source, refs.get(ex.name, "")), 3)}
        twin = _library_twin(ex.library) if ex.library else None
        if twin is not None:
            try:
                entry["library"] = round(source.similarity(b.source, inspect.getsource(twin)), 3)
            except (OSError, TypeError):
                pass
        out[ex.name] = entry
    return out

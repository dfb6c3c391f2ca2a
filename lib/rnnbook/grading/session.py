"""Grading one notebook the trusted way: the grader decides, the learner's process only runs functions.

Order of events in :func:`grade_notebook`:

1. the notebook file is read (never written) and its chapter found (``--chapter``, its metadata, its
   ``Grader("NN_slug")`` cell, its file name);
2. the grader loads the references from the solutions notebook's ``graded`` cells and builds, **before
   any learner code runs**, every test case, every expected output, the outputs of the known mistakes,
   and, for a graded function that calls another one, the reference outputs of those calls;
3. the learner's notebook runs, cell by cell, in a separate process (:mod:`rnnbook.grading.worker`),
   sandboxed where possible (:mod:`rnnbook.grading.sandbox`), with a copy of the library in which this
   chapter's library twins are absent. It never receives a reference: no solution source, no expected
   output, no answer. A cell that kills the process or never ends is skipped: the process restarts and
   the other cells run again; a cell that leaves a thread running that later kills the process is not
   run again;
4. for each graded item the grader sends the inputs and reads back, as plain data under a size budget,
   what the learner's function returned (each call in a forked process of its own) or the learner's
   answer; an experiment runs under its CPU budget;
5. the grader compares (:mod:`rnnbook.grading.core`) and writes the report. Nothing the learner's code
   prints or patches reaches the comparison.

A graded function that uses another graded function gets, for that one, the reference's outputs on the
calls the reference itself makes (a table computed here), so one bug costs one exercise; the feedback
then says which dependency to fix first.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import importlib
import inspect
import json
import pathlib
import shutil
import tempfile
import time

from . import policy, source, wire
from .catalog import chapter_id, chapters, dependencies, exercises_for, find_solutions, graded_cells, \
    reference_namespace
from .core import (Choice, Exercise, Experiment, Question, Result, evaluate, grade_choice, grade_question,
                   judge_experiment, kind_of)
from .sandbox import LearnerProcess, Limits, library_without_twins

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


class _NotebookRun:
    """The learner's process plus the cells that ran in it, so that it can be restarted and brought back."""

    def __init__(self, process: LearnerProcess, limits: Limits):
        self.process, self.limits = process, limits
        self.replay: list = []              # (cell number, source, left a thread running)
        self.notes: list[str] = []
        self.gave_up = False

    def _cell(self, src: str):
        lim = self.limits.cell_timeout
        return self.process.request(lim + 20, op="cell", source=src, timeout=lim)

    def revive(self, unexpected: bool = False) -> bool:
        """Restart the process and run the cells that ran before; after an unexpected death, not those
        that left a thread running (one of them stopped the process)."""
        if self.process.restarts >= MAX_RESTARTS:
            self.gave_up = True
            return False
        if unexpected:
            dropped = [i for i, _, threads in self.replay if threads]
            if dropped:
                self.notes.append(f"cell{'s' if len(dropped) > 1 else ''} {', '.join(map(str, dropped))} left a "
                                  f"thread running and the process stopped later: not run again")
                self.replay = [r for r in self.replay if not r[2]]
        self.process.restart()
        for _, src, _ in self.replay:
            if self._cell(src) is None:
                self.gave_up = True
                return False
        return True

    def run_cells(self, cells: list[str]) -> None:
        threads = 0
        for i, src in enumerate(cells):
            if not src.strip():
                continue
            ans = self._cell(src)
            if ans is None:
                self.notes.append(f"cell {i + 1} stopped the process or never returned: skipped (the process was "
                                  f"restarted and the other cells ran again)")
                if not self.revive():
                    self.notes.append("too many restarts: the remaining cells did not run")
                    return
                continue
            err = ans.get("error") if isinstance(ans.get("error"), dict) else {}
            if err.get("type") == "_CellTimeout" or err.get("status") == "timeout":
                self.notes.append(f"cell {i + 1} ran longer than {self.limits.cell_timeout:g} s: stopped")
                continue
            now = ans.get("threads") if isinstance(ans.get("threads"), int) else 0
            self.replay.append((i + 1, src, now > threads))
            threads = max(threads, now)

    def request(self, wait: float, **req):
        """A request; if the process dies meanwhile, it is restarted and the request tried once more."""
        for attempt in range(2):
            ans = self.process.request(wait, **dict(req))
            if ans is not None or self.gave_up:
                return ans
            if not self.revive(unexpected=True):
                return None
        return None


class _Plan:
    """One graded function's cases, expected outputs and known mistakes' outputs (built before any learner
    code runs)."""

    def __init__(self, ex: Exercise, refs: dict):
        self.cases = ex.make_cases()
        self.expected = [refs[ex.name](**copy.deepcopy(c)) for c in self.cases]
        self.variants = {}
        for key in ex.mistakes:
            variant = refs.get(f"{ex.name}__{key}")
            if callable(variant):
                self.variants[key] = [variant(**copy.deepcopy(c)) for c in self.cases]


def _answer_dependency(refs: dict, allowed: list, limits: Limits):
    """The grader's side of a dependency call: the reference's return value on the learner's arguments,
    for an allowed (already graded) function only, as plain data."""
    def answer(line: dict) -> dict:
        name = line.get("dependency")
        if name not in allowed:
            return {"error": f"{policy.cap(name, 60)} is not answered by the grader here"}
        try:
            budget = wire.Budget(max_bytes=8 * 2 ** 20, max_arrays=64, max_items=20_000)
            args = wire.decode(line.get("args"), budget=budget)
            kwargs = wire.decode(line.get("kwargs"), budget=budget)
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise ValueError("malformed call")
            with policy.quiet():
                value = refs[name](*args, **kwargs)
            return {"value": wire.encode(value)}
        except Exception as e:  # the learner's arguments made the reference fail: say what, never where
            return {"error": f"{type(e).__name__}: {policy.cap(e, 200)}"}
    return answer


def _chapter_for(nb, path: pathlib.Path, chapter: str | None) -> str:
    """The chapter being graded: the ``chapter`` given, else the one the notebook itself names."""
    if chapter:
        return chapter_id(chapter)
    found = source.chapter_of(nb, path.stem, chapters())
    if found is None:
        raise ValueError(f"cannot tell which chapter {path.name} belongs to (no Grader(\"NN_slug\") cell, no "
                         f"rnnbook metadata, no chapter in its name): pass --chapter, one of "
                         f"{', '.join(chapters())}")
    return found


def _budget(limits: Limits) -> wire.Budget:
    return wire.Budget(max_bytes=limits.result_mb * 2 ** 20)


def _fetch_value(run: _NotebookRun, name: str, limits: Limits):
    """A learner's value (an answer, a configuration) as plain data; ``Ellipsis`` when it cannot be had."""
    ans = run.request(60, op="value", name=name)
    if not ans or not ans.get("ok") or ans.get("overflow"):
        return wire.UnsupportedType("value too large to grade") if ans and ans.get("overflow") else Ellipsis
    try:
        return wire.decode(ans.get("value"), budget=wire.Budget(max_bytes=2 ** 20, max_items=10_000))
    except ValueError as e:
        return wire.UnsupportedType(f"value that cannot be graded ({policy.cap(e, 100)})")


def _outcomes(ans: dict, n: int, limits: Limits) -> tuple[list, dict | None]:
    """The per-case results a call sent back, decoded under the budget; and how the call ended."""
    outcomes, ending = [], None
    budget = _budget(limits)
    by_case = {}
    for line in ans.get("cases", []):
        k = line.get("case")
        if isinstance(k, int) and 0 <= k < n and k not in by_case:
            by_case[k] = line.get("result")
    for k in range(n):
        out = by_case.get(k)
        if not isinstance(out, dict):
            break
        try:
            out = dict(out)
            if out.get("status") == "ok":
                out["got"] = wire.decode(out.get("got"), budget=budget)
                out["after"] = wire.decode(out.get("after"), budget=budget)
            elif out.get("status") == "unsendable":
                ending = out
                break
        except wire.TooLarge as e:
            ending = {"status": "unsendable", "message": str(e)}
            break
        except Exception as e:  # whatever the learner's process sent, it is not a value
            ending = {"status": "unsendable", "message": f"{type(e).__name__}: {policy.cap(e, 200)}"}
            break
        outcomes.append(out)
        if out.get("status") != "ok":
            break
    if ending is None and ans.get("overflow"):
        ending = {"status": "unsendable", "message": f"a value too large to grade (over {limits.result_mb} MB)"}
    if ending is None and ans.get("status") != "done":
        ending = ans
    return outcomes, ending


def _grade_function(run: _NotebookRun, ex: Exercise, plan: _Plan, deps: list, limits: Limits,
                    chapter: str, refs: dict) -> Result:
    seconds = limits.call_timeout or ex.time_limit
    ans = run.request(seconds + 30, on_dependency=_answer_dependency(refs, deps, limits), op="call",
                      name=ex.name, time_limit=seconds, objects=True,
                      cases=[wire.encode(c, objects=True) for c in plan.cases], deps=deps)
    if ans is None:
        return Result(ex.name, 0, ex.points, "your function stopped the process that ran it", "error")
    st = ans.get("status")
    if st == "missing":
        return Result(ex.name, 0, ex.points, policy.not_found(ex.name), "missing")
    if st == "not callable":
        return Result(ex.name, 0, ex.points, policy.not_a_function(ex.name, policy.cap(ans.get("type"), 100)),
                      "missing")
    outcomes, ending = _outcomes(ans, len(plan.cases), limits)
    return evaluate(ex, plan.cases, plan.expected, outcomes, ending=ending, chapter=chapter, variants=plan.variants)


def _measure(x: Experiment, outcomes: list, ending, seeds) -> list:
    measured = []
    for seed, out in zip(seeds, outcomes):
        if out.get("status") == "ok":
            try:
                value = x.measure(out["got"], seed) if x.measure else out["got"]
                measured.append({"seed": seed, "value": float(value)})
            except Exception as e:  # what came back cannot be measured
                measured.append({"seed": seed, "error": f"what it returned cannot be measured "
                                                        f"({type(e).__name__}: {policy.cap(e, 200)})"})
        elif out.get("status") == "not implemented":
            measured.append({"seed": seed, "error": "not implemented yet"})
        else:
            measured.append({"seed": seed, "error": f"raised {out.get('type')}: {out.get('message', '')}"})
    if len(measured) < len(seeds) and ending:
        st = ending.get("status")
        why = {"timeout": "ran past its time", "killed": f"was stopped ({ending.get('signal')}: its CPU budget?)"}
        measured.append({"seed": seeds[len(measured)], "error": why.get(st, f"ended early ({st})")})
    return measured


def _grade_experiment(run: _NotebookRun, x: Experiment, limits: Limits, clean) -> Result:
    seeds = list(x.seeds)
    wall = 3 * x.budget_s + 10
    if x.run is None:
        ans = run.request(wall + 30, op="call", name=x.name, time_limit=wall, cpu_seconds=x.budget_s,
                          objects=False, cases=[wire.encode({"seed": s}) for s in seeds])
        if ans is None:
            return judge_experiment(x, [{"seed": seeds[0], "error": "stopped the process that ran it"}])
        if ans.get("status") in ("missing", "not callable"):
            return Result(x.name, 0, x.points, f"{x.name} should be your training function ({x.prompt})",
                          "not implemented" if ans.get("status") == "missing" else "failed", "experiment")
    else:
        config = _fetch_value(run, x.name, limits)
        if config is Ellipsis or config is None or getattr(config, "type_name", None) in ("missing", "ellipsis"):
            return Result(x.name, 0, x.points, f"not done yet ({x.prompt})", "not implemented", "experiment")
        if isinstance(config, wire.UnsupportedType):
            return Result(x.name, 0, x.points, f"{x.name} should be plain data (a dict of numbers), got "
                                               f"{config.type_name}", "failed", "experiment")
        target = f"{x.run.__module__}:{x.run.__qualname__}"
        ans = clean().request(wall + 30, op="run", target=target, time_limit=wall, cpu_seconds=x.budget_s,
                              objects=False, cases=[wire.encode({"config": config, "seed": s}) for s in seeds])
        if ans is None:
            return judge_experiment(x, [{"seed": seeds[0], "error": "the run stopped its process"}])
    outcomes, ending = _outcomes(ans, len(seeds), limits)
    return judge_experiment(x, _measure(x, outcomes, ending, seeds))


def _answer(run, spec, refs, limits, final: bool) -> Result:
    value = _fetch_value(run, spec.name, limits)
    if isinstance(spec, Choice):
        return grade_choice(spec, refs[spec.name], value, final=final)
    return grade_question(spec, refs[spec.name], value)


def _described(ans) -> dict:
    """The ``describe`` answer, kept only where it has the expected shape."""
    names = ans.get("names") if isinstance(ans, dict) else None
    if not isinstance(names, dict):
        return {}
    return {str(k): v for k, v in names.items() if isinstance(v, dict)}


def _uses(name: str, bindings: dict, chapter: str) -> list:
    binding = bindings.get(name)
    used = binding.names_used() if binding is not None and binding.kind == "def" else set()
    return dependencies(name, used, chapter)


def _grading_order(specs, bindings, chapter: str) -> list:
    """Answers (questions, choices) first, before any function runs with a dependency answered by the
    grader; then the functions, each after those it calls (where the calls form no cycle); experiments
    last."""
    answers = [s for s in specs if isinstance(s, (Question, Choice))]
    experiments = [s for s in specs if isinstance(s, Experiment)]
    left, order = [s for s in specs if isinstance(s, Exercise)], []
    while left:
        done = {s.name for s in order}
        ready = next((s for s in left if all(d in done for d in _uses(s.name, bindings, chapter))), left[0])
        order.append(ready)
        left.remove(ready)
    return answers + order + experiments


def _twins(specs, chapter: str) -> dict:
    return {path: (ex.name, policy.twin_message(path, ex.name, chapter)) for ex in specs
            if isinstance(ex, Exercise) for path in [*([ex.library] if ex.library else []), *ex.absent]}


def grade_notebook(path, *, chapter: str | None = None, solutions=None, limits: Limits | None = None,
                   sandbox: bool | None = None, hide=(), final: bool = False) -> dict:
    """Grade the notebook at ``path``; returns the report (see the module docstring for the steps).

    ``solutions`` is a folder of reference notebooks (else :func:`find_solutions` looks for them);
    ``sandbox=False`` runs without bubblewrap, ``None`` uses it when available; ``hide`` lists more folders
    the learner's process must not see (batch mode hides the other submissions); ``final=True`` is the
    learner's last submission (the explanations of wrong choices are shown).
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
    # every input and expected output, before the learner's code runs
    plans = {ex.name: _Plan(ex, refs) for ex in specs if isinstance(ex, Exercise)}

    bindings, _ = source.definitions(nb)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="rnnbook-grade-"))
    library = library_without_twins(workdir / "lib", _twins(specs, chapter))
    hidden = [str(ref_path.parent.resolve()), str(path.resolve().parent), *hide]
    process = LearnerProcess(str(workdir / "kernel"), limits, library=str(library), sandbox=sandbox, hide=hidden)
    run = _NotebookRun(process, limits)
    clean = _CleanProcess(specs, workdir, limits, sandbox, hidden)
    try:
        process.start()
        run.run_cells(source.code_cells(nb))
        results = _grade_items(run, specs, bindings, chapter, refs, plans, limits, final, clean)
    finally:
        process.stop()
        clean.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    notes = list(run.notes)
    if not process.sandboxed:
        notes.append("running without a sandbox (bubblewrap not available or turned off): the learner's code could "
                     "read what the grader's user can, the references included, and had no disk quota")
    return {
        "notebook": str(path), "chapter": chapter, "solutions": str(ref_path),
        "score": sum(r.score for r in results.values()),
        "max_score": sum(r.max_score for r in results.values()),
        "exercises": [results[ex.name].as_dict() for ex in specs],
        "sandbox": process.sandboxed,
        "uid": process.uid,
        "notes": notes,
        "similarity": _similarities(specs, bindings, graded_cells(ref_path)),
        "fingerprints": _fingerprints(specs, bindings),
        "seconds": round(time.monotonic() - start, 2),
    }


class _CleanProcess:
    """A second process, with the full library and no learner code, for configuration experiments; started
    the first time one is graded (``clean()``)."""

    def __init__(self, specs, workdir, limits, sandbox, hidden):
        self.specs, self.workdir, self.limits, self.sandbox, self.hidden = specs, workdir, limits, sandbox, hidden
        self.process = None

    def __call__(self):
        if self.process is None:
            spec_dirs = {str(pathlib.Path(importlib.import_module(x.run.__module__).__file__).resolve()
                             .parents[x.run.__module__.count(".")])
                         for x in self.specs if isinstance(x, Experiment) and x.run is not None
                         and not x.run.__module__.startswith("rnnbook.")}
            full = self.workdir / "full"
            full.mkdir()
            shutil.copytree(pathlib.Path(__file__).resolve().parents[1], full / "rnnbook",
                            ignore=shutil.ignore_patterns("__pycache__", "_solutions"))
            self.process = LearnerProcess(str(self.workdir / "clean"), self.limits, library=str(full),
                                          sandbox=self.sandbox, hide=self.hidden, clean=True,
                                          extra_path=sorted(spec_dirs))
            self.process.start()
        return self.process

    def stop(self):
        if self.process is not None:
            self.process.stop()


def _grade_items(run, specs, bindings, chapter, refs, plans, limits, final, clean) -> dict:
    """Every graded item of the notebook that ``run`` executed, in grading order: ``{name: Result}``."""
    results: dict = {}
    deps_used: dict = {}
    described = _described(run.request(60, op="describe", names=[ex.name for ex in specs]))
    for ex in _grading_order(specs, bindings, chapter):
        if isinstance(ex, (Question, Choice)):
            results[ex.name] = _answer(run, ex, refs, limits, final)
            continue
        if isinstance(ex, Experiment):
            results[ex.name] = _grade_experiment(run, ex, limits, clean)
            continue
        info = described.get(ex.name, {})
        if info.get("twin_of") == ex.name:
            what = policy.cap(f"{info.get('module')}.{info.get('qualname')}", 120)
            results[ex.name] = Result(ex.name, 0, ex.points,
                                      f"{ex.name} is the library's {what} (absent while chapter {chapter} "
                                      f"is graded): this exercise asks for your own implementation", "failed")
            continue
        # a dependency is answered by the grader only once it is graded itself: its answers can no
        # longer help it (in a cycle of dependencies, the later ones run with the learner's own)
        deps_used[ex.name] = [d for d in _uses(ex.name, bindings, chapter) if d in results]
        results[ex.name] = _grade_function(run, ex, plans[ex.name], deps_used[ex.name], limits, chapter, refs)
    for name, deps in deps_used.items():
        results[name].feedback += policy.broken_dependency_note([d for d in deps if results[d].status != "passed"])
    for ex in specs:
        results[ex.name].kind = kind_of(ex)
    return results


def _fingerprints(specs, bindings) -> dict:
    """For each graded item the learner wrote: a hash of its normalised source (names, comments and
    docstrings set aside), so that batch mode can find copies between submissions."""
    out = {}
    for ex in specs:
        b = bindings.get(ex.name)
        if b is None or not b.source or b.kind not in ("def", "assign"):
            continue
        tokens = " ".join(source.normalised_tokens(b.source))
        out[ex.name] = {"hash": hashlib.sha256(tokens.encode()).hexdigest()[:16], "source": b.source[:4000]}
    return out


def _similarities(specs, bindings, ref_cells) -> dict:
    """For each graded function: how alike its source is to the reference's and the library twin's."""
    refs = {}
    for src in ref_cells:
        try:
            tree = ast.parse(src)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                refs[node.name] = ast.get_source_segment(src, node) or ""
    out = {}
    for ex in specs:
        b = bindings.get(ex.name)
        if not isinstance(ex, Exercise) or b is None or b.kind != "def":
            continue
        entry = {"reference": round(source.similarity(b.source, refs.get(ex.name, "")), 3)}
        twin = policy.library_object(ex.library) if ex.library else None
        if twin is not None:
            try:
                entry["library"] = round(source.similarity(b.source, inspect.getsource(twin)), 3)
            except (OSError, TypeError):
                pass
        out[ex.name] = entry
    return out



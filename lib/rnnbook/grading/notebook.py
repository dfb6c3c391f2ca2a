"""In-notebook feedback: ``Grader(chapter).check(fn)`` in the learner's own kernel.

This is feedback, not the grade (the grade comes from ``python -m rnnbook.grade``), but it applies the
grade's policy (:mod:`rnnbook.grading.policy`): a function that is the library's version of the exercise
fails, and while a function is checked the library versions of the chapter's exercises are absent (a
helper that calls one gets "this is exercise X"); another graded function it calls is the reference one;
known mistakes are named; wrong choices are explained only after ``reveal_after`` attempts.
"""
from __future__ import annotations

import contextlib
import copy
import os
import sys

from . import policy
from .catalog import chapter_id, dependencies, exercises_for, format_table, reference_functions
from .core import (HINT_AFTER, Choice, Exercise, Experiment, Question, Result, _time_limit, _TimeUp, grade_choice,
                   grade_question, judge_experiment, kind_of, run_exercise)

__all__ = ["Grader", "grade_namespace", "HINT_AFTER"]


@contextlib.contextmanager
def twins_absent(specs, chapter: str, namespaces=()):
    """While inside, every ``rnnbook`` module attribute (and every name in ``namespaces``, e.g. the
    notebook's globals) that is the library's version of one of ``specs``' exercises is a stub that raises
    :class:`policy.TwinAbsent`; everything is restored on leaving."""
    swaps, stubs = [], {}
    for ex in specs:
        for path in [*([ex.library] if getattr(ex, "library", None) else []), *getattr(ex, "absent", ())]:
            twin = policy.library_object(path)
            if twin is not None:
                stubs[id(twin)] = (twin, policy.twin_stub(path, ex.name, chapter))
    try:
        for mod_name, mod in list(sys.modules.items()):
            if not (mod_name == "rnnbook" or mod_name.startswith("rnnbook.")) or mod is None:
                continue
            for attr, value in list(vars(mod).items()):
                if id(value) in stubs and stubs[id(value)][0] is value:
                    swaps.append((vars(mod), attr, value))
        for ns in namespaces:
            for attr, value in list(ns.items()):
                if id(value) in stubs and stubs[id(value)][0] is value:
                    swaps.append((ns, attr, value))
        for ns, attr, value in swaps:
            ns[attr] = stubs[id(value)][1]

        @contextlib.contextmanager
        def restored():
            """The library whole again, for the references the learner's function calls."""
            for ns, attr, value in swaps:
                ns[attr] = value
            try:
                yield
            finally:
                for ns, attr, value in swaps:
                    ns[attr] = stubs[id(value)][1]
        yield restored
    finally:
        for ns, attr, value in swaps:
            ns[attr] = value


def _twin_of(ex, fn) -> bool:
    twin = policy.library_object(ex.library) if getattr(ex, "library", None) else None
    return policy.is_twin(fn, twin)


def check_function(chapter: str, spec: Exercise, fn, refs: dict, namespace: dict, *, attempt: int = 1) -> Result:
    """One graded function, in this process, under the grade's policy."""
    specs = exercises_for(chapter)
    if fn is not None and _twin_of(spec, fn):
        return Result(spec.name, 0, spec.points, f"{spec.name} is the library's {spec.library}: this exercise "
                                                 f"asks for your own implementation", "failed")
    used = set(getattr(getattr(fn, "__code__", None), "co_names", ()))
    deps = dependencies(spec.name, used, chapter)
    variants = {k: refs[f"{spec.name}__{k}"] for k in spec.mistakes if callable(refs.get(f"{spec.name}__{k}"))}
    glb = getattr(fn, "__globals__", None)
    cases = spec.make_cases()
    expected = [refs[spec.name](**copy.deepcopy(c)) for c in cases]
    variant_outputs = {k: [v(**copy.deepcopy(c)) for c in cases] for k, v in variants.items()}
    with twins_absent(specs, chapter, [glb] if isinstance(glb, dict) else []) as restored:
        def reference(d):
            def call(*args, **kwargs):
                with restored():
                    return refs[d](*args, **kwargs)
            return call
        result = run_exercise(spec, policy.rebind(fn, {d: reference(d) for d in deps}), refs[spec.name],
                              attempt=attempt, chapter=chapter, cases=cases, expected=expected,
                              variants=variant_outputs)
    broken = [d for d in deps if callable(namespace.get(d)) and
              check_function(chapter, {e.name: e for e in specs}[d], namespace[d], refs, namespace).status != "passed"]
    result.feedback += policy.broken_dependency_note(broken)
    return result


def _check_experiment(x: Experiment, value) -> Result:
    if value is None or value is Ellipsis:
        return Result(x.name, 0, x.points, f"not done yet ({x.prompt})", "not implemented", "experiment")
    outcomes = []
    for seed in x.seeds:
        try:
            with _time_limit(x.budget_s), contextlib.redirect_stdout(policy.CappedText()):
                if x.run is None:
                    out = value(seed=seed)
                else:
                    out = x.run(value, seed)
                outcomes.append({"seed": seed, "value": x.measure(out, seed) if x.measure else float(out)})
        except NotImplementedError:
            outcomes.append({"seed": seed, "error": "not implemented yet"})
        except _TimeUp:
            outcomes.append({"seed": seed, "error": f"ran past the budget of {x.budget_s:g} s"})
        except Exception as e:  # the learner's bug, reported
            info = policy.error_info(e)
            outcomes.append({"seed": seed, "error": f"raised {info['type']}: {info['message']}"})
    return judge_experiment(x, outcomes)


def grade_item(chapter: str, spec, value, refs: dict, namespace: dict, *, attempt: int = 1) -> Result:
    """Grade one item (any kind) in this process: the in-notebook path."""
    if isinstance(spec, Question):
        return grade_question(spec, refs[spec.name], value, attempt=attempt)
    if isinstance(spec, Choice):
        return grade_choice(spec, refs[spec.name], value, attempt=attempt)
    if isinstance(spec, Experiment):
        return _check_experiment(spec, value)
    result = check_function(chapter, spec, value, refs, namespace, attempt=attempt)
    result.kind = kind_of(spec)
    return result


def grade_namespace(chapter: str, namespace: dict) -> dict:
    """Grade every exercise of ``chapter`` with the functions and answers found in ``namespace``, in this
    process (in-notebook feedback; the command-line grader does not use this).

    Returns ``{"notebook": chapter, "score": S, "max_score": M, "exercises": [...]}``.
    """
    refs = reference_functions(chapter)
    results = [grade_item(chapter, ex, namespace.get(ex.name, None if isinstance(ex, Exercise) else Ellipsis),
                          refs, namespace) for ex in exercises_for(chapter)]
    return {"notebook": chapter, "score": sum(r.score for r in results),
            "max_score": sum(r.max_score for r in results), "exercises": [r.as_dict() for r in results]}


class Grader:
    """In-notebook feedback for one chapter's exercises.

    This runs in the learner's own kernel: it is feedback, not the grade (see the module docstring).
    Hints come in steps: a nudge first, the full hint after ``HINT_AFTER`` failed checks of the same
    exercise in this session. While the command-line grader runs the notebook, checks are skipped.
    """

    def __init__(self, chapter: str):
        self.chapter = chapter_id(chapter)
        self._specs = {ex.name: ex for ex in exercises_for(self.chapter)}
        self._failures: dict = {}
        self.last_report: dict | None = None
        self.last_result: Result | None = None

    @staticmethod
    def _grading() -> bool:
        return os.environ.get("RNNBOOK_GRADING") == "1"

    def check(self, fn) -> None:
        """Grade one function (or an item's name, e.g. ``grader.check("q_dWh_shape")``) now and print the
        feedback.

        Returns nothing (so a notebook shows only the feedback line); the
        :class:`Result` is kept in ``self.last_result``.
        """
        if self._grading():
            return None
        name = fn if isinstance(fn, str) else getattr(fn, "__name__", None)
        if name not in self._specs:
            print(f"✘ {policy.short_repr(name, 80)} is not one of this chapter's graded items: "
                  f"{', '.join(self._specs)}")
            self.last_result = Result(str(name)[:80], 0, 0, "unknown exercise", "missing")
            return None
        spec = self._specs[name]
        namespace = getattr(fn, "__globals__", None) or {}
        if isinstance(fn, str):
            import __main__
            namespace = vars(__main__)
        value = namespace.get(name, Ellipsis) if isinstance(fn, str) else fn
        attempt = self._failures.get(name, 0) + 1
        result = grade_item(self.chapter, spec, value, reference_functions(self.chapter), namespace,
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

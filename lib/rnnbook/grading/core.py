"""Judging a learner's work against the references, with feedback that diagnoses before it tells.

A chapter's spec module (``rnnbook.grading.chNN_slug``) lists ``EXERCISES``, one spec per graded item;
the report gives each its ``kind``:

- ``Exercise`` (kind ``function``): a graded function, run on seeded cases and compared output by output
  with the reference function of the solutions notebook. ``mistakes`` lists known mistakes: for each key,
  a small variant of the reference named ``<name>__<key>`` in the solutions' graded cells (so it never
  ships to learners) and what to tell the learner. When a learner's outputs match a variant on every case
  the feedback names that mistake, without any code; otherwise a staged nudge: ``nudge`` first, the
  ``hint`` (usually the formula) after ``HINT_AFTER`` failed attempts;
- ``Question`` (kind ``question``): a graded value ("predict, then run"), ``"number"`` (an int or a float,
  never a string, compared with ``rtol``/``atol``) or ``"shape"`` (a tuple of ints);
- ``Choice`` (kind ``choice``): one option of several about a mechanism; each wrong option carries an
  explanation, shown only on the final submission (``final=True``) or after ``reveal_after`` attempts in
  ``grader.check``: feedback never says which option is right;
- ``Experiment`` (kind ``experiment``): the learner's configuration or training function, run in the
  learner's sandboxed process under a CPU budget (at most 60 s) and judged by a measured outcome that the
  report gives.

Functions, questions and choices are defined in the solutions notebook in code cells tagged ``graded``::

    # solutions/NN_slug.ipynb, a cell tagged "graded"
    q_dWh_shape = (4, 12)            # the reference answer

    # exercises/NN_slug.ipynb, the same cell tagged "graded"
    q_dWh_shape = ...                # the learner's prediction

A wrong answer is never followed by the right one: the ``explanation`` is shown once the answer is right.
An item left at ``...`` scores 0 as "not answered". The comparison runs in the grader, on plain data the
learner's process sent back; the in-notebook ``rnnbook.grading.Grader`` runs the same comparison as
feedback.
"""
from __future__ import annotations

import contextlib
import copy
import signal
import threading
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from .policy import CappedText, cap, error_info, not_a_function, not_found, short_repr

__all__ = ["Exercise", "Question", "Choice", "Experiment", "Result", "run_exercise", "evaluate", "grade_question",
           "grade_choice", "judge_experiment", "describe_inputs", "compare_output", "match_mistake", "HINT_AFTER",
           "kind_of"]

HINT_AFTER = 2        # failed attempts of one exercise before the full hint is shown


@dataclass
class Exercise:
    """One graded function of a chapter's exercise notebook.

    Parameters
    ----------
    name:
        The function's name, the same in the exercise and solutions notebooks.
    points:
        Marks for passing every case (all or nothing).
    cases:
        ``cases(rng) -> list of dicts``: keyword arguments for each test case,
        smallest first so that the first failure is the easiest to debug.
    hint:
        One or two sentences shown when the exercise fails (often the formula: shown after
        ``HINT_AFTER`` failed attempts, or at once when there is no ``nudge``).
    nudge:
        A first hint that points at the idea without giving the formula away.
    outputs:
        Names of the returned values (a 1-tuple for a single return value).
    axes:
        For each output name, the names of its axes (e.g. ``("row", "time", "unit")``)
        so that feedback reads "first differs at row 0, time 3, unit 2".
    rtol, atol:
        Tolerances for ``np.isclose``.
    compare:
        Optional ``compare(expected, got, case) -> str | None`` replacing the
        default elementwise comparison; returns a failure message or ``None``.
    blocks:
        For an output whose last axis holds blocks side by side (the LSTM's 4H gate columns), the block
        names in order, e.g. ``{"db": ("f", "i", "g", "o")}``: feedback names the block of a wrong column.
    library:
        Dotted path of the ``rnnbook`` function that the solution must agree
        with (checked by the test suite, so the book and the library never drift). A learner's
        function that is, calls or wraps it scores 0: the exercise asks for their own work.
    time_limit:
        Seconds allowed for all cases together.
    mistakes:
        Known mistakes, ``{key: what to tell the learner}``; the variant itself is the function
        ``<name>__<key>`` in the solutions' graded cells (see the module docstring).
    absent:
        More library paths (functions or classes, e.g. a time layer that computes the same thing) that are
        absent from the learner's process, like ``library``, while the chapter is graded.
    """

    kind = "function"

    name: str
    points: int
    cases: Callable[[np.random.Generator], list[dict]]
    hint: str
    outputs: Sequence[str] = ("output",)
    axes: dict = field(default_factory=dict)
    rtol: float = 1e-6
    atol: float = 1e-8
    compare: Callable | None = None
    library: str | None = None
    time_limit: float = 20.0
    nudge: str = ""
    blocks: dict = field(default_factory=dict)
    mistakes: dict = field(default_factory=dict)
    absent: Sequence[str] = ()

    @property
    def seed(self) -> int:
        """A fixed seed derived from the name, so a failure reproduces exactly."""
        return zlib.crc32(self.name.encode()) % (2 ** 31)

    def make_cases(self) -> list[dict]:
        return self.cases(np.random.default_rng(self.seed))


@dataclass
class Question:
    """A graded value ("predict, then run"): see the module docstring for the format."""

    name: str
    points: int
    kind: str                      # "number", "shape" or "choice" (the report's kind: "question" or "choice")
    prompt: str
    explanation: str
    options: Sequence = ()
    rtol: float = 1e-3
    atol: float = 1e-8
    nudge: str = ""                # what to think about after a wrong answer (never the answer)
    library = None                 # (not a field) questions have no library twin

    @property
    def report_kind(self) -> str:
        return "choice" if self.kind == "choice" else "question"

    def __post_init__(self):
        if self.kind not in ("number", "shape", "choice"):
            raise ValueError(f"Question {self.name!r}: kind must be 'number', 'shape' or 'choice', not {self.kind!r}")
        if self.kind == "choice" and not self.options:
            raise ValueError(f"Question {self.name!r}: a 'choice' question needs its options")


@dataclass
class Choice:
    """One option of several, about a mechanism. ``options`` maps each option (a short string the learner
    assigns) to the explanation of why it is wrong (the right option's text is not shown; ``explanation``
    is, once the answer is right). Explanations of a wrong choice come only with the final submission, or
    after ``reveal_after`` attempts in ``grader.check``."""

    name: str
    points: int
    prompt: str
    options: dict
    explanation: str
    reveal_after: int = 3
    kind = "choice"
    report_kind = "choice"
    library = None

    def __post_init__(self):
        if len(self.options) < 2 or not all(isinstance(k, str) for k in self.options):
            raise ValueError(f"Choice {self.name!r}: give at least two options, as strings")


@dataclass
class Experiment:
    """The learner's configuration or training function, judged by a measured outcome.

    - ``run=None``: the learner's ``name`` is a function; the sandbox calls ``name(seed=s)`` for each of
      ``seeds``, all under ``budget_s`` CPU seconds, and ``measure(returned, seed) -> float`` judges what
      it returned, in the grader;
    - ``run`` given (a function of a spec module): the learner's ``name`` is a configuration (plain data);
      ``run(config, seed)`` runs in a fresh sandboxed process that holds no learner code, under the budget,
      and ``measure`` (default: the returned number itself) judges its result.

    The outcome passes when every seed's measurement is ``>= target`` (``<=`` with ``lower_is_better``).
    """

    name: str
    points: int
    prompt: str
    target: float
    measure: Callable | None = None
    run: Callable | None = None
    seeds: Sequence = (0,)
    budget_s: float = 30.0
    unit: str = ""
    lower_is_better: bool = False
    nudge: str = ""
    kind = "experiment"
    report_kind = "experiment"
    library = None

    def __post_init__(self):
        if not 0 < self.budget_s <= 60:
            raise ValueError(f"Experiment {self.name!r}: the CPU budget must be between 0 and 60 seconds")
        if self.run is None and self.measure is None:
            raise ValueError(f"Experiment {self.name!r}: a training-function experiment needs `measure`")

    def passes(self, value: float) -> bool:
        return bool(np.isfinite(value)) and (value <= self.target if self.lower_is_better else value >= self.target)


def kind_of(spec) -> str:
    """The report's kind of a spec: function, question, choice or experiment."""
    return getattr(spec, "report_kind", "function")


@dataclass
class Result:
    """The outcome of grading one exercise."""

    name: str
    score: float
    max_score: float
    feedback: str
    status: str = "failed"           # "passed", "failed", "missing", "not implemented", "error"
    kind: str = "function"
    measurement: Any = None          # an experiment's measured outcome (one number per seed)

    def as_dict(self) -> dict:
        out = {"name": self.name, "kind": self.kind, "score": self.score, "max_score": self.max_score,
               "feedback": self.feedback, "status": self.status}
        if self.measurement is not None:
            out["measurement"] = self.measurement
        return out


class _TimeUp(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise ``_TimeUp`` after ``seconds`` (only possible on the main thread; elsewhere no limit)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def on_alarm(signum, frame):
        raise _TimeUp()

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    return short_repr(x)


def describe_inputs(case: dict, max_values: int = 12) -> str:
    """A short description of a test case: shapes, plus values for tiny arrays."""
    parts = []
    for k, v in case.items():
        if isinstance(v, np.ndarray):
            if v.size <= max_values:
                parts.append(f"{k}={np.array2string(v, precision=3, separator=', ')}")
            else:
                parts.append(f"{k}: {v.dtype} array of shape {v.shape}")
        else:
            parts.append(f"{k}={short_repr(v, 80)}")
    return cap("; ".join(parts), 600)


def _where(index: tuple, axes: Sequence[str] | None) -> str:
    if not index:
        return ""
    if axes and len(axes) == len(index):
        return " at " + ", ".join(f"{a} {i}" for a, i in zip(axes, index))
    return f" at index {index}"


def _type_name(x) -> str:
    return cap(getattr(x, "type_name", None) or type(x).__name__, 100)      # wire.UnsupportedType has a name


def _blocks_note(bad: np.ndarray, blocks) -> str:
    """Which named blocks of the last axis hold wrong entries, e.g. " (wrong columns in gate block g)"."""
    if not blocks or bad.ndim == 0 or bad.shape[-1] % len(blocks):
        return ""
    width = bad.shape[-1] // len(blocks)
    per_col = bad.reshape(-1, bad.shape[-1]).any(axis=0)
    names = [blocks[k] for k in range(len(blocks)) if per_col[k * width:(k + 1) * width].any()]
    def span(k):
        lo, hi = ("" if k == 0 else f"{k}H" if k > 1 else "H"), (f"{k + 1}H" if k else "H")
        return f"[{lo}:{hi}]"
    spans = {b: span(k) for k, b in enumerate(blocks)}
    where = ", ".join(f"{n} (columns {spans[n]})" for n in names)
    return f"; wrong columns are in gate block{'s' if len(names) > 1 else ''} {where}"


def compare_output(name: str, expected, got, *, axes=None, rtol=1e-6, atol=1e-8,
                   blocks=None) -> tuple[str | None, float]:
    """Compare one output. Returns ``(failure message or None, largest absolute error)``."""
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        if not isinstance(got, np.ndarray):
            if isinstance(got, (list, tuple, float, int, np.number)):
                got = np.asarray(got)
            else:
                return f"{name} should be a NumPy array, got {_type_name(got)}", np.inf
        expected = np.asarray(expected)
        if got.shape != expected.shape:
            return f"{name} has shape {got.shape}, expected {expected.shape}", np.inf
        if expected.dtype.kind == "f" and got.dtype.kind not in "fiu":
            return f"{name} has dtype {got.dtype}, expected a floating-point array", np.inf
        if expected.dtype.kind in "iu" and got.dtype.kind not in "iu":
            return f"{name} has dtype {got.dtype}, expected integers", np.inf
        if got.dtype.kind == "f" and not np.isfinite(got).all() and np.isfinite(expected).all():
            idx = tuple(int(i) for i in np.argwhere(~np.isfinite(got))[0])
            return (f"{name} contains NaN or inf{_where(idx, axes)} "
                    f"(got {_fmt(got[idx])}, expected {_fmt(expected[idx])})"), np.inf
        err = float(np.abs(got.astype(np.float64) - expected.astype(np.float64)).max()) if got.size else 0.0
        bad = ~np.isclose(got, expected, rtol=rtol, atol=atol)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            n_bad = int(bad.sum())
            return (f"{name} differs first{_where(idx, axes)}: expected {_fmt(expected[idx])}, "
                    f"got {_fmt(got[idx])} ({n_bad} of {bad.size} entries wrong, largest error {err:.3g})"
                    f"{_blocks_note(bad, blocks)}"), err
        return None, err
    if isinstance(expected, (list, tuple)) and all(isinstance(x, str) for x in expected):   # names, in order
        if isinstance(got, (list, tuple)) and list(got) == list(expected):
            return None, 0.0
        return f"{name} is {cap(got, 300)}, expected {cap(list(expected), 300)}", np.inf
    # scalars
    try:
        e, g = float(expected), float(got)
    except (TypeError, ValueError):
        return f"{name} should be a number, got {_type_name(got)}", np.inf
    if not np.isfinite(g) and np.isfinite(e):
        return f"{name} is {g}, expected {e:.6g}", np.inf
    err = abs(e - g)
    if not np.isclose(g, e, rtol=rtol, atol=atol):
        return f"{name} is {g:.6g}, expected {e:.6g} (error {err:.3g})", err
    return None, err




def _as_tuple(out, n: int):
    if n == 1:
        return (out,)
    if not isinstance(out, tuple):
        return None
    return out


def _snapshot(case: dict) -> dict:
    return {k: v.copy() for k, v in case.items() if isinstance(v, np.ndarray)}


def _rebuild_code(chapter: str | None, ex: Exercise, k: int) -> str:
    if not chapter:
        return ""
    return (f"\n  to rebuild this case (seed {ex.seed}): "
            f"from rnnbook.grading import rebuild_case; kwargs = rebuild_case({chapter!r}, {ex.name!r}, {k + 1})")


def _hint(ex: Exercise, attempt: int) -> str:
    if ex.nudge and attempt < HINT_AFTER:
        return f"\n  nudge: {ex.nudge}"
    return f"\n  hint: {ex.hint}"


def _fail(ex, text: str, status: str = "failed") -> Result:
    return Result(ex.name, 0, ex.points, text, status, kind_of(ex))


def match_mistake(ex: Exercise, cases: list, outcomes: list, variants: dict) -> str | None:
    """The key of the known mistake whose variant's outputs the learner's match on every case, if any.
    ``variants`` maps a key to the variant's return values on ``cases`` (computed in the grader)."""
    if len(outcomes) < len(cases) or any(o.get("status") != "ok" for o in outcomes):
        return None
    n_out = len(ex.outputs)
    for key, outs in variants.items():
        if len(outs) != len(cases):
            continue
        ok = True
        for k in range(len(cases)):
            got_t, var_t = _as_tuple(outcomes[k].get("got"), n_out), _as_tuple(outs[k], n_out)
            if got_t is None or var_t is None or len(got_t) != n_out:
                ok = False
                break
            verdicts, _ = _diagnose(ex, var_t, got_t)
            if any(m for _, m in verdicts):
                ok = False
                break
        if ok:
            return key
    return None


def _diagnose(ex: Exercise, expected: tuple, got_t: tuple) -> tuple[list, float]:
    """Compare every output: ``([(name, message or None)], largest error)``."""
    verdicts, largest = [], 0.0
    for name, e_val, g_val in zip(ex.outputs, expected, got_t):
        msg, err = compare_output(name, e_val, g_val, axes=ex.axes.get(name), rtol=ex.rtol, atol=ex.atol,
                                  blocks=ex.blocks.get(name))
        verdicts.append((name, msg))
        if msg is None:
            largest = max(largest, err)
    return verdicts, largest


def _ended_early(ex: Exercise, end: dict, n_cases: int, where: str) -> Result:
    """The learner's process stopped before returning from a case: say how."""
    st = end.get("status")
    if st == "timeout":
        return _fail(ex, f"took longer than {end.get('seconds', ex.time_limit):g} s on its {n_cases} test "
                         f"cases (an infinite loop, or a loop over every element?)", "error")
    if st == "killed":
        sig = end.get("signal", "a signal")
        why = {"SIGSEGV": "a crash (segmentation fault)", "SIGXCPU": "its CPU-time limit",
               "SIGKILL": "being killed (out of memory?)", "SIGXFSZ": "writing a file that is too large"}
        return _fail(ex, f"the process running it was stopped by {why.get(sig, sig)}\n  in {where}", "error")
    if st == "unsendable":
        return _fail(ex, f"returned a value that cannot be sent back as plain data "
                         f"({cap(end.get('message', ''), 300)})\n  in {where}", "error")
    return _fail(ex, f"ended the process running it (sys.exit, os._exit or similar, exit code "
                     f"{end.get('code', '?')}) instead of returning\n  in {where}", "error")


def _wrong_outputs(verdicts: list) -> str:
    """Feedback naming every wrong output (and the right ones) of a function with several outputs."""
    wrong = [(n, m) for n, m in verdicts if m]
    if len(verdicts) == 1:
        return wrong[0][1]
    right = [n for n, m in verdicts if not m]
    return (f"{len(wrong)} of {len(verdicts)} outputs are wrong: " + ", ".join(n for n, _ in wrong)
            + (f" (right: {', '.join(right)})" if right else "") + "".join(f"\n  - {m}" for _, m in wrong))


def evaluate(ex: Exercise, cases: list, expected: list, outcomes: list, *, ending: dict | None = None,
             attempt: int = 1, chapter: str | None = None, variants: dict | None = None) -> Result:
    """Judge a learner's function from what it did on each case; runs in the grader.

    ``expected[k]`` is the reference's return value on ``cases[k]``. ``outcomes[k]`` is a dict:
    ``{"status": "ok", "got": value, "after": {arg: array}}`` (``after``: the array arguments after the
    call, to catch in-place modification), ``{"status": "raised", "type", "message", "line"}`` or
    ``{"status": "not implemented"}``. ``ending`` says how the learner's process ended when it stopped
    before the last case (``{"status": "timeout" | "killed" | "exited" | "unsendable", ...}``).
    ``variants``: the known mistakes' outputs on the cases (see :func:`match_mistake`).
    """
    if not isinstance(outcomes, list) or not all(isinstance(o, dict) for o in outcomes):
        return _fail(ex, "the process running it sent back something that is not a result", "error")
    mistake = match_mistake(ex, cases, outcomes, variants or {})
    if mistake is not None:
        return _fail(ex, f"known mistake: {ex.mistakes[mistake]}")
    n_out = len(ex.outputs)
    largest = 0.0
    for k, case in enumerate(cases):
        where = f"case {k + 1} of {len(cases)} ({describe_inputs(case)})"
        rebuild = _rebuild_code(chapter, ex, k) if "array of shape" in where else ""
        if k >= len(outcomes):
            return _ended_early(ex, ending or {"status": "exited", "code": "?"}, len(cases), where)
        out = outcomes[k]
        st = out.get("status")
        if st == "not implemented":
            return _fail(ex, "not implemented yet", "not implemented")
        if st == "raised":
            line = f" ({cap(out['line'], 300)})" if out.get("line") else ""
            return _fail(ex, f"raised {cap(out.get('type'), 100)}: {cap(out.get('message', ''), 500)}{line}\n"
                             f"  in {where}{rebuild}"
                             f"{_hint(ex, attempt)}", "error")
        for key, arr in _snapshot(case).items():
            after = out.get("after") if isinstance(out.get("after"), dict) else {}
            after = after.get(key)
            if after is not None and not (isinstance(after, np.ndarray) and after.shape == arr.shape
                                          and np.array_equal(after, arr, equal_nan=True)):
                return _fail(ex, f"your function modified its input `{key}` in place; work on a copy "
                                 f"or build new arrays\n  in {where}")
        got = out.get("got")
        if ex.compare is not None:
            try:
                msg = ex.compare(expected[k], got, case)
            except Exception as e:       # a value the spec's comparison cannot handle is a wrong value
                msg = f"returned a value that cannot be judged ({type(e).__name__})"
            if msg:
                return _fail(ex, f"{cap(msg, 1000)}\n  in {where}{rebuild}{_hint(ex, attempt)}")
            continue
        exp_t = _as_tuple(expected[k], n_out)
        got_t = _as_tuple(got, n_out)
        if got_t is None or len(got_t) != n_out:
            what = f"a tuple of {len(got)}" if isinstance(got, tuple) else f"a {_type_name(got)}"
            return _fail(ex, f"should return {n_out} values ({', '.join(ex.outputs)}), got {what}\n  in {where}")
        try:
            verdicts, err = _diagnose(ex, exp_t, got_t)
        except Exception as e:           # an odd value (a ragged list, a complex array) is a wrong value
            return _fail(ex, f"returned a value that cannot be compared ({type(e).__name__}: {cap(e, 200)})\n"
                             f"  in {where}")
        if any(m for _, m in verdicts):
            return _fail(ex, f"{_wrong_outputs(verdicts)}\n  in {where}{rebuild}{_hint(ex, attempt)}")
        largest = max(largest, err)
    return Result(ex.name, ex.points, ex.points, f"passed all {len(cases)} cases (largest error {largest:.1e})",
                  "passed", "function")


def run_exercise(ex: Exercise, learner: Callable | None, reference: Callable, *, attempt: int = 1,
                 chapter: str | None = None, variants: dict | None = None, cases: list | None = None,
                 expected: list | None = None) -> Result:
    """Grade ``learner`` against ``reference`` on the exercise's seeded cases, both in this process.

    This is the in-notebook feedback path (and the test suite's); the command-line grader runs the
    learner's function in a separate process and calls ``evaluate`` itself. Never raises because of
    the learner's code: every problem becomes feedback. ``variants``: the known mistakes' functions (or,
    with ``cases`` and ``expected`` given, computed beforehand, their outputs on those cases).
    """
    if learner is None:
        return Result(ex.name, 0, ex.points, not_found(ex.name), "missing")
    if not callable(learner):
        return Result(ex.name, 0, ex.points, not_a_function(ex.name, type(learner).__name__), "missing")
    if cases is None or expected is None:
        cases = ex.make_cases()
        expected = [reference(**copy.deepcopy(case)) for case in cases]
        variant_outputs = {key: [fn(**copy.deepcopy(case)) for case in cases] for key, fn in (variants or {}).items()}
    else:
        variant_outputs = dict(variants or {})
    outcomes: list = []
    ending = None
    sink = CappedText()
    try:
        with _time_limit(ex.time_limit):
            for case in cases:
                args = copy.deepcopy(case)
                try:
                    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                        got = learner(**args)
                except NotImplementedError:
                    outcomes.append({"status": "not implemented"})
                    break
                except _TimeUp:
                    raise
                except Exception as e:  # the learner's bug, reported, never propagated
                    outcomes.append(error_info(e))
                    break
                outcomes.append({"status": "ok", "got": got, "after": _snapshot(args)})
    except _TimeUp:
        ending = {"status": "timeout", "seconds": ex.time_limit}
    return evaluate(ex, cases, expected, outcomes, ending=ending, attempt=attempt, chapter=chapter,
                    variants=variant_outputs)


def _unanswered(answer) -> bool:
    return answer is Ellipsis or answer is None or getattr(answer, "type_name", None) in ("missing", "ellipsis")


def _is_number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


def grade_question(q: Question, reference, answer, *, attempt: int = 1) -> Result:
    """Judge an answer to a ``Question`` (in the grader, on plain data). A wrong answer never shows the
    right one: the explanation comes with a right answer, a nudge (if the spec has one) with a wrong one."""
    kind = q.report_kind
    if _unanswered(answer):
        return Result(q.name, 0, q.points, f"not answered yet ({q.prompt})", "not implemented", kind)
    nudge = f"\n  think about it: {q.nudge}" if q.nudge else ""
    if q.kind == "number":
        if not _is_number(answer):
            return Result(q.name, 0, q.points, f"should be a number (an int or a float, not text), got "
                                               f"{_type_name(answer)} {short_repr(answer, 60)}", "failed", kind)
        ok = bool(np.isfinite(float(answer))) and bool(np.isclose(float(answer), float(reference), rtol=q.rtol,
                                                                  atol=q.atol))
    elif q.kind == "shape":
        if not isinstance(answer, (tuple, list)) or len(answer) > 32 or not all(
                isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in answer):
            return Result(q.name, 0, q.points, f"should be a shape (a tuple of ints), got {_type_name(answer)} "
                                               f"{short_repr(answer, 60)}", "failed", kind)
        ok = tuple(int(v) for v in answer) == tuple(reference)
    else:
        if not isinstance(answer, str) or answer not in q.options:
            return Result(q.name, 0, q.points, f"should be one of {list(q.options)}, got {short_repr(answer, 60)}",
                          "failed", kind)
        ok = answer == reference
    if ok:       # (once right, the answer may be said: the explanation is the point)
        return Result(q.name, q.points, q.points, f"right: the answer is {reference!r}: {q.explanation}", "passed",
                      kind)
    return Result(q.name, 0, q.points, f"not right: {short_repr(answer, 60)} is not the answer (attempt {attempt})"
                                       f"{nudge}", "failed", kind)


def grade_choice(c: Choice, reference, answer, *, attempt: int = 1, final: bool = False) -> Result:
    """Judge a ``Choice``. A wrong option's explanation is shown on the final submission or after
    ``c.reveal_after`` attempts; the feedback never says which option is right."""
    if _unanswered(answer):
        return Result(c.name, 0, c.points, f"not answered yet ({c.prompt})", "not implemented", "choice")
    if not isinstance(answer, str) or answer not in c.options:
        return Result(c.name, 0, c.points, f"should be one of {list(c.options)}, got {short_repr(answer, 60)}",
                      "failed", "choice")
    if answer == reference:
        return Result(c.name, c.points, c.points, f"right: {c.explanation}", "passed", "choice")
    if final or attempt >= c.reveal_after:
        return Result(c.name, 0, c.points, f"not {answer!r}: {c.options[answer]}", "failed", "choice")
    left = c.reveal_after - attempt
    return Result(c.name, 0, c.points, f"not {answer!r}; think again about the mechanism (why this option is "
                                       f"wrong is explained after {left} more attempt{'s' if left > 1 else ''} "
                                       f"or with your final submission)", "failed", "choice")


def judge_experiment(x: Experiment, outcomes: list) -> Result:
    """Judge an experiment from its measurements: ``outcomes[i]`` is ``{"seed", "value"}`` or
    ``{"seed", "error": text}``."""
    values, problems = [], []
    for out in outcomes:
        if "error" in out:
            problems.append(f"seed {out.get('seed')}: {cap(out['error'], 300)}")
            values.append(None)
            continue
        values.append(float(out["value"]))
    if len(values) < len(x.seeds):
        problems.append("the run stopped before every seed was measured")
    shown = ", ".join("-" if v is None else f"{v:.4g}" for v in values)
    unit = f" {x.unit}" if x.unit else ""
    cmp = "<=" if x.lower_is_better else ">="
    text = (f"measured {shown}{unit} on seed{'s' if len(x.seeds) > 1 else ''} {', '.join(map(str, x.seeds))} "
            f"(target {cmp} {x.target:g}{unit}, CPU budget {x.budget_s:g} s)")
    ok = not problems and len(values) == len(x.seeds) and all(x.passes(v) for v in values)
    if ok:
        return Result(x.name, x.points, x.points, f"reached the target: {text}", "passed", "experiment", values)
    more = "".join(f"\n  {p}" for p in problems) + (f"\n  nudge: {x.nudge}" if x.nudge and not problems else "")
    status = "not implemented" if any("not implemented" in p for p in problems) else "failed"
    return Result(x.name, 0, x.points, f"did not reach the target: {text}{more}", status, "experiment", values)

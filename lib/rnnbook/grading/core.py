"""Comparing a learner's answers with the reference ones, with feedback that diagnoses before it tells.

A chapter's spec module (``rnnbook.grading.chNN_slug``) lists ``EXERCISES``: ``Exercise`` for a
graded function and ``Question`` for a graded value. Both are defined in the solutions notebook in
code cells tagged ``graded``: a function by its ``def``, a question by an assignment of its answer::

    # solutions/NN_slug.ipynb, a cell tagged "graded"
    q_dWh_shape = (4, 12)            # what is the shape of dWh for H = 4? (the reference answer)

    # exercises/NN_slug.ipynb, the same cell tagged "graded"
    q_dWh_shape = ...                # your prediction, e.g. (12, 4)

    # the spec
    Question(name="q_dWh_shape", points=1, kind="shape",
             prompt="The shape of dWh for an LSTM with H = 4 units",
             explanation="dWh maps h_prev (N, H) to the four gates side by side (N, 4H), so it is (H, 4H).")

``kind`` is ``"number"`` (compared with ``rtol``/``atol``), ``"shape"`` (a tuple of ints, compared
exactly) or ``"choice"`` (one of ``options``, compared exactly). A question left at ``...`` scores 0 as
"not answered"; after any attempt the feedback explains the right answer.

The comparison (``evaluate``) runs in the grader, on plain data the learner's kernel sent back; the
in-notebook ``rnnbook.grading.Grader`` runs the same comparison in the learner's own kernel, as
feedback. Hints come in steps: ``nudge`` first (and on the command line), the full ``hint`` (usually the
formula) once the same exercise failed ``HINT_AFTER`` times in a notebook session.
"""
from __future__ import annotations

import contextlib
import copy
import io
import signal
import threading
import traceback
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

__all__ = ["Exercise", "Question", "Result", "run_exercise", "evaluate", "grade_question", "describe_inputs",
           "compare_output", "HINT_AFTER"]

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
    """

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
    kind: str                      # "number", "shape" or "choice"
    prompt: str
    explanation: str
    options: Sequence = ()
    rtol: float = 1e-3
    atol: float = 1e-8
    library = None                 # (not a field) questions have no library twin

    def __post_init__(self):
        if self.kind not in ("number", "shape", "choice"):
            raise ValueError(f"Question {self.name!r}: kind must be 'number', 'shape' or 'choice', not {self.kind!r}")
        if self.kind == "choice" and not self.options:
            raise ValueError(f"Question {self.name!r}: a 'choice' question needs its options")


@dataclass
class Result:
    """The outcome of grading one exercise."""

    name: str
    score: float
    max_score: float
    feedback: str
    status: str = "failed"           # "passed", "failed", "missing", "not implemented", "error"

    def as_dict(self) -> dict:
        return {"name": self.name, "score": self.score, "max_score": self.max_score,
                "feedback": self.feedback, "status": self.status}


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


class _CappedText(io.StringIO):
    """A text sink that keeps only the first ``limit`` characters (learners may print megabytes)."""

    def __init__(self, limit: int = 2000):
        super().__init__()
        self.limit = limit

    def write(self, s):
        room = self.limit - self.tell()
        if room > 0:
            super().write(s[:room])
        return len(s)


def _fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    return repr(x)


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
            parts.append(f"{k}={v!r}")
    return "; ".join(parts)


def _where(index: tuple, axes: Sequence[str] | None) -> str:
    if not index:
        return ""
    if axes and len(axes) == len(index):
        return " at " + ", ".join(f"{a} {i}" for a, i in zip(axes, index))
    return f" at index {index}"


def _type_name(x) -> str:
    return getattr(x, "type_name", None) or type(x).__name__      # wire.UnsupportedType carries a name


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


def _fail(ex: Exercise, text: str, status: str = "failed") -> Result:
    return Result(ex.name, 0, ex.points, text, status)


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
                         f"({end.get('message', '')})\n  in {where}", "error")
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
             attempt: int = 1, chapter: str | None = None) -> Result:
    """Judge a learner's function from what it did on each case; runs in the grader.

    ``expected[k]`` is the reference's return value on ``cases[k]``. ``outcomes[k]`` is a dict:
    ``{"status": "ok", "got": value, "after": {arg: array}}`` (``after``: the array arguments after the
    call, to catch in-place modification), ``{"status": "raised", "type", "message", "line"}`` or
    ``{"status": "not implemented"}``. ``ending`` says how the learner's process ended when it stopped
    before the last case (``{"status": "timeout" | "killed" | "exited" | "unsendable", ...}``).
    """
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
            line = f" ({out['line']})" if out.get("line") else ""
            return _fail(ex, f"raised {out.get('type')}: {out.get('message', '')}{line}\n  in {where}{rebuild}"
                             f"{_hint(ex, attempt)}", "error")
        for key, arr in _snapshot(case).items():
            after = out.get("after", {}).get(key)
            if after is not None and not (isinstance(after, np.ndarray) and after.shape == arr.shape
                                          and np.array_equal(after, arr, equal_nan=True)):
                return _fail(ex, f"your function modified its input `{key}` in place; work on a copy "
                                 f"or build new arrays\n  in {where}")
        got = out.get("got")
        if ex.compare is not None:
            msg = ex.compare(expected[k], got, case)
            if msg:
                return _fail(ex, f"{msg}\n  in {where}{rebuild}{_hint(ex, attempt)}")
            continue
        exp_t = _as_tuple(expected[k], n_out)
        got_t = _as_tuple(got, n_out)
        if got_t is None or len(got_t) != n_out:
            what = f"a tuple of {len(got)}" if isinstance(got, tuple) else f"a {_type_name(got)}"
            return _fail(ex, f"should return {n_out} values ({', '.join(ex.outputs)}), got {what}\n  in {where}")
        verdicts, err = _diagnose(ex, exp_t, got_t)
        if any(m for _, m in verdicts):
            return _fail(ex, f"{_wrong_outputs(verdicts)}\n  in {where}{rebuild}{_hint(ex, attempt)}")
        largest = max(largest, err)
    return Result(ex.name, ex.points, ex.points, f"passed all {len(cases)} cases (largest error {largest:.1e})",
                  "passed")


def run_exercise(ex: Exercise, learner: Callable | None, reference: Callable, *, attempt: int = 1,
                 chapter: str | None = None) -> Result:
    """Grade ``learner`` against ``reference`` on the exercise's seeded cases, both in this process.

    This is the in-notebook feedback path (and the test suite's); the command-line grader runs the
    learner's function in a separate kernel and calls ``evaluate`` itself. Never raises because of
    the learner's code: every problem becomes feedback.
    """
    if learner is None:
        return Result(ex.name, 0, ex.points,
                      f"function {ex.name}() was not found: did you rename or delete it?", "missing")
    if not callable(learner):
        return Result(ex.name, 0, ex.points,
                      f"{ex.name} is a {type(learner).__name__}, not a function", "missing")
    cases = ex.make_cases()
    expected = [reference(**copy.deepcopy(case)) for case in cases]
    outcomes: list = []
    ending = None
    sink = _CappedText()
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
                    tb = traceback.extract_tb(e.__traceback__)
                    line = f"line {tb[-1].lineno}: {tb[-1].line}" if tb and tb[-1].line else ""
                    outcomes.append({"status": "raised", "type": type(e).__name__, "message": str(e), "line": line})
                    break
                outcomes.append({"status": "ok", "got": got, "after": _snapshot(args)})
    except _TimeUp:
        ending = {"status": "timeout", "seconds": ex.time_limit}
    return evaluate(ex, cases, expected, outcomes, ending=ending, attempt=attempt, chapter=chapter)


def grade_question(q: Question, reference, answer) -> Result:
    """Judge an answer to a ``Question`` (in the grader, on plain data)."""
    shown = f"the answer is {reference!r}: {q.explanation}"
    if answer is Ellipsis or answer is None or getattr(answer, "type_name", None) in ("missing", "ellipsis"):
        return Result(q.name, 0, q.points, f"not answered yet ({q.prompt})", "not implemented")
    if q.kind == "number":
        try:
            ok = bool(np.isclose(float(answer), float(reference), rtol=q.rtol, atol=q.atol))
        except (TypeError, ValueError):
            return Result(q.name, 0, q.points, f"should be a number, got {_type_name(answer)}; {shown}")
    elif q.kind == "shape":
        try:
            ok = tuple(int(v) for v in answer) == tuple(reference) and all(
                isinstance(v, (int, np.integer)) for v in answer)
        except (TypeError, ValueError):
            return Result(q.name, 0, q.points, f"should be a shape (a tuple of ints), got {_type_name(answer)}; {shown}")
    else:
        if not isinstance(answer, str) or answer not in q.options:
            return Result(q.name, 0, q.points,
                          f"should be one of {list(q.options)}, got {answer!r}; {shown}")
        ok = answer == reference
    if ok:
        return Result(q.name, q.points, q.points, f"right: {shown}", "passed")
    return Result(q.name, 0, q.points, f"you answered {answer!r}; {shown}")

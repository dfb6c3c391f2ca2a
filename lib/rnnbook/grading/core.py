"""Comparing a learner's function with the reference one, with feedback that points at the bug."""
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

__all__ = ["Exercise", "Result", "run_exercise", "describe_inputs"]


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
        One or two sentences shown when the exercise fails.
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
    library:
        Dotted path of the :mod:`rnnbook` function that the solution must agree
        with (checked by the test suite, so the book and the library never drift).
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

    @property
    def seed(self) -> int:
        """A fixed seed derived from the name, so a failure reproduces exactly."""
        return zlib.crc32(self.name.encode()) % (2 ** 31)

    def make_cases(self) -> list[dict]:
        return self.cases(np.random.default_rng(self.seed))


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


def compare_output(name: str, expected, got, *, axes=None, rtol=1e-6, atol=1e-8) -> tuple[str | None, float]:
    """Compare one output. Returns ``(failure message or None, largest absolute error)``."""
    if isinstance(expected, np.ndarray) or isinstance(got, np.ndarray):
        if not isinstance(got, np.ndarray):
            if isinstance(got, (list, tuple, float, int, np.number)):
                got = np.asarray(got)
            else:
                return f"{name} should be a NumPy array, got {type(got).__name__}", np.inf
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
                    f"got {_fmt(got[idx])} ({n_bad} of {bad.size} entries wrong, largest error {err:.3g})"), err
        return None, err
    # scalars
    try:
        e, g = float(expected), float(got)
    except (TypeError, ValueError):
        return f"{name} should be a number, got {type(got).__name__}", np.inf
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


def run_exercise(ex: Exercise, learner: Callable | None, reference: Callable) -> Result:
    """Grade ``learner`` against ``reference`` on the exercise's seeded cases.

    Never raises because of the learner's code: every problem becomes feedback.
    """
    if learner is None:
        return Result(ex.name, 0, ex.points,
                      f"function {ex.name}() was not found: did you rename or delete it?", "missing")
    if not callable(learner):
        return Result(ex.name, 0, ex.points,
                      f"{ex.name} is a {type(learner).__name__}, not a function", "missing")
    cases = ex.make_cases()
    n_out = len(ex.outputs)
    largest = 0.0
    sink = _CappedText()
    try:
        with _time_limit(ex.time_limit):
            for k, case in enumerate(cases):
                where = f"case {k + 1} of {len(cases)} ({describe_inputs(case)})"
                expected = _as_tuple(reference(**copy.deepcopy(case)), n_out)
                args = copy.deepcopy(case)
                args_before = _snapshot(args)
                try:
                    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                        got = learner(**args)
                except NotImplementedError:
                    return Result(ex.name, 0, ex.points, "not implemented yet", "not implemented")
                except _TimeUp:
                    raise
                except Exception as e:  # the learner's bug, reported, never propagated
                    tb = traceback.extract_tb(e.__traceback__)
                    line = f" (line {tb[-1].lineno}: {tb[-1].line})" if tb and tb[-1].line else ""
                    return Result(ex.name, 0, ex.points,
                                  f"raised {type(e).__name__}: {e}{line}\n  in {where}\n  hint: {ex.hint}",
                                  "error")
                for key, arr in args_before.items():
                    if not np.array_equal(args[key], arr, equal_nan=True):
                        return Result(ex.name, 0, ex.points,
                                      f"your function modified its input `{key}` in place; work on a copy "
                                      f"or build new arrays\n  in {where}", "failed")
                if ex.compare is not None:
                    msg = ex.compare(expected if n_out > 1 else expected[0], got, case)
                    if msg:
                        return Result(ex.name, 0, ex.points, f"{msg}\n  in {where}\n  hint: {ex.hint}")
                    continue
                got_t = _as_tuple(got, n_out)
                if got_t is None or len(got_t) != n_out:
                    what = f"a tuple of {len(got)}" if isinstance(got, tuple) else f"a {type(got).__name__}"
                    return Result(ex.name, 0, ex.points,
                                  f"should return {n_out} values ({', '.join(ex.outputs)}), got {what}"
                                  f"\n  in {where}")
                for name, e_val, g_val in zip(ex.outputs, expected, got_t):
                    msg, err = compare_output(name, e_val, g_val, axes=ex.axes.get(name),
                                              rtol=ex.rtol, atol=ex.atol)
                    if msg:
                        return Result(ex.name, 0, ex.points, f"{msg}\n  in {where}\n  hint: {ex.hint}")
                    largest = max(largest, err)
    except _TimeUp:
        return Result(ex.name, 0, ex.points,
                      f"took longer than {ex.time_limit:g} s on its {len(cases)} test cases "
                      f"(an infinite loop, or a loop over every element?)", "error")
    return Result(ex.name, ex.points, ex.points,
                  f"passed all {len(cases)} cases (largest error {largest:.1e})", "passed")

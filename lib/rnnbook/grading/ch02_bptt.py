"""Graded exercises of chapter 2 (backpropagation through time)."""
from __future__ import annotations

import numpy as np

from .core import Exercise, compare_output


def _rnn_weights(rng, D, H):
    return rng.standard_normal((D, H)) * 0.5, rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H) * 0.1


def _step_backward_cases(rng):
    cases = []
    for N, D, H in [(1, 2, 3), (3, 4, 5), (6, 3, 2)]:
        Wx, Wh, b = _rnn_weights(rng, D, H)
        x, h_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H)) * 0.5
        h_next = np.tanh(x @ Wx + h_prev @ Wh + b)
        cases.append({"dh_next": rng.standard_normal((N, H)), "x": x, "h_prev": h_prev, "h_next": h_next,
                      "Wx": Wx, "Wh": Wh})
    return cases


def _rnn_backward_cases(rng):
    cases = []
    for N, T, D, H in [(1, 1, 2, 3), (1, 3, 2, 3), (2, 5, 3, 4), (4, 8, 5, 6)]:
        Wx, Wh, b = _rnn_weights(rng, D, H)
        xs, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)) * 0.5
        hs = np.empty((N, T, H))
        h = h0
        for t in range(T):
            h = np.tanh(xs[:, t] @ Wx + h @ Wh + b)
            hs[:, t] = h
        cases.append({"dhs": rng.standard_normal((N, T, H)), "xs": xs, "h0": h0, "hs": hs, "Wx": Wx, "Wh": Wh})
    return cases


class _TestFunction:
    """A scalar test function of an array, with a readable repr for the feedback."""

    def __init__(self, kind: str, A: np.ndarray):
        self.kind, self.A = kind, A

    def __call__(self, x):
        if self.kind == "quadratic":
            return float(np.sum(x * (self.A @ x)))
        if self.kind == "sin":
            return float(np.sum(np.sin(x) * self.A))
        return float(np.sum(np.tanh(x @ self.A) ** 2))

    def __repr__(self):
        return {"quadratic": "f(x) = sum(x * (A @ x))", "sin": "f(x) = sum(sin(x) * A)",
                "tanh": "f(x) = sum(tanh(x @ A)**2)"}[self.kind]


def _numgrad_cases(rng):
    return [
        {"f": _TestFunction("quadratic", rng.standard_normal((3, 3))), "x": rng.standard_normal(3), "eps": 1e-4},
        {"f": _TestFunction("sin", rng.standard_normal((2, 3))), "x": rng.standard_normal((2, 3)), "eps": 1e-4},
        {"f": _TestFunction("tanh", rng.standard_normal((4, 2))), "x": rng.standard_normal((3, 4)), "eps": 1e-3},
    ]


def _clip_cases(rng):
    cases = []
    for shapes, max_norm in [([(3,)], 1.0), ([(2, 3), (3,)], 1.0), ([(4, 4), (4,), (2, 4)], 100.0),
                             ([(5, 3), (3,)], 0.5)]:
        cases.append({"grads": [rng.standard_normal(s) * 2 for s in shapes], "max_norm": max_norm})
    return cases


def _compare_clip(expected, got, case):
    exp_grads, exp_norm = expected
    if not isinstance(got, tuple) or len(got) != 2:
        return f"should return 2 values (clipped_grads, norm), got a {type(got).__name__}"
    got_grads, got_norm = got
    if not isinstance(got_grads, (list, tuple)) or len(got_grads) != len(exp_grads):
        n = len(got_grads) if isinstance(got_grads, (list, tuple)) else None
        return (f"clipped_grads should be a list of {len(exp_grads)} arrays (one per gradient), got "
                f"{type(got_grads).__name__}" + (f" of length {n}" if n is not None else ""))
    msg, _ = compare_output("norm", exp_norm, got_norm, rtol=1e-6, atol=1e-8)
    if msg:
        return msg
    for k, (e, g) in enumerate(zip(exp_grads, got_grads)):
        msg, _ = compare_output(f"clipped_grads[{k}]", e, g, rtol=1e-6, atol=1e-8)
        if msg:
            return msg
    return None


def _tbptt_cases(rng):
    cases = []
    for n, B, L in [(9, 2, 2), (13, 1, 4), (50, 3, 5), (101, 4, 7)]:
        cases.append({"ids": rng.integers(0, 20, size=n), "batch_size": B, "seq_len": L})
    return cases


def _compare_batches(expected, got, case):
    try:
        got = list(got)
    except TypeError:
        return f"should return a list of (x, y) pairs, got a {type(got).__name__}"
    if len(got) != len(expected):
        return (f"returned {len(got)} batches, expected {len(expected)}: with {case['ids'].size} tokens each "
                f"of the {case['batch_size']} rows holds (n - 1) // batch_size tokens, and only whole chunks "
                f"of seq_len count")
    for k, (pair_e, pair_g) in enumerate(zip(expected, got)):
        if not isinstance(pair_g, (tuple, list)) or len(pair_g) != 2:
            return f"batch {k} should be an (x, y) pair, got {type(pair_g).__name__}"
        for name, e, g in zip(("x", "y"), pair_e, pair_g):
            msg, _ = compare_output(f"batch {k}: {name}", e, g, axes=("row", "time"), rtol=0, atol=0)
            if msg:
                return msg
    return None


EXERCISES = [
    Exercise(
        name="rnn_step_backward", points=3, cases=_step_backward_cases,
        outputs=("dx", "dh_prev", "dWx", "dWh", "db"),
        axes={"dx": ("row", "feature"), "dh_prev": ("row", "unit"), "dWx": ("feature", "unit"),
              "dWh": ("from unit", "to unit"), "db": ("unit",)},
        library="rnnbook.rnn.rnn_step_backward",
        hint="First da = dh_next * (1 - h_next**2) (the tanh derivative, from the stored output). Then "
             "dx = da @ Wx.T, dh_prev = da @ Wh.T, dWx = x.T @ da, dWh = h_prev.T @ da, db = da.sum(axis=0)."),
    Exercise(
        name="rnn_backward", points=4, cases=_rnn_backward_cases,
        outputs=("dxs", "dh0", "dWx", "dWh", "db"),
        axes={"dxs": ("row", "time", "feature"), "dh0": ("row", "unit"), "dWx": ("feature", "unit"),
              "dWh": ("from unit", "to unit"), "db": ("unit",)},
        library="rnnbook.rnn.rnn_backward",
        hint="Loop t = T-1 down to 0; the gradient entering h_t is dhs[:, t] PLUS the dh_prev that came back "
             "from step t+1. The previous state of step 0 is h0, of step t it is hs[:, t-1]. Weight gradients "
             "are summed (+=) over time; if only the last time step is right, dh is not being carried back."),
    Exercise(
        name="numerical_gradient", points=2, cases=_numgrad_cases, outputs=("grad",),
        axes={"grad": None},
        hint="For every index i (np.ndindex(x.shape)): remember x[i], set x[i] + eps and evaluate f(x), set "
             "x[i] - eps and evaluate, RESTORE x[i], and store (f_plus - f_minus) / (2 * eps). A forward "
             "difference (f(x + eps) - f(x)) / eps is only accurate to about eps."),
    Exercise(
        name="clip_grad_norm", points=2, cases=_clip_cases, outputs=("clipped_grads", "norm"),
        compare=_compare_clip,
        hint="The global norm is sqrt(sum over ALL arrays of sum(g**2)), one number for the whole list, not one "
             "per array. If it exceeds max_norm, multiply every array by max_norm / (norm + 1e-6); otherwise "
             "return copies unchanged. Return the norm measured before clipping."),
    Exercise(
        name="tbptt_batches", points=3, cases=_tbptt_cases, outputs=("batches",),
        compare=_compare_batches, library="rnnbook.train.tbptt_batches",
        hint="row_len = (len(ids) - 1) // batch_size; the inputs are ids[:batch_size * row_len] reshaped to "
             "(batch_size, row_len), the targets ids[1:batch_size * row_len + 1] reshaped the same way. Batch k "
             "is columns k*seq_len to (k+1)*seq_len of both, for k in range(row_len // seq_len)."),
]

"""Graded exercises of chapter 2 (backpropagation through time)."""
from __future__ import annotations

import numpy as np

from .core import Exercise, Question, compare_output


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


def _jacobian_cases(rng):
    cases = []
    for T, H, scale in [(1, 2, 0.5), (3, 3, 0.8), (6, 4, 1.5), (10, 5, 1.0)]:
        cases.append({"Wh": rng.standard_normal((H, H)) * scale / np.sqrt(H),
                      "hs": np.tanh(rng.standard_normal((T, H)))})
    return cases


def _masked_cases(rng):
    cases = []
    for lengths, D, H in [([1], 2, 3), ([3, 1], 2, 3), ([5, 2, 4], 3, 4), ([8, 8, 3, 6], 4, 5)]:
        N, T = len(lengths), max(lengths)
        Wx, Wh, b = _rnn_weights(rng, D, H)
        xs, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)) * 0.5
        mask = (np.arange(T)[None, :] < np.array(lengths)[:, None]).astype(float)
        hs, h = np.empty((N, T, H)), h0
        for t in range(T):
            m = mask[:, t, None]
            h = m * np.tanh(xs[:, t] @ Wx + h @ Wh + b) + (1 - m) * h
            hs[:, t] = h
        cases.append({"dhs": rng.standard_normal((N, T, H)), "xs": xs, "h0": h0, "hs": hs,
                      "Wx": Wx, "Wh": Wh, "mask": mask})
    return cases


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
        name="jacobian_norms", points=3, cases=_jacobian_cases, outputs=("norms",), axes={"norms": ("k",)},
        nudge="dh_T/dh_(T-k) is a product of k one-step Jacobians, the newest first (section 2.4); norms[0] is "
              "the norm of the identity.",
        hint="Start from P = np.eye(H). For k = 0, 1, ..., T-1 record np.linalg.norm(P, 2) (the largest singular "
             "value, not the Frobenius norm), then multiply on the right by the Jacobian of step j = T - k: "
             "P = P @ (np.diag(1 - hs[j - 1]**2) @ Wh.T). hs[j - 1] holds h_j; using Wh instead of Wh.T, or "
             "multiplying on the left, gives wrong norms from k = 2 on."),
    Exercise(
        name="rnn_backward_masked", points=4, cases=_masked_cases,
        outputs=("dxs", "dh0", "dWx", "dWh", "db"),
        axes={"dxs": ("row", "time", "feature"), "dh0": ("row", "unit"), "dWx": ("feature", "unit"),
              "dWh": ("from unit", "to unit"), "db": ("unit",)},
        nudge="A padded step copies the state, h_t = h_(t-1): its Jacobian is the identity, and it has no "
              "tanh and no weights.",
        hint="Walk t = T-1 down to 0 with m = mask[:, t, None] and g = dhs[:, t] + dh (the gradient entering "
             "h_t). Then da = m * g * (1 - hs[:, t]**2); dxs[:, t] = da @ Wx.T; add x.T @ da, h_prev.T @ da and "
             "da.sum(0) to the weight gradients; and dh = da @ Wh.T + (1 - m) * g: a padded step passes its "
             "gradient straight through to the step before."),
    Exercise(
        name="clip_grad_norm", points=2, cases=_clip_cases, outputs=("clipped_grads", "norm"),
        compare=_compare_clip,
        hint="The global norm is sqrt(sum over ALL arrays of sum(g**2)), one number for the whole list, not one "
             "per array. If it exceeds max_norm, multiply every array by max_norm / (norm + 1e-6); otherwise "
             "return copies unchanged. Return the norm measured before clipping."),
    Question(
        name="q_dWh_shape", points=1, kind="shape",
        prompt="the shape of dWh for an RNN with D = 3 inputs and H = 5 units, on a batch of N = 8 sequences of "
               "T = 20 steps",
        explanation="A gradient has the shape of what it is the gradient of: Wh is (H, H) = (5, 5). The batch and "
                    "the time steps are summed over (dWh = sum over t of h_(t-1).T @ da_t)."),
    Question(
        name="q_bound_50", points=1, kind="number", rtol=1e-2,
        prompt="the upper bound of section 2.4 on ||dL/dh_(T-50)|| / ||dL/dh_T|| when the largest singular value "
               "of Wh is 0.9",
        explanation="The bound is sigma_max ** k = 0.9 ** 50, about 0.0052: even a matrix that shrinks a vector by "
                    "only 10 % per step leaves half a percent of the gradient after 50 steps."),
    Question(
        name="q_clip_share", points=1, kind="choice",
        options=("almost every update", "about half of the updates", "a small fraction of the updates"),
        prompt="in section 2.6's clipped runs (threshold c = 2, typical gradient norm about 0.5), how many of "
               "the updates clipping changes",
        explanation="Clipping only rescales a gradient whose norm exceeds c; with a typical norm four times "
                    "smaller, only the rare large gradients (most of them in the first updates) are cut."),
]

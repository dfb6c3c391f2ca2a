"""Graded exercises of chapter 1 (recurrent neural networks)."""
from __future__ import annotations

import numpy as np

from .core import Exercise, Question


def _one_hot_cases(rng):
    cases = []
    for n, V in [(3, 4), (1, 7), (10, 5)]:
        cases.append({"ids": rng.integers(0, V, size=n), "vocab_size": V})
    cases.append({"ids": rng.integers(0, 6, size=(2, 3)), "vocab_size": 6})
    return cases


def _softmax_cases(rng):
    return [
        {"x": rng.standard_normal((2, 3))},
        {"x": rng.standard_normal((4, 5, 6)) * 3},
        {"x": np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -999.0]])},
        {"x": rng.standard_normal((5,)) * 10},
    ]


def _ce_cases(rng):
    cases = []
    for shape, V in [((3,), 4), ((2, 5), 6), ((4,), 3)]:
        cases.append({"logits": rng.standard_normal(shape + (V,)) * 2,
                      "targets": rng.integers(0, V, size=shape)})
    cases.append({"logits": np.array([[500.0, -500.0, 0.0]]), "targets": np.array([1])})
    return cases


def _rnn_weights(rng, D, H):
    return {"Wx": rng.standard_normal((D, H)) * 0.5, "Wh": rng.standard_normal((H, H)) * 0.5,
            "b": rng.standard_normal(H) * 0.1}


def _step_cases(rng):
    cases = []
    for N, D, H in [(1, 2, 3), (3, 4, 5), (6, 3, 2)]:
        cases.append({"x": rng.standard_normal((N, D)), "h_prev": rng.standard_normal((N, H)) * 0.5,
                      **_rnn_weights(rng, D, H)})
    return cases


def _forward_cases(rng):
    cases = []
    for N, T, D, H in [(1, 2, 2, 3), (2, 5, 3, 4), (4, 7, 5, 6)]:
        cases.append({"xs": rng.standard_normal((N, T, D)), "h0": rng.standard_normal((N, H)) * 0.5,
                      **_rnn_weights(rng, D, H)})
    return cases


EXERCISES = [
    Exercise(
        name="one_hot", points=1, cases=_one_hot_cases, outputs=("onehot",),
        axes={"onehot": None},
        hint="Build np.zeros(ids.shape + (vocab_size,)) and put a 1 at position ids[...] of the last axis; "
             "np.eye(vocab_size)[ids] does it in one line."),
    Exercise(
        name="softmax", points=2, cases=_softmax_cases, outputs=("probs",), library="rnnbook.functions.softmax",
        hint="Subtract the maximum of the last axis (keepdims=True) before np.exp, or large logits overflow "
             "to inf and give nan; then divide by the sum over the last axis."),
    Exercise(
        name="cross_entropy", points=2, cases=_ce_cases, outputs=("loss",), library="rnnbook.functions.cross_entropy",
        hint="Average -log softmax(logits)[target] over every position; compute log-softmax as "
             "x - max - log(sum(exp(x - max))) so that a probability that rounds to 0 does not give log(0)."),
    Exercise(
        name="rnn_step_forward", points=2, cases=_step_cases, outputs=("h_next",),
        axes={"h_next": ("row", "unit")}, library="rnnbook.rnn.rnn_step_forward",
        hint="h_next = tanh(x @ Wx + h_prev @ Wh + b): x multiplies Wx, h_prev multiplies Wh."),
    Exercise(
        name="rnn_forward", points=3, cases=_forward_cases, outputs=("hs",),
        axes={"hs": ("row", "time", "unit")}, library="rnnbook.rnn.rnn_forward",
        hint="Loop over t = 0..T-1, feeding xs[:, t, :] and the previous state (h0 at t = 0) to the step "
             "function, and store each new state in hs[:, t, :]. If only time 0 is right, the state is "
             "not being carried from one step to the next."),
    Question(
        name="q_rnn_params", points=1, kind="number",
        prompt="how many trainable numbers an RNN layer with D = 3 and H = 4 holds in Wx, Wh and b",
        explanation="Wx is (D, H) = 3 x 4 = 12, Wh is (H, H) = 4 x 4 = 16 and b is (H,) = 4, so 32; the count "
                    "does not depend on the batch size N or the sequence length T, because the same weights are "
                    "used at every time step."),
]

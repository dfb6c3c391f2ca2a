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


def _ce_grad_cases(rng):
    cases = []
    for shape, V in [((3,), 4), ((2, 5), 6), ((4, 3), 3)]:
        cases.append({"logits": rng.standard_normal(shape + (V,)) * 2, "targets": rng.integers(0, V, size=shape)})
    targets = rng.integers(0, 5, size=(3, 4))
    targets[0, 2:] = -1                              # padding: these positions do not count
    targets[2, 3] = -1
    cases.append({"logits": rng.standard_normal((3, 4, 5)) * 2, "targets": targets})
    return cases


def _sample_cases(rng):
    cases = []
    for V, D, H, L, temperature in [(3, 2, 3, 1, 1.0), (4, 2, 3, 5, 1.0), (6, 3, 5, 8, 0.5), (5, 4, 6, 10, 2.0)]:
        cases.append({"E": rng.standard_normal((V, D)), "Wx": rng.standard_normal((D, H)) * 0.8,
                      "Wh": rng.standard_normal((H, H)) * 0.5, "b": rng.standard_normal(H) * 0.1,
                      "Wo": rng.standard_normal((H, V)) * 1.5, "bo": rng.standard_normal(V) * 0.1,
                      "first_id": int(rng.integers(V)), "us": rng.random(L), "temperature": temperature})
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
    Exercise(
        name="cross_entropy_grad", points=2, cases=_ce_grad_cases, outputs=("dlogits",),
        axes={"dlogits": None},
        nudge="Section 1.7 derived the gradient of one position's loss: p - onehot(y). The loss is a mean.",
        hint="p = softmax(logits); valid = targets != -1; onehot = np.eye(V)[np.where(valid, targets, 0)]; "
             "dlogits = (p - onehot) * valid[..., None] / valid.sum(). Dividing by targets.size instead of "
             "the number of valid positions, or leaving the ignored rows non-zero, fails the padded case."),
    Exercise(
        name="sample_tokens", points=3, cases=_sample_cases, outputs=("ids",), axes={"ids": ("step",)},
        nudge="Section 1.10's loop: step the cell, turn its state into probabilities, choose, feed the "
              "choice back in. Here the random numbers are given, so the choice is deterministic.",
        hint="Start with h = np.zeros(H) and token = first_id. For each u in us: h = tanh(E[token] @ Wx + "
             "h @ Wh + b); p = softmax((h @ Wo + bo) / temperature); token = the first index whose cumulative "
             "probability exceeds u, np.searchsorted(np.cumsum(p), u, side='right'); append it. If only the "
             "first step is right, the chosen token (or the state) is not fed back in."),
    Question(
        name="q_rnn_params", points=1, kind="number",
        prompt="how many trainable numbers an RNN layer with D = 3 and H = 4 holds in Wx, Wh and b",
        explanation="Wx is (D, H) = 3 x 4 = 12, Wh is (H, H) = 4 x 4 = 16 and b is (H,) = 4, so 32; the count "
                    "does not depend on the batch size N or the sequence length T, because the same weights are "
                    "used at every time step."),
    Question(
        name="q_grad_sum", points=1, kind="number",
        prompt="the sum of the V entries of the gradient of one position's loss with respect to its logits",
        explanation="The gradient is p - onehot(y): the probabilities sum to 1 and the one-hot vector sums to 1, "
                    "so the entries sum to 0 whatever the logits and the target; raising one score lowers "
                    "the others."),
    Question(
        name="q_logits_shape", points=1, kind="shape",
        prompt="the shape of the logits that RNNLM.predict returns for N = 2 sequences of T = 7 tokens with a "
               "vocabulary of V = 5 words, embeddings of D = 8 and H = 16 units",
        explanation="One score per vocabulary word at every position of every sequence: (N, T, V) = (2, 7, 5). "
                    "D and H are inside the model; they do not show in its output."),
]

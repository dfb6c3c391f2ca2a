"""Graded exercises of chapter 3 (LSTM gates)."""
from __future__ import annotations

import numpy as np

from .core import Exercise


def _lstm_weights(rng, D, H):
    return {"Wx": rng.standard_normal((D, 4 * H)) * 0.5, "Wh": rng.standard_normal((H, 4 * H)) * 0.5,
            "b": rng.standard_normal(4 * H) * 0.3}


def _lstm_step_cases(rng):
    cases = []
    for N, D, H in [(1, 2, 1), (2, 3, 4), (5, 4, 3)]:
        cases.append({"x": rng.standard_normal((N, D)), "h_prev": rng.standard_normal((N, H)) * 0.5,
                      "c_prev": rng.standard_normal((N, H)), **_lstm_weights(rng, D, H)})
    return cases


def _lstm_backward_cases(rng):
    cases = []
    for case in _lstm_step_cases(rng):
        N, H = case["h_prev"].shape
        cases.append({"dh_next": rng.standard_normal((N, H)), "dc_next": rng.standard_normal((N, H)), **case})
    return cases


def _lstm_forward_cases(rng):
    cases = []
    for N, T, D, H in [(1, 2, 2, 1), (2, 5, 3, 4), (4, 8, 5, 3)]:
        cases.append({"xs": rng.standard_normal((N, T, D)), "h0": rng.standard_normal((N, H)) * 0.5,
                      "c0": rng.standard_normal((N, H)), **_lstm_weights(rng, D, H)})
    return cases


def _gru_step_cases(rng):
    cases = []
    for N, D, H in [(1, 2, 1), (2, 3, 4), (5, 4, 3)]:
        cases.append({"x": rng.standard_normal((N, D)), "h_prev": rng.standard_normal((N, H)) * 0.5,
                      "Wx": rng.standard_normal((D, 3 * H)) * 0.5, "Wh": rng.standard_normal((H, 3 * H)) * 0.5,
                      "b": rng.standard_normal(3 * H) * 0.3})
    return cases


_ORDER = "The gates sit side by side along the 4H axis in the order f, i, g, o: f = a[:, :H], i = a[:, H:2H], " \
         "g = a[:, 2H:3H], o = a[:, 3H:]."

_GATES = ("f", "i", "g", "o")

EXERCISES = [
    Exercise(
        name="lstm_step_forward", points=2, cases=_lstm_step_cases, outputs=("h_next", "c_next"),
        axes={"h_next": ("row", "unit"), "c_next": ("row", "unit")}, library="rnnbook.lstm.lstm_step_forward",
        nudge="Check which gate multiplies which state, and the order of the four blocks along the 4H axis "
              "(the chapter's order, f, i, g, o); h_next uses the cell state of this step.",
        hint="Compute a = x @ Wx + h_prev @ Wh + b once, then sigmoid for f, i, o and tanh for g. "
             + _ORDER + " c_next = f * c_prev + i * g and h_next = o * tanh(c_next) (tanh of the NEW cell state)."),
    Exercise(
        name="lstm_step_backward", points=3, cases=_lstm_backward_cases,
        outputs=("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"),
        axes={"dx": ("row", "input"), "dh_prev": ("row", "unit"), "dc_prev": ("row", "unit"),
              "dWx": ("input", "gate column"), "dWh": ("unit", "gate column"), "db": ("gate column",)},
        library="rnnbook.lstm.lstm_step_backward", blocks={"dWx": _GATES, "dWh": _GATES, "db": _GATES},
        nudge="Follow the outputs that are wrong back through the graph: the cell state reaches the loss along "
              "two paths, and each gate's gradient passes through its own activation's derivative.",
        hint="Recompute the gates and c_next first. The cell-state gradient has two sources: "
             "dc = dc_next + dh_next * o * (1 - tanh(c_next)**2); then dc_prev = dc * f. Multiply each gate's "
             "gradient by its own activation's derivative (s * (1 - s) for sigmoid, 1 - g**2 for tanh), put "
             "them side by side in the order f, i, g, o and finish with the same four matrix products as the "
             "plain RNN."),
    Exercise(
        name="lstm_forward", points=2, cases=_lstm_forward_cases, outputs=("hs", "cs"),
        axes={"hs": ("row", "time", "unit"), "cs": ("row", "time", "unit")}, library="rnnbook.lstm.lstm_forward",
        nudge="Look at the first wrong time step: is everything that the step needs carried from the step before?",
        hint="Loop over t, calling your step function with xs[:, t], the previous h AND c (h0, c0 at t = 0), and "
             "store both states. If only time 0 is right, one of the two states is not being carried over."),
    Exercise(
        name="gru_step_forward", points=2, cases=_gru_step_cases, outputs=("h_next",),
        axes={"h_next": ("row", "unit")}, library="rnnbook.gru.gru_step_forward",
        nudge="Compare where the reset gate acts (before or after the product with Wh) and which of n and h_prev "
              "the update gate z keeps.",
        hint="Gates along the 3H axis in the order r, z, n. The reset gate multiplies h_prev @ Wh[:, 2H:] (after "
             "the product), the bias b is added on the input side only, and h_next = (1 - z) * n + z * h_prev."),
]

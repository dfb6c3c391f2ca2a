"""Graded exercises of chapter 3 (LSTM gates)."""
from __future__ import annotations


from .core import Exercise, Question


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


def _gru_backward_cases(rng):
    cases = []
    for N, D, H in [(1, 2, 1), (2, 3, 4), (5, 4, 3)]:
        cases.append({"dh_next": rng.standard_normal((N, H)), "x": rng.standard_normal((N, D)),
                      "h_prev": rng.standard_normal((N, H)) * 0.5,
                      "Wx": rng.standard_normal((D, 3 * H)) * 0.5, "Wh": rng.standard_normal((H, 3 * H)) * 0.5,
                      "b": rng.standard_normal(3 * H) * 0.3})
    return cases


def _fixed_gate_cases(rng):
    cases = []
    for (N, D, H), gate, value in zip([(1, 2, 1), (2, 3, 4), (5, 4, 3), (3, 2, 2)], "fiog", [1.0, 1.0, 1.0, 0.5]):
        cases.append({"x": rng.standard_normal((N, D)), "h_prev": rng.standard_normal((N, H)) * 0.5,
                      "c_prev": rng.standard_normal((N, H)), **_lstm_weights(rng, D, H), "gate": gate,
                      "value": value})
    return cases


def _coupled_cases(rng):
    cases = []
    for N, D, H in [(1, 2, 1), (2, 3, 4), (5, 4, 3)]:
        cases.append({"x": rng.standard_normal((N, D)), "h_prev": rng.standard_normal((N, H)) * 0.5,
                      "c_prev": rng.standard_normal((N, H)), "Wx": rng.standard_normal((D, 3 * H)) * 0.5,
                      "Wh": rng.standard_normal((H, 3 * H)) * 0.5, "b": rng.standard_normal(3 * H) * 0.3})
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
        name="gru_step_backward", points=3, cases=_gru_backward_cases,
        outputs=("dx", "dh_prev", "dWx", "dWh", "db"),
        axes={"dx": ("row", "input"), "dh_prev": ("row", "unit"), "dWx": ("input", "gate column"),
              "dWh": ("unit", "gate column"), "db": ("gate column",)},
        library="rnnbook.gru.gru_step_backward", blocks={"dWx": ("r", "z", "n"), "dWh": ("r", "z", "n"),
                                                         "db": ("r", "z", "n")},
        nudge="h_prev reaches h_next along three roads: directly through z * h_prev, through the gates r and z, "
              "and through the candidate's recurrent product. Which of them does a wrong output miss?",
        hint="Recompute ax = x @ Wx + b, ah = h_prev @ Wh, r, z and n. Then dn = dh * (1 - z), "
             "dz = dh * (h_prev - n), da_n = dn * (1 - n**2), dr = da_n * ah_n, da_r = dr * r * (1 - r), "
             "da_z = dz * z * (1 - z). The input side gets dax = [da_r, da_z, da_n]; the hidden side "
             "dah = [da_r, da_z, da_n * r] (r multiplies h_prev @ Wh_n after the product). "
             "dh_prev = dh * z + dah @ Wh.T, dx = dax @ Wx.T, dWx = x.T @ dax, dWh = h_prev.T @ dah, "
             "db = dax summed over the rows."),
    Exercise(
        name="lstm_step_fixed_gate", points=2, cases=_fixed_gate_cases, outputs=("h_next", "c_next"),
        axes={"h_next": ("row", "unit"), "c_next": ("row", "unit")},
        nudge="The fixed gate replaces one of f, i, o, g by a constant everywhere it is used; the other three "
              "are computed exactly as in an ordinary step.",
        hint="Compute the ordinary step's four gates, then overwrite the one named by gate ('f', 'i', 'g' or "
             "'o') with np.full_like(..., value) before c_next = f * c_prev + i * g and "
             "h_next = o * tanh(c_next)."),
    Exercise(
        name="coupled_lstm_step", points=2, cases=_coupled_cases, outputs=("h_next", "c_next"),
        axes={"h_next": ("row", "unit"), "c_next": ("row", "unit")},
        nudge="The coupled cell has three blocks, f, g, o, and no input gate of its own: what does it write "
              "with?",
        hint="a = x @ Wx + h_prev @ Wh + b with blocks f | g | o along 3H; f = sigmoid, g = tanh, o = sigmoid; "
             "the input gate is i = 1 - f, so c_next = f * c_prev + (1 - f) * g and h_next = o * tanh(c_next)."),
    Question(
        name="q_lstm_params", points=1, kind="number",
        prompt="how many trainable numbers a TimeLSTM with input size D = 8 and H = 32 units holds in Wx, Wh and b",
        explanation="Wx is (D, 4H) = 8 x 128 = 1024, Wh is (H, 4H) = 32 x 128 = 4096 and b is (4H,) = 128: "
                    "5248, four times an RNN layer of the same sizes (one block per gate and the candidate)."),
    Question(
        name="q_forget_left", points=1, kind="number", rtol=1e-2,
        prompt="an LSTM unit with forget bias 1 and every weight 0 (so f = sigmoid(1) at every step) and nothing "
               "written (i * g = 0): the fraction of its starting cell state c_0 left after 10 steps",
        explanation="Each step multiplies c by f = sigmoid(1) = 0.731, so after 10 steps 0.731**10 = 0.044 is "
                    "left: an untrained belt leaks, which is why learning has to push f towards 1 (section 3.4)."),
    Question(
        name="q_ablation_forgetting", points=1, kind="choice", options=("forget", "input", "output"),
        prompt="on the counting-since-the-last-reset task, removing which gate (fixing it at 1) hurts the LSTM most",
        explanation="The forget gate: at a reset the full LSTM wipes its counter with f = 0 in one step; with f "
                    "fixed at 1 it can only subtract at most 1 per step, and learns that slowly (section 3.7)."),
    Question(
        name="q_gru_lstm_ratio", points=1, kind="number",
        prompt="the number of trainable numbers of a TimeGRU divided by that of a TimeLSTM with the same D and H",
        explanation="Both hold one (D, H) block, one (H, H) block and one bias per gate or candidate: the GRU "
                    "has three (r, z, n), the LSTM four (f, i, g, o), so 3/4 = 0.75."),
]

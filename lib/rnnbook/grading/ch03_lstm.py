"""Graded exercises of chapter 3 (LSTM gates)."""
from __future__ import annotations

import numpy as np

from .core import Choice, Exercise, Experiment, Question


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


#: The fixed terms of the recall experiment: the learner chooses only the forget bias and the learning rate.
RECALL_TERMS = {"T": 100, "min_T": 5, "hidden_size": 16, "batch_size": 128, "steps": 300, "check_every": 10}


def train_recall(config, seed):
    """Train an LSTM on "recall the first symbol" at T = 100 with the learner's forget bias and learning rate
    (at most 300 Adam updates, :data:`RECALL_TERMS`) and return its test accuracy. Runs in the grader's
    sandboxed process, which holds no learner code."""
    if not isinstance(config, dict) or set(config) != {"forget_bias", "lr"}:
        got = sorted(config) if isinstance(config, dict) else type(config).__name__
        raise ValueError(f"recall_config should be a dict with exactly the keys 'forget_bias' and 'lr', got {got}")
    values = {}
    for key in ("forget_bias", "lr"):
        value = config[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
            raise ValueError(f"recall_config[{key!r}] should be a finite number, got {value!r}")
        values[key] = float(value)
    if not 0 < values["lr"] <= 1:
        raise ValueError(f"recall_config['lr'] should be a learning rate between 0 and 1, got {values['lr']}")
    from ..experiments import train_memory_task
    return train_memory_task("recall_first", "lstm", seed=seed, lr=values["lr"], forget_bias=values["forget_bias"],
                             **RECALL_TERMS)["accuracy"]


_ORDER = "The gates sit side by side along the 4H axis in the order f, i, g, o: f = a[:, :H], i = a[:, H:2H], " \
         "g = a[:, 2H:3H], o = a[:, 3H:]."

_GATES = ("f", "i", "g", "o")

EXERCISES = [
    Exercise(
        name="lstm_step_forward", points=2, cases=_lstm_step_cases, outputs=("h_next", "c_next"),
        axes={"h_next": ("row", "unit"), "c_next": ("row", "unit")}, library="rnnbook.lstm.lstm_step_forward",
        mistakes={"pytorch_order": "the first two blocks are read as i, f (PyTorch's order): this book's order "
                                   "along 4H is f, i, g, o",
                  "old_cell": "h_next reads the cell state of the previous step: it should read the cell "
                              "state this step has just computed"},
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
        mistakes={"no_tanh_derivative": "the gradient that reaches the cell state through h_next skips the "
                                        "derivative of the tanh that h_next applies to the cell",
                  "no_dc_next": "the cell-state gradient collects only what arrives through h_next: the "
                                "gradient dc_next that arrives along the belt itself is lost",
                  "dc_prev_without_f": "the gradient passed back to c_prev skips the factor that multiplies "
                                       "c_prev in the forward step"},
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
        mistakes={"c_not_carried": "every step starts from the initial cell state c0: the cell state of one "
                                   "step is not handed to the next",
                  "h_not_carried": "every step starts from the initial hidden state h0: the hidden state of one "
                                   "step is not handed to the next"},
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
        mistakes={"z_flipped": "these are the gradients of h_t = z * n + (1 - z) * h_prev, the update gate's "
                               "other convention: in this book z keeps the old state and 1 - z writes",
                  "no_direct_path": "dh_prev misses the road on which h_prev reaches h_next directly, "
                                    "scaled by the update gate"},
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
        mistakes={"preactivation": "the value is put in the gate's pre-activation, so the gate becomes "
                                   "sigmoid(value) (tanh(value) for g): the gate itself should be the value",
                  "pytorch_order": "the blocks are read in PyTorch's order i, f, g, o: this book's order along "
                                   "4H is f, i, g, o"},
        nudge="The fixed gate replaces one of f, i, o, g by a constant everywhere it is used; the other three "
              "are computed exactly as in an ordinary step.",
        hint="Compute the ordinary step's four gates, then overwrite the one named by gate ('f', 'i', 'g' or "
             "'o') with np.full_like(..., value) before c_next = f * c_prev + i * g and "
             "h_next = o * tanh(c_next)."),
    Exercise(
        name="coupled_lstm_step", points=2, cases=_coupled_cases, outputs=("h_next", "c_next"),
        axes={"h_next": ("row", "unit"), "c_next": ("row", "unit")},
        mistakes={"flipped": "the coupling is the wrong way round: f should multiply the old cell and 1 - f "
                             "the new content",
                  "uncoupled": "the same gate f scales both the old cell and the new content: the input gate "
                               "of the coupled cell is the complement of f"},
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
    Choice(
        name="c_belt_gradient", points=1, reveal_after=3,
        prompt="a unit has f = 0.999 and i = 0.001 at every step of a long stretch: what happens to the gradients "
               "in that stretch",
        options={
            "a": "i multiplies the new content g, not the old cell: the belt's only factor is f (dc_prev = dc * f), "
                 "so closing the input gate does not block the gradient along the belt",
            "b": "",
            "c": "the belt multiplies the gradient by f at every step, and f < 1: 0.999 ** 100 is about 0.90, a "
                 "slow decay; growing would need factors above 1, which a sigmoid never gives",
            "d": "the input gate's pre-activation gets da_i = dc * g * i * (1 - i), and i * (1 - i) is about 0.001 "
                 "when i = 0.001: a saturated gate passes almost no gradient to its own weights"},
        explanation="Along the belt the gradient is multiplied by f = 0.999 per step, so it survives (about 0.90 "
                    "after 100 steps). The input gate is saturated: i * (1 - i) is about 0.001, so its weights get "
                    "a thousandth of the gradient they would get at i = 0.5, and the unit is slow to learn to "
                    "write in that stretch."),
    Question(
        name="q_gru_lstm_ratio", points=1, kind="number",
        prompt="the number of trainable numbers of a TimeGRU divided by that of a TimeLSTM with the same D and H",
        explanation="Both hold one (D, H) block, one (H, H) block and one bias per gate or candidate: the GRU "
                    "has three (r, z, n), the LSTM four (f, i, g, o), so 3/4 = 0.75."),
    Choice(
        name="c_forget_bias_large", points=1, reveal_after=3,
        prompt="why not initialise the forget bias at 10, so that the belt starts fully open (f = 0.99995)",
        options={
            "a": "the belt multiplies the gradient by f < 1 at every step, so it cannot explode along the belt, "
                 "whatever the bias",
            "b": "the bias is learned, but the gradient that reaches it is scaled by f * (1 - f): about 0.2 at "
                 "bias 1, about 5e-5 at bias 10, so a bias of 10 barely moves",
            "c": "the input gate has its own bias (0 at initialisation): the forget bias changes f only",
            "d": ""},
        explanation="At bias 10 the forget gate is saturated: f * (1 - f) is about 5e-5, so the gradient reaching "
                    "the gate's weights and bias is tiny and the network can hardly learn to forget. And with "
                    "f close to 1 the cell adds up every write, so tanh(c) saturates too and little gradient "
                    "passes through h. Bias 1 (f = 0.73) keeps the belt fairly open and the gate trainable."),
    Experiment(
        name="recall_config", points=2, run=train_recall, target=0.95, seeds=(0, 1, 2), budget_s=60,
        unit="test accuracy",
        prompt="a forget-gate bias and a learning rate, recall_config = {'forget_bias': ..., 'lr': ...}, with "
               "which an LSTM of 16 units recalls the first symbol at T = 100 within 300 Adam updates",
        nudge="Within 300 updates the gradient from the last step has to reach the first one from the start: "
              "how much of it does the belt keep over 100 steps at initialisation?"),
]

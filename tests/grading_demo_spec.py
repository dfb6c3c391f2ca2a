"""A small chapter of its own for the grader's tests: one spec of every kind (``tests/test_grading_kinds.py``)."""
import numpy as np

from rnnbook.grading.core import Choice, Exercise, Experiment, Question


def _row_cases(rng):
    return [{"x": rng.standard_normal((2, 3))}, {"x": rng.standard_normal((3, 4)) * 10},
            {"x": rng.standard_normal((4, 5))}]


def slope_error(returned, seed):
    """How far the learner's fitted slope is from the true one (3), squared; in the grader."""
    return (float(np.asarray(returned, dtype=float).reshape(-1)[0]) - 3.0) ** 2


def descend(config, seed):
    """Twenty steps of gradient descent on (w - 3)^2 from w = 0 with the learner's learning rate: the distance
    left to the minimum. Runs in a process that holds no learner code."""
    lr, w = float(config["lr"]), 0.0
    for _ in range(20):
        w -= lr * 2 * (w - 3)
    return abs(w - 3)


EXERCISES = [
    Exercise(name="row_softmax", points=2, cases=_row_cases, outputs=("p",), axes={"p": ("row", "column")},
             nudge="Each row holds one example's scores.",
             hint="p = exp(x - max) / sum(exp(x - max)), the max and the sum over axis 1 with keepdims.",
             mistakes={"axis0": "the probabilities are normalised down the columns (axis 0): each ROW of p "
                                "should sum to 1"},
             absent=("rnnbook.functions.softmax",)),          # the library computes the same thing
    Question(name="q_sum", points=1, kind="number", prompt="what one row of p sums to",
             explanation="softmax turns scores into a distribution.", nudge="It is a probability distribution."),
    Choice(name="c_forget", points=1, prompt="which gate decides what the cell keeps from its old value",
           options={"f": "", "i": "the input gate scales what is WRITTEN (g), not what is kept of c_prev",
                    "o": "the output gate scales what is SHOWN of the cell as h, the cell itself keeps its value"},
           explanation="c = f * c_prev + i * g: f multiplies the old cell.", reveal_after=2),
    Experiment(name="fit_slope", points=2, prompt="a training function fit_slope(seed) that returns the slope",
               target=1e-3, lower_is_better=True, measure=slope_error, seeds=(0, 1), budget_s=10, unit="squared error",
               nudge="More steps, or a larger learning rate."),
    Experiment(name="lr_config", points=1, prompt="a learning rate lr_config = {'lr': ...} that converges",
               target=1e-3, lower_is_better=True, run=descend, budget_s=5),
]

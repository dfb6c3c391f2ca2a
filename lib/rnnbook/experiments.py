"""Small, seeded training experiments shared by the chapters (chapter 3).

:class:`SequenceClassifier` reads a whole sequence with a recurrent layer
(``"rnn"``, ``"lstm"`` or ``"gru"``) and classifies it from the last hidden
state. :func:`train_memory_task` trains one on a task of :mod:`rnnbook.data.memory`
(:data:`TASKS`) with Adam, stopping early once it is solved, and reports the
test accuracy and the learning curve; :func:`accuracy_grid` repeats that over
sequence lengths and seeds, so that every comparison in the book is averaged
over several seeds.
"""
from __future__ import annotations

import inspect

import numpy as np

from ._checks import check_array, check_positive_int
from .data.memory import count_since_reset, recall_first, recall_last_marked
from .functions import sigmoid
from .gru import TimeGRU
from .layers import Affine, SoftmaxCrossEntropy, collect
from .seeds import init_rng
from .lstm import TimeLSTM
from .models.lm import RECURRENT_LAYERS, recurrent_layer
from .optim import Adam
from .train import fit

__all__ = ["CELLS", "TASKS", "SequenceClassifier", "train_memory_task", "accuracy_grid", "keep_gate"]

#: The recurrent layers a :class:`SequenceClassifier` can use (the models' registry).
CELLS = RECURRENT_LAYERS


class SequenceClassifier:
    """Recurrent layer -> last hidden state -> affine -> softmax cross-entropy.

    Parameters
    ----------
    cell: ``"rnn"``, ``"lstm"`` or ``"gru"``.
    input_size, hidden_size, n_classes: ``D``, ``H`` and the number of classes.
    rng, dtype: initialisation seed/generator and parameter dtype.
    **cell_options: passed to the recurrent layer (e.g. ``forget_bias=0.0`` or
        ``fixed_gates={"f": 1.0}`` for an LSTM).
    """

    def __init__(self, cell: str, input_size: int, hidden_size: int, n_classes: int, *, rng=None,
                 dtype=np.float32, **cell_options):
        Recurrent = recurrent_layer(cell)
        rng = init_rng(rng)
        self.rnn = Recurrent(input_size, hidden_size, rng=rng, dtype=dtype, **cell_options)
        self.out = Affine(hidden_size, n_classes, rng=rng, dtype=dtype)
        self.loss_layer = SoftmaxCrossEntropy()
        self.params, self.grads = collect(self.rnn, self.out)
        self._hs_shape = None

    def predict(self, xs: np.ndarray) -> np.ndarray:
        """Class scores ``(N, n_classes)`` for sequences ``xs`` ``(N, T, D)``."""
        hs = self.rnn.forward(xs)
        self._hs_shape = hs.shape
        return self.out.forward(hs[:, -1])

    def forward(self, xs: np.ndarray, y: np.ndarray) -> float:
        """Mean cross-entropy of the predictions for ``xs`` against the labels ``y`` ``(N,)``."""
        y = check_array("y", y, shape=((xs.shape[0], "batch size N from xs"),), kind="int")
        return self.loss_layer.forward(self.predict(xs), y)

    def backward(self) -> None:
        """Fill ``grads`` (the gradient reaches the recurrent layer only at the last step)."""
        dlast = self.out.backward(self.loss_layer.backward())
        dhs = np.zeros(self._hs_shape, dtype=dlast.dtype)
        dhs[:, -1] = dlast
        self.rnn.backward(dhs)


#: The memory tasks of chapter 3, by name: ``task(n, T, rng=..., dtype=...) -> (xs, y)``.
TASKS = {"recall_first": recall_first, "recall_last_marked": recall_last_marked,
         "count_since_reset": count_since_reset}


def train_memory_task(task: str, cell: str, T: int, seed: int, *, hidden_size: int = 32, steps: int = 300,
                      batch_size: int = 32, lr: float = 1e-2, max_norm: float = 5.0, check_every: int = 25,
                      stop_at: float | None = 0.99, min_T: int | None = None, n_test: int = 512, dtype=np.float32,
                      return_model: bool = False, task_options: dict | None = None, **cell_options):
    """Train a :class:`SequenceClassifier` on one of the :data:`TASKS` and score it.

    Every step draws a fresh batch (so there is no overfitting to measure). Adam
    with global-norm clipping, at most ``steps`` updates; every ``check_every``
    updates the model is scored on a fixed validation batch of 256 sequences
    (the learning curve), and training stops early once that accuracy reaches
    ``stop_at`` (``None``: never). With ``min_T`` every training batch has a
    random length between ``min_T`` and ``T`` (a mix of easy and hard
    sequences); validation and test sequences always have length ``T``.
    Finally the model is scored on ``n_test`` new sequences. Everything is
    seeded by ``seed``.

    Returns
    -------
    dict with ``accuracy`` (test accuracy; chance is ``1 / n_symbols``),
    ``losses`` (training loss per step), ``curve`` (pairs of the updates done and
    the validation accuracy) and ``steps`` (updates done), plus ``model`` if ``return_model``.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {sorted(TASKS)}, got {task!r}")
    make = TASKS[task]
    options = dict(task_options or {})
    steps = check_positive_int("steps", steps)
    if min_T is not None and not 1 <= min_T <= T:
        raise ValueError(f"min_T must be between 1 and T = {T}, got {min_T}")
    check_every = check_positive_int("check_every", check_every)
    rng = np.random.default_rng(seed)
    xs_val, y_val = make(256, T, rng=np.random.default_rng(20_000 + seed), dtype=dtype, **options)
    n_classes = options.get("n_symbols", inspect.signature(make).parameters["n_symbols"].default)
    model = SequenceClassifier(cell, xs_val.shape[2], hidden_size, n_classes, rng=rng, dtype=dtype,
                               **cell_options)
    curve = []

    def batches(epoch):            # one "epoch" = `check_every` fresh batches, each counting once
        for _ in range(check_every):
            length = T if min_T is None else int(rng.integers(min_T, T + 1))
            yield make(batch_size, length, rng=rng, dtype=dtype, **options), 1

    def evaluate(state, mean_loss):
        curve.append((state.steps, float((model.predict(xs_val).argmax(axis=1) == y_val).mean())))
        if stop_at is not None and curve[-1][1] >= stop_at:
            state.finished = True

    state = fit(model, Adam(lr=lr), batches, epochs=-(-steps // check_every), max_steps=steps,
                max_norm=max_norm, on_epoch_end=evaluate, on_nonfinite="raise")
    xs, y = make(n_test, T, rng=np.random.default_rng(10_000 + seed), dtype=dtype, **options)
    result = {"accuracy": float((model.predict(xs).argmax(axis=1) == y).mean()),
              "losses": np.asarray(state.history["loss"], dtype=np.float64),
              "curve": np.array(curve), "steps": int(state.steps)}
    if return_model:
        result["model"] = model
    return result


def accuracy_grid(task: str, cell: str, lengths, seeds, *, progress=None, **kwargs) -> np.ndarray:
    """Test accuracy of :func:`train_memory_task` for every length and seed: ``(len(lengths), len(seeds))``.

    ``progress`` is an optional callable wrapping the iterable of runs (e.g. ``tqdm``).
    """
    runs = [(a, T, b, s) for a, T in enumerate(lengths) for b, s in enumerate(seeds)]
    out = np.empty((len(lengths), len(seeds)))
    for a, T, b, s in (progress(runs) if progress else runs):
        out[a, b] = train_memory_task(task, cell, T, s, **kwargs)["accuracy"]
    return out


def keep_gate(layer, xs: np.ndarray) -> np.ndarray:
    """The gate that decides how much of the old state a layer keeps, at every step: ``(N, T, H)``.

    For a :class:`~rnnbook.lstm.TimeLSTM` the forget gate ``f`` (the share of ``c_{t-1}`` kept; a
    fixed forget gate gives its constant), for a :class:`~rnnbook.gru.TimeGRU` the update gate ``z``
    (the share of ``h_{t-1}`` kept). Recomputed from the hidden states of a forward pass over
    ``xs`` ``(N, T, D)``: the pre-activations of all steps are one product each.
    """
    if not isinstance(layer, (TimeLSTM, TimeGRU)):
        raise TypeError(f"keep_gate needs a TimeLSTM or a TimeGRU, got {type(layer).__name__}")
    Wx, Wh, b = layer.params
    H = Wh.shape[0]
    hs = layer.forward(xs)
    h_prev = np.concatenate([np.zeros_like(hs[:, :1]), hs[:, :-1]], axis=1)
    block = slice(0, H) if isinstance(layer, TimeLSTM) else slice(H, 2 * H)    # f in f|i|g|o, z in r|z|n
    gate = sigmoid(xs @ Wx[:, block] + h_prev @ Wh[:, block] + b[block])
    if isinstance(layer, TimeLSTM) and "f" in layer.fixed_gates:
        gate = np.full_like(gate, layer.fixed_gates["f"])
    return gate

"""Small, seeded training experiments shared by the chapters (chapter 3).

:class:`SequenceClassifier` reads a whole sequence with a recurrent layer
(``"rnn"``, ``"lstm"`` or ``"gru"``) and classifies it from the last hidden
state. :func:`train_recall_first` trains one on :func:`rnnbook.data.memory.recall_first`
with Adam and reports the test accuracy; :func:`accuracy_grid` repeats that over
sequence lengths and seeds, so that every comparison in the book is averaged
over several seeds.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_positive_int
from .data.memory import recall_first
from .layers import Affine, SoftmaxCrossEntropy, collect, init_rng
from .models.lm import RECURRENT_LAYERS, recurrent_layer
from .optim import Adam
from .train import fit

__all__ = ["CELLS", "SequenceClassifier", "train_recall_first", "accuracy_grid"]

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


def train_recall_first(cell: str, T: int, seed: int, *, hidden_size: int = 32, n_symbols: int = 4,
                       n_distractors: int = 4,
                       steps: int = 300, batch_size: int = 32, lr: float = 1e-2, max_norm: float = 5.0,
                       n_test: int = 512, dtype=np.float32, return_model: bool = False, **cell_options):
    """Train a :class:`SequenceClassifier` on the recall-the-first-symbol task.

    Every step draws a fresh batch (so there is no overfitting to measure);
    the model is then scored on ``n_test`` new sequences. Adam with
    global-norm clipping, a fixed number of steps (one epoch of :func:`rnnbook.train.fit`),
    everything seeded by ``seed``.

    Returns
    -------
    dict with ``accuracy`` (test accuracy, chance is ``1 / n_symbols``) and
    ``losses`` (training loss per step), plus ``model`` if ``return_model``.
    """
    rng = np.random.default_rng(seed)
    model = SequenceClassifier(cell, n_symbols + n_distractors, hidden_size, n_symbols, rng=rng, dtype=dtype, **cell_options)
    steps = check_positive_int("steps", steps)

    def batches(epoch):            # one "epoch" of `steps` fresh batches, each counting once
        for _ in range(steps):
            yield recall_first(batch_size, T, n_symbols=n_symbols, n_distractors=n_distractors, rng=rng,
                               dtype=dtype), 1
    state = fit(model, Adam(lr=lr), batches, epochs=1, max_norm=max_norm, on_nonfinite="raise")
    losses = np.asarray(state.history["loss"], dtype=np.float64)
    xs, y = recall_first(n_test, T, n_symbols=n_symbols, n_distractors=n_distractors, rng=np.random.default_rng(10_000 + seed), dtype=dtype)
    accuracy = float((model.predict(xs).argmax(axis=1) == y).mean())
    result = {"accuracy": accuracy, "losses": losses}
    if return_model:
        result["model"] = model
    return result


def accuracy_grid(cell: str, lengths, seeds, *, progress=None, **kwargs) -> np.ndarray:
    """Test accuracy of :func:`train_recall_first` for every length and seed: ``(len(lengths), len(seeds))``.

    ``progress`` is an optional callable wrapping the iterable of runs (e.g. ``tqdm``).
    """
    runs = [(a, T, b, s) for a, T in enumerate(lengths) for b, s in enumerate(seeds)]
    out = np.empty((len(lengths), len(seeds)))
    for a, T, b, s in (progress(runs) if progress else runs):
        out[a, b] = train_recall_first(cell, T, s, **kwargs)["accuracy"]
    return out

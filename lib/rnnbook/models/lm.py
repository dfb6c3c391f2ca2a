"""A recurrent language model: embedding, recurrent layer, affine, softmax loss.

Data flow (batch-major)::

    ids (N, T) -> Embedding -> (N, T, D) -> TimeRNN -> (N, T, H)
               -> Affine -> logits (N, T, V) -> SoftmaxCrossEntropy -> loss
"""
from __future__ import annotations

import numpy as np

from .._checks import check_ids
from ..layers import Affine, Embedding, SoftmaxCrossEntropy, init_rng
from ..rnn import TimeRNN

__all__ = ["RNNLM"]


class RNNLM:
    """A one-layer recurrent language model that predicts the next token.

    Parameters
    ----------
    vocab_size, embed_size, hidden_size:
        ``V``, ``D`` and ``H``.
    stateful:
        Carry the hidden state from one ``forward`` call to the next
        (truncated BPTT); call :meth:`reset_state` to forget it.
    rng, dtype:
        Seed/generator for initialisation and the parameter dtype.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, *, stateful: bool = False,
                 rng=None, dtype=np.float32):
        rng = init_rng(rng)
        self.vocab_size = vocab_size
        self.embed = Embedding(vocab_size, embed_size, rng=rng, dtype=dtype)
        self.rnn = TimeRNN(embed_size, hidden_size, stateful=stateful, rng=rng, dtype=dtype)
        self.out = Affine(hidden_size, vocab_size, rng=rng, dtype=dtype)
        self.loss_layer = SoftmaxCrossEntropy()
        self.layers = [self.embed, self.rnn, self.out]
        self.params = [p for layer in self.layers for p in layer.params]
        self.grads = [g for layer in self.layers for g in layer.grads]

    def predict(self, ids: np.ndarray) -> np.ndarray:
        """Logits ``(N, T, V)`` for the next token after every position of ``ids`` ``(N, T)``."""
        ids = check_ids("ids", ids, self.vocab_size, ndim=2)
        return self.out.forward(self.rnn.forward(self.embed.forward(ids)))

    def forward(self, ids: np.ndarray, targets: np.ndarray) -> float:
        """Mean cross-entropy of predicting ``targets`` ``(N, T)`` from ``ids`` ``(N, T)``."""
        logits = self.predict(ids)
        return self.loss_layer.forward(logits, targets)

    def backward(self) -> None:
        """Fill ``grads`` with the gradient of the last ``forward`` loss."""
        d = self.loss_layer.backward()
        d = self.out.backward(d)
        d = self.rnn.backward(d)
        self.embed.backward(d)

    def reset_state(self) -> None:
        """Forget the carried hidden state."""
        self.rnn.reset_state()

"""A bidirectional LSTM encoder (Schuster and Paliwal, 1997), chapter 5's option for attention.

Two LSTMs read the same embedded source, one from the first token to the last and one from the last to
the first. At every position ``s`` the forward state has read ``x_1 .. x_s`` and the backward state
``x_s .. x_S``, so together they describe the whole source as seen from ``s``.

* :func:`bidirectional_encoder_forward`: the summary only, the two final states side by side ``(N, 2H)``.
* :class:`BiEncoder`: the layer used by :class:`rnnbook.models.seq2seq.AttentionSeq2Seq` with
  ``bidirectional=True``; its state at position ``s`` is the SUM of the forward and backward states there,
  so it keeps the width ``H`` that the dot-product attention and the decoder expect.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_ids, saved_by_forward
from .layers import Embedding, collect
from .lstm import TimeLSTM, lstm_step_forward
from .seeds import init_rng

__all__ = ["bidirectional_encoder_forward", "BiEncoder"]


def bidirectional_encoder_forward(src, E, Wx_f, Wh_f, b_f, Wx_b, Wh_b, b_b):
    """Embed ``src`` ``(N, S)`` with ``E`` ``(V, D)``; run one LSTM forward (weights ``*_f``) and one backward
    over the source (weights ``*_b``), both from zero states; return ``[h_forward, h_backward]`` ``(N, 2H)``:
    the forward state after the last token and the backward state after the first."""
    E = check_array("E", E, ndim=2, kind="float")
    src = check_ids("src", src, E.shape[0], ndim=2)
    N, S = src.shape
    finals = []
    for Wx, Wh, b, order in ((Wx_f, Wh_f, b_f, range(S)), (Wx_b, Wh_b, b_b, range(S - 1, -1, -1))):
        h = np.zeros((N, Wh.shape[0]), dtype=E.dtype)
        c = np.zeros_like(h)
        for t in order:
            h, c = lstm_step_forward(E[src[:, t]], h, c, Wx, Wh, b)
        finals.append(h)
    return np.concatenate(finals, axis=1)


class BiEncoder:
    """Embedding + a forward LSTM (``lstm``) + a backward LSTM (``lstm_back``). ``forward(src)`` keeps
    ``hs`` ``(N, S, H)``, the sum of the two states at every position, and returns its last row."""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, *, rng=None, dtype=np.float32):
        rng = init_rng(rng)
        self.embed = Embedding(vocab_size, embed_size, rng=rng, dtype=dtype)
        self.lstm = TimeLSTM(embed_size, hidden_size, rng=rng, dtype=dtype)
        self.lstm_back = TimeLSTM(embed_size, hidden_size, rng=rng, dtype=dtype)
        self.params, self.grads = collect(self.embed, self.lstm, self.lstm_back)
        self.hs = None

    def forward(self, src: np.ndarray) -> np.ndarray:
        src = check_ids("src", src, self.embed.params[0].shape[0], ndim=2)
        xs = self.embed.forward(src)
        back = self.lstm_back.forward(np.ascontiguousarray(xs[:, ::-1]))
        self.hs = self.lstm.forward(xs) + back[:, ::-1]
        return self.hs[:, -1]

    def backward(self, dh: np.ndarray | None = None, dhs: np.ndarray | None = None) -> None:
        """Backpropagate ``dh`` (gradient at the last state) and/or ``dhs`` (at every state). A sum passes its
        gradient unchanged to both terms: each LSTM runs backward from the same ``dhs``, the backward one in
        its own (reversed) time order, and the embedding receives the sum of the two input gradients."""
        saved_by_forward(self, self.hs)
        d = np.zeros_like(self.hs) if dhs is None else np.array(dhs, dtype=self.hs.dtype)
        if dh is not None:
            d[:, -1] += dh
        dxs_back = self.lstm_back.backward(np.ascontiguousarray(d[:, ::-1]))
        self.embed.backward(self.lstm.backward(d) + dxs_back[:, ::-1])

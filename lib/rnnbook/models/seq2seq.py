"""Sequence-to-sequence models: an LSTM encoder and plain, peeky and attention decoders (chapter 5).

Data layout (see :mod:`rnnbook.data.pairs`): ``src`` ``(N, S)`` int ids; ``tgt``
``(N, L)`` int ids starting with ``<s>``. The decoder reads ``tgt[:, :-1]``
(teacher forcing: at training time every step is fed the *correct* previous
token) and is trained to predict ``tgt[:, 1:]``; targets equal to ``pad_id``
are ignored by the loss.

Special tokens: ids 0, 1, 2 are always padding, start and end, here and in the captioner
(:mod:`rnnbook.data.pairs`, :mod:`rnnbook.data.captions`), so models and decoders share one
convention by id. Only their spellings differ, ``<s>``/``</s>`` for character pairs and
``<start>``/``<end>`` for caption words (where ``<s>`` would read like a word); the spellings
appear in committed notebook outputs, so they stay.

* :class:`Seq2Seq`: the encoder's last hidden state is the decoder's initial
  hidden state, and nothing else connects the two (Sutskever et al., 2014).
* :class:`PeekySeq2Seq`: the same vector is also concatenated to the decoder's
  input at every step and to the input of its output layer (Cho et al., 2014).
* :class:`AttentionSeq2Seq`: every decoder step reads a weighted average of *all*
  encoder states (:mod:`rnnbook.attention`).

Every model has ``params``, ``grads``, ``forward(src, tgt) -> loss``,
``backward()``, and for decoding ``start_state(src)`` and
``step(tokens, state) -> (log_probs, state)`` (the interface of
:mod:`rnnbook.decode`), plus ``generate(src, ...)`` (greedy).
"""
from __future__ import annotations

import numpy as np

from .._checks import check_array, check_id, check_ids, check_positive_int, is_integer, saved_by_forward
from ..attention import Attention, attention_forward
from ..bidirectional import BiEncoder
from ..bleu import exact_match as _exact_match
from ..decode import beam_search, greedy_decode
from ..functions import log_softmax
from ..layers import Affine, Embedding, SoftmaxCrossEntropy, collect
from ..seeds import init_rng
from ..lstm import TimeLSTM, lstm_step_forward

__all__ = ["encoder_forward", "peek_concat", "peek_concat_backward", "Encoder", "Decoder", "PeekyDecoder",
           "AttentionDecoder", "Decoding", "Seq2Seq", "PeekySeq2Seq", "AttentionSeq2Seq", "exact_match"]


# ----------------------------------------------------------------------------------------------- plain functions
def encoder_forward(src, E, Wx, Wh, b):
    """The encoder as one function: embed ``src`` ``(N, S)`` with ``E`` ``(V, D)``, run an LSTM from zero
    states (weights ``Wx`` ``(D, 4H)``, ``Wh`` ``(H, 4H)``, ``b`` ``(4H,)``, gates f, i, g, o) and return
    the last hidden state ``(N, H)``."""
    E = check_array("E", E, ndim=2, kind="float")
    src = check_ids("src", src, E.shape[0], ndim=2)
    N, S = src.shape
    H = Wh.shape[0]
    h = np.zeros((N, H), dtype=E.dtype)
    c = np.zeros((N, H), dtype=E.dtype)
    for t in range(S):
        h, c = lstm_step_forward(E[src[:, t]], h, c, Wx, Wh, b)
    return h


def peek_concat(xs, h):
    """Concatenate the same vector ``h`` ``(N, H)`` to every time step of ``xs`` ``(N, T, D)`` -> ``(N, T, D + H)``."""
    xs = check_array("xs", xs, ndim=3, kind="float")
    h = check_array("h", h, shape=((xs.shape[0], "batch size N from xs"), None), kind="float")
    N, T, D = xs.shape
    return np.concatenate([xs, np.broadcast_to(h[:, None, :], (N, T, h.shape[1]))], axis=-1)


def peek_concat_backward(dout, D):
    """Backward of :func:`peek_concat`: split ``dout`` ``(N, T, D + H)`` into ``dxs`` ``(N, T, D)`` and
    ``dh`` ``(N, H)``; ``h`` was used at every step, so its gradient is the sum over time."""
    dout = check_array("dout", dout, ndim=3, kind="float")
    if not is_integer(D) or not 0 <= D < dout.shape[2]:
        raise ValueError(f"D must be an integer in [0, {dout.shape[2]}) (the width of xs), got {D!r}")
    return dout[:, :, :D].copy(), dout[:, :, D:].sum(axis=1)


# -------------------------------------------------------------------------------------------------------- layers
class Encoder:
    """Embedding + LSTM. ``forward(src) -> h`` (the last hidden state ``(N, H)``); all states are kept in ``hs``."""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, *, rng=None, dtype=np.float32):
        rng = init_rng(rng)
        self.embed = Embedding(vocab_size, embed_size, rng=rng, dtype=dtype)
        self.lstm = TimeLSTM(embed_size, hidden_size, rng=rng, dtype=dtype)
        self.params, self.grads = collect(self.embed, self.lstm)
        self.hs = None

    def forward(self, src: np.ndarray) -> np.ndarray:
        src = check_ids("src", src, self.embed.params[0].shape[0], ndim=2)
        self.hs = self.lstm.forward(self.embed.forward(src))
        return self.hs[:, -1]

    def backward(self, dh: np.ndarray | None = None, dhs: np.ndarray | None = None) -> None:
        """Backpropagate ``dh`` (gradient at the last state) and/or ``dhs`` (at every state)."""
        saved_by_forward(self, self.hs)
        d = np.zeros_like(self.hs) if dhs is None else np.array(dhs, dtype=self.hs.dtype)
        if dh is not None:
            d[:, -1] += dh
        self.embed.backward(self.lstm.backward(d))


class Decoder:
    """Embedding + LSTM (initial state: the encoder's ``h``) + affine output layer."""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, *, rng=None, dtype=np.float32):
        rng = init_rng(rng)
        self.embed = Embedding(vocab_size, embed_size, rng=rng, dtype=dtype)
        self.lstm = TimeLSTM(embed_size, hidden_size, rng=rng, dtype=dtype)
        self.affine = Affine(hidden_size, vocab_size, rng=rng, dtype=dtype)
        self.params, self.grads = collect(self.embed, self.lstm, self.affine)

    def forward(self, ids: np.ndarray, h: np.ndarray) -> np.ndarray:
        """Teacher-forced logits ``(N, T, V)`` for input ids ``(N, T)`` from the encoder state ``h``."""
        return self.affine.forward(self.lstm.forward(self.embed.forward(ids), h0=h))

    def backward(self, dlogits: np.ndarray) -> np.ndarray:
        """Return the gradient with respect to the encoder state ``h``."""
        self.embed.backward(self.lstm.backward(self.affine.backward(dlogits)))
        return self.lstm.dh0

    def start_state(self, h):
        return (h, np.zeros_like(h))

    def step(self, tokens, state):
        h, c = state
        Wx, Wh, b = self.lstm.params
        h, c = lstm_step_forward(self.embed.params[0][tokens], h, c, Wx, Wh, b)
        W, bo = self.affine.params
        return log_softmax(h @ W + bo), (h, c)


class PeekyDecoder(Decoder):
    """A decoder that "peeks" at the encoder state ``h`` at every step.

    ``h`` is concatenated to the embedded input of every step (so the LSTM is
    ``TimeLSTM(D + H, H)``) and to every hidden state before the output layer
    (``Affine(2H, V)``).
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, *, rng=None, dtype=np.float32):
        rng = init_rng(rng)
        self.embed = Embedding(vocab_size, embed_size, rng=rng, dtype=dtype)
        self.lstm = TimeLSTM(embed_size + hidden_size, hidden_size, rng=rng, dtype=dtype)
        self.affine = Affine(2 * hidden_size, vocab_size, rng=rng, dtype=dtype)
        self.params, self.grads = collect(self.embed, self.lstm, self.affine)
        self.D, self.H = embed_size, hidden_size

    def forward(self, ids, h):
        hs = self.lstm.forward(peek_concat(self.embed.forward(ids), h), h0=h)
        return self.affine.forward(peek_concat(hs, h))

    def backward(self, dlogits):
        dhs, dh_out = peek_concat_backward(self.affine.backward(dlogits), self.H)
        dxs, dh_in = peek_concat_backward(self.lstm.backward(dhs), self.D)
        self.embed.backward(dxs)
        return self.lstm.dh0 + dh_out + dh_in

    def start_state(self, h):
        return (h, np.zeros_like(h), h)

    def step(self, tokens, state):
        h, c, peek = state
        Wx, Wh, b = self.lstm.params
        x = np.concatenate([self.embed.params[0][tokens], peek], axis=1)
        h, c = lstm_step_forward(x, h, c, Wx, Wh, b)
        W, bo = self.affine.params
        return log_softmax(np.concatenate([h, peek], axis=1) @ W + bo), (h, c, peek)


class AttentionDecoder:
    """LSTM decoder (initial state: the encoder's last state) whose output layer also reads an attention
    context over all encoder states: ``logits = [context_t, h_t] @ W + b``.

    ``mask`` (optional, boolean ``(N, S)``, in ``forward`` and ``start_state``): the encoder positions that
    may be attended to; ``None`` attends to all of them."""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, *, rng=None, dtype=np.float32):
        rng = init_rng(rng)
        self.embed = Embedding(vocab_size, embed_size, rng=rng, dtype=dtype)
        self.lstm = TimeLSTM(embed_size, hidden_size, rng=rng, dtype=dtype)
        self.attention = Attention()
        self.affine = Affine(2 * hidden_size, vocab_size, rng=rng, dtype=dtype)
        self.params, self.grads = collect(self.embed, self.lstm, self.affine)
        self.H = hidden_size

    def forward(self, ids, hs_enc, mask=None):
        hs = self.lstm.forward(self.embed.forward(ids), h0=hs_enc[:, -1])
        context = self.attention.forward(hs_enc, hs, mask)
        return self.affine.forward(np.concatenate([context, hs], axis=-1))

    def backward(self, dlogits):
        """Return the gradient with respect to all encoder states ``(N, S, H)``."""
        dout = self.affine.backward(dlogits)
        dcontext, dhs = dout[..., :self.H], dout[..., self.H:]
        dhs_enc, dhs_att = self.attention.backward(dcontext)
        self.embed.backward(self.lstm.backward(dhs + dhs_att))
        dhs_enc[:, -1] += self.lstm.dh0
        return dhs_enc

    def start_state(self, hs_enc, mask=None):
        """``(h, c, hs_enc)``, plus the mask when there is one (every state array has the batch on axis 0)."""
        h = hs_enc[:, -1]
        return (h, np.zeros_like(h), hs_enc) + (() if mask is None else (mask,))

    def step(self, tokens, state):
        h, c, hs_enc = state[:3]
        mask = state[3] if len(state) > 3 else None
        Wx, Wh, b = self.lstm.params
        h, c = lstm_step_forward(self.embed.params[0][tokens], h, c, Wx, Wh, b)
        _, context = attention_forward(hs_enc, h[:, None, :], mask)
        W, bo = self.affine.params
        return log_softmax(np.concatenate([context[:, 0], h], axis=1) @ W + bo), (h, c) + tuple(state[2:])


# -------------------------------------------------------------------------------------------------------- models
class Decoding:
    """The decoding glue shared by :class:`Seq2Seq` and :class:`rnnbook.models.captioner.Captioner`.

    A subclass has a ``decoder`` with ``step`` and a ``start_state(inputs)`` method (``inputs``: the source
    ids or the images); this adds the interface of :mod:`rnnbook.decode` and greedy and beam decoding.
    """

    def step(self, tokens, state):
        """One decoding step: ``(tokens (B,), state) -> (log_probs (B, V), new state)``."""
        return self.decoder.step(tokens, state)

    def generate(self, inputs, start_id: int, max_len: int, end_id: int | None = None) -> np.ndarray:
        """Greedy decoding of a batch of ``inputs`` -> ids ``(N, max_len)``."""
        return greedy_decode(self.step, self.start_state(inputs), start_id, max_len, end_id)

    def beam_search(self, inputs, start_id: int, max_len: int, beam_width: int, end_id: int | None = None, *,
                    length_alpha: float = 0.0):
        """Beam-search decoding of a batch of ``inputs`` -> ``(ids (N, max_len), scores (N,))``
        (``length_alpha``: length normalisation of the final choice, see :func:`rnnbook.decode.beam_search`)."""
        return beam_search(self.step, self.start_state(inputs), start_id, max_len, beam_width, end_id,
                           length_alpha=length_alpha)


class Seq2Seq(Decoding):
    """Encoder-decoder: the encoder's last hidden state is the decoder's initial hidden state.

    Parameters
    ----------
    vocab_size, embed_size, hidden_size:
        ``V`` (shared by source and target), ``D``, ``H``.
    pad_id:
        Target id ignored by the loss (``<pad>``).
    rng, dtype:
        Initialisation seed/generator; parameter dtype (float32 by default, float64 for gradient checks).
    """

    decoder_class = Decoder
    encoder_class = Encoder

    def __init__(self, vocab_size: int, embed_size: int = 16, hidden_size: int = 64, *, pad_id: int = 0,
                 rng=None, dtype=np.float32):
        V = check_positive_int("vocab_size", vocab_size)
        check_positive_int("embed_size", embed_size)
        check_positive_int("hidden_size", hidden_size)
        check_id("pad_id", pad_id, -1, V)
        rng = init_rng(rng)
        self.vocab_size, self.pad_id = V, int(pad_id)
        self.encoder = self.encoder_class(V, embed_size, hidden_size, rng=rng, dtype=dtype)
        self.decoder = self.decoder_class(V, embed_size, hidden_size, rng=rng, dtype=dtype)
        self.loss_layer = SoftmaxCrossEntropy(ignore_index=self.pad_id)
        self.params, self.grads = collect(self.encoder, self.decoder)

    def _check(self, src, tgt):
        src = check_ids("src", src, self.vocab_size, ndim=2)
        tgt = check_ids("tgt", tgt, self.vocab_size, ndim=2)
        if tgt.shape[0] != src.shape[0]:
            raise ValueError(f"src and tgt must have the same batch size, got {src.shape[0]} and {tgt.shape[0]}")
        if tgt.shape[1] < 2:
            raise ValueError(f"tgt must have at least 2 columns (<s> and one target), got shape {tgt.shape}")
        return src, tgt

    def _encode(self, src):
        return self.encoder.forward(src)

    def forward(self, src: np.ndarray, tgt: np.ndarray) -> float:
        """Mean cross-entropy of predicting ``tgt[:, 1:]`` from ``src`` and ``tgt[:, :-1]``."""
        src, tgt = self._check(src, tgt)
        logits = self.decoder.forward(tgt[:, :-1], self._encode(src))
        return self.loss_layer.forward(logits, tgt[:, 1:])

    def backward(self) -> None:
        self.encoder.backward(dh=self.decoder.backward(self.loss_layer.backward()))

    def start_state(self, src):
        """The decoder's initial state for ``src`` (a tuple of arrays, batch first)."""
        src = check_ids("src", src, self.vocab_size, ndim=2)
        return self.decoder.start_state(self._encode(src))



class PeekySeq2Seq(Seq2Seq):
    """:class:`Seq2Seq` with a :class:`PeekyDecoder`."""

    decoder_class = PeekyDecoder


class AttentionSeq2Seq(Seq2Seq):
    """:class:`Seq2Seq` with an :class:`AttentionDecoder` that reads all encoder states.

    With ``mask_padding=True`` (the default) the source positions holding ``pad_id`` get attention
    weight 0; ``mask_padding=False`` attends to every position, padding included. With
    ``bidirectional=True`` the encoder is a :class:`rnnbook.bidirectional.BiEncoder`: every encoder state is
    the sum of a forward and a backward LSTM's states at that position (the decoder starts from the last
    one, as before). The other parameters are those of :class:`Seq2Seq`.
    """

    decoder_class = AttentionDecoder

    def __init__(self, vocab_size: int, embed_size: int = 16, hidden_size: int = 64, *, pad_id: int = 0,
                 mask_padding: bool = True, bidirectional: bool = False, rng=None, dtype=np.float32):
        self.encoder_class = BiEncoder if bidirectional else Encoder
        super().__init__(vocab_size, embed_size, hidden_size, pad_id=pad_id, rng=rng, dtype=dtype)
        self.mask_padding = bool(mask_padding)

    def _encode(self, src):
        self.encoder.forward(src)
        return self.encoder.hs

    def _mask(self, src):
        return (src != self.pad_id) if self.mask_padding else None

    def forward(self, src: np.ndarray, tgt: np.ndarray) -> float:
        src, tgt = self._check(src, tgt)
        logits = self.decoder.forward(tgt[:, :-1], self._encode(src), self._mask(src))
        return self.loss_layer.forward(logits, tgt[:, 1:])

    def backward(self) -> None:
        self.encoder.backward(dhs=self.decoder.backward(self.loss_layer.backward()))

    def start_state(self, src):
        src = check_ids("src", src, self.vocab_size, ndim=2)
        return self.decoder.start_state(self._encode(src), self._mask(src))

    def attention_weights(self, src, tgt) -> np.ndarray:
        """Attention weights ``(N, T, S)`` when the decoder reads ``tgt[:, :-1]`` (e.g. ``<s>`` + its own output)."""
        self.forward(src, tgt)
        return self.decoder.attention.weights.copy()


# ------------------------------------------------------------------------------------------------------ training
def exact_match(references: list[str], hypotheses: list[str]) -> float:
    """Fraction of decoded strings equal to their reference: :func:`rnnbook.bleu.exact_match` (same argument
    order, references first) with one reference string per hypothesis."""
    for name, strings in (("references", references), ("hypotheses", hypotheses)):
        if not isinstance(strings, (list, tuple)) or not all(isinstance(x, str) for x in strings):
            raise TypeError(f"{name} must be a list of strings")
    return _exact_match([[list(r)] for r in references], [list(h) for h in hypotheses])

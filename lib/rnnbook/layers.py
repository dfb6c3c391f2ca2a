"""The non-recurrent layers (affine maps, embeddings, softmax with loss, dropout) and the layer contract.

**The layer contract.** Every layer of :mod:`rnnbook` (these, the time layers of :mod:`.rnn`, :mod:`.lstm` and
:mod:`.gru`, :class:`.attention.Attention`, the layers of :mod:`.conv` and of ``rnnbook.models``) follows the contract
of the classic NumPy textbooks:

* ``params``: a list of parameter arrays, updated in place by the optimizers of :mod:`.optim`;
  ``grads``: a list of arrays of the same shapes, in the same order. A layer without parameters has
  two empty lists. A model's lists are its layers' lists concatenated (:func:`collect`).
* ``forward(*inputs)`` returns the output and remembers what ``backward`` needs (one forward, then
  one backward: a second forward replaces the cache).
* ``backward(dout)`` takes the gradient of the loss with respect to the output (same shape) and
  *overwrites* ``grads`` (it never adds to them, so no zeroing between steps is needed). It returns
  the gradient with respect to the input; with several array inputs, a tuple in the order of
  ``forward``'s arguments (``Attention.backward -> (dhs_enc, dhs_dec)``). Integer inputs (token
  ids) have no gradient: ``Embedding.backward`` returns ``None``, and so does a layer whose input
  needs none (the captioner's ``CNNEncoder``, whose first convolution skips it). A part with several
  outputs takes one keyword gradient per output and any subset of them: the seq2seq ``Encoder`` returns
  its last state and keeps all states, so its ``backward(dh=None, dhs=None)`` takes the gradient at
  the last state, at every state, or both.
* Optional *initial states* are keyword inputs of the time layers (``forward(xs, h0=None)``; the
  LSTM also takes ``c0``): their gradients are not returned but stored on attributes named after
  them, ``dh0`` and ``dc0``, because most callers start from zeros and do not need them (an encoder
  feeding a decoder reads ``decoder.lstm.dh0``). Symmetrically, their ``backward(dhs, dh_last=None)``
  takes an optional extra upstream gradient for the last state.
* **Training and evaluation mode.** A layer or model whose ``forward`` differs between training and
  evaluation (dropout) takes a keyword ``train`` (``True`` by default) and declares it with the class
  attribute ``has_train_mode = True``; :func:`rnnbook.train.evaluate_perplexity` passes ``train=False``
  to a model that declares it. Every other layer behaves the same in both modes.
* A loss layer's ``forward(logits, targets)`` returns a Python float; its ``backward(dout=1.0)``
  returns ``dlogits``. A model's ``forward(*batch)`` returns the mean loss and its ``backward()``
  (no argument) fills every ``grads``; :func:`rnnbook.train.train_step` relies on nothing else.
* **Weight tying** (:class:`TiedAffine`): the output layer reuses the embedding's matrix, whose
  gradient then has two parts. The embedding's ``backward`` writes its part (overwriting, as
  always) and runs last, so the model then calls :meth:`TiedAffine.add_to_embedding` to add the
  output layer's part: the one place where a gradient is added, and it is a separate call so that
  the overwrite rule holds for every ``backward``.
* **Stateful time layers** (``stateful=True``) carry their last state into the next ``forward``.
  When the batch size changes, the carried state (one row per sequence) cannot continue the new
  rows: the layer then starts from zeros, as after ``reset_state()`` (documented and tested
  behaviour, not an error). Call ``reset_state()`` explicitly between unrelated texts.

The *plain functions* (``rnn_step_backward``, ``lstm_backward``, ``attention_backward``,
``conv_backward``, ``init_state_backward`` ...) take the upstream gradient **first**, then the
forward's inputs in the forward's order; a forward output follows where the derivation is written
in terms of it (``rnn_step_backward`` takes ``h_next`` for ``1 - h_next ** 2``,
``attention_backward`` the weights), otherwise the function recomputes what it needs. The one
exception is :mod:`.autograd`, whose local rules (``mul_backward(a, b, grad_out)``) put the
upstream gradient last: the appendix derives them as functions of the operation's inputs and its
exercises are graded with that signature, which does not change.

Layers accept any number of leading axes where it makes sense, so the same ``Affine`` serves a
batch ``(N, D)`` and a batch of sequences ``(N, T, D)``. Public APIs are batch-major.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_ids, check_loss_args, check_positive_int, check_same_dtype, saved_by_forward
from .backend import array_module, is_cupy, scatter_add, to_device
from .seeds import init_rng

__all__ = ["Affine", "TiedAffine", "Embedding", "SoftmaxCrossEntropy", "Dropout", "collect"]


def collect(*layers) -> tuple[list, list]:
    """The ``params`` and ``grads`` lists of a model made of ``layers``, in order (the same arrays, not copies)."""
    params, grads = [], []
    for layer in layers:
        params += layer.params
        grads += layer.grads
    return params, grads


class Affine:
    """``y = x @ W + b`` applied to the last axis of ``x``.

    Leading axes are flattened first, so that an input of shape ``(N, T, in_size)``
    costs one large matrix product instead of ``N`` small ones.

    Parameters
    ----------
    in_size, out_size : int
        Sizes of the last axis of the input and output.
    rng : int, numpy.random.Generator or None
        Seed or generator for the initialisation: ``W`` is drawn from a normal
        distribution with variance ``1 / in_size``.
    dtype : numpy dtype
        Floating dtype of the parameters (``float32`` by default; use
        ``float64`` for gradient checks).
    """

    def __init__(self, in_size: int, out_size: int, *, rng=None, dtype=np.float32):
        in_size = check_positive_int("in_size", in_size)
        out_size = check_positive_int("out_size", out_size)
        rng = init_rng(rng)
        W = (rng.standard_normal((in_size, out_size)) / np.sqrt(in_size)).astype(dtype)
        b = np.zeros(out_size, dtype=dtype)
        self.params = [to_device(W), to_device(b)]          # on the GPU after rnnbook.use_gpu()
        self.grads = [array_module(p).zeros_like(p) for p in self.params]
        self._x = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Map ``x`` of shape ``(..., in_size)`` to ``(..., out_size)``."""
        W, b = self.params
        x = check_array("x", x, kind="float")
        if x.ndim < 1 or x.shape[-1] != W.shape[0]:
            raise ValueError(f"x must have shape (..., {W.shape[0]}), got {x.shape}")
        check_same_dtype("x", x, W.dtype)
        self._x = x
        out = x.reshape(-1, W.shape[0]) @ W
        out += b
        return out.reshape(x.shape[:-1] + (W.shape[1],))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Return ``dL/dx`` and store ``dL/dW``, ``dL/db`` in ``grads``."""
        saved_by_forward(self, self._x)
        W, _ = self.params
        x2 = self._x.reshape(-1, W.shape[0])
        d2 = dout.reshape(-1, W.shape[1])
        array_module(d2).matmul(x2.T, d2, out=self.grads[0])
        d2.sum(axis=0, out=self.grads[1])
        return (d2 @ W.T).reshape(self._x.shape)


class TiedAffine:
    """An output layer that reuses an :class:`Embedding`'s matrix: ``y = x @ E.T + b``.

    Weight tying (Press & Wolf, 2017; Inan et al., 2017): the embedding maps a
    token to a vector and the output layer scores a vector against every token,
    so both can use the same ``(V, D)`` matrix ``E``. It saves ``V * D``
    parameters and often improves perplexity. ``E``'s gradient then has two
    parts: :meth:`backward` keeps this layer's part, and :meth:`add_to_embedding`,
    called after the embedding's ``backward`` (which overwrites its gradient),
    adds it to the embedding's gradient.

    ``params`` holds only the bias: ``E`` is owned by the embedding.
    """

    def __init__(self, embedding: "Embedding"):
        if not isinstance(embedding, Embedding):
            raise TypeError(f"TiedAffine needs the Embedding whose matrix it shares, got {type(embedding).__name__}")
        self.embedding = embedding
        E = embedding.params[0]
        xp = array_module(E)
        self.params = [xp.zeros(E.shape[0], dtype=E.dtype)]
        self.grads = [xp.zeros_like(self.params[0])]
        self._x = None
        self._dE = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Map ``x`` ``(..., D)`` to logits ``(..., V)``."""
        E = self.embedding.params[0]
        x = check_array("x", x, kind="float")
        if x.ndim < 1 or x.shape[-1] != E.shape[1]:
            raise ValueError(f"x must have shape (..., {E.shape[1]}) (the embedding size), got {x.shape}")
        check_same_dtype("x", x, E.dtype)
        self._x = x
        out = x.reshape(-1, E.shape[1]) @ E.T
        out += self.params[0]
        return out.reshape(x.shape[:-1] + (E.shape[0],))

    def backward(self, dout: np.ndarray) -> np.ndarray:
        """Return ``dL/dx``; store ``dL/db`` and keep ``dL/dE`` for :meth:`add_to_embedding`."""
        saved_by_forward(self, self._x)
        E = self.embedding.params[0]
        x2 = self._x.reshape(-1, E.shape[1])
        d2 = dout.reshape(-1, E.shape[0])
        d2.sum(axis=0, out=self.grads[0])
        self._dE = d2.T @ x2
        return (d2 @ E).reshape(self._x.shape)

    def add_to_embedding(self) -> None:
        """Add this layer's share of ``dL/dE`` to the embedding's gradient (after its backward)."""
        if self._dE is None:
            raise RuntimeError("TiedAffine.add_to_embedding called before backward")
        self.embedding.grads[0] += self._dE


class Embedding:
    """Look up a row of ``W`` for every token id: ``(...,) int -> (..., D)``.

    An embedding is an affine layer applied to a one-hot vector, computed
    without ever building the one-hot vector: row ``i`` of ``W`` *is*
    ``onehot(i) @ W``.
    """

    def __init__(self, vocab_size: int, embed_size: int, *, rng=None, dtype=np.float32):
        vocab_size = check_positive_int("vocab_size", vocab_size)
        embed_size = check_positive_int("embed_size", embed_size)
        rng = init_rng(rng)
        W = (rng.standard_normal((vocab_size, embed_size)) * 0.1).astype(dtype)
        self.params = [to_device(W)]                        # on the GPU after rnnbook.use_gpu()
        self.grads = [array_module(self.params[0]).zeros_like(self.params[0])]
        self._ids = None

    def forward(self, ids: np.ndarray) -> np.ndarray:
        """Return ``W[ids]``."""
        W = self.params[0]
        ids = array_module(W).asarray(check_ids("ids", ids, W.shape[0]))   # token ids go where W is
        self._ids = ids
        return W[ids]

    def backward(self, dout: np.ndarray) -> None:
        """Scatter-add ``dout`` into the rows of ``dW`` that were looked up.

        A token used several times receives the sum of its gradients, which is
        why ``np.add.at`` (unbuffered) is used instead of ``dW[ids] += dout``.
        Token ids have no gradient, so nothing is returned.
        """
        saved_by_forward(self, self._ids)
        dW = self.grads[0]
        dW[...] = 0
        scatter_add(dW, self._ids.reshape(-1), dout.reshape(-1, dW.shape[1]))   # np.add.at (cupyx on the GPU)
        return None


class SoftmaxCrossEntropy:
    """Softmax followed by the mean cross-entropy loss, fused for stability and speed.

    ``forward(logits, targets)`` returns the mean of ``-log softmax(logits)[target]``
    over all positions whose target is not ``ignore_index`` (padding).
    ``backward()`` returns ``(softmax(logits) - onehot(targets)) / count``.

    It computes what :func:`rnnbook.lm_ops.softmax_cross_entropy` computes (the plain function, the
    one implementation the other loss functions call), fused for speed: the softmax is formed once, in
    place, and kept for ``backward``; the tests check that both agree. The ignored id is called
    ``ignore_index`` in the loss functions (any id) and ``pad_id`` in the models and in
    :func:`rnnbook.models.captioner.masked_cross_entropy` (the ``<pad>`` id they ignore); the two
    names mean the same argument.
    """

    def __init__(self, ignore_index: int = -1):
        self.params, self.grads = [], []
        self.ignore_index = ignore_index
        self._cache = None

    def forward(self, logits: np.ndarray, targets: np.ndarray) -> float:
        logits, targets, count = check_loss_args(logits, targets, self.ignore_index)
        V = logits.shape[-1]
        xp = array_module(logits)
        x = logits.reshape(-1, V)
        t = xp.asarray(targets).reshape(-1)                 # targets go where the logits are
        mask = t != self.ignore_index
        # softmax, computed once and kept for backward
        p = x - x.max(axis=1, keepdims=True)
        xp.exp(p, out=p)
        p /= p.sum(axis=1, keepdims=True)
        rows = xp.arange(t.size)
        safe_t = xp.where(mask, t, 0)
        picked = p[rows, safe_t]
        # log of a probability that underflowed to 0 would be -inf: floor it at the dtype's tiny
        nll = -xp.log(xp.maximum(picked, np.finfo(p.dtype).tiny))
        loss = float(nll[mask].sum() / count)
        self._cache = (p, safe_t, mask, count, logits.shape)
        return loss

    def backward(self, dout: float = 1.0) -> np.ndarray:
        p, t, mask, count, shape = saved_by_forward(self, self._cache)
        scale = (mask * (dout / count)).astype(p.dtype)           # 0 at padding, dout / count elsewhere
        rows = array_module(p).arange(t.size)
        dx = p * scale[:, None]                                   # (p - onehot) * scale, in one pass ...
        dx[rows, t] = (p[rows, t] - 1) * scale                    # ... with the target entries fixed up
        return dx.reshape(shape)


class Dropout:
    """Inverted dropout: zero each unit with probability ``p`` during training.

    Surviving units are scaled by ``1 / (1 - p)`` so the expected activation is
    unchanged, and evaluation (``train=False``) is the identity.
    """

    has_train_mode = True

    def __init__(self, p: float = 0.5, *, rng=None):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability p must be in [0, 1), got {p}")
        self.p = float(p)
        self.rng = init_rng(rng)
        self.params, self.grads = [], []
        self._mask = None

    def forward(self, x: np.ndarray, train: bool = True) -> np.ndarray:
        x = check_array("x", x, kind="float")
        if not train or self.p == 0.0:
            self._mask = None
            return x
        dtype = np.float64 if x.dtype == np.float64 else np.float32
        xp = array_module(x)
        if is_cupy(xp):
            # on the GPU, drawn there by CuPy's generator, seeded from this layer's NumPy generator:
            # reproducible for a seed, but not the same masks as on the CPU
            keep = xp.random.default_rng(int(self.rng.integers(2 ** 63))).random(x.shape, dtype=dtype)
        else:
            keep = xp.asarray(self.rng.random(x.shape, dtype=dtype))
        self._mask = (keep >= self.p).astype(x.dtype) / x.dtype.type(1.0 - self.p)
        return x * self._mask

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout if self._mask is None else dout * self._mask

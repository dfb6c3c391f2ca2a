"""A language model's non-recurrent steps on a whole ``(N, T)`` block, as plain functions (chapter 4).

These are the computations inside :class:`rnnbook.layers.Embedding`,
:class:`rnnbook.layers.SoftmaxCrossEntropy` and :class:`rnnbook.layers.TiedAffine`, written as
functions with explicit arguments (the form the chapter derives them in and the exercises ask
for), plus the perplexity of a corpus evaluated in batches. The layers are what models use; the
tests check that both agree.

Shapes: token ids ``(N, T)``, embedding matrix ``W`` or ``E`` ``(V, D)``, embedded inputs and
their gradients ``(N, T, D)``, logits ``(N, T, V)``.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_ids, check_loss_args, check_positive_int

__all__ = ["embedding_forward", "embedding_backward", "softmax_cross_entropy", "perplexity_from_losses",
           "tied_embedding_grad"]


def embedding_forward(ids, W) -> np.ndarray:
    """Look up the rows of ``W`` ``(V, D)`` for token ids ``ids`` of any shape: returns ``W[ids]``."""
    W = check_array("W", W, ndim=2, kind="float")
    ids = check_ids("ids", ids, W.shape[0])
    return W[ids]


def embedding_backward(dout, ids, vocab_size: int) -> np.ndarray:
    """Gradient of the embedding matrix: scatter-add every ``dout`` vector into the row of its token.

    Parameters
    ----------
    dout
        Array ``ids.shape + (D,)``: the gradient arriving at the looked-up vectors.
    ids
        The token ids of the forward pass.
    vocab_size
        ``V``.

    Returns
    -------
    dW : array ``(V, D)``
        A token that occurs several times receives the *sum* of its gradients; rows of tokens
        that do not occur are zero.
    """
    check_positive_int("vocab_size", vocab_size)
    ids = check_ids("ids", ids, int(vocab_size))
    dout = check_array("dout", dout, kind="float")
    if dout.shape[:-1] != ids.shape or dout.ndim != ids.ndim + 1:
        raise ValueError(f"dout must have shape ids.shape + (D,) = {ids.shape} + (D,), got {dout.shape}")
    dW = np.zeros((int(vocab_size), dout.shape[-1]), dtype=dout.dtype)
    np.add.at(dW, ids.reshape(-1), dout.reshape(-1, dout.shape[-1]))
    return dW


def softmax_cross_entropy(logits, targets, ignore_index: int = -1):
    """Mean cross-entropy over the non-ignored positions, and its gradient.

    Parameters
    ----------
    logits
        Float array ``(..., V)``.
    targets
        Int array of shape ``logits.shape[:-1]``, each in ``[0, V)`` or equal to ``ignore_index``
        (padding: such positions add nothing to the loss and get a zero gradient).
    ignore_index
        The padding id.

    Returns
    -------
    loss : float
        ``-mean log softmax(logits)[target]`` over the ``M`` counted positions.
    dlogits : array like ``logits``
        ``(softmax(logits) - onehot(target)) / M`` at counted positions, 0 at ignored ones.
    """
    logits, targets, count = check_loss_args(logits, targets, ignore_index)
    mask = targets != ignore_index
    z = logits - logits.max(axis=-1, keepdims=True)
    log_p = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    safe = np.where(mask, targets, 0)
    picked = np.take_along_axis(log_p, safe[..., None], axis=-1)[..., 0]
    loss = float(-(picked * mask).sum() / count)
    d = np.exp(log_p)
    np.put_along_axis(d, safe[..., None], np.take_along_axis(d, safe[..., None], axis=-1) - 1, axis=-1)
    d *= (mask / count)[..., None]
    return loss, d.astype(logits.dtype, copy=False)


def perplexity_from_losses(losses, counts) -> float:
    """Perplexity of a corpus evaluated in batches: ``exp(sum(loss_b * count_b) / sum(count_b))``.

    Parameters
    ----------
    losses
        1-D array: the *mean* cross-entropy (nats per token) of each batch.
    counts
        1-D array of the same length: the number of tokens each mean was taken over.

    Notes
    -----
    Each batch's mean is weighted by its token count (a short last batch counts less), and the
    exponential is taken once, of the overall mean. The mean of the per-batch perplexities is not
    the corpus's perplexity (it is larger, by Jensen's inequality).
    """
    losses = check_array("losses", losses, ndim=1)
    counts = check_array("counts", counts, shape=((losses.shape[0], "one count per loss"),))
    if losses.size == 0:
        raise ValueError("losses is empty: no batch to average")
    if (counts < 0).any() or counts.sum() <= 0:
        raise ValueError("counts must be non-negative with a positive total")
    return float(np.exp(np.sum(losses * counts) / np.sum(counts)))


def tied_embedding_grad(ids, d_embedded, hs, dlogits) -> np.ndarray:
    """Gradient of a matrix ``E`` ``(V, D)`` used both as embedding and (tied) as output layer.

    The model computes ``x = E[ids]`` at the input and ``logits = hs @ E.T + b`` at the output, so
    ``E`` receives two gradients that add up: the embedding's scatter-add of ``d_embedded`` and the
    output layer's ``dlogits^T hs`` (summed over every position).

    Parameters
    ----------
    ids
        Int array ``(N, T)``.
    d_embedded
        Array ``(N, T, D)``: the gradient at ``E[ids]``.
    hs
        Array ``(N, T, D)``: the output layer's input.
    dlogits
        Array ``(N, T, V)``: the gradient at the logits.

    Returns
    -------
    dE : array ``(V, D)``
    """
    dlogits = check_array("dlogits", dlogits, ndim=3, kind="float")
    V = dlogits.shape[-1]
    hs = check_array("hs", hs, shape=((dlogits.shape[0], "N from dlogits"), (dlogits.shape[1], "T from dlogits"),
                                      None), kind="float")
    dE = embedding_backward(d_embedded, ids, V)
    if dE.shape[1] != hs.shape[2]:
        raise ValueError(f"d_embedded has D = {dE.shape[1]} but hs has D = {hs.shape[2]}: tying needs one size")
    dE += dlogits.reshape(-1, V).T @ hs.reshape(-1, hs.shape[2])
    return dE

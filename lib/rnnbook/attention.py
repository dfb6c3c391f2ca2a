"""Dot-product attention over the encoder's hidden states (chapter 5).

For every decoder step ``t`` with hidden state ``q_t`` (the *query*) and the
encoder states ``h_1 .. h_S``::

    score_{t,s} = q_t . h_s                        # (N, T, S)
    a_{t,s}     = softmax_s(score_{t,s})           # the attention weights, sum to 1 over s
    context_t   = sum_s a_{t,s} h_s                # (N, T, H): a weighted average of encoder states

(Luong et al., 2015, "dot" score.) All decoder steps are computed at once,
because the queries are the decoder's hidden states, which do not depend on
the contexts.

An optional boolean ``mask`` ``(N, S)`` marks the encoder positions that may be
attended to (``False`` for padding): masked scores are set to ``-inf`` before the
softmax, so those positions get weight exactly 0 and no gradient. Without a
mask every position is attended to.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_same_dtype, saved_by_forward

__all__ = ["check_mask", "attention_forward", "attention_backward", "Attention"]


def _check(hs_enc, hs_dec):
    hs_enc = check_array("hs_enc", hs_enc, ndim=3, kind="float")
    N, S, H = hs_enc.shape
    hs_dec = check_array("hs_dec", hs_dec, shape=((N, "batch size N from hs_enc"), None,
                                                  (H, "hidden size H from hs_enc")), kind="float")
    return hs_enc, hs_dec


def check_mask(mask, N: int, S: int):
    """Check an attention mask: ``None``, or a boolean ``(N, S)`` array with at least one ``True`` per row."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype != bool or mask.shape != (N, S):
        raise ValueError(f"mask must be a boolean array of shape (N, S) = {(N, S)}, got {mask.dtype} {mask.shape}")
    if not mask.any(axis=1).all():
        raise ValueError("every row of mask needs at least one True position (something to attend to)")
    return mask


def attention_forward(hs_enc: np.ndarray, hs_dec: np.ndarray, mask: np.ndarray | None = None):
    """Attention weights and context vectors for every decoder step.

    Parameters
    ----------
    hs_enc: ``(N, S, H)``, the encoder's hidden states (keys and values).
    hs_dec: ``(N, T, H)``, the decoder's hidden states (queries).
    mask: optional boolean ``(N, S)``; ``False`` positions (padding) get weight 0.

    Returns
    -------
    weights: ``(N, T, S)``, nonnegative, summing to 1 over ``S``.
    context: ``(N, T, H)``, ``weights @ hs_enc``.
    """
    hs_enc, hs_dec = _check(hs_enc, hs_dec)
    mask = check_mask(mask, *hs_enc.shape[:2])
    scores = hs_dec @ hs_enc.transpose(0, 2, 1)             # (N, T, S)
    if mask is not None:
        scores = np.where(mask[:, None, :], scores, -np.inf)   # exp(-inf) = 0: no weight on padding
    scores -= scores.max(axis=-1, keepdims=True)
    weights = np.exp(scores)
    weights /= weights.sum(axis=-1, keepdims=True)
    return weights, weights @ hs_enc


def attention_backward(dcontext: np.ndarray, weights: np.ndarray, hs_enc: np.ndarray, hs_dec: np.ndarray):
    """Gradients of :func:`attention_forward` with respect to ``hs_enc`` and ``hs_dec``.

    ``hs_enc`` gets gradient along two paths: as the *values* averaged into the
    context (``weights^T @ dcontext``) and as the *keys* in the scores. A mask
    needs no special case here: masked positions have weight 0, so the softmax's
    backward pass gives their scores gradient 0.

    Returns
    -------
    dhs_enc ``(N, S, H)``, dhs_dec ``(N, T, H)``.
    """
    hs_enc, hs_dec = _check(hs_enc, hs_dec)
    N, S, H = hs_enc.shape
    T = hs_dec.shape[1]
    dcontext = check_array("dcontext", dcontext, shape=(N, T, H), kind="float")
    weights = check_array("weights", weights, shape=(N, T, S), kind="float")
    dweights = dcontext @ hs_enc.transpose(0, 2, 1)         # (N, T, S)
    dscores = weights * (dweights - (dweights * weights).sum(axis=-1, keepdims=True))   # softmax backward
    dhs_enc = weights.transpose(0, 2, 1) @ dcontext + dscores.transpose(0, 2, 1) @ hs_dec
    dhs_dec = dscores @ hs_enc
    return dhs_enc, dhs_dec


class Attention:
    """The attention layer: ``forward(hs_enc, hs_dec) -> context``; no parameters.

    Attributes
    ----------
    weights: ``(N, T, S)``, the attention weights of the last ``forward`` (for plotting).
    """

    def __init__(self):
        self.params, self.grads = [], []
        self.weights = None
        self._cache = None

    def forward(self, hs_enc: np.ndarray, hs_dec: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        """Context vectors ``(N, T, H)``; ``mask`` (optional, boolean ``(N, S)``): positions that may be attended to."""
        hs_enc, hs_dec = _check(hs_enc, hs_dec)
        check_same_dtype("hs_dec", hs_dec, hs_enc.dtype)
        self.weights, context = attention_forward(hs_enc, hs_dec, mask)
        self._cache = (hs_enc, hs_dec)
        return context

    def backward(self, dcontext: np.ndarray):
        """Return ``(dhs_enc, dhs_dec)``."""
        saved_by_forward(self, self._cache)
        return attention_backward(dcontext, self.weights, *self._cache)

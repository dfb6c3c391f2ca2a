"""Elementwise and row-wise functions used by every chapter (chapter 1).

All functions are numerically stable for very large or very small inputs
(logits of +-1e4 give finite results and raise no warnings) and preserve the
floating dtype of their input.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_array

__all__ = ["sigmoid", "tanh", "softmax", "log_softmax", "cross_entropy", "perplexity"]


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function ``1 / (1 + exp(-x))``, computed without overflow.

    Uses ``exp(-|x|)``, which is always in ``(0, 1]``, so no intermediate
    value overflows for large ``|x|``.
    """
    x = as_array("x", x)
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z)).astype(x.dtype, copy=False)


def tanh(x: np.ndarray) -> np.ndarray:
    """Hyperbolic tangent (NumPy's ``np.tanh`` is already stable)."""
    return np.tanh(as_array("x", x))


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis``: ``exp(x_i) / sum_j exp(x_j)``.

    Subtracting the maximum first leaves the result unchanged (the factor
    ``exp(-max)`` cancels) but keeps every exponent ``<= 0``, so nothing
    overflows.
    """
    x = as_array("x", x)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """``log(softmax(x))`` computed as ``x - logsumexp(x)``, stable for any ``x``."""
    x = as_array("x", x)
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def cross_entropy(logits: np.ndarray, targets: np.ndarray) -> float:
    """Mean negative log-likelihood of integer ``targets`` under ``softmax(logits)``.

    Parameters
    ----------
    logits:
        Scores of shape ``(..., V)``.
    targets:
        Integer class ids of shape ``(...)`` (the shape of ``logits`` without
        its last axis), each in ``[0, V)``.
    """
    logits = as_array("logits", logits)
    targets = as_array("targets", targets)
    if logits.ndim < 1 or logits.shape[:-1] != targets.shape:
        raise ValueError(
            f"targets must have shape {logits.shape[:-1]} (logits' shape without its last "
            f"axis), got {targets.shape}")
    if targets.dtype.kind not in "iu":
        raise TypeError(f"targets must be integer class ids, got dtype {targets.dtype}")
    if targets.size == 0:
        raise ValueError("targets is empty: cross-entropy of no predictions is undefined")
    V = logits.shape[-1]
    if targets.min() < 0 or targets.max() >= V:
        raise ValueError(f"targets must be in [0, {V}), got values from {targets.min()} to {targets.max()}")
    logp = log_softmax(logits).reshape(-1, V)
    return float(-logp[np.arange(targets.size), targets.reshape(-1)].mean())


def perplexity(mean_nll: float) -> float:
    """Perplexity ``exp(mean negative log-likelihood)``: the effective branching factor.

    A model with perplexity ``k`` is as uncertain, on average, as one choosing
    uniformly among ``k`` tokens at every step.
    """
    return float(np.exp(mean_nll))

"""Optimizers and gradient clipping (chapter 2).

Optimizers update a list of parameter arrays *in place* from the matching
list of gradients, so a model only has to expose ``params`` and ``grads``.
"""
from __future__ import annotations

import numpy as np

from .backend import array_module

__all__ = ["SGD", "Adam", "clip_grad_norm", "global_norm"]


_NORM_BLOCK = 1 << 16     # elements per block in _sum_of_squares


def _sum_of_squares(g: np.ndarray) -> float:
    """``sum(g ** 2)``: each block of 65,536 entries by one BLAS dot product, the blocks summed in float64.

    A float32 dot product over millions of entries would lose digits to rounding, and squaring the
    whole gradient in float64 would allocate a temporary twice its size and run several times slower.
    Within one block the rounding error is negligible (relative error about 1e-7 for float32, well
    below what clipping needs), and the float64 sum of the blocks keeps it from growing with size.
    """
    flat = g.reshape(-1)
    if array_module(flat) is not np:                       # on the GPU: one reduction, in float64
        return float((flat.astype("float64") ** 2).sum())
    return sum(float(np.dot(block, block)) for block in
               (flat[start:start + _NORM_BLOCK] for start in range(0, flat.size, _NORM_BLOCK)))


def global_norm(grads) -> float:
    """The L2 norm of all gradients taken together, as if concatenated into one vector (see ``_sum_of_squares``)."""
    return float(np.sqrt(sum(_sum_of_squares(g if hasattr(g, "reshape") else np.asarray(g)) for g in grads)))


def clip_grad_norm(grads, max_norm: float) -> float:
    """Scale all gradients in place so that their global norm is at most ``max_norm``.

    Returns the norm *before* clipping (useful for logging). Clipping keeps
    the direction of the update and only shortens it. A non-finite norm (a
    NaN or inf gradient) cannot be clipped meaningfully and raises
    ``FloatingPointError`` so a diverged run stops loudly instead of silently
    filling the weights with NaN.
    """
    if not max_norm > 0:
        raise ValueError(f"max_norm must be positive, got {max_norm}")
    norm = global_norm(grads)
    if not np.isfinite(norm):
        raise FloatingPointError(f"gradient norm is {norm}: the gradients contain NaN or inf (training diverged)")
    if norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for g in grads:
            g *= g.dtype.type(scale)
    return norm


class SGD:
    """Plain stochastic gradient descent: ``p -= lr * g``."""

    def __init__(self, lr: float = 0.1):
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr = lr

    def update(self, params, grads) -> None:
        if len(params) != len(grads):
            raise ValueError(f"got {len(params)} parameters but {len(grads)} gradients")
        for p, g in zip(params, grads):
            p -= p.dtype.type(self.lr) * g

    def state_dict(self) -> dict:
        """The optimizer's state (for resuming training): ``{"lr": ...}``."""
        return {"lr": float(self.lr)}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state made by :meth:`state_dict`."""
        self.lr = float(state["lr"])


class Adam:
    """Adam (Kingma & Ba, 2015): per-parameter step sizes from running moments of the gradient."""

    def __init__(self, lr: float = 1e-3, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        if not lr > 0:
            raise ValueError(f"learning rate must be positive, got {lr}")
        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps
        self.t = 0
        self.m = None
        self.v = None

    def update(self, params, grads) -> None:
        if len(params) != len(grads):
            raise ValueError(f"got {len(params)} parameters but {len(grads)} gradients")
        if self.m is None:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.t += 1
        lr_t = self.lr * np.sqrt(1 - self.beta2 ** self.t) / (1 - self.beta1 ** self.t)
        for p, g, m, v in zip(params, grads, self.m, self.v):
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g * g - v)
            p -= (lr_t * m / (np.sqrt(v) + self.eps)).astype(p.dtype, copy=False)

    def state_dict(self) -> dict:
        """The optimizer's state (for resuming training): scalars, and the moment arrays ``m``, ``v``."""
        return {"lr": float(self.lr), "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps, "t": self.t,
                "m": None if self.m is None else [a.copy() for a in self.m],
                "v": None if self.v is None else [a.copy() for a in self.v]}

    def load_state_dict(self, state: dict) -> None:
        """Restore a state made by :meth:`state_dict`."""
        self.lr, self.beta1, self.beta2, self.eps = (float(state[k]) for k in ("lr", "beta1", "beta2", "eps"))
        self.t = int(state["t"])
        self.m = None if state["m"] is None else [np.array(a) for a in state["m"]]
        self.v = None if state["v"] is None else [np.array(a) for a in state["v"]]

"""Gradient checking: compare a backward pass with finite differences (chapter 2).

The centred difference ``(f(x + eps) - f(x - eps)) / (2 eps)`` has an error
of order ``eps**2``; in float64 with ``eps = 1e-6`` a correct backward pass
agrees to a relative error far below ``1e-6``, while a bug typically shows up
as an error of ``1e-2`` or more.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

__all__ = ["numerical_gradient", "rel_error", "check_layer", "check_model"]


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Centred finite-difference gradient of the scalar ``f()`` with respect to ``x``.

    ``x`` is perturbed *in place*, one element at a time, and restored; ``f``
    takes no arguments and reads ``x`` through a closure, so this works for a
    layer's parameters as well as for its inputs.
    """
    if not isinstance(x, np.ndarray) or x.dtype.kind != "f":
        raise TypeError("numerical_gradient needs a floating-point ndarray to perturb")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        fp = f()
        x[i] = old - eps
        fm = f()
        x[i] = old
        grad[i] = (fp - fm) / (2 * eps)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """Relative error between two arrays, as one number.

    Computed as ``max|a - b| / max(max|a| + max|b|, 1e-12)`` so that tiny
    entries (where a relative error means nothing) do not dominate.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} vs {b.shape}")
    if a.size == 0:
        return 0.0
    denom = max(np.abs(a).max() + np.abs(b).max(), 1e-12)
    return float(np.abs(a - b).max() / denom)


def check_layer(layer, inputs: Sequence[np.ndarray], *, seed: int = 0, eps: float = 1e-6,
                forward_kwargs: dict | None = None) -> dict[str, float]:
    """Gradient-check a layer that follows the ``params``/``grads``/``forward``/``backward`` contract.

    The scalar checked is ``L = sum(forward(*inputs) * R)`` for a fixed random
    ``R``, so ``dL/dout = R``. Returns the relative error for every parameter
    (``"param0"``, ``"param1"``, ...) and every floating-point input
    (``"input0"``, ...). Use float64 layers and inputs.
    """
    forward_kwargs = forward_kwargs or {}
    rng = np.random.default_rng(seed)
    out = layer.forward(*inputs, **forward_kwargs)
    R = rng.standard_normal(np.shape(out))

    def loss() -> float:
        return float(np.sum(layer.forward(*inputs, **forward_kwargs) * R))

    layer.forward(*inputs, **forward_kwargs)
    dins = layer.backward(R.astype(np.asarray(out).dtype))
    if not isinstance(dins, tuple):
        dins = (dins,)
    analytic = [g.copy() for g in layer.grads]
    errors = {}
    for k, p in enumerate(layer.params):
        errors[f"param{k}"] = rel_error(analytic[k], numerical_gradient(loss, p, eps))
    for k, x in enumerate(inputs):
        if isinstance(x, np.ndarray) and x.dtype.kind == "f" and k < len(dins) and dins[k] is not None:
            errors[f"input{k}"] = rel_error(dins[k], numerical_gradient(loss, x, eps))
    return errors


def check_model(model, *inputs, eps: float = 1e-6) -> list[float]:
    """Gradient-check a whole model whose ``forward(*inputs)`` returns the scalar loss and whose ``backward()``
    fills ``grads``: the relative error of every parameter's gradient, in the order of ``params``. Use float64."""
    model.forward(*inputs)
    model.backward()
    analytic = [g.copy() for g in model.grads]

    def loss() -> float:
        return float(model.forward(*inputs))
    return [rel_error(a, numerical_gradient(loss, p, eps)) for a, p in zip(analytic, model.params)]

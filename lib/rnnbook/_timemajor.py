"""Two matrix products shared by the fused recurrent layers (rnn, lstm, gru).

The public API is batch-major ``(N, T, D)``; inside, the layers work time-major
``(T, N, ·)`` so that the state at step ``t`` is one contiguous block. The input
projection of all time steps, and its gradient, do not depend on the recurrence,
so each is one big ``(T*N, ·)`` matrix product outside the time loop. (Writing
``xs.transpose(1, 0, 2) @ W`` instead would be a *batched* product: NumPy would
run ``T`` small ``(N, D) @ (D, K)`` products, which is much slower for small ``N``.)
"""
from __future__ import annotations

import numpy as np

from .backend import array_module


def project_inputs(xs: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``(N, T, D) @ (D, K)`` -> time-major ``(T, N, K)``, as one ``(T*N, D) @ (D, K)`` product."""
    N, T, D = xs.shape
    flat = array_module(xs).ascontiguousarray(xs.transpose(1, 0, 2)).reshape(T * N, D)
    return (flat @ W).reshape(T, N, W.shape[1])


def input_gradient(da_t: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Gradient of :func:`project_inputs`: time-major ``(T, N, K)`` @ ``W.T`` -> batch-major ``(N, T, D)``."""
    T, N, K = da_t.shape
    return (da_t.reshape(T * N, K) @ W.T).reshape(T, N, W.shape[0]).transpose(1, 0, 2)

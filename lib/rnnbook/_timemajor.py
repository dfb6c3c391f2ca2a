"""What the fused recurrent layers (rnn, lstm, gru) share: their initialisation, the checks and the
choice of the initial state at the start of ``forward``, and two matrix products.

The public API is batch-major ``(N, T, D)``; inside, the layers work time-major
``(T, N, ·)`` so that the state at step ``t`` is one contiguous block. The input
projection of all time steps, and its gradient, do not depend on the recurrence,
so each is one big ``(T*N, ·)`` matrix product outside the time loop. (Writing
``xs.transpose(1, 0, 2) @ W`` instead would be a *batched* product: NumPy would
run ``T`` small ``(N, D) @ (D, K)`` products, which is much slower for small ``N``.)
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_positive_int, check_same_dtype
from .backend import array_module, require_cpu
from .seeds import init_rng


def init_weights(rng, D: int, H: int, blocks: int, dtype):
    """``Wx`` ``(D, blocks*H)`` and ``Wh`` ``(H, blocks*H)`` drawn from N(0, 1 / fan-in), and a zero bias
    ``(blocks*H,)``: one block per gate (1 for the plain RNN, 3 for the GRU, 4 for the LSTM)."""
    Wx = (rng.standard_normal((D, blocks * H)) / np.sqrt(D)).astype(dtype)
    Wh = (rng.standard_normal((H, blocks * H)) / np.sqrt(H)).astype(dtype)
    return Wx, Wh, np.zeros(blocks * H, dtype=dtype)


class OneStateTimeLayer:
    """What :class:`~rnnbook.rnn.TimeRNN` and :class:`~rnnbook.gru.TimeGRU` share: construction
    (``params`` ``[Wx, Wh, b]`` from :func:`init_weights` with ``blocks`` gate blocks, zero ``grads``, no
    carried state yet; NumPy only, so building one after ``rnnbook.use_gpu()`` raises ``RuntimeError``) and
    :meth:`reset_state`. Subclasses set ``blocks`` and write ``forward`` and ``backward``."""

    blocks = 1

    def __init__(self, input_size: int, hidden_size: int, *, stateful: bool = False, rng=None,
                 dtype=np.float32):
        require_cpu(type(self).__name__)            # NumPy only: refuse clearly under rnnbook.use_gpu()
        D = check_positive_int("input_size", input_size)
        H = check_positive_int("hidden_size", hidden_size)
        self.params = list(init_weights(init_rng(rng), D, H, self.blocks, dtype))
        self.grads = [np.zeros_like(p) for p in self.params]
        self.stateful = stateful
        self.h = self.dh0 = self._cache = None

    def reset_state(self) -> None:
        """Forget the carried hidden state (start the next sequence from zeros)."""
        self.h = None


def check_layer_input(xs, Wx):
    """Check a time layer's input ``(N, T, D)`` against its weights ``Wx`` ``(D, ·)``; returns ``xs``."""
    xs = check_array("xs", xs, shape=(None, None, (Wx.shape[0], "input size D")), kind="float")
    check_same_dtype("xs", xs, Wx.dtype)
    if xs.shape[1] == 0:
        raise ValueError("xs has no time steps (T = 0)")
    return xs


def initial_state(name: str, given, carried, N: int, H: int, like):
    """A sequence's initial state: ``given`` (checked to be ``(N, H)``) if not None, else ``carried`` (the
    state a stateful layer kept from its last ``forward``) if it has this batch's shape, else zeros."""
    if given is not None:
        return check_array(name, given, shape=((N, "batch size N from xs"), (H, "hidden size H")), kind="float")
    if carried is not None and carried.shape == (N, H):
        return carried
    return array_module(like).zeros((N, H), dtype=like.dtype)


def project_inputs(xs: np.ndarray, W: np.ndarray) -> np.ndarray:
    """``(N, T, D) @ (D, K)`` -> time-major ``(T, N, K)``, as one ``(T*N, D) @ (D, K)`` product."""
    N, T, D = xs.shape
    flat = array_module(xs).ascontiguousarray(xs.transpose(1, 0, 2)).reshape(T * N, D)
    return (flat @ W).reshape(T, N, W.shape[1])


def input_gradient(da_t: np.ndarray, W: np.ndarray) -> np.ndarray:
    """Gradient of :func:`project_inputs`: time-major ``(T, N, K)`` @ ``W.T`` -> batch-major ``(N, T, D)``."""
    T, N, K = da_t.shape
    return (da_t.reshape(T * N, K) @ W.T).reshape(T, N, W.shape[0]).transpose(1, 0, 2)

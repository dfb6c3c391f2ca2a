"""The gated recurrent unit and its time-unrolled layer (chapter 3).

The GRU (Cho et al., 2014) has no separate cell state and two gates. We use the
"reset after" variant of PyTorch's ``nn.GRU`` (and cuDNN), with the gates fused
into one weight matrix per input, laid out along the ``3H`` axis in the order
**(r, z, n)**::

    ax = x_t @ Wx + b                                  # (N, 3H), bias on the input side
    ah = h_{t-1} @ Wh                                  # (N, 3H), no hidden-side bias
    r  = sigmoid(ax[:, 0H:1H] + ah[:, 0H:1H])          # reset gate
    z  = sigmoid(ax[:, 1H:2H] + ah[:, 1H:2H])          # update gate
    n  = tanh(ax[:, 2H:3H] + r * ah[:, 2H:3H])         # candidate, the reset gate scales h_{t-1} @ Wh_n
    h_t = (1 - z) * n + z * h_{t-1}

``z`` is the weight of the *old* state (PyTorch's convention; Cho et al. write
the same cell with ``z`` and ``1 - z`` swapped). PyTorch has two biases per
gate; for ``r`` and ``z`` only their sum matters, so one bias ``b`` suffices,
and for the candidate we keep only the input-side bias (PyTorch's ``b_hn`` is
fixed to zero). The tests check this against ``torch.nn.GRU`` with
``bias_ih = b`` and ``bias_hh = 0``.

Shapes: ``x`` ``(N, D)``, ``h`` ``(N, H)``, ``Wx`` ``(D, 3H)``, ``Wh`` ``(H, 3H)``, ``b`` ``(3H,)``.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_gate_weights, check_sequence_grad, saved_by_forward
from ._timemajor import OneStateTimeLayer, check_layer_input, initial_state, input_gradient, project_inputs

__all__ = ["gru_step_forward", "gru_step_backward", "gru_forward", "gru_backward", "TimeGRU"]


def _check_weights(Wx, Wh, b, D: int, source: str):
    return check_gate_weights(Wx, Wh, b, D, source, gates="rzn")


def _sigmoid(z):
    # The logistic function in the form the LSTM uses (lstm.py): sigmoid(z) = (1 + tanh(z/2)) / 2, stable for
    # any z and one tanh instead of functions.sigmoid's exp, where and two divisions. The two forms agree to
    # float rounding, not bit for bit.
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _step(ax, ah, h_prev, H):
    """Gates from the input part ``ax`` and hidden part ``ah``; returns r, z, n, h_next."""
    r = _sigmoid(ax[:, :H] + ah[:, :H])
    z = _sigmoid(ax[:, H:2 * H] + ah[:, H:2 * H])
    n = np.tanh(ax[:, 2 * H:] + r * ah[:, 2 * H:])
    return r, z, n, (1 - z) * n + z * h_prev


def _step_grads(dh, h_prev, r, z, n, ahn, H, dax, dah):
    """Fill ``dax``, ``dah`` (N, 3H) with the gradients at the two pre-activations; return the direct dh_prev."""
    dn = dh * (1 - z) * (1 - n ** 2)            # at the candidate's pre-activation
    dz = dh * (h_prev - n) * z * (1 - z)
    dr = dn * ahn * r * (1 - r)
    dax[:, :H] = dr
    dax[:, H:2 * H] = dz
    dax[:, 2 * H:] = dn
    dah[:, :H] = dr
    dah[:, H:2 * H] = dz
    dah[:, 2 * H:] = dn * r
    return dh * z


def gru_step_forward(x, h_prev, Wx, Wh, b):
    """One GRU step (see the module docstring for the equations and gate layout).

    Parameters
    ----------
    x: array ``(N, D)``; h_prev: array ``(N, H)``.
    Wx, Wh, b: arrays ``(D, 3H)``, ``(H, 3H)``, ``(3H,)``, gates in the order (r, z, n).

    Returns
    -------
    h_next: array ``(N, H)``.
    """
    x = check_array("x", x, ndim=2, kind="float")
    Wx, Wh, b, H = _check_weights(Wx, Wh, b, x.shape[1], "x")
    h_prev = check_array("h_prev", h_prev, shape=((x.shape[0], "batch size N from x"),
                                                  (H, "hidden size H from Wx")), kind="float")
    return _step(x @ Wx + b, h_prev @ Wh, h_prev, H)[3]


def gru_step_backward(dh_next, x, h_prev, Wx, Wh, b):
    """Backward pass of one GRU step (the gates are recomputed from the inputs).

    Returns
    -------
    dx, dh_prev, dWx, dWh, db: arrays shaped like ``x``, ``h_prev``, ``Wx``, ``Wh``, ``b``.
    """
    x = check_array("x", x, ndim=2, kind="float")
    Wx, Wh, b, H = _check_weights(Wx, Wh, b, x.shape[1], "x")
    state = ((x.shape[0], "batch size N from x"), (H, "hidden size H from Wx"))
    h_prev = check_array("h_prev", h_prev, shape=state, kind="float")
    dh_next = check_array("dh_next", dh_next, shape=state, kind="float")
    ah = h_prev @ Wh
    r, z, n, _ = _step(x @ Wx + b, ah, h_prev, H)
    dax = np.empty_like(ah)
    dah = np.empty_like(ah)
    dh_prev = _step_grads(dh_next, h_prev, r, z, n, ah[:, 2 * H:], H, dax, dah)
    dh_prev = dh_prev + dah @ Wh.T
    return dax @ Wx.T, dh_prev, x.T @ dax, h_prev.T @ dah, dax.sum(axis=0)


def _forward_time_major(xs, h0, Wx, Wh, b):
    N, T, D = xs.shape
    H = Wh.shape[0]
    ax_t = project_inputs(xs, Wx) + b           # (T, N, 3H): all input projections in one GEMM
    hs_t = np.empty((T, N, H), dtype=ax_t.dtype)
    gates_t = np.empty((T, N, 4 * H), dtype=ax_t.dtype)   # r, z, n and h_{t-1} @ Wh_n, kept for backward
    h = h0
    for t in range(T):
        ah = h @ Wh
        r, z, n, h = _step(ax_t[t], ah, h, H)
        hs_t[t] = h
        g = gates_t[t]
        g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:] = r, z, n, ah[:, 2 * H:]
    return hs_t, gates_t


def _backward_time_major(dhs_t, xs, h0, hs_t, gates_t, Wx, Wh, dh_last=None):
    T, N, H = hs_t.shape
    D = xs.shape[2]
    dtype = hs_t.dtype
    dax_t = np.empty((T, N, 3 * H), dtype=dtype)
    dah_t = np.empty((T, N, 3 * H), dtype=dtype)
    dh = np.zeros((N, H), dtype=dtype) if dh_last is None else dh_last
    for t in reversed(range(T)):
        g = gates_t[t]
        h_prev = h0 if t == 0 else hs_t[t - 1]
        direct = _step_grads(dhs_t[t] + dh, h_prev, g[:, :H], g[:, H:2 * H], g[:, 2 * H:3 * H], g[:, 3 * H:], H,
                             dax_t[t], dah_t[t])
        # dah @ Wh.T, written as (Wh @ dah.T).T: the same numbers, but OpenBLAS runs the tall, thin
        # product (H, 3H) @ (3H, N) faster than a short, wide one with a transposed operand
        dh = direct + (Wh @ dah_t[t].T).T
    h_prev_t = np.concatenate([h0[None], hs_t[:-1]], axis=0).reshape(T * N, H)
    dWh = h_prev_t.T @ dah_t.reshape(T * N, 3 * H)
    dax2 = dax_t.reshape(T * N, 3 * H)
    dWx = xs.transpose(1, 0, 2).reshape(T * N, D).T @ dax2
    db = dax2.sum(axis=0)
    dxs = input_gradient(dax_t, Wx)
    return dxs, dh, dWx, dWh, db


def _check_sequence(xs, h0, Wx, Wh, b):
    xs = check_array("xs", xs, ndim=3, kind="float")
    N, T, D = xs.shape
    Wx, Wh, b, H = _check_weights(Wx, Wh, b, D, "xs")
    h0 = check_array("h0", h0, shape=((N, "batch size N from xs"), (H, "hidden size H from Wx")), kind="float")
    if T == 0:
        raise ValueError("xs has no time steps (T = 0)")
    return xs, h0, Wx, Wh, b


def gru_forward(xs, h0, Wx, Wh, b):
    """Run the GRU over a sequence ``xs`` ``(N, T, D)`` from ``h0`` ``(N, H)``; returns ``hs`` ``(N, T, H)``."""
    xs, h0, Wx, Wh, b = _check_sequence(xs, h0, Wx, Wh, b)
    return _forward_time_major(xs, h0, Wx, Wh, b)[0].transpose(1, 0, 2)


def gru_backward(dhs, xs, h0, Wx, Wh, b, dh_last=None):
    """Backpropagation through time for :func:`gru_forward`; returns ``dxs, dh0, dWx, dWh, db``."""
    xs, h0, Wx, Wh, b = _check_sequence(xs, h0, Wx, Wh, b)
    N, T, _ = xs.shape
    H = Wh.shape[0]
    dhs = check_sequence_grad(dhs, N, T, H)
    hs_t, gates_t = _forward_time_major(xs, h0, Wx, Wh, b)
    return _backward_time_major(dhs.transpose(1, 0, 2), xs, h0, hs_t, gates_t, Wx, Wh, dh_last)


class TimeGRU(OneStateTimeLayer):
    """A GRU layer unrolled over a whole ``(N, T, D)`` block (NumPy only: building it after
    ``rnnbook.use_gpu()`` raises ``RuntimeError``; only :class:`~rnnbook.lstm.TimeLSTM` runs on the GPU).

    Same contract as :class:`rnnbook.rnn.TimeRNN`: ``params`` ``[Wx, Wh, b]``
    (gates (r, z, n) along the last axis), ``grads``, ``forward(xs, h0=None)``,
    ``backward(dhs)``, ``h``, ``dh0``, ``reset_state()``.
    """

    blocks = 3

    def forward(self, xs: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
        """Return all hidden states ``(N, T, H)`` for inputs ``xs`` ``(N, T, D)``."""
        Wx, Wh, b = self.params
        xs = check_layer_input(xs, Wx)
        h0 = initial_state("h0", h0, self.h if self.stateful else None, xs.shape[0], Wh.shape[0], Wx)
        hs_t, gates_t = _forward_time_major(xs, h0, Wx, Wh, b)
        self._cache = (xs, h0, hs_t, gates_t)
        self.h = hs_t[-1].copy()
        return hs_t.transpose(1, 0, 2)

    def backward(self, dhs: np.ndarray, dh_last: np.ndarray | None = None) -> np.ndarray:
        """Return ``dL/dxs`` and store the weight gradients in ``grads``."""
        xs, h0, hs_t, gates_t = saved_by_forward(self, self._cache)
        T, N, H = hs_t.shape
        dhs = check_sequence_grad(dhs, N, T, H)
        dxs, dh0, dWx, dWh, db = _backward_time_major(dhs.transpose(1, 0, 2), xs, h0, hs_t, gates_t,
                                                      self.params[0], self.params[1], dh_last)
        self.grads[0][...] = dWx
        self.grads[1][...] = dWh
        self.grads[2][...] = db
        self.dh0 = dh0
        return dxs

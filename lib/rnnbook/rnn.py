"""The vanilla recurrent cell and its time-unrolled layer (chapters 1 and 2).

The cell::

    h_t = tanh(x_t @ Wx + h_{t-1} @ Wh + b)

Shapes: ``x_t`` is ``(N, D)``, ``h_t`` is ``(N, H)``, ``Wx`` is ``(D, H)``,
``Wh`` is ``(H, H)`` and ``b`` is ``(H,)``. Sequences are batch-major:
``xs`` is ``(N, T, D)`` and ``hs`` is ``(N, T, H)``.

The step functions are plain functions of arrays, with no hidden cache, so
they are easy to read, test and grade. :func:`rnn_forward` and :func:`rnn_backward` run the same
formulas over a whole sequence, arranged for speed (time-major buffers, the input projection and the
weight gradients as one matrix product each, outside the time loop), and :class:`TimeRNN` puts those
in the ``params`` / ``grads`` / ``forward`` / ``backward`` layer contract. ``tests/test_rnn.py``
checks them against a loop of the step functions.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_sequence_grad, saved_by_forward
from ._timemajor import OneStateTimeLayer, check_layer_input, initial_state, input_gradient, project_inputs

__all__ = ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "TimeRNN"]


def _check_weights(Wx, Wh, b, D: int, source: str):
    """Check Wx (D, H), Wh (H, H), b (H,) against the input size D read from ``source``."""
    Wx = check_array("Wx", Wx, shape=((D, f"input size D from {source}"), None), kind="float")
    H = Wx.shape[1]
    Wh = check_array("Wh", Wh, shape=((H, "hidden size H from Wx"), (H, "hidden size H from Wx")), kind="float")
    b = check_array("b", b, shape=((H, "hidden size H from Wx"),), kind="float")
    return Wx, Wh, b


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One time step: ``h_next = tanh(x @ Wx + h_prev @ Wh + b)``.

    Parameters
    ----------
    x: array ``(N, D)``, the inputs at this step.
    h_prev: array ``(N, H)``, the previous hidden state.
    Wx, Wh, b: arrays ``(D, H)``, ``(H, H)``, ``(H,)``.

    Returns
    -------
    h_next: array ``(N, H)``.
    """
    x = check_array("x", x, ndim=2, kind="float")
    Wx, Wh, b = _check_weights(Wx, Wh, b, x.shape[1], "x")
    H = Wx.shape[1]
    check_array("h_prev", h_prev, shape=((x.shape[0], "batch size N from x"), (H, "hidden size H from Wx")),
                kind="float")
    return np.tanh(x @ Wx + h_prev @ Wh + b)


def rnn_step_backward(dh_next, x, h_prev, h_next, Wx, Wh):
    """Backward pass of one step.

    With ``a = x @ Wx + h_prev @ Wh + b`` and ``h_next = tanh(a)``, the chain
    rule gives ``da = dh_next * (1 - h_next**2)`` and then one matrix product
    per input.

    Returns
    -------
    dx, dh_prev, dWx, dWh, db: arrays shaped like ``x``, ``h_prev``, ``Wx``,
    ``Wh`` and ``b``.
    """
    x = check_array("x", x, ndim=2, kind="float")
    Wx = check_array("Wx", Wx, shape=((x.shape[1], "input size D from x"), None), kind="float")
    N, H = x.shape[0], Wx.shape[1]
    Wh = check_array("Wh", Wh, shape=((H, "hidden size H from Wx"), (H, "hidden size H from Wx")), kind="float")
    state = ((N, "batch size N from x"), (H, "hidden size H from Wx"))
    h_prev = check_array("h_prev", h_prev, shape=state, kind="float")
    h_next = check_array("h_next", h_next, shape=state, kind="float")
    dh_next = check_array("dh_next", dh_next, shape=state, kind="float")
    da = dh_next * (1 - h_next ** 2)
    dx = da @ Wx.T
    dh_prev = da @ Wh.T
    dWx = x.T @ da
    dWh = h_prev.T @ da
    db = da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db


def rnn_forward(xs, h0, Wx, Wh, b):
    """Run the cell over a whole sequence.

    Parameters
    ----------
    xs: array ``(N, T, D)``.
    h0: array ``(N, H)``, the initial hidden state.

    Returns
    -------
    hs: array ``(N, T, H)``, the hidden state after every step.

    The input projection ``xs @ Wx`` of all time steps is one large matrix
    product before the loop; only ``h @ Wh`` has to stay inside it, because
    each step needs the previous one's result.
    """
    xs = check_array("xs", xs, ndim=3, kind="float")
    N, T, D = xs.shape
    Wx, Wh, b = _check_weights(Wx, Wh, b, D, "xs")
    H = Wx.shape[1]
    h0 = check_array("h0", h0, shape=((N, "batch size N from xs"), (H, "hidden size H from Wx")), kind="float")
    if T == 0:
        raise ValueError("xs has no time steps (T = 0)")
    # time-major buffer: step t is the contiguous block hs_t[t]
    hs_t = project_inputs(xs, Wx) + b                # (T, N, H): all input projections in one GEMM
    h = h0
    for t in range(T):
        hs_t[t] += h @ Wh
        np.tanh(hs_t[t], out=hs_t[t])
        h = hs_t[t]
    return hs_t.transpose(1, 0, 2)


def rnn_backward(dhs, xs, h0, hs, Wx, Wh, dh_last=None):
    """Backpropagation through time over a whole sequence.

    Parameters
    ----------
    dhs: array ``(N, T, H)``, the loss gradient arriving at every hidden state
        from above (e.g. from the output layer).
    xs, h0, hs: the forward pass's inputs and outputs.
    dh_last: optional ``(N, H)`` gradient flowing into the last hidden state
        from the future (zero by default).

    Returns
    -------
    dxs, dh0, dWx, dWh, db

    The hidden-state gradient ``dh`` flows backwards through ``Wh``; the
    weight gradients are *sums over time* because the same weights are used at
    every step. They are computed as single matrix products after the loop.
    """
    N, T, H = hs.shape
    D = xs.shape[2]
    dhs = check_sequence_grad(dhs, N, T, H)
    hs_t = hs.transpose(1, 0, 2)
    da_t = np.empty((T, N, H), dtype=hs.dtype)           # gradient at the pre-activation, per step
    dh = np.zeros((N, H), dtype=hs.dtype) if dh_last is None else dh_last
    dhs_t = dhs.transpose(1, 0, 2)
    for t in reversed(range(T)):
        da = da_t[t]
        np.add(dhs_t[t], dh, out=da)
        da *= 1 - hs_t[t] ** 2
        dh = da @ Wh.T
    da2 = da_t.reshape(T * N, H)
    h_prev_t = np.concatenate([h0[None], hs_t[:-1]], axis=0).reshape(T * N, H)
    dWh = h_prev_t.T @ da2
    dWx = xs.transpose(1, 0, 2).reshape(T * N, D).T @ da2
    db = da2.sum(axis=0)
    dxs = input_gradient(da_t, Wx)
    return dxs, dh, dWx, dWh, db


class TimeRNN(OneStateTimeLayer):
    """A vanilla RNN layer unrolled over a whole ``(N, T, D)`` block (NumPy only: building it after
    ``rnnbook.use_gpu()`` raises ``RuntimeError``; only :class:`~rnnbook.lstm.TimeLSTM` runs on the GPU).

    Parameters
    ----------
    input_size, hidden_size:
        ``D`` and ``H``.
    stateful:
        If true, the last hidden state of one ``forward`` call is the initial
        state of the next (used with truncated BPTT, chapter 2); call
        ``reset_state()`` between independent sequences.
    rng, dtype:
        Initialisation seed/generator and parameter dtype.

    Attributes
    ----------
    params: ``[Wx, Wh, b]``
    grads: ``[dWx, dWh, db]``
    h: the last hidden state ``(N, H)`` after ``forward``.
    dh0: the gradient with respect to the initial state after ``backward``.
    """

    blocks = 1

    def forward(self, xs: np.ndarray, h0: np.ndarray | None = None) -> np.ndarray:
        """Return all hidden states ``(N, T, H)`` for inputs ``xs`` ``(N, T, D)``.

        The initial state is ``h0`` if given, else the carried state (stateful
        layers), else zeros.
        """
        Wx, Wh, b = self.params
        xs = check_layer_input(xs, Wx)
        h0 = initial_state("h0", h0, self.h if self.stateful else None, xs.shape[0], Wx.shape[1], Wx)
        hs = rnn_forward(xs, h0, Wx, Wh, b)
        self._cache = (xs, h0, hs)
        self.h = hs[:, -1].copy()
        return hs

    def backward(self, dhs: np.ndarray, dh_last: np.ndarray | None = None) -> np.ndarray:
        """Return ``dL/dxs`` and store the weight gradients in ``grads``."""
        xs, h0, hs = saved_by_forward(self, self._cache)
        dxs, dh0, dWx, dWh, db = rnn_backward(dhs, xs, h0, hs, self.params[0], self.params[1], dh_last)
        self.grads[0][...] = dWx
        self.grads[1][...] = dWh
        self.grads[2][...] = db
        self.dh0 = dh0
        return dxs

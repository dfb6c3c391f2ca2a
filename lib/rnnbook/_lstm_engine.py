"""The LSTM's speed engine: what :class:`rnnbook.lstm.TimeLSTM`, :func:`rnnbook.lstm.lstm_forward` and
:func:`rnnbook.lstm.lstm_backward` run. Private: the LSTM a reader studies is the step functions of
:mod:`rnnbook.lstm`, and ``tests/test_lstm.py`` pins this engine to them bit for bit.

It computes the same numbers as those step functions, arranged for speed:

* time-major buffers ``(T, N, .)``, so that a step's state is one contiguous block;
* the input projection of all steps as one matrix product before the loop, and the weight gradients as
  one product each after it (only ``h @ Wh`` and its gradient stay inside);
* the elementwise work of a step on preallocated arrays in few NumPy calls (:class:`NumpyCell`): with
  small models the number of calls per step, not the arithmetic, sets the pace;
* on a GPU, one fused CUDA kernel per step and direction (:class:`CupyCell`, kernels in
  :func:`rnnbook.backend.lstm_kernels`), because there launching many tiny kernels dominates.
"""
from __future__ import annotations

import numpy as np

from ._timemajor import input_gradient, project_inputs
from .backend import array_module, lstm_kernels

GATES = ("f", "i", "g", "o")


class NumpyCell:
    """The elementwise work of LSTM time steps in NumPy: the gates, the cell update and their gradients.

    ``forward(a, c_prev, c, h, tc)``: ``a`` ``(N, 4H)`` holds the pre-activations and receives the
    activated gates (f, i, g, o), in place; ``c``, ``h`` and ``tc = tanh(c)`` ``(N, H)`` are written.
    A time loop first calls ``Wx, Wh, b = prepare_forward(Wx, Wh, b)`` once and then
    ``forward(..., prepared=True)`` at every step (see :meth:`prepare_forward`).

    ``prepare_backward(acts, c_prev, tc)`` takes the activated gates, previous cell states and
    ``tanh(c)`` of *all* steps at once (leading axis ``T``) and computes every factor of the gradient
    that does not depend on the gradient flowing back, in a few large operations before the loop;
    ``backward(t, dh, dc_next, da, dc_prev)`` then writes the gradient at step ``t``'s pre-activations
    into ``da`` ``(N, 4H)`` and at its previous cell state into ``dc_prev``. ``ws``, if given, is a dict in
    which ``prepare_backward`` keeps its scratch arrays for the next call.
    """

    def __init__(self, xp, H: int, dtype, fixed: dict, ws=None):
        self.xp, self.H, self.fixed = xp, H, fixed
        self.ws = {} if ws is None else ws
        # sigmoid(z) = (1 + tanh(z / 2)) / 2, as in the step functions; g's columns get tanh(z) itself, so all
        # four gates are one tanh between two multiplications and an addition over the whole (N, 4H) array
        half = np.full(4 * H, 0.5, dtype=dtype)
        half[2 * H:3 * H] = 1
        self.scale = xp.asarray(half)
        self.shift = xp.asarray(np.where(half == 1, 0, half).astype(dtype))

    def prepare_forward(self, Wx, Wh, b):
        """Before a time loop: ``Wx``, ``Wh`` and ``b`` with every gate's columns multiplied by its scale,
        so that ``x @ Wx + h @ Wh + b`` arrives at ``forward(..., prepared=True)`` already scaled. The
        scales are 1/2 and 1, powers of two, so this changes no bit of the result; it saves one
        multiplication of the ``(N, 4H)`` array per step."""
        return Wx * self.scale, Wh * self.scale, b * self.scale

    def forward(self, a, c_prev, c, h, tc, prepared: bool = False) -> None:
        xp, H = self.xp, self.H
        if not prepared:
            a *= self.scale
        xp.tanh(a, out=a)
        a *= self.scale
        a += self.shift
        for name, value in self.fixed.items():
            k = GATES.index(name)
            a[..., k * H:(k + 1) * H] = value
        xp.multiply(a[..., :H], c_prev, out=c)                  # c = f * c_prev + i * g
        c += a[..., H:2 * H] * a[..., 2 * H:3 * H]
        xp.tanh(c, out=tc)
        xp.multiply(tc, a[..., 3 * H:], out=h)                   # h = o * tanh(c)

    def prepare_backward(self, acts, c_prev, tc) -> None:
        # The gradient at step t is (with dc = dc_next + dh * o * (1 - tanh(c)**2)):
        #   forget dc * c_prev * f * (1 - f),  input dc * g * i * (1 - i),  candidate dc * i * (1 - g**2),
        #   output dh * tanh(c) * o * (1 - o),  and dc_prev = dc * f.
        # Every factor after the first is known before the loop; the first three gates share the form
        # dc * X * Y * Z (Z = 1 for the candidate), so they become three calls on an (N, 3, H) view.
        xp, H = self.xp, self.H
        f, i, g, o = acts[..., :H], acts[..., H:2 * H], acts[..., 2 * H:3 * H], acts[..., 3 * H:]
        lead = acts.shape[:-1]
        X, Y, Z = (_buffer(self.ws, k, (*lead, 3, H), acts.dtype, xp) for k in "XYZ")
        X[..., 0, :], X[..., 1, :], X[..., 2, :] = c_prev, g, i
        Y[..., 0, :], Y[..., 1, :] = f, i
        xp.square(g, out=Y[..., 2, :])
        xp.subtract(1, Y[..., 2, :], out=Y[..., 2, :])
        xp.subtract(1, f, out=Z[..., 0, :])
        xp.subtract(1, i, out=Z[..., 1, :])
        Z[..., 2, :] = 1
        self._xyz = X, Y, Z
        self._f, self._o, self._tc = f, o, tc
        self._one_minus_o = xp.subtract(1, o, out=_buffer(self.ws, "1-o", o.shape, o.dtype, xp))
        self._one_minus_tc2 = xp.square(tc, out=_buffer(self.ws, "1-tc2", tc.shape, tc.dtype, xp))
        xp.subtract(1, self._one_minus_tc2, out=self._one_minus_tc2)

    def backward(self, t: int, dh, dc_next, da, dc_prev) -> None:
        xp, H = self.xp, self.H
        X, Y, Z = self._xyz
        dc = dh * self._o[t]
        dc *= self._one_minus_tc2[t]
        xp.add(dc_next, dc, out=dc)
        da3 = da[:, :3 * H].reshape(da.shape[0], 3, H)            # the f, i, g columns of da, side by side
        xp.multiply(dc[:, None, :], X[t], out=da3)
        da3 *= Y[t]
        da3 *= Z[t]
        do = da[:, 3 * H:]
        xp.multiply(dh, self._tc[t], out=do)
        do *= self._o[t]
        do *= self._one_minus_o[t]
        for name in self.fixed:
            k = GATES.index(name)
            da[:, k * H:(k + 1) * H] = 0
        xp.multiply(dc, self._f[t], out=dc_prev)


class CupyCell:
    """The same interface as :class:`NumpyCell` on the GPU: each step is one fused CUDA kernel
    (:func:`rnnbook.backend.lstm_kernels`), forward and backward."""

    def __init__(self, kernels, H: int):
        self.kernels, self.blocks = kernels, [slice(k * H, (k + 1) * H) for k in range(4)]

    def prepare_forward(self, Wx, Wh, b):
        return Wx, Wh, b                         # the kernel takes the pre-activations as they are

    def forward(self, a, c_prev, c, h, tc, prepared: bool = False) -> None:
        self.kernels[0](c_prev, *(a[:, s] for s in self.blocks), c, h, tc)

    def prepare_backward(self, acts, c_prev, tc) -> None:
        self._saved = acts, c_prev, tc

    def backward(self, t: int, dh, dc_next, da, dc_prev) -> None:
        acts, c_prev, tc = self._saved
        self.kernels[1](*(acts[t][:, s] for s in self.blocks), c_prev[t], tc[t], dh, dc_next,
                        *(da[:, s] for s in self.blocks), dc_prev)


def _buffer(ws, name, shape, dtype, xp):
    """The scratch array ``ws[name]``, (re)allocated only when the shape or dtype changed: allocating the
    backward pass's scratch fresh every call costs page faults that matter for small models."""
    b = ws.get(name)
    if b is None or b.shape != shape or b.dtype != dtype:
        b = ws[name] = xp.empty(shape, dtype=dtype)
    return b


def lstm_cell(xp, H: int, dtype, fixed: dict, ws=None):
    """The step implementation for arrays of module ``xp``, chosen once before a time loop: the fused
    CUDA kernels on CuPy (without fixed gates), else :class:`NumpyCell`."""
    kernels = None if fixed else lstm_kernels(xp)
    return NumpyCell(xp, H, dtype, fixed, ws) if kernels is None else CupyCell(kernels, H)


def forward_time_major(xs, h0, c0, Wx, Wh, b, fixed):
    """The forward pass over ``xs`` ``(N, T, D)``. Returns time-major buffers ``hs`` and ``cs``
    ``(T + 1, N, H)`` whose first entry is the initial state (so ``hs[:-1]`` are the previous states of all
    steps, without a copy), ``tcs = tanh(cs[1:])`` ``(T, N, H)`` and the activated gates ``acts``
    ``(T, N, 4H)``."""
    N, T, D = xs.shape
    H = Wh.shape[0]
    xp = array_module(xs)                         # numpy, or cupy on the GPU (rnnbook.backend)
    cell = lstm_cell(xp, H, xs.dtype, fixed)      # NumPy, or one fused CUDA kernel per step
    Wx, Wh, b = cell.prepare_forward(Wx, Wh, b)   # NumPy: the gates' scales go into the weights, once
    acts = project_inputs(xs, Wx)                 # (T, N, 4H): every input projection in one GEMM
    acts += b
    hs, cs = xp.empty((T + 1, N, H), dtype=acts.dtype), xp.empty((T + 1, N, H), dtype=acts.dtype)
    tcs = xp.empty((T, N, H), dtype=acts.dtype)
    hs[0], cs[0] = h0, c0
    hWh = xp.empty((N, 4 * H), dtype=acts.dtype)
    for t in range(T):
        a = acts[t]
        a += xp.matmul(hs[t], Wh, out=hWh)        # the only matrix product inside the loop
        cell.forward(a, cs[t], cs[t + 1], hs[t + 1], tcs[t], prepared=True)
    return hs, cs, tcs, acts


def backward_time_major(dhs_t, xs, hs, cs, tcs, acts, Wx, Wh, fixed, dh_last=None, dc_last=None, ws=None):
    """The backward pass from the buffers of :func:`forward_time_major` and the time-major gradient
    ``dhs_t`` ``(T, N, H)``. ``ws``: a dict that keeps the scratch arrays between calls (see
    :class:`rnnbook.lstm.TimeLSTM`'s ``scratch``). Returns ``dxs (N, T, D), dh0, dc0, dWx, dWh, db``."""
    T, N, H = tcs.shape
    D = xs.shape[2]
    xp = array_module(tcs)
    ws = {} if ws is None else ws
    cell = lstm_cell(xp, H, tcs.dtype, fixed, ws)
    cell.prepare_backward(acts, cs[:-1], tcs)
    da_t = _buffer(ws, "da", (T, N, 4 * H), tcs.dtype, xp)
    dhs_t = xp.ascontiguousarray(dhs_t)           # one copy, so that every step reads a contiguous block
    dh_sum = xp.empty((N, H), dtype=tcs.dtype)
    dh = xp.zeros((N, H), dtype=tcs.dtype) if dh_last is None else dh_last
    dc = xp.zeros((N, H), dtype=tcs.dtype) if dc_last is None else dc_last
    for t in reversed(range(T)):
        dc_prev = xp.empty((N, H), dtype=tcs.dtype)
        cell.backward(t, xp.add(dhs_t[t], dh, out=dh_sum), dc, da_t[t], dc_prev)
        dc = dc_prev
        # da_t[t] @ Wh.T, written as (Wh @ da.T).T: the same numbers, but OpenBLAS runs the tall, thin
        # product (H, 4H) @ (4H, N) faster than a short, wide one with a transposed operand
        dh = (Wh @ da_t[t].T).T
    da2 = da_t.reshape(T * N, 4 * H)
    dWh = hs[:-1].reshape(T * N, H).T @ da2       # the previous states of all steps, one product
    dWx = xs.transpose(1, 0, 2).reshape(T * N, D).T @ da2
    db = da2.sum(axis=0)
    dxs = input_gradient(da_t, Wx)
    return dxs, dh, dc, dWx, dWh, db

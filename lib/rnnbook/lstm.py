"""The long short-term memory cell and its time-unrolled layer (chapter 3).

The cell (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al., 2000)::

    a   = x_t @ Wx + h_{t-1} @ Wh + b          # (N, 4H): all four gates in one product
    f   = sigmoid(a[:, 0H:1H])                 # forget gate
    i   = sigmoid(a[:, 1H:2H])                 # input gate
    g   = tanh(a[:, 2H:3H])                    # candidate content
    o   = sigmoid(a[:, 3H:4H])                 # output gate
    c_t = f * c_{t-1} + i * g                  # the cell state: forget, then add
    h_t = o * tanh(c_t)

**Gate order.** The four gates are *fused*: one weight matrix ``Wx`` ``(D, 4H)``,
one ``Wh`` ``(H, 4H)`` and one bias ``b`` ``(4H,)``, with the gates laid out
along the ``4H`` axis in the order **(f, i, g, o)**. (PyTorch's ``nn.LSTM`` uses
``(i, f, g, o)`` and two biases; the tests convert between the two.)

Shapes: ``x_t`` is ``(N, D)``, ``h_t`` and ``c_t`` are ``(N, H)``. Sequences are
batch-major: ``xs`` is ``(N, T, D)``, ``hs`` and ``cs`` are ``(N, T, H)``.

**Fixed gates.** For the ablations of chapter 3, every function here accepts
``fixed_gates``, a dict such as ``{"f": 1.0}`` that replaces a gate by a
constant (here: no forgetting). A fixed gate receives no gradient; its rows of
the weights stay in the parameter arrays but get zero gradient.

**One step, one implementation.** The elementwise work of a time step (gates, cell update, and
their gradients) is :class:`NumpyCell`; the step functions and :class:`TimeLSTM` both run it, so
the layer runs the cell this module's step functions define. On the GPU, :func:`lstm_cell` picks
:class:`CupyCell` (the same formulas as one fused CUDA kernel) instead.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_gate_weights, check_positive_int, saved_by_forward
from .backend import array_module, lstm_kernels, to_device
from ._timemajor import check_layer_input, init_weights, initial_state, input_gradient, project_inputs
from .layers import init_rng

__all__ = ["GATES", "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward", "TimeLSTM",
           "NumpyCell", "CupyCell", "lstm_cell"]

#: Gate names in the order of their blocks along the fused ``4H`` axis.
GATES = ("f", "i", "g", "o")


def _check_weights(Wx, Wh, b, D: int, source: str):
    return check_gate_weights(Wx, Wh, b, D, source, gates="figo")


def _check_step(x, h_prev, c_prev, Wx, Wh, b):
    """The arguments of one step, checked: ``x`` ``(N, D)``, states ``(N, H)``, weights of ``D`` and ``H``."""
    x = check_array("x", x, ndim=2, kind="float")
    Wx, Wh, b, H = _check_weights(Wx, Wh, b, x.shape[1], "x")
    state = ((x.shape[0], "batch size N from x"), (H, "hidden size H from Wx"))
    return (x, check_array("h_prev", h_prev, shape=state, kind="float"),
            check_array("c_prev", c_prev, shape=state, kind="float"), Wx, Wh, b)


def _check_fixed(fixed_gates) -> dict:
    if fixed_gates is None:
        return {}
    if not isinstance(fixed_gates, dict):
        raise TypeError(f"fixed_gates must be a dict such as {{'f': 1.0}}, got {type(fixed_gates).__name__}")
    for k, v in fixed_gates.items():
        if k not in GATES:
            raise ValueError(f"fixed_gates has an unknown gate {k!r}; the gates are {GATES}")
        if not isinstance(v, (int, float, np.floating, np.integer)) or isinstance(v, bool):
            raise TypeError(f"fixed_gates[{k!r}] must be a number, got {type(v).__name__}")
    return dict(fixed_gates)


class NumpyCell:
    """The elementwise work of LSTM time steps in NumPy: the gates, the cell update and their gradients.

    The matrix products stay with the caller; this class does everything between them, on
    preallocated arrays, in as few NumPy calls as possible, because with small models the number
    of calls per time step, not the arithmetic, sets the pace. The step functions
    (:func:`lstm_step_forward`, :func:`lstm_step_backward`) and :class:`TimeLSTM` run the same code.

    ``forward(a, c_prev, c, h, tc)``: ``a`` ``(N, 4H)`` holds the pre-activations and receives the
    activated gates (f, i, g, o), in place; ``c``, ``h`` and ``tc = tanh(c)`` ``(N, H)`` are written.
    A time loop first calls ``Wx, Wh, b = prepare_forward(Wx, Wh, b)`` once and then
    ``forward(..., prepared=True)`` at every step (see :meth:`prepare_forward`).

    ``prepare_backward(acts, c_prev, tc)`` takes the activated gates, previous cell states and
    ``tanh(c)`` of *all* steps at once (leading axis ``T``) and computes every factor of the gradient
    that does not depend on the gradient flowing back, in a few large operations before the loop;
    ``backward(t, dh, dc_next, da, dc_prev)`` then writes the gradient at step ``t``'s pre-activations
    into ``da`` ``(N, 4H)`` and at its previous cell state into ``dc_prev``. ``ws``, if given, is a dict in
    which ``prepare_backward`` keeps its scratch arrays for the next call (:class:`TimeLSTM` passes its own).
    """

    def __init__(self, xp, H: int, dtype, fixed: dict, ws=None):
        self.xp, self.H, self.fixed = xp, H, fixed
        self.ws = {} if ws is None else ws
        # sigmoid(z) = (1 + tanh(z / 2)) / 2 is stable and fast; g's columns get tanh(z) itself, so all
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
    (:func:`rnnbook.backend.lstm_kernels`), forward and backward, because there the cost of launching
    many tiny kernels, not the arithmetic, dominates a small time step."""

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
    """The scratch array ``ws[name]``, (re)allocated only when the shape or dtype changed. A backward pass
    needs several megabytes of scratch that nobody keeps afterwards; allocating it fresh every call costs
    page faults that, for small models, took about a sixth of the backward pass's time."""
    b = ws.get(name)
    if b is None or b.shape != shape or b.dtype != dtype:
        b = ws[name] = xp.empty(shape, dtype=dtype)
    return b


def lstm_cell(xp, H: int, dtype, fixed: dict, ws=None):
    """The step implementation for arrays of module ``xp``, chosen once before a time loop: the fused
    CUDA kernels on CuPy (without fixed gates), else :class:`NumpyCell`."""
    kernels = None if fixed else lstm_kernels(xp)
    return NumpyCell(xp, H, dtype, fixed, ws) if kernels is None else CupyCell(kernels, H)


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b, fixed_gates=None):
    """One LSTM step.

    Parameters
    ----------
    x: array ``(N, D)``, the inputs at this step.
    h_prev, c_prev: arrays ``(N, H)``, the previous hidden and cell states.
    Wx, Wh, b: arrays ``(D, 4H)``, ``(H, 4H)``, ``(4H,)``, gates in the order (f, i, g, o).
    fixed_gates: optional dict replacing gates by constants, e.g. ``{"f": 1.0}``.

    Returns
    -------
    h_next, c_next: arrays ``(N, H)``.
    """
    x, h_prev, c_prev, Wx, Wh, b = _check_step(x, h_prev, c_prev, Wx, Wh, b)
    N, H = h_prev.shape
    a = x @ Wx + h_prev @ Wh + b
    xp = array_module(a)
    h_next, c_next, tc = (xp.empty((N, H), dtype=a.dtype) for _ in range(3))
    lstm_cell(xp, H, a.dtype, _check_fixed(fixed_gates)).forward(a, c_prev, c_next, h_next, tc)
    return h_next, c_next


def lstm_step_backward(dh_next, dc_next, x, h_prev, c_prev, Wx, Wh, b, fixed_gates=None):
    """Backward pass of one LSTM step (the gates are recomputed from the inputs).

    Parameters
    ----------
    dh_next, dc_next: arrays ``(N, H)``, the loss gradients with respect to
        ``h_next`` and ``c_next``.
    x, h_prev, c_prev, Wx, Wh, b, fixed_gates: the forward step's arguments.

    Returns
    -------
    dx, dh_prev, dc_prev, dWx, dWh, db: arrays shaped like ``x``, ``h_prev``,
    ``c_prev``, ``Wx``, ``Wh`` and ``b``.

    Notes
    -----
    With ``dc = dc_next + dh_next * o * (1 - tanh(c_next)**2)``, the gradient
    reaching the previous cell state is ``dc_prev = dc * f``: an elementwise
    product with the forget gate, no matrix and no squashing function.
    """
    x, h_prev, c_prev, Wx, Wh, b = _check_step(x, h_prev, c_prev, Wx, Wh, b)
    N, H = h_prev.shape
    state = ((N, "batch size N from x"), (H, "hidden size H from Wx"))
    dh_next = check_array("dh_next", dh_next, shape=state, kind="float")
    dc_next = check_array("dc_next", dc_next, shape=state, kind="float")
    acts = x @ Wx + h_prev @ Wh + b
    xp = array_module(acts)
    cell = lstm_cell(xp, H, acts.dtype, _check_fixed(fixed_gates))
    c_next, h_next, tc, dc_prev = (xp.empty((N, H), dtype=acts.dtype) for _ in range(4))
    cell.forward(acts, c_prev, c_next, h_next, tc)
    cell.prepare_backward(acts[None], c_prev[None], tc[None])
    da = xp.empty_like(acts)
    cell.backward(0, dh_next, dc_next, da, dc_prev)
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def _forward_time_major(xs, h0, c0, Wx, Wh, b, fixed):
    """Fused forward pass. Returns time-major buffers ``hs`` and ``cs`` ``(T + 1, N, H)`` whose first
    entry is the initial state (so ``hs[:-1]`` are the previous states of all steps, without a copy),
    ``tcs = tanh(cs[1:])`` ``(T, N, H)`` and the activated gates ``acts`` ``(T, N, 4H)``."""
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


def _backward_time_major(dhs_t, xs, hs, cs, tcs, acts, Wx, Wh, fixed, dh_last=None, dc_last=None, ws=None):
    """Fused backward pass from the buffers of :func:`_forward_time_major`.
    Returns dxs (N, T, D), dh0, dc0, dWx, dWh, db."""
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


def _check_sequence(xs, h0, c0, Wx, Wh, b):
    xs = check_array("xs", xs, ndim=3, kind="float")
    N, T, D = xs.shape
    Wx, Wh, b, H = _check_weights(Wx, Wh, b, D, "xs")
    state = ((N, "batch size N from xs"), (H, "hidden size H from Wx"))
    h0 = check_array("h0", h0, shape=state, kind="float")
    c0 = check_array("c0", c0, shape=state, kind="float")
    if T == 0:
        raise ValueError("xs has no time steps (T = 0)")
    return xs, h0, c0, Wx, Wh, b


def lstm_forward(xs, h0, c0, Wx, Wh, b, fixed_gates=None):
    """Run the LSTM over a whole sequence.

    Parameters
    ----------
    xs: array ``(N, T, D)``.
    h0, c0: arrays ``(N, H)``, the initial hidden and cell states.
    Wx, Wh, b: the fused weights, gates in the order (f, i, g, o).
    fixed_gates: optional dict replacing gates by constants.

    Returns
    -------
    hs, cs: arrays ``(N, T, H)``, the hidden and cell states after every step.

    The input projection of all time steps is one matrix product before the
    loop; only ``h @ Wh`` stays inside it.
    """
    xs, h0, c0, Wx, Wh, b = _check_sequence(xs, h0, c0, Wx, Wh, b)
    hs, cs, _, _ = _forward_time_major(xs, h0, c0, Wx, Wh, b, _check_fixed(fixed_gates))
    return hs[1:].transpose(1, 0, 2), cs[1:].transpose(1, 0, 2)


def lstm_backward(dhs, xs, h0, c0, Wx, Wh, b, dh_last=None, dc_last=None, fixed_gates=None):
    """Backpropagation through time for :func:`lstm_forward` (recomputes the forward pass).

    Parameters
    ----------
    dhs: array ``(N, T, H)``, the loss gradient arriving at every hidden state from above.
    xs, h0, c0, Wx, Wh, b, fixed_gates: the forward pass's arguments.
    dh_last, dc_last: optional ``(N, H)`` gradients flowing into the last
        hidden and cell states from the future (zero by default).

    Returns
    -------
    dxs, dh0, dc0, dWx, dWh, db
    """
    xs, h0, c0, Wx, Wh, b = _check_sequence(xs, h0, c0, Wx, Wh, b)
    N, T, _ = xs.shape
    H = Wh.shape[0]
    dhs = check_array("dhs", dhs, shape=((N, "batch size N"), (T, "time steps T"), (H, "hidden size H")),
                      kind="float")
    fixed = _check_fixed(fixed_gates)
    hs, cs, tcs, acts = _forward_time_major(xs, h0, c0, Wx, Wh, b, fixed)
    return _backward_time_major(dhs.transpose(1, 0, 2), xs, hs, cs, tcs, acts, Wx, Wh, fixed, dh_last, dc_last)


class TimeLSTM:
    """An LSTM layer unrolled over a whole ``(N, T, D)`` block.

    It runs on the CPU (NumPy) or, when built after ``rnnbook.use_gpu()``, on an NVIDIA GPU (CuPy),
    where each time step's elementwise work is one fused kernel (:class:`CupyCell`). It is the only
    recurrent layer that runs on the GPU: :class:`~rnnbook.rnn.TimeRNN` and
    :class:`~rnnbook.gru.TimeGRU` refuse ``use_gpu()``. The step implementation is chosen once per
    pass (:func:`lstm_cell`); the time loop itself is the same on both devices.

    Parameters
    ----------
    input_size, hidden_size:
        ``D`` and ``H``.
    stateful:
        If true, the last hidden and cell states of one ``forward`` call are
        the initial states of the next (truncated BPTT); call
        :meth:`reset_state` between independent sequences.
    rng, dtype:
        Initialisation seed/generator and parameter dtype (float32 by default).
    forget_bias:
        Initial value of the forget gate's bias (1.0 by default, so that the
        untrained cell starts by remembering: ``sigmoid(1) = 0.73``).
    fixed_gates:
        Optional dict replacing gates by constants, e.g. ``{"f": 1.0}`` to
        remove the forget gate (an ablation; see the module docstring).

    Attributes
    ----------
    params: ``[Wx, Wh, b]`` with gates in the order (f, i, g, o) along the last axis.
    grads: ``[dWx, dWh, db]``
    h, c: the last hidden and cell states ``(N, H)`` after ``forward``.
    cs: all cell states ``(N, T, H)`` of the last ``forward`` call.
    dh0, dc0: the gradients with respect to the initial states after ``backward``.
    """

    def __init__(self, input_size: int, hidden_size: int, *, stateful: bool = False, rng=None,
                 dtype=np.float32, forget_bias: float = 1.0, fixed_gates: dict | None = None):
        D = check_positive_int("input_size", input_size)
        H = check_positive_int("hidden_size", hidden_size)
        rng = init_rng(rng)
        self.fixed_gates = _check_fixed(fixed_gates)
        Wx, Wh, b = init_weights(rng, D, H, 4, dtype)
        b[:H] = forget_bias
        self.params = [to_device(Wx), to_device(Wh), to_device(b)]   # on the GPU after rnnbook.use_gpu()
        self.grads = [array_module(p).zeros_like(p) for p in self.params]
        self.stateful = stateful
        self.h = self.c = self.cs = None
        self.dh0 = self.dc0 = None
        self._cache = None
        self._ws = {}               # the backward pass's scratch arrays, kept between calls (see _buffer)

    def reset_state(self) -> None:
        """Forget the carried hidden and cell states (start the next sequence from zeros)."""
        self.h = self.c = None

    def forward(self, xs: np.ndarray, h0: np.ndarray | None = None, c0: np.ndarray | None = None) -> np.ndarray:
        """Return all hidden states ``(N, T, H)`` for inputs ``xs`` ``(N, T, D)``.

        Each initial state is the one given, else the carried state (stateful
        layers), else zeros.
        """
        Wx, Wh, b = self.params
        xs = check_layer_input(xs, Wx)
        N, H = xs.shape[0], Wh.shape[0]
        h0 = initial_state("h0", h0, self.h if self.stateful else None, N, H, Wx)
        c0 = initial_state("c0", c0, self.c if self.stateful else None, N, H, Wx)
        hs, cs, tcs, acts = _forward_time_major(xs, h0, c0, Wx, Wh, b, self.fixed_gates)
        self._cache = (xs, hs, cs, tcs, acts)
        self.h = hs[-1].copy()
        self.c = cs[-1].copy()
        self.cs = cs[1:].transpose(1, 0, 2)
        return hs[1:].transpose(1, 0, 2)

    def backward(self, dhs: np.ndarray, dh_last: np.ndarray | None = None,
                 dc_last: np.ndarray | None = None) -> np.ndarray:
        """Return ``dL/dxs`` and store the weight gradients in ``grads``."""
        xs, hs, cs, tcs, acts = saved_by_forward(self, self._cache)
        T, N, H = tcs.shape
        dhs = check_array("dhs", dhs, shape=((N, "batch size N"), (T, "time steps T"), (H, "hidden size H")),
                          kind="float")
        dxs, dh0, dc0, dWx, dWh, db = _backward_time_major(
            dhs.transpose(1, 0, 2), xs, hs, cs, tcs, acts, self.params[0], self.params[1], self.fixed_gates,
            dh_last, dc_last, self._ws)
        self.grads[0][...] = dWx
        self.grads[1][...] = dWh
        self.grads[2][...] = db
        self.dh0, self.dc0 = dh0, dc0
        return dxs

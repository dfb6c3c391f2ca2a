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
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_gate_weights, check_positive_int, check_same_dtype
from .backend import array_module, lstm_kernels, to_device
from ._timemajor import input_gradient, project_inputs
from .layers import init_rng

__all__ = ["GATES", "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward", "TimeLSTM"]

#: Gate names in the order of their blocks along the fused ``4H`` axis.
GATES = ("f", "i", "g", "o")


def _check_weights(Wx, Wh, b, D: int, source: str):
    return check_gate_weights(Wx, Wh, b, D, source, gates="figo")


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


def _sigmoid_(z: np.ndarray) -> None:
    """In-place logistic function via ``sigmoid(z) = (1 + tanh(z / 2)) / 2``: stable and fast."""
    z *= 0.5
    np.tanh(z, out=z)
    z *= 0.5
    z += 0.5


def _activate(a: np.ndarray, H: int, fixed: dict) -> np.ndarray:
    """Apply sigmoid/tanh to the fused pre-activations ``a`` (..., 4H) in place and return it."""
    _sigmoid_(a[..., :2 * H])
    np.tanh(a[..., 2 * H:3 * H], out=a[..., 2 * H:3 * H])
    _sigmoid_(a[..., 3 * H:])
    for name, value in fixed.items():
        k = GATES.index(name)
        a[..., k * H:(k + 1) * H] = value
    return a


def _gate_grads(dh, dc_next, c_prev, acts, tanh_c, H: int, fixed: dict, out: np.ndarray):
    """Shared core of the backward passes: gradient at the fused pre-activations and ``dc_prev``.

    ``acts`` holds the activated gates (f, i, g, o) and ``out`` (N, 4H) receives
    ``dL/da``. Returns ``dc_prev``.
    """
    f, i, g, o = acts[:, :H], acts[:, H:2 * H], acts[:, 2 * H:3 * H], acts[:, 3 * H:]
    dc = dc_next + dh * o * (1 - tanh_c ** 2)
    out[:, :H] = dc * c_prev * f * (1 - f)            # forget gate
    out[:, H:2 * H] = dc * g * i * (1 - i)            # input gate
    out[:, 2 * H:3 * H] = dc * i * (1 - g ** 2)       # candidate
    out[:, 3 * H:] = dh * tanh_c * o * (1 - o)        # output gate
    for name in fixed:
        k = GATES.index(name)
        out[:, k * H:(k + 1) * H] = 0
    return dc * f


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
    x = check_array("x", x, ndim=2, kind="float")
    Wx, Wh, b, H = _check_weights(Wx, Wh, b, x.shape[1], "x")
    N = x.shape[0]
    state = ((N, "batch size N from x"), (H, "hidden size H from Wx"))
    h_prev = check_array("h_prev", h_prev, shape=state, kind="float")
    c_prev = check_array("c_prev", c_prev, shape=state, kind="float")
    acts = _activate(x @ Wx + h_prev @ Wh + b, H, _check_fixed(fixed_gates))
    f, i, g, o = acts[:, :H], acts[:, H:2 * H], acts[:, 2 * H:3 * H], acts[:, 3 * H:]
    c_next = f * c_prev + i * g
    h_next = o * np.tanh(c_next)
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
    x = check_array("x", x, ndim=2, kind="float")
    Wx, Wh, b, H = _check_weights(Wx, Wh, b, x.shape[1], "x")
    N = x.shape[0]
    state = ((N, "batch size N from x"), (H, "hidden size H from Wx"))
    h_prev = check_array("h_prev", h_prev, shape=state, kind="float")
    c_prev = check_array("c_prev", c_prev, shape=state, kind="float")
    dh_next = check_array("dh_next", dh_next, shape=state, kind="float")
    dc_next = check_array("dc_next", dc_next, shape=state, kind="float")
    fixed = _check_fixed(fixed_gates)
    acts = _activate(x @ Wx + h_prev @ Wh + b, H, fixed)
    c_next = acts[:, :H] * c_prev + acts[:, H:2 * H] * acts[:, 2 * H:3 * H]
    da = np.empty_like(acts)
    dc_prev = _gate_grads(dh_next, dc_next, c_prev, acts, np.tanh(c_next), H, fixed, da)
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


def _forward_time_major(xs, h0, c0, Wx, Wh, b, fixed):
    """Fused forward pass. Returns time-major ``hs_t``, ``cs_t`` (T, N, H) and ``acts_t`` (T, N, 4H)."""
    N, T, D = xs.shape
    H = Wh.shape[0]
    xp = array_module(xs)                         # numpy, or cupy on the GPU (rnnbook.backend)
    fused = None if fixed else lstm_kernels(xp)   # one GPU kernel per step for the elementwise work
    acts_t = project_inputs(xs, Wx)               # (T, N, 4H): every input projection in one GEMM
    acts_t += b
    hs_t = xp.empty((T, N, H), dtype=acts_t.dtype)
    cs_t = xp.empty((T, N, H), dtype=acts_t.dtype)
    h = h0
    for t in range(T):
        a = acts_t[t]
        a += h @ Wh                               # the only matrix product inside the loop
        c_prev, c, h = c0 if t == 0 else cs_t[t - 1], cs_t[t], hs_t[t]
        if fused is not None:
            fused[0](c_prev, a[:, :H], a[:, H:2 * H], a[:, 2 * H:3 * H], a[:, 3 * H:], c, h)
            continue
        _activate(a, H, fixed)
        xp.multiply(a[:, :H], c_prev, out=c)
        c += a[:, H:2 * H] * a[:, 2 * H:3 * H]
        xp.tanh(c, out=h)
        h *= a[:, 3 * H:]
    return hs_t, cs_t, acts_t


def _backward_time_major(dhs_t, xs, h0, c0, hs_t, cs_t, acts_t, Wx, Wh, fixed, dh_last=None, dc_last=None):
    """Fused backward pass from time-major buffers. Returns dxs (N, T, D), dh0, dc0, dWx, dWh, db."""
    T, N, H = hs_t.shape
    D = xs.shape[2]
    dtype = hs_t.dtype
    xp = array_module(hs_t)
    fused = None if fixed else lstm_kernels(xp)
    da_t = xp.empty((T, N, 4 * H), dtype=dtype)
    blocks = [slice(k * H, (k + 1) * H) for k in range(4)]        # the gates' columns, for the fused kernel
    dh = xp.zeros((N, H), dtype=dtype) if dh_last is None else dh_last
    dc = xp.zeros((N, H), dtype=dtype) if dc_last is None else dc_last
    for t in reversed(range(T)):
        c_prev = c0 if t == 0 else cs_t[t - 1]
        if fused is not None:
            a, da = acts_t[t], da_t[t]
            dc_prev = xp.empty_like(dc)
            fused[1](*(a[:, s] for s in blocks), c_prev, cs_t[t], dhs_t[t] + dh, dc,
                     *(da[:, s] for s in blocks), dc_prev)
            dc = dc_prev
        else:
            dc = _gate_grads(dhs_t[t] + dh, dc, c_prev, acts_t[t], xp.tanh(cs_t[t]), H, fixed, da_t[t])
        dh = (Wh @ da_t[t].T).T                   # = da_t[t] @ Wh.T, the only product inside the loop
    da2 = da_t.reshape(T * N, 4 * H)
    h_prev_t = xp.concatenate([h0[None], hs_t[:-1]], axis=0).reshape(T * N, H)
    dWh = h_prev_t.T @ da2
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
    hs_t, cs_t, _ = _forward_time_major(xs, h0, c0, Wx, Wh, b, _check_fixed(fixed_gates))
    return hs_t.transpose(1, 0, 2), cs_t.transpose(1, 0, 2)


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
    hs_t, cs_t, acts_t = _forward_time_major(xs, h0, c0, Wx, Wh, b, fixed)
    return _backward_time_major(dhs.transpose(1, 0, 2), xs, h0, c0, hs_t, cs_t, acts_t, Wx, Wh, fixed,
                                dh_last, dc_last)


class TimeLSTM:
    """An LSTM layer unrolled over a whole ``(N, T, D)`` block.

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
        Wx = (rng.standard_normal((D, 4 * H)) / np.sqrt(D)).astype(dtype)
        Wh = (rng.standard_normal((H, 4 * H)) / np.sqrt(H)).astype(dtype)
        b = np.zeros(4 * H, dtype=dtype)
        b[:H] = forget_bias
        self.params = [to_device(Wx), to_device(Wh), to_device(b)]   # on the GPU after rnnbook.use_gpu()
        self.grads = [array_module(p).zeros_like(p) for p in self.params]
        self.stateful = stateful
        self.h = self.c = self.cs = None
        self.dh0 = self.dc0 = None
        self._cache = None

    def reset_state(self) -> None:
        """Forget the carried hidden and cell states (start the next sequence from zeros)."""
        self.h = self.c = None

    def forward(self, xs: np.ndarray, h0: np.ndarray | None = None, c0: np.ndarray | None = None) -> np.ndarray:
        """Return all hidden states ``(N, T, H)`` for inputs ``xs`` ``(N, T, D)``.

        Each initial state is the one given, else the carried state (stateful
        layers), else zeros.
        """
        Wx, Wh, b = self.params
        D, H = Wx.shape[0], Wh.shape[0]
        xs = check_array("xs", xs, shape=(None, None, (D, "input size D")), kind="float")
        check_same_dtype("xs", xs, Wx.dtype)
        N, T, _ = xs.shape
        if T == 0:
            raise ValueError("xs has no time steps (T = 0)")
        carry = self.stateful and self.h is not None and self.h.shape == (N, H)
        state = ((N, "batch size N from xs"), (H, "hidden size H"))
        xp = array_module(Wx)
        if h0 is None:
            h0 = self.h if carry else xp.zeros((N, H), dtype=Wx.dtype)
        else:
            h0 = check_array("h0", h0, shape=state, kind="float")
        if c0 is None:
            c0 = self.c if carry else xp.zeros((N, H), dtype=Wx.dtype)
        else:
            c0 = check_array("c0", c0, shape=state, kind="float")
        hs_t, cs_t, acts_t = _forward_time_major(xs, h0, c0, Wx, Wh, b, self.fixed_gates)
        self._cache = (xs, h0, c0, hs_t, cs_t, acts_t)
        self.h = hs_t[-1].copy()
        self.c = cs_t[-1].copy()
        self.cs = cs_t.transpose(1, 0, 2)
        return hs_t.transpose(1, 0, 2)

    def backward(self, dhs: np.ndarray, dh_last: np.ndarray | None = None,
                 dc_last: np.ndarray | None = None) -> np.ndarray:
        """Return ``dL/dxs`` and store the weight gradients in ``grads``."""
        if self._cache is None:
            raise RuntimeError("TimeLSTM.backward called before forward")
        xs, h0, c0, hs_t, cs_t, acts_t = self._cache
        T, N, H = hs_t.shape
        dhs = check_array("dhs", dhs, shape=((N, "batch size N"), (T, "time steps T"), (H, "hidden size H")),
                          kind="float")
        dxs, dh0, dc0, dWx, dWh, db = _backward_time_major(
            dhs.transpose(1, 0, 2), xs, h0, c0, hs_t, cs_t, acts_t, self.params[0], self.params[1],
            self.fixed_gates, dh_last, dc_last)
        self.grads[0][...] = dWx
        self.grads[1][...] = dWh
        self.grads[2][...] = db
        self.dh0, self.dc0 = dh0, dc0
        return dxs

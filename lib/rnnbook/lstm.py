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

**The step functions are the formulas.** :func:`lstm_step_forward` and :func:`lstm_step_backward` are the
equations above and their gradients, gate by gate, as chapter 3 derives them. The sequence functions and
:class:`TimeLSTM` run a private engine (``rnnbook._lstm_engine``: time-major buffers, the matrix products
hoisted out of the time loop, the elementwise work in few NumPy calls, one fused CUDA kernel per step on a
GPU) that computes the same numbers; ``tests/test_lstm.py`` pins it to the step functions bit for bit.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_gate_weights, check_positive_int, check_sequence_grad, saved_by_forward
from ._lstm_engine import backward_time_major, forward_time_major
from ._timemajor import check_layer_input, init_weights, initial_state
from .backend import array_module, to_device
from .seeds import init_rng

__all__ = ["GATES", "lstm_step_forward", "lstm_step_backward", "lstm_forward", "lstm_backward", "TimeLSTM"]

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


def _sigmoid(z):
    """The logistic function as ``(1 + tanh(z / 2)) / 2``: the same function as ``1 / (1 + exp(-z))``,
    stable for any ``z`` (no overflow), and one ``tanh`` like the candidate's."""
    return 0.5 * (1 + array_module(z).tanh(0.5 * z))


def _gates(x, h_prev, Wx, Wh, b, fixed: dict):
    """The four gates ``f, i, g, o`` ``(N, H)`` of one step; a fixed gate is its constant instead."""
    xp, H = array_module(x), h_prev.shape[1]
    a = x @ Wx + h_prev @ Wh + b                 # (N, 4H): the pre-activations of all four gates
    gates = {"f": _sigmoid(a[:, 0 * H:1 * H]),   # forget gate
             "i": _sigmoid(a[:, 1 * H:2 * H]),   # input gate
             "g": xp.tanh(a[:, 2 * H:3 * H]),    # candidate content
             "o": _sigmoid(a[:, 3 * H:4 * H])}   # output gate
    for name, value in fixed.items():
        gates[name] = xp.full_like(gates[name], value)
    return gates["f"], gates["i"], gates["g"], gates["o"]


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
    f, i, g, o = _gates(x, h_prev, Wx, Wh, b, _check_fixed(fixed_gates))
    c_next = f * c_prev + i * g                  # forget part of the old content, add the new
    h_next = o * array_module(c_next).tanh(c_next)
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
    state = ((x.shape[0], "batch size N from x"), (h_prev.shape[1], "hidden size H from Wx"))
    dh_next = check_array("dh_next", dh_next, shape=state, kind="float")
    dc_next = check_array("dc_next", dc_next, shape=state, kind="float")
    fixed = _check_fixed(fixed_gates)
    f, i, g, o = _gates(x, h_prev, Wx, Wh, b, fixed)          # the forward step, recomputed
    xp = array_module(f)
    tc = xp.tanh(f * c_prev + i * g)                         # tanh(c_next)
    dc = dc_next + dh_next * o * (1 - tc ** 2)               # both paths into c_next
    da = {"f": dc * c_prev * f * (1 - f),                    # gate by gate, at the pre-activations
          "i": dc * g * i * (1 - i),
          "g": dc * i * (1 - g ** 2),
          "o": dh_next * tc * o * (1 - o)}
    for name in fixed:
        da[name] = xp.zeros_like(da[name])                   # a constant gate receives no gradient
    da = xp.concatenate([da[name] for name in GATES], axis=1)   # (N, 4H), in the order of the weights
    dc_prev = dc * f
    return da @ Wx.T, da @ Wh.T, dc_prev, x.T @ da, h_prev.T @ da, da.sum(axis=0)


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
    hs, cs, _, _ = forward_time_major(xs, h0, c0, Wx, Wh, b, _check_fixed(fixed_gates))
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
    dhs = check_sequence_grad(dhs, N, T, H)
    fixed = _check_fixed(fixed_gates)
    hs, cs, tcs, acts = forward_time_major(xs, h0, c0, Wx, Wh, b, fixed)
    return backward_time_major(dhs.transpose(1, 0, 2), xs, hs, cs, tcs, acts, Wx, Wh, fixed, dh_last, dc_last)


class TimeLSTM:
    """An LSTM layer unrolled over a whole ``(N, T, D)`` block.

    It runs on the CPU (NumPy) or, when built after ``rnnbook.use_gpu()``, on an NVIDIA GPU (CuPy),
    where each time step's elementwise work is one fused kernel. It is the only
    recurrent layer that runs on the GPU: :class:`~rnnbook.rnn.TimeRNN` and
    :class:`~rnnbook.gru.TimeGRU` refuse ``use_gpu()``. It computes what a loop of
    :func:`lstm_step_forward` and :func:`lstm_step_backward` computes, faster (see the module docstring).

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
    scratch:
        Optional dict in which ``backward`` keeps its scratch arrays (about ``15 * T * N * H`` numbers)
        for the next call, because allocating them afresh every time costs page faults; the layers of
        one model can share one dict, since they run ``backward`` one after the other (a new dict
        of this layer's own by default).

    Attributes
    ----------
    params: ``[Wx, Wh, b]`` with gates in the order (f, i, g, o) along the last axis.
    grads: ``[dWx, dWh, db]``
    h, c: the last hidden and cell states ``(N, H)`` after ``forward``.
    cs: all cell states ``(N, T, H)`` of the last ``forward`` call.
    dh0, dc0: the gradients with respect to the initial states after ``backward``.
    """

    def __init__(self, input_size: int, hidden_size: int, *, stateful: bool = False, rng=None,
                 dtype=np.float32, forget_bias: float = 1.0, fixed_gates: dict | None = None,
                 scratch: dict | None = None):
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
        if scratch is not None and not isinstance(scratch, dict):
            raise TypeError(f"scratch must be a dict (or None), got {type(scratch).__name__}")
        self._ws = {} if scratch is None else scratch     # the backward pass's scratch arrays

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
        hs, cs, tcs, acts = forward_time_major(xs, h0, c0, Wx, Wh, b, self.fixed_gates)
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
        dhs = check_sequence_grad(dhs, N, T, H)
        dxs, dh0, dc0, dWx, dWh, db = backward_time_major(
            dhs.transpose(1, 0, 2), xs, hs, cs, tcs, acts, self.params[0], self.params[1], self.fixed_gates,
            dh_last, dc_last, self._ws)
        self.grads[0][...] = dWx
        self.grads[1][...] = dWh
        self.grads[2][...] = db
        self.dh0, self.dc0 = dh0, dc0
        return dxs

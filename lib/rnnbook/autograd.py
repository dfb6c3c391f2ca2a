"""A minimal reverse-mode automatic-differentiation engine (appendix A1).

A :class:`Tensor` holds an array (``data``), the tensors it was computed from
(``parents``) and a function that turns the gradient of the loss with respect
to the tensor into gradients with respect to its parents. Every operation
below builds one new node of this *computational graph*. :meth:`Tensor.backward`
visits the graph in reverse topological order, so that a node's gradient is
complete (every use of it has contributed) before it is passed on, and
*adds up* the gradients of a tensor used several times, such as a weight
matrix shared by all time steps of a recurrent network. As in PyTorch,
gradients accumulate across calls of ``backward`` on the leaves only (inputs
and weights); an intermediate node's ``.grad`` is that of the latest call.

Operations: ``+``, ``-``, ``*`` (elementwise, with NumPy broadcasting),
``@`` (2-D matrix product), indexing ``t[...]``, :func:`concat`,
:meth:`Tensor.sum`, :meth:`Tensor.reshape`, :func:`sigmoid`, :func:`tanh`,
:func:`log_softmax` and :func:`cross_entropy` (built from the others).

The local derivatives are also plain functions of arrays
(:func:`unbroadcast`, :func:`mul_backward`, :func:`matmul_backward`,
:func:`sigmoid_backward`, :func:`tanh_backward`), the ones the exercises ask
for. :func:`rnn_graph` and :func:`lstm_graph` write the recurrent cells of
chapters 1 and 3 with the engine; running :meth:`Tensor.backward` on them *is*
backpropagation through time.

This engine is for teaching: it favours clarity over speed and memory (see
the appendix for how much that costs against :mod:`rnnbook.lstm`).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from ._checks import check_array
from .functions import sigmoid as _sigmoid

__all__ = ["Tensor", "concat", "sigmoid", "tanh", "log_softmax", "cross_entropy",
           "unbroadcast", "mul_backward", "matmul_backward", "sigmoid_backward", "tanh_backward",
           "topological_order", "graph_size", "rnn_graph", "lstm_graph", "draw_graph"]


# ---------------------------------------------------------------- local derivatives as plain functions

def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``: the backward pass of NumPy broadcasting.

    If an operand of shape ``shape`` was broadcast to ``grad.shape`` in the
    forward pass, each of its entries was used several times, so its gradient
    is the *sum* of the gradients of all the copies: over the leading axes
    that broadcasting added, and over the axes where ``shape`` has size 1.
    """
    shape = tuple(shape)
    extra = grad.ndim - len(shape)
    if extra < 0:
        raise ValueError(f"unbroadcast: cannot reduce a gradient of shape {grad.shape} to the larger {shape}")
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    ones = tuple(k for k, n in enumerate(shape) if n == 1 and grad.shape[k] != 1)
    if ones:
        grad = grad.sum(axis=ones, keepdims=True)
    return grad


def mul_backward(a: np.ndarray, b: np.ndarray, grad_out: np.ndarray):
    """Gradients of ``out = a * b`` (elementwise, broadcasting): ``(grad_out * b, grad_out * a)``,
    each summed back to its operand's shape."""
    return unbroadcast(grad_out * b, np.shape(a)), unbroadcast(grad_out * a, np.shape(b))


def matmul_backward(a: np.ndarray, b: np.ndarray, grad_out: np.ndarray):
    """Gradients of ``out = a @ b`` for ``a`` ``(N, K)`` and ``b`` ``(K, M)``.

    Returns ``(grad_out @ b.T, a.T @ grad_out)``, shaped like ``a`` and ``b``.
    """
    return grad_out @ b.T, a.T @ grad_out


def sigmoid_backward(out: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """Gradient of ``out = sigmoid(z)`` with respect to ``z``, from the *output*: ``grad_out * out * (1 - out)``."""
    return grad_out * out * (1 - out)


def tanh_backward(out: np.ndarray, grad_out: np.ndarray) -> np.ndarray:
    """Gradient of ``out = tanh(z)`` with respect to ``z``, from the output: ``grad_out * (1 - out**2)``."""
    return grad_out * (1 - out ** 2)


# ---------------------------------------------------------------- the graph

def topological_order(root, parents: Callable = lambda node: node.parents) -> list:
    """All nodes that ``root`` depends on (itself included), every node after its parents.

    An iterative depth-first search (no recursion limit for long unrolled
    graphs): a node is appended once all of its parents have been appended,
    so ``root`` comes last. ``parents(node)`` returns a node's parents.
    """
    order, done = [], set()
    stack = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        for p in parents(node):
            if id(p) not in done:
                stack.append((p, False))
    return order


class Tensor:
    """An array that remembers how it was computed.

    Parameters
    ----------
    data:
        The value (converted to a floating-point ndarray; integers become float64).
    parents:
        The tensors this one was computed from (empty for a leaf: an input or a weight).
    backward_fn:
        ``backward_fn(grad) -> tuple of arrays``, one gradient per parent, given
        the gradient ``grad`` of the loss with respect to this tensor.
    op, name:
        Labels for printing and drawing the graph.

    Attributes
    ----------
    grad:
        The gradient of the loss with respect to ``data`` after :meth:`backward`
        (``None`` before; same shape as ``data``).
    """

    __array_priority__ = 100          # make ``ndarray * Tensor`` call Tensor.__rmul__

    def __init__(self, data, parents: Sequence["Tensor"] = (), backward_fn: Callable | None = None,
                 op: str = "", name: str | None = None):
        if isinstance(data, Tensor):
            raise TypeError("Tensor(data): data is already a Tensor")
        data = np.asarray(data)
        if data.dtype.kind in "biu":
            data = data.astype(np.float64)
        elif data.dtype.kind != "f":
            raise TypeError(f"Tensor data must be numeric, got dtype {data.dtype}")
        self.data = data
        self.parents = tuple(parents)
        self.backward_fn = backward_fn
        self.op = op
        self.name = name
        self.grad = None

    # ---- basic information
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    def __repr__(self) -> str:
        label = self.name or self.op or "leaf"
        return f"Tensor({label}, shape={self.shape})"

    # ---- backward
    def backward(self, grad: np.ndarray | None = None) -> None:
        """Add the gradient of this tensor's loss to ``.grad`` of every leaf it depends on.

        ``grad`` is the gradient of the loss with respect to this tensor; it
        may be omitted for a scalar (it is then 1). Within one call, a tensor
        used several times receives the sum of the gradients of all its uses.
        Across calls, as in PyTorch, gradients *accumulate on the leaves only*
        (the inputs and weights, tensors without parents): calling ``backward``
        twice without :meth:`zero_grad` adds the two gradients up there. An
        intermediate tensor's ``.grad`` holds the gradient of the latest call
        alone (for inspection), and only that gradient is passed on to its
        parents, never one left over from an earlier call.
        """
        if grad is None:
            if self.data.size != 1:
                raise ValueError(f"backward() without a gradient needs a scalar, this tensor has shape "
                                 f"{self.shape}; pass grad= of the same shape")
            grad = np.ones_like(self.data)
        grad = check_array("grad", grad, shape=self.shape, kind="float")
        order = topological_order(self)
        fresh = {id(self): grad.copy()}          # this call's gradient of every node reached
        for node in reversed(order):            # children before parents
            g = fresh.pop(id(node), None)
            if g is None:
                continue
            if not node.parents or node.backward_fn is None:   # a leaf: add to what earlier calls left
                node.grad = g if node.grad is None else node.grad + g
                continue
            node.grad = g                       # an intermediate: this call's gradient only
            for parent, pg in zip(node.parents, node.backward_fn(g)):
                if pg.shape != parent.shape:
                    raise RuntimeError(f"internal error: gradient of shape {pg.shape} for a {parent!r}")
                fresh[id(parent)] = pg.copy() if id(parent) not in fresh else fresh[id(parent)] + pg

    def zero_grad(self) -> None:
        """Forget the gradients of this tensor and of everything it depends on."""
        for node in topological_order(self):
            node.grad = None

    # ---- operations
    def __add__(self, other):
        other = _as_tensor(other)
        a, b = self.shape, other.shape
        return Tensor(self.data + other.data, (self, other),
                      lambda g: (unbroadcast(g, a), unbroadcast(g, b)), "+")

    __radd__ = __add__

    def __neg__(self):
        return Tensor(-self.data, (self,), lambda g: (-g,), "neg")

    def __sub__(self, other):
        return self + (-_as_tensor(other))

    def __rsub__(self, other):
        return _as_tensor(other) + (-self)

    def __mul__(self, other):
        other = _as_tensor(other)
        a, b = self.data, other.data
        return Tensor(a * b, (self, other), lambda g: mul_backward(a, b, g), "*")

    __rmul__ = __mul__

    def __matmul__(self, other):
        other = _as_tensor(other)
        a, b = self.data, other.data
        if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
            raise ValueError(f"matmul needs (N, K) @ (K, M) matrices, got {a.shape} @ {b.shape}")
        return Tensor(a @ b, (self, other), lambda g: matmul_backward(a, b, g), "@")

    def __rmatmul__(self, other):
        return _as_tensor(other) @ self

    def __getitem__(self, index):
        shape, dtype = self.shape, self.data.dtype

        def backward(g):
            full = np.zeros(shape, dtype=dtype)
            if _is_basic(index):
                full[index] = g                # a slice picks every entry at most once
            else:
                np.add.at(full, index, g)      # integer arrays may pick an entry twice: add, not assign
            return (full,)
        return Tensor(self.data[index], (self,), backward, "[]")

    def sum(self, axis=None, keepdims: bool = False):
        """Sum over ``axis`` (all axes by default)."""
        shape = self.shape

        def backward(g):
            if axis is not None and not keepdims:
                g = np.expand_dims(g, axis)
            return (np.broadcast_to(g, shape),)
        return Tensor(self.data.sum(axis=axis, keepdims=keepdims), (self,), backward, "sum")

    def reshape(self, *shape):
        """A tensor with the same data in a new shape."""
        old = self.shape
        return Tensor(self.data.reshape(*shape), (self,), lambda g: (g.reshape(old),), "reshape")


def _is_basic(index) -> bool:
    """True for indices made of integers, slices, ``None`` and ``...`` only (no arrays)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer)) for p in parts)


def _as_tensor(x) -> Tensor:
    """Wrap a constant (a number or an array) as a leaf tensor."""
    return x if isinstance(x, Tensor) else Tensor(x, op="const")


def _need_tensor(name: str, x) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a Tensor, got {type(x).__name__}")
    return x


# ---------------------------------------------------------------- functions

def sigmoid(x: Tensor) -> Tensor:
    """Elementwise logistic function; its backward uses only the output."""
    x = _need_tensor("x", x)
    out = _sigmoid(x.data)
    return Tensor(out, (x,), lambda g: (sigmoid_backward(out, g),), "sigmoid")


def tanh(x: Tensor) -> Tensor:
    """Elementwise hyperbolic tangent; its backward uses only the output."""
    x = _need_tensor("x", x)
    out = np.tanh(x.data)
    return Tensor(out, (x,), lambda g: (tanh_backward(out, g),), "tanh")


def concat(tensors: Sequence[Tensor], axis: int = 0) -> Tensor:
    """Join tensors along ``axis``; the backward pass cuts the gradient back into pieces."""
    tensors = [_need_tensor(f"tensors[{k}]", t) for k, t in enumerate(tensors)]
    if not tensors:
        raise ValueError("concat needs at least one tensor")
    data = np.concatenate([t.data for t in tensors], axis=axis)
    cuts = np.cumsum([t.shape[axis] for t in tensors])[:-1]
    return Tensor(data, tensors, lambda g: tuple(np.split(g, cuts, axis=axis)), "concat")


def log_softmax(x: Tensor, axis: int = -1) -> Tensor:
    """``x - logsumexp(x)`` along ``axis``.

    Backward: with ``p = softmax(x)``, ``dx = g - p * sum(g)`` (the sum along ``axis``).
    """
    x = _need_tensor("x", x)
    shifted = x.data - x.data.max(axis=axis, keepdims=True)
    out = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))

    def backward(g):
        return (g - np.exp(out) * g.sum(axis=axis, keepdims=True),)
    return Tensor(out, (x,), backward, "log_softmax")


def cross_entropy(logits: Tensor, targets: np.ndarray) -> Tensor:
    """Mean negative log-likelihood of integer ``targets`` ``(N,)`` under ``softmax(logits)`` ``(N, V)``.

    Composed of :func:`log_softmax`, indexing, :meth:`Tensor.sum` and a
    multiplication, so it needs no backward of its own.
    """
    logits = _need_tensor("logits", logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, V), got {logits.shape}")
    N, V = logits.shape
    targets = check_array("targets", targets, shape=((N, "number of rows N of logits"),), kind="int")
    if N == 0:
        raise ValueError("cross_entropy of no rows (N = 0) is undefined")
    if targets.min() < 0 or targets.max() >= V:
        raise ValueError(f"targets must be in [0, {V}), got values from {targets.min()} to {targets.max()}")
    picked = log_softmax(logits)[np.arange(N), targets]
    return picked.sum() * (-1.0 / N)


def graph_size(root: Tensor) -> dict:
    """Nodes and bytes of the graph behind ``root``.

    Returns ``{"nodes": ..., "leaves": ..., "data_bytes": ..., "grad_bytes": ...}``:
    every node keeps its ``data`` alive (the "saved intermediates") and, after
    backward, a ``grad`` of the same size.
    """
    nodes = topological_order(root)
    return {"nodes": len(nodes),
            "leaves": sum(1 for n in nodes if not n.parents),
            "data_bytes": sum(n.data.nbytes for n in nodes),
            "grad_bytes": sum(n.grad.nbytes for n in nodes if n.grad is not None)}


# ---------------------------------------------------------------- recurrent cells written with the engine

def rnn_graph(xs: Tensor, h0: Tensor, Wx: Tensor, Wh: Tensor, b: Tensor) -> list[Tensor]:
    """The vanilla RNN of chapter 1 unrolled with the engine; returns ``[h_1, ..., h_T]``.

    Same arguments as :func:`rnnbook.rnn.rnn_forward`, as tensors (``xs`` is ``(N, T, D)``).
    """
    for name, t in (("xs", xs), ("h0", h0), ("Wx", Wx), ("Wh", Wh), ("b", b)):
        _need_tensor(name, t)
    if xs.ndim != 3:
        raise ValueError(f"xs must have shape (N, T, D), got {xs.shape}")
    h, hs = h0, []
    for t in range(xs.shape[1]):
        h = tanh(xs[:, t] @ Wx + h @ Wh + b)
        hs.append(h)
    return hs


def lstm_graph(xs: Tensor, h0: Tensor, c0: Tensor, Wx: Tensor, Wh: Tensor, b: Tensor):
    """The LSTM of chapter 3 unrolled with the engine, step by step as the equations read.

    Same arguments as :func:`rnnbook.lstm.lstm_forward` (fused weights, gate
    order f, i, g, o), as tensors. Returns the lists ``[h_1, ..., h_T]`` and
    ``[c_1, ..., c_T]``.
    """
    for name, t in (("xs", xs), ("h0", h0), ("c0", c0), ("Wx", Wx), ("Wh", Wh), ("b", b)):
        _need_tensor(name, t)
    if xs.ndim != 3:
        raise ValueError(f"xs must have shape (N, T, D), got {xs.shape}")
    H = Wh.shape[0]
    if Wx.shape[1:] != (4 * H,) or Wh.shape != (H, 4 * H) or b.shape != (4 * H,):
        raise ValueError(f"expected Wx (D, 4H), Wh (H, 4H), b (4H,) with H = {H}, "
                         f"got {Wx.shape}, {Wh.shape}, {b.shape}")
    h, c, hs, cs = h0, c0, [], []
    for t in range(xs.shape[1]):
        a = xs[:, t] @ Wx + h @ Wh + b
        f = sigmoid(a[:, 0 * H:1 * H])
        i = sigmoid(a[:, 1 * H:2 * H])
        g = tanh(a[:, 2 * H:3 * H])
        o = sigmoid(a[:, 3 * H:4 * H])
        c = f * c + i * g
        h = o * tanh(c)
        hs.append(h)
        cs.append(c)
    return hs, cs


def draw_graph(root: Tensor, ax=None, *, leaves: Sequence[Tensor] | None = None, label: Callable | None = None):
    """Draw the graph behind ``root`` with matplotlib, inputs at the bottom and ``root`` at the top.

    A node's row is the length of the longest path from a leaf to it; the
    leaves sit in the order of ``leaves`` (default: the topological order)
    and every other node above the mean position of its parents.
    ``label(node) -> str`` chooses the text (default: the name, else the
    operation). Returns the axes.
    """
    import matplotlib.pyplot as plt

    order = topological_order(root)
    level, pos = {}, {}
    for n in order:
        level[id(n)] = 1 + max((level[id(p)] for p in n.parents), default=-1)
    leaf_nodes = [n for n in order if not n.parents]
    if leaves is not None:
        given = [n for n in leaves if any(n is m for m in leaf_nodes)]
        leaf_nodes = given + [n for n in leaf_nodes if not any(n is m for m in given)]
    for k, n in enumerate(leaf_nodes):
        pos[id(n)] = (float(k), 0)
    rows: dict = {}
    for n in order:
        if n.parents:
            pos[id(n)] = (float(np.mean([pos[id(p)][0] for p in n.parents])), level[id(n)])
            rows.setdefault(level[id(n)], []).append(n)
    for nodes in rows.values():                 # keep nodes of one row at least 1 apart
        nodes.sort(key=lambda n: pos[id(n)][0])
        for a, b in zip(nodes, nodes[1:]):
            if pos[id(b)][0] < pos[id(a)][0] + 1:
                pos[id(b)] = (pos[id(a)][0] + 1, pos[id(b)][1])
    xs = [p[0] for p in pos.values()]
    height = max(level.values()) + 1
    if ax is None:
        _, ax = plt.subplots(figsize=(max(6.0, 1.1 * (max(xs) - min(xs) + 1)), 0.6 * height + 1))
    label = label or (lambda n: n.name or n.op)
    for n in order:
        x1, y1 = pos[id(n)]
        for p in n.parents:
            x0, y0 = pos[id(p)]
            ax.annotate("", xy=(x1, y1), xytext=(x0, y0),
                        arrowprops=dict(arrowstyle="->", color="0.5", shrinkA=9, shrinkB=9))
    for n in order:
        x, y = pos[id(n)]
        ax.text(x, y, label(n), ha="center", va="center", fontsize=8,
                bbox=dict(boxstyle="round", fc="#d6e6f5" if n.parents else "#ffe9b3", ec="0.4"))
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)
    ax.set_ylim(-0.7, height - 0.3)
    ax.axis("off")
    return ax

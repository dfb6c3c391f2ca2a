"""Argument checking shared by the public entry points: one helper per kind of argument.

The library's functions and layers check their arguments with these helpers (arrays with their shapes and
dtypes, token ids, integers, positive or with a minimum, single ids such as ``pad_id``, the fused weights of
a gated cell, the upstream gradient of a time layer, the arguments of a loss), so that a wrong argument
produces a message that names it, what was expected and what arrived, instead of a NumPy traceback from
deep inside a matrix product. ``tests/test_bad_input.py`` holds one case per kind of mistake.
"""
from __future__ import annotations

import numpy as np

from .backend import is_cupy_array

__all__ = ["is_integer", "as_array", "check_array", "check_ids", "check_loss_args", "check_same_dtype",
           "check_positive_int", "check_min_int", "check_id", "check_gate_weights", "check_sequence_grad",
           "saved_by_forward"]


def is_integer(value) -> bool:
    """Whether ``value`` is an integer: a Python ``int`` or a NumPy integer such as ``np.int64`` (not a ``bool``)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def check_positive_int(name: str, value) -> int:
    """Return ``value`` as an ``int`` if it is a positive integer (``bool`` is not), else raise ``ValueError``.

    >>> check_positive_int("hidden_size", 0)
    Traceback (most recent call last):
    ...
    ValueError: hidden_size must be a positive integer, got 0
    """
    if not is_integer(value) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_min_int(name: str, value, minimum: int) -> int:
    """Return ``value`` as an ``int`` if it is an integer ``>= minimum`` (``bool`` is not), else raise
    ``ValueError``."""
    if not is_integer(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_id(name: str, value, low: int, high: int) -> int:
    """Return ``value`` as an ``int`` if it is an integer id in ``[low, high)``, else raise ``ValueError``."""
    if not is_integer(value) or not low <= value < high:
        raise ValueError(f"{name} must be an integer id in [{low}, {high}), got {value!r}")
    return int(value)


def _is_array(x) -> bool:
    """A NumPy array, or a CuPy array on the GPU (see :mod:`rnnbook.backend`)."""
    return isinstance(x, np.ndarray) or is_cupy_array(x) and hasattr(x, "shape")


def _describe(x) -> str:
    if _is_array(x):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"a {type(x).__name__}"


def as_array(name: str, x) -> np.ndarray:
    """Return ``x`` as an ndarray or raise ``TypeError`` naming ``name``."""
    if _is_array(x):
        return x
    if isinstance(x, (list, tuple, int, float, np.number)):
        return np.asarray(x)
    raise TypeError(f"{name} must be a NumPy array, got {_describe(x)}")


def check_array(name: str, x, *, ndim=None, shape=None, kind: str | None = None) -> np.ndarray:
    """Validate an array argument and return it.

    Parameters
    ----------
    name:
        The argument's name, used in the error message.
    ndim:
        Required number of dimensions (an int or a tuple of allowed ints).
    shape:
        Required shape; ``None`` entries match any size. Entries may also be
        ``(size, "label")`` pairs so the message can say *which* size is meant,
        e.g. ``(Wx.shape[0], "input size D")``.
    kind:
        ``"float"`` or ``"int"``: the required dtype kind.
    """
    x = as_array(name, x)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if x.ndim not in allowed:
            want = " or ".join(str(a) for a in allowed)
            raise ValueError(f"{name} must have {want} dimensions, got shape {x.shape}")
    if shape is not None:
        if x.ndim != len(shape):
            raise ValueError(f"{name} must have shape {_fmt_shape(shape)}, got {x.shape}")
        for axis, (want, got) in enumerate(zip(shape, x.shape)):
            label = None
            if isinstance(want, tuple):
                want, label = want
            if want is not None and want != got:
                what = f" ({label})" if label else ""
                raise ValueError(
                    f"{name} must have shape {_fmt_shape(shape)}, got {x.shape}: "
                    f"axis {axis}{what} is {got}, expected {want}")
    if kind == "float" and x.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating-point array, got dtype {x.dtype}")
    if kind == "int" and x.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array of token ids, got dtype {x.dtype}")
    return x


def _fmt_shape(shape) -> str:
    parts = []
    for s in shape:
        if isinstance(s, tuple):
            s = s[0]
        parts.append("*" if s is None else str(s))
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def check_ids(name: str, ids, vocab_size: int, *, ndim=None, allow=()) -> np.ndarray:
    """Validate integer token ids in ``[0, vocab_size)`` (plus values in ``allow``)."""
    ids = check_array(name, ids, ndim=ndim, kind="int")
    if ids.size == 0:
        raise ValueError(f"{name} is empty (shape {ids.shape}): there are no tokens to process")
    valid = (ids >= 0) & (ids < vocab_size)
    for a in allow:
        valid |= ids == a
    if not valid.all():
        bad = ids[~valid]
        raise ValueError(
            f"{name} contains token id(s) outside the vocabulary [0, {vocab_size}): "
            f"e.g. {int(bad.flat[0])} (min {int(ids.min())}, max {int(ids.max())})")
    return ids


def check_loss_args(logits, targets, ignore_index: int):
    """Check the arguments of a softmax cross-entropy loss: ``logits`` ``(..., V)`` floating with at least two
    axes, ``targets`` integer ids of shape ``logits.shape[:-1]``, each in ``[0, V)`` or ``ignore_index``, and
    at least one not ignored. Returns ``(logits, targets, count)``, ``count`` the number of counted targets."""
    logits = check_array("logits", logits, kind="float")
    if logits.ndim < 2:
        raise ValueError(f"logits must have shape (..., V) with at least 2 axes, got {logits.shape}")
    if targets is None:
        raise TypeError("targets must be an integer array, got None")
    targets = check_array("targets", targets, kind="int")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(f"targets must have shape {logits.shape[:-1]} (logits' shape without its last axis), "
                         f"got {targets.shape}")
    check_ids("targets", targets, logits.shape[-1], allow=(ignore_index,))
    count = int((targets != ignore_index).sum())
    if count == 0:
        raise ValueError("every target is ignore_index (padding): there is nothing to compute a loss on")
    return logits, targets, count


def check_same_dtype(name: str, x: np.ndarray, dtype) -> None:
    """Raise ``TypeError`` if ``x`` is not of the layer's floating dtype."""
    if x.dtype != dtype:
        raise TypeError(
            f"{name} has dtype {x.dtype} but the layer's parameters are {np.dtype(dtype)}; "
            f"convert it with .astype(np.{np.dtype(dtype).name})")


def check_gate_weights(Wx, Wh, b, D: int, source: str, gates: str):
    """Check the fused weights of a gated cell: ``Wx (D, kH)``, ``Wh (H, kH)``, ``b (kH,)``.

    ``gates`` names the ``k`` blocks side by side along the last axis, one
    letter each: ``"figo"`` (LSTM) or ``"rzn"`` (GRU). ``D`` is the input size,
    read from the argument named ``source``. Returns ``(Wx, Wh, b, H)``.
    """
    k = len(gates)
    Wx = check_array("Wx", Wx, shape=((D, f"input size D from {source}"), None), kind="float")
    if Wx.shape[1] % k != 0 or Wx.shape[1] == 0:
        raise ValueError(f"Wx must have shape (D, {k}H) with the gates ({', '.join(gates)}) side by side, "
                         f"got {Wx.shape}: {Wx.shape[1]} is not a positive multiple of {k}")
    kH = Wx.shape[1]
    H = kH // k
    Wh = check_array("Wh", Wh, shape=((H, f"hidden size H = Wx.shape[1] // {k}"), (kH, f"{k}H from Wx")),
                     kind="float")
    b = check_array("b", b, shape=((kH, f"{k}H from Wx"),), kind="float")
    return Wx, Wh, b, H


def check_sequence_grad(dhs, N: int, T: int, H: int) -> np.ndarray:
    """Check the upstream gradient ``dhs`` of a time layer's hidden states: ``(N, T, H)``, floating."""
    return check_array("dhs", dhs, shape=((N, "batch size N"), (T, "time steps T"), (H, "hidden size H")),
                       kind="float")


def saved_by_forward(layer, saved):
    """Return ``saved``, what ``layer.forward`` kept for the backward pass; raise a clear ``RuntimeError``
    if it is ``None`` (``backward`` called before ``forward``)."""
    if saved is None:
        raise RuntimeError(f"{type(layer).__name__}.backward called before forward")
    return saved

"""Long-range memory tasks (chapter 3): the answer depends on something far back.

* :func:`recall_first`: the first symbol of a sequence is one of ``n_symbols``
  *target* symbols, every later one a random *distractor* (a separate set of
  ``n_distractors`` symbols); the target is the first symbol, to be produced
  after the last one. The network has to store the first symbol and protect it
  from being overwritten for ``T - 1`` steps (a version of the "remember the
  first symbol" experiment of Hochreiter & Schmidhuber, 1997, with random
  distractors).
* :func:`adding_problem`: a sequence of (value, marker) pairs; the target is the
  sum of the two values whose marker is 1 (Hochreiter & Schmidhuber, 1997,
  experiment 4), one marked position in each half of the sequence.

Both are seeded: the same ``rng`` gives the same data.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_min_int
from ..layers import init_rng

__all__ = ["recall_first", "adding_problem"]


def recall_first(n: int, T: int, *, n_symbols: int = 4, n_distractors: int = 4, rng=None, one_hot: bool = True,
                 dtype=np.float32):
    """Sequences whose target is their first symbol.

    Ids ``0 .. n_symbols - 1`` are the target symbols (only at time 0) and ids
    ``n_symbols .. n_symbols + n_distractors - 1`` the distractors (times 1 to ``T - 1``).

    Parameters
    ----------
    n: number of sequences.
    T: sequence length (``T >= 1``; the first symbol is ``T - 1`` steps before the end).
    n_symbols: number of target symbols ``K >= 2`` (chance accuracy is ``1 / K``).
    n_distractors: number of distractor symbols ``M >= 1``.
    rng: seed or ``numpy.random.Generator``.
    one_hot: if true return inputs as one-hot vectors ``(n, T, K)`` of ``dtype``,
        else the integer ids ``(n, T)``.

    Returns
    -------
    xs: ``(n, T, K + M)`` floats (or ``(n, T)`` ints).
    y: ``(n,)`` int, equal to the id of the first symbol.
    """
    n = check_min_int("n", n, 1)
    T = check_min_int("T", T, 1)
    K = check_min_int("n_symbols", n_symbols, minimum=2)
    M = check_min_int("n_distractors", n_distractors, 1)
    rng = init_rng(rng)
    ids = rng.integers(K, K + M, size=(n, T))
    ids[:, 0] = rng.integers(0, K, size=n)
    y = ids[:, 0].copy()
    if not one_hot:
        return ids, y
    return np.eye(K + M, dtype=dtype)[ids], y


def adding_problem(n: int, T: int, *, rng=None, dtype=np.float32):
    """The adding problem.

    Parameters
    ----------
    n: number of sequences.
    T: sequence length (``T >= 2``).
    rng: seed or ``numpy.random.Generator``.

    Returns
    -------
    xs: ``(n, T, 2)``: channel 0 holds values uniform in ``[0, 1)``, channel 1
        is 1 at exactly two positions (one in each half of the sequence), else 0.
    y: ``(n,)``: the sum of the two marked values (in ``[0, 2)``).
    """
    n = check_min_int("n", n, 1)
    T = check_min_int("T", T, minimum=2)
    rng = init_rng(rng)
    half = T // 2
    values = rng.random((n, T))
    first = rng.integers(0, half, size=n)
    second = rng.integers(half, T, size=n)
    markers = np.zeros((n, T))
    rows = np.arange(n)
    markers[rows, first] = 1
    markers[rows, second] = 1
    xs = np.stack([values, markers], axis=-1).astype(dtype)
    y = (values[rows, first] + values[rows, second]).astype(dtype)
    return xs, y

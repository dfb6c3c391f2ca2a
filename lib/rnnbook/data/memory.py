"""Long-range memory tasks (chapter 3): the answer depends on something far back.

* :func:`recall_first`: the first symbol of a sequence is one of ``n_symbols``
  *target* symbols, every later one a random *distractor* (a separate set of
  ``n_distractors`` symbols); the target is the first symbol, to be produced
  after the last one. The network has to store the first symbol and protect it
  from being overwritten for ``T - 1`` steps (a version of the "remember the
  first symbol" experiment of Hochreiter & Schmidhuber, 1997, with random
  distractors).
* :func:`recall_last_marked`: a task that needs *forgetting*: several markers
  per sequence, each followed by a target symbol; the answer is the symbol
  after the **last** marker, so every earlier stored symbol must be dropped
  when a new marker arrives.
* :func:`count_since_reset`: another task that needs forgetting: count one
  symbol, but only since the last *reset* symbol.

All three are seeded: the same ``rng`` gives the same data.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_min_int
from ..seeds import init_rng

__all__ = ["recall_first", "recall_last_marked", "count_since_reset"]


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


def recall_last_marked(n: int, T: int, *, n_symbols: int = 4, n_distractors: int = 4, max_markers: int = 8,
                       rng=None, one_hot: bool = True, dtype=np.float32):
    """Sequences whose target is the symbol that follows their last marker.

    Ids ``0 .. K - 1`` are the target symbols, ``K .. K + M - 1`` the distractors
    and ``K + M`` the marker. Every sequence holds between 1 and ``max_markers``
    markers (a number drawn uniformly) at random, non-adjacent positions in
    ``0 .. T - 2``, each followed by a random target symbol; all other positions
    are distractors. The answer is the target symbol right after the last
    marker: the earlier ones are stale. Because the number of markers varies,
    a network cannot keep one memory slot per marker and pick the last one: it
    has to overwrite what it stored.

    Parameters
    ----------
    n, T: number of sequences and their length (``T >= 2 * max_markers``).
    n_symbols, n_distractors: ``K >= 2`` and ``M >= 1`` as in :func:`recall_first`.
    max_markers: the largest number of markers in a sequence (``>= 1``).
    rng, one_hot, dtype: as in :func:`recall_first`.

    Returns
    -------
    xs: ``(n, T, K + M + 1)`` floats (or ``(n, T)`` ints).
    y: ``(n,)`` int, the target symbol after the last marker.
    """
    n = check_min_int("n", n, 1)
    R = check_min_int("max_markers", max_markers, 1)
    T = check_min_int("T", T, 2 * R)
    K = check_min_int("n_symbols", n_symbols, minimum=2)
    M = check_min_int("n_distractors", n_distractors, 1)
    rng = init_rng(rng)
    ids = rng.integers(K, K + M, size=(n, T))
    # R non-adjacent candidate positions in 0 .. T - 2 (R slots among T - R, spread apart) ...
    slots = np.sort(np.argsort(rng.random((n, T - R)), axis=1)[:, :R], axis=1) + np.arange(R)
    # ... of which a random subset of 1 .. R is used
    used = np.argsort(rng.random((n, R)), axis=1) < rng.integers(1, R + 1, size=(n, 1))
    rows, cols = np.nonzero(used)
    ids[rows, slots[rows, cols]] = K + M
    ids[rows, slots[rows, cols] + 1] = rng.integers(0, K, size=rows.size)
    last = np.where(used, slots, -1).max(axis=1)
    y = ids[np.arange(n), last + 1].copy()
    if not one_hot:
        return ids, y
    return np.eye(K + M + 1, dtype=dtype)[ids], y


def count_since_reset(n: int, T: int, *, n_symbols: int = 6, n_distractors: int = 3, p_count: float = 0.3,
                      p_reset: float = 0.1, rng=None, one_hot: bool = True, dtype=np.float32):
    """Sequences whose target is how often the *count* symbol occurred since the last *reset* symbol.

    Id 0 is the count symbol, ids ``1 .. M`` the distractors and ``M + 1`` the
    reset. The last reset is at a random position in the second half of the
    sequence, after which the count symbol occurs ``y`` times, ``y`` uniform in
    ``0 .. K - 1``; before it every position is the count symbol with
    probability ``p_count``, a reset with probability ``p_reset``, else a
    distractor. The counts before the last reset are stale and must be dropped.

    Parameters
    ----------
    n, T: number of sequences and their length (``T >= 2 * n_symbols + 2``).
    n_symbols: the number of classes ``K >= 2`` (counts ``0 .. K - 1``).
    n_distractors: ``M >= 1``.
    p_count, p_reset: probabilities of the count and reset symbols before the last reset.
    rng, one_hot, dtype: as in :func:`recall_first`.

    Returns
    -------
    xs: ``(n, T, M + 2)`` floats (or ``(n, T)`` ints).
    y: ``(n,)`` int, the count since the last reset.
    """
    n = check_min_int("n", n, 1)
    K = check_min_int("n_symbols", n_symbols, minimum=2)
    T = check_min_int("T", T, 2 * K + 2)
    M = check_min_int("n_distractors", n_distractors, 1)
    rng = init_rng(rng)
    u = rng.random((n, T))
    ids = np.where(u < p_count, 0, np.where(u < p_count + p_reset, M + 1, rng.integers(1, M + 1, size=(n, T))))
    last = rng.integers(T // 2, T - K, size=n)                 # position of the last reset
    y = rng.integers(0, K, size=n)
    pos = np.arange(T)
    after = pos > last[:, None]
    ids[after] = rng.integers(1, M + 1, size=int(after.sum()))  # only distractors after the last reset ...
    ids[np.arange(n), last] = M + 1
    key = np.where(after, rng.random((n, T)), np.inf)           # ... then y of them become count symbols
    rank = np.argsort(np.argsort(key, axis=1), axis=1)
    ids[rank < y[:, None]] = 0
    if not one_hot:
        return ids, y
    return np.eye(M + 2, dtype=dtype)[ids], y

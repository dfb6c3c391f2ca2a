"""Turning a trained decoder into output sequences: greedy decoding and beam search (chapter 5).

Both algorithms are generic: they only need a *step function*

    ``step(tokens, state) -> (log_probs, new_state)``

where ``tokens`` is an int array ``(B,)`` (the last token of each of ``B``
hypotheses), ``state`` is a tuple of arrays whose first axis is ``B`` (for
example ``(h, c)`` of an LSTM decoder, plus anything the decoder reads at
every step), and ``log_probs`` is ``(B, V)``: the log-probability of every
possible next token. Any model that can be written this way can be decoded,
which is how chapter 5's plain, peeky and attention decoders share this code.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from ._checks import check_array, check_positive_int, is_integer

__all__ = ["greedy_decode", "beam_step", "length_normalize", "beam_search"]


def _check_common(state, start_id, max_len, end_id):
    if not isinstance(state, tuple) or not state or not all(isinstance(s, np.ndarray) for s in state):
        raise TypeError(f"state must be a non-empty tuple of arrays with the batch on axis 0, got "
                        f"{type(state).__name__}")
    N = state[0].shape[0] if state[0].ndim else 0
    for k, s in enumerate(state):
        if s.ndim == 0 or s.shape[0] != N:
            raise ValueError(f"state[{k}] has shape {s.shape}: every state array needs the batch size {N} "
                             f"on axis 0")
    check_positive_int("max_len", max_len)
    for name, v in (("start_id", start_id), ("end_id", end_id)):
        if v is not None and (not is_integer(v) or v < 0):
            raise ValueError(f"{name} must be a non-negative integer token id, got {v!r}")
    return N


def _check_log_probs(log_probs, B):
    log_probs = check_array("log_probs returned by step", log_probs, ndim=2, kind="float")
    if log_probs.shape[0] != B:
        raise ValueError(f"step returned log_probs of shape {log_probs.shape}, expected ({B}, V)")
    return log_probs


def greedy_decode(step: Callable, state: tuple, start_id: int, max_len: int, end_id: int | None = None) -> np.ndarray:
    """Decode by always taking the most probable next token.

    Parameters
    ----------
    step:
        ``step(tokens (B,), state) -> (log_probs (B, V), new_state)``.
    state:
        Tuple of arrays with the batch (``N``) on axis 0: the decoder's initial state.
    start_id:
        The token fed at the first step (``<s>``).
    max_len:
        Number of tokens to generate at most.
    end_id:
        Optional end token (``</s>``): once a row has produced it, every later
        token of that row is ``end_id`` as well, and decoding stops early when
        every row has ended.

    Returns
    -------
    int64 array ``(N, max_len)`` of generated ids (without the start token).
    """
    N = _check_common(state, start_id, max_len, end_id)
    out = np.full((N, max_len), -1 if end_id is None else end_id, dtype=np.int64)
    tokens = np.full(N, start_id, dtype=np.int64)
    done = np.zeros(N, dtype=bool)
    for t in range(max_len):
        log_probs, state = step(tokens, state)
        log_probs = _check_log_probs(log_probs, N)
        tokens = log_probs.argmax(axis=1)
        if end_id is not None:
            tokens = np.where(done, end_id, tokens)
            done |= tokens == end_id
        out[:, t] = tokens
        if end_id is not None and done.all():
            break
    return out


def beam_step(scores: np.ndarray, log_probs: np.ndarray, beam_width: int):
    """One step of beam search: extend every hypothesis by every token and keep the best ``beam_width``.

    Parameters
    ----------
    scores:
        ``(..., K)``: the total log-probability of each of the ``K`` current
        hypotheses (``-inf`` for an empty slot).
    log_probs:
        ``(..., K, V)``: the log-probability of each next token after each hypothesis.
    beam_width:
        How many of the ``K * V`` candidates to keep.

    Returns
    -------
    new_scores: ``(..., beam_width)``, best first.
    parents: int ``(..., beam_width)``: which hypothesis each kept candidate extends.
    tokens: int ``(..., beam_width)``: the token it adds.

    Ties are broken in favour of the lower parent index, then the lower token
    id (a stable sort), so the result is deterministic.
    """
    scores = check_array("scores", scores, kind="float")
    log_probs = check_array("log_probs", log_probs, kind="float")
    if scores.ndim < 1 or log_probs.shape[:-1] != scores.shape:
        raise ValueError(f"log_probs must have shape scores.shape + (V,) = {scores.shape} + (V,), "
                         f"got {log_probs.shape}")
    K, V = log_probs.shape[-2], log_probs.shape[-1]
    if not is_integer(beam_width) or not 1 <= beam_width <= K * V:
        raise ValueError(f"beam_width must be an integer from 1 to K * V = {K * V}, got {beam_width!r}")
    cand = (scores[..., None] + log_probs).reshape(scores.shape[:-1] + (K * V,))
    order = _top_k(cand, beam_width)
    new_scores = np.take_along_axis(cand, order, axis=-1)
    return new_scores, order // V, order % V


def _top_k(cand: np.ndarray, k: int) -> np.ndarray:
    """The indices of the ``k`` largest entries of every row of ``cand``, best first, ties to the lower index:
    ``np.argsort(-cand, kind="stable")[..., :k]``, without sorting all ``K V`` candidates. ``argpartition``
    finds the ``k`` best in linear time; only where the ``k``-th best value is tied with a candidate left out
    (the partition may have kept the higher index) does a row fall back to the full stable sort."""
    n = cand.shape[-1]
    if k >= n:
        return np.argsort(-cand, axis=-1, kind="stable")[..., :k]
    top = np.sort(np.argpartition(-cand, k - 1, axis=-1)[..., :k], axis=-1)
    vals = np.take_along_axis(cand, top, axis=-1)
    order = np.take_along_axis(top, np.argsort(-vals, axis=-1, kind="stable"), axis=-1)
    kth = vals.min(axis=-1, keepdims=True)
    ambiguous = (cand == kth).sum(axis=-1) != (vals == kth).sum(axis=-1)
    if ambiguous.any():
        order[ambiguous] = np.argsort(-cand[ambiguous], axis=-1, kind="stable")[..., :k]
    return order


def length_normalize(scores: np.ndarray, lengths: np.ndarray, alpha: float) -> np.ndarray:
    """Length-normalised scores ``scores / lengths ** alpha`` (``alpha=0``: the raw log-probabilities;
    ``alpha=1``: the mean log-probability per token). A sum of log-probabilities falls with every token,
    so without normalisation a search prefers short outputs; ``alpha`` between 0 and 1 trades the two."""
    scores = check_array("scores", scores, kind="float")
    lengths = np.asarray(lengths)
    if lengths.shape != scores.shape or (lengths < 1).any():
        raise ValueError(f"lengths must be positive counts of the shape of scores {scores.shape}, got {lengths.shape}")
    if not isinstance(alpha, (int, float)) or isinstance(alpha, bool) or not alpha >= 0:
        raise ValueError(f"alpha must be a number >= 0, got {alpha!r}")
    return scores / lengths.astype(np.float64) ** alpha


def beam_search(step: Callable, state: tuple, start_id: int, max_len: int, beam_width: int,
                end_id: int | None = None, *, length_alpha: float = 0.0, return_all: bool = False):
    """Beam search over a step function, for a batch of ``N`` independent inputs at once.

    Keeps the ``beam_width`` most probable partial outputs (by total
    log-probability) for every input; at the end returns the best complete one.
    A hypothesis that has produced ``end_id`` is finished: it is extended only by
    ``end_id`` at log-probability 0, so its score no longer changes. With
    ``beam_width=1`` this is exactly :func:`greedy_decode`. Slots that cannot be
    filled yet (``beam_width`` larger than the number of distinct prefixes)
    hold hypotheses of score ``-inf``, which never win.

    Parameters
    ----------
    step, state, start_id, max_len, end_id:
        As for :func:`greedy_decode`.
    beam_width:
        ``K``, the number of hypotheses kept per input. Each decoding step
        costs ``K`` times the work of a greedy step.
    length_alpha:
        Length normalisation of the *final* choice (:func:`length_normalize`):
        the beam is pruned by total log-probability as usual, and at the end the
        ``K`` hypotheses are ranked by ``score / length ** length_alpha``, where
        the length counts the generated tokens up to and including ``end_id``.
        0 (the default) ranks by total log-probability.
    return_all:
        If true, also return all final hypotheses and their scores.

    Returns
    -------
    ids: int64 ``(N, max_len)``, the best hypothesis of every input.
    scores: ``(N,)``, its total log-probability.
    (with ``return_all``) all_ids ``(N, K, max_len)`` and all_scores ``(N, K)`` (total log-probabilities),
    best first.
    """
    N = _check_common(state, start_id, max_len, end_id)
    K = check_positive_int("beam_width", beam_width)
    state = tuple(np.repeat(s, K, axis=0) for s in state)             # (N*K, ...)
    scores = np.full((N, K), -np.inf)
    scores[:, 0] = 0.0                                                 # one live hypothesis to start from
    tokens = np.full((N, K), start_id, dtype=np.int64)
    hist = np.full((N, K, max_len), -1 if end_id is None else end_id, dtype=np.int64)
    done = np.zeros((N, K), dtype=bool)
    lengths = np.zeros((N, K), dtype=np.int64)
    rows = np.arange(N)[:, None]
    for t in range(max_len):
        log_probs, state = step(tokens.reshape(-1), state)
        log_probs = _check_log_probs(log_probs, N * K).astype(np.float64).reshape(N, K, -1)
        if end_id is not None and done.any():
            log_probs[done] = -np.inf
            log_probs[done, end_id] = 0.0
        scores, parents, tokens = beam_step(scores, log_probs, K)
        hist = hist[rows, parents]
        hist[:, :, t] = tokens
        lengths = lengths[rows, parents] + ~done[rows, parents]       # a finished hypothesis stops growing
        flat = (rows * K + parents).reshape(-1)
        state = tuple(s[flat] for s in state)
        if end_id is not None:
            done = done[rows, parents] | (tokens == end_id)
            if done.all():
                break
    if length_alpha:
        order = np.argsort(-length_normalize(scores, lengths, length_alpha), axis=1, kind="stable")
        hist, scores = hist[rows, order], np.take_along_axis(scores, order, axis=1)
    best = hist[:, 0]
    if return_all:
        return best, scores[:, 0].copy(), hist, scores
    return best, scores[:, 0].copy()

"""Does a character model remember what it opened? Closing brackets and quotes by distance (chapters 2 and 3).

A language model that reads Python source must, at every ``)``, ``]``, ``}`` and closing quote,
remember that something was opened, possibly long ago. This module measures that memory on real
text:

1. :func:`closing_pairs` finds every matched opener/closer in the text with a tiny Python scanner:
   brackets ``()[]{}`` in code (not inside strings or comments), and one-line string quotes
   ``"..."`` and ``'...'`` (triple-quoted strings and comments are skipped, so an apostrophe in a
   docstring is not taken for a quote).
2. :func:`next_char_probs` runs a language model over a stretch of the text, carrying its state,
   and returns its next-character distribution after every character.
3. :func:`closing_accuracy` asks, at every closer, whether the model's most likely next character
   *was* that closer, and records the distance ``close - open`` (``"()"`` has distance 1).

On a long held-out text, :func:`closing_predictions` does steps 2 and 3 at once, reading the text
in parallel rows and keeping only the predictions at the closers, and :func:`blind_baseline` scores
the same closers for a model without memory of the opener: the same network, reading only the
characters *after* the opener (its state reset there). What the model gets right beyond that
baseline it owes to remembering the opener.

:class:`ClosingResult` groups the outcome by distance (:meth:`ClosingResult.by_distance`) and in
buckets (:meth:`ClosingResult.accuracy`, :meth:`ClosingResult.short_and_long` for the book's
"distance <= 5" and "distance >= 30").

Example
-------
>>> pairs = closing_pairs("f(a, [b]) # (no\\nx = 'hi'")
>>> pairs.tolist()                     # rows (open, close, kind): [b], f(...), 'hi'
[[5, 7, 0], [1, 8, 0], [20, 23, 1]]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import check_min_int

__all__ = ["BRACKETS", "QUOTES", "closing_pairs", "next_char_probs", "closing_accuracy", "ClosingResult",
           "closing_predictions", "blind_baseline", "wilson_interval"]

BRACKETS = {"(": ")", "[": "]", "{": "}"}
QUOTES = ("'", '"')


def _skip_triple(text: str, i: int) -> int:
    """Index just after the triple-quoted string that starts at ``i`` (or the end of the text)."""
    delim = text[i:i + 3]
    j = text.find(delim, i + 3)
    while j != -1 and _escaped(text, j):
        j = text.find(delim, j + 1)
    return len(text) if j == -1 else j + 3


def _escaped(text: str, j: int) -> bool:
    """Whether the character at ``j`` is preceded by an odd number of backslashes."""
    k = j
    while k > 0 and text[k - 1] == "\\":
        k -= 1
    return (j - k) % 2 == 1


def closing_pairs(text: str, *, quotes: bool = True) -> np.ndarray:
    """Every matched opener/closer of ``text``, as an ``int64`` array of rows ``(open, close, kind)``.

    ``open`` and ``close`` are character positions; ``kind`` is 0 for a bracket, 1 for a quote.
    Rows are sorted by ``close``. Brackets count only in code (outside strings and comments), a
    closer that does not match the innermost open bracket is ignored (as is one with nothing open),
    and a one-line string still open at the end of its line is dropped.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    rows, stack, i, n = [], [], 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":                                    # comment: skip to the end of the line
            j = text.find("\n", i)
            i = n if j == -1 else j
        elif c in QUOTES and text[i:i + 3] == c * 3:    # docstring / triple-quoted string
            i = _skip_triple(text, i)
            continue
        elif c in QUOTES:                               # one-line string
            j = i + 1
            while j < n and text[j] not in (c, "\n"):
                j += 2 if text[j] == "\\" else 1
            if j < n and text[j] == c and quotes:
                rows.append((i, j, 1))
            i = j                                       # the closing quote, or the newline that ended it
        elif c in BRACKETS:
            stack.append(i)
        elif c in BRACKETS.values() and stack and BRACKETS[text[stack[-1]]] == c:
            rows.append((stack.pop(), i, 0))
        i += 1
    rows.sort(key=lambda r: r[1])
    return np.array(rows, dtype=np.int64).reshape(-1, 3)


def next_char_probs(model, ids, *, chunk_len: int = 2000) -> np.ndarray:
    """The model's next-character distributions after every position of ``ids`` (1-D), shape ``(T, V)``.

    Row ``t`` is the distribution of character ``t + 1`` after reading ``ids[: t + 1]``. The model
    is any :class:`rnnbook.models.lm.LanguageModel` (``predict(ids (1, T)) -> logits``); it is run
    in chunks of ``chunk_len`` characters with its state carried between them (the model is made
    stateful for the call and restored afterwards), so every prediction sees all the text before it.
    """
    from .functions import softmax
    ids = np.asarray(ids)
    if ids.ndim != 1 or ids.size == 0:
        raise ValueError(f"ids must be a non-empty 1-D array of token ids, got shape {ids.shape}")
    chunk_len = check_min_int("chunk_len", chunk_len, 1)
    out = _with_memory_reset(model, lambda: [
        np.asarray(softmax(model.predict(ids[None, s:s + chunk_len]).astype(np.float64))[0])
        for s in range(0, ids.size, chunk_len)])
    return np.concatenate(out)


@dataclass
class ClosingResult:
    """One row per closer of the measured stretch: where it was opened and closed, and how the model did.

    Attributes: ``open``, ``close`` (positions in the text), ``kind`` (0 bracket, 1 quote),
    ``distance`` (``close - open``), ``correct`` (the most likely next character was the closer)
    and ``prob`` (the probability the model gave the closer).
    """

    open: np.ndarray
    close: np.ndarray
    kind: np.ndarray
    distance: np.ndarray
    correct: np.ndarray
    prob: np.ndarray

    def select(self, min_distance: int = 1, max_distance: int | None = None, kind: int | None = None) -> np.ndarray:
        """Boolean mask of the closers with ``min_distance <= distance <= max_distance`` (and of ``kind``)."""
        keep = self.distance >= min_distance
        if max_distance is not None:
            keep &= self.distance <= max_distance
        if kind is not None:
            keep &= self.kind == kind
        return keep

    def accuracy(self, min_distance: int = 1, max_distance: int | None = None, kind: int | None = None):
        """``(accuracy, count)`` over the selected closers; the accuracy is NaN when none is selected."""
        keep = self.select(min_distance, max_distance, kind)
        count = int(keep.sum())
        return (float(self.correct[keep].mean()) if count else float("nan")), count

    def short_and_long(self, short: int = 5, long: int = 30, kind: int | None = None) -> dict:
        """Accuracies and counts for ``distance <= short`` and ``distance >= long``."""
        (acc_s, n_s), (acc_l, n_l) = self.accuracy(1, short, kind), self.accuracy(long, None, kind)
        return {"short": acc_s, "n_short": n_s, "long": acc_l, "n_long": n_l}

    def by_distance(self, edges=(1, 2, 4, 8, 16, 32, 64, 128)) -> list[tuple[int, int | None, float, int]]:
        """Rows ``(low, high, accuracy, count)`` for the distance bins ``[edges[k], edges[k+1])``; the last is open."""
        bins = list(zip(edges, list(edges[1:]) + [None]))
        return [(lo, hi, *self.accuracy(lo, None if hi is None else hi - 1)) for lo, hi in bins]


def closing_accuracy(text: str, next_probs, vocab, *, start: int = 0, quotes: bool = True) -> ClosingResult:
    """How well a model predicts every closer of ``text`` whose opener and closer it has read.

    Parameters
    ----------
    text:
        The whole text, so that strings and comments are recognised from its beginning.
    next_probs:
        ``(T, V)`` next-character distributions (or logits: only the argmax and, for ``prob``,
        a softmax-normalised row matter) for the stretch ``text[start : start + T]``: row ``t``
        predicts ``text[start + t + 1]``, as :func:`next_char_probs` returns them.
    vocab:
        The character vocabulary (``vocab.stoi``) of the model.
    start:
        Where the stretch begins in ``text``. Only closers with ``start <= open`` and
        ``close <= start + T`` are measured: the model saw the opener, and predicted the closer.
    """
    p = np.asarray(next_probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != len(vocab.stoi):
        raise ValueError(f"next_probs must have shape (T, {len(vocab.stoi)}), got {p.shape}")
    start = check_min_int("start", start, 0)
    if start + p.shape[0] > len(text):
        raise ValueError(f"next_probs covers text[{start}:{start + p.shape[0]}], beyond its {len(text)} characters")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        p = np.exp(p - p.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
    pairs = closing_pairs(text, quotes=quotes)
    o, c, k = pairs.T
    keep = (o >= start) & (c >= start + 1) & (c <= start + p.shape[0])
    o, c, k = o[keep], c[keep], k[keep]
    target = np.array([vocab.stoi[text[j]] for j in c], dtype=np.int64)
    rows = c - start - 1
    return ClosingResult(open=o, close=c, kind=k, distance=c - o, correct=p[rows].argmax(axis=1) == target,
                         prob=p[rows, target])


def _encode(text: str, vocab, fill: str) -> np.ndarray:
    """``text`` as ids of ``vocab``; a character the vocabulary lacks is read as ``fill``."""
    if fill not in vocab.stoi:
        raise ValueError(f"fill character {fill!r} is not in the vocabulary")
    stoi, fill_id = vocab.stoi, vocab.stoi[fill]
    return np.array([stoi.get(ch, fill_id) for ch in text], dtype=np.int64)


def _with_memory_reset(model, run):
    """Call ``run()`` with the model stateful from a zero state; restore its state flags afterwards."""
    layers = model.recurrent
    saved = [layer.stateful for layer in layers]
    try:
        for layer in layers:
            layer.stateful = True
        model.reset_state()
        return run()
    finally:
        model.reset_state()
        for layer, flag in zip(layers, saved):
            layer.stateful = flag


def closing_predictions(model, text: str, vocab, *, start: int = 0, stop: int | None = None, rows: int = 64,
                        chunk_len: int = 1000, fill: str = " ", quotes: bool = True) -> ClosingResult:
    """Score every closer of ``text[start:stop]`` for ``model``, reading the stretch in ``rows`` parallel rows.

    The stretch is cut into ``rows`` contiguous rows of equal length (the remainder is dropped), read
    left to right at once with the state carried from chunk to chunk of ``chunk_len`` characters, as
    truncated BPTT reads its batches. Each row starts from a zero state, so a closer is scored only
    when its opener lies in the same row: the model has read the opener and everything after it.
    Only the predictions at closers are kept, so the memory needed does not grow with the text.
    Characters the vocabulary lacks are read as ``fill``. Returns the same :class:`ClosingResult` as
    :func:`closing_accuracy`, with positions in ``text``.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    stop = len(text) if stop is None else stop
    start = check_min_int("start", start, 0)
    rows = check_min_int("rows", rows, 1)
    chunk_len = check_min_int("chunk_len", chunk_len, 1)
    if not start < stop <= len(text):
        raise ValueError(f"need 0 <= start < stop <= len(text) = {len(text)}, got start={start}, stop={stop}")
    row_len = (stop - start) // rows
    if row_len < 2:
        raise ValueError(f"text[{start}:{stop}] is too short for {rows} rows")
    ids = _encode(text[start:start + rows * row_len], vocab, fill).reshape(rows, row_len)
    pairs = closing_pairs(text, quotes=quotes)
    o, c, k = pairs.T
    row_of_open, row_of_close = (o - start) // row_len, (c - start) // row_len
    keep = (o >= start) & (c < start + rows * row_len) & (row_of_open == row_of_close)
    o, c, k = o[keep], c[keep], k[keep]
    r, col = (c - start) // row_len, (c - start) % row_len - 1      # the prediction made after reading col
    target = np.array([vocab.stoi[text[j]] for j in c], dtype=np.int64)
    correct, prob = np.zeros(len(c), dtype=bool), np.zeros(len(c))

    def run():
        for s0 in range(0, row_len, chunk_len):
            logits = np.asarray(model.predict(ids[:, s0:s0 + chunk_len]), dtype=np.float64)
            here = (col >= s0) & (col < s0 + chunk_len)
            z = logits[r[here], col[here] - s0]
            correct[here] = z.argmax(axis=1) == target[here]
            p = np.exp(z - z.max(axis=1, keepdims=True))
            prob[here] = (p / p.sum(axis=1, keepdims=True))[np.arange(len(z)), target[here]]

    _with_memory_reset(model, run)
    return ClosingResult(open=o, close=c, kind=k, distance=c - o, correct=correct, prob=prob)


def blind_baseline(model, text: str, vocab, closers: ClosingResult, *, max_read: int = 200,
                   fill: str = " ") -> ClosingResult:
    """The same closers, scored for ``model`` without memory of the opener: a no-memory baseline.

    For every closer the model starts from a zero state and reads only the characters after the
    opener, ``text[open + 1 : close]`` (at most the last ``max_read`` of them), then predicts. It
    sees the local context a closer usually follows (the end of an argument list, of a string),
    but not that anything was opened. A closer right after its opener (``"()"``, distance 1) leaves
    nothing to read: the blind model cannot predict it and counts as wrong.
    """
    max_read = check_min_int("max_read", max_read, 1)
    n = len(closers.close)
    correct, prob = np.zeros(n, dtype=bool), np.zeros(n)
    lengths = np.minimum(closers.distance - 1, max_read)
    for length in np.unique(lengths[lengths > 0]):
        which = np.flatnonzero(lengths == length)
        ids = np.stack([_encode(text[c - length:c], vocab, fill) for c in closers.close[which]])
        target = np.array([vocab.stoi[text[c]] for c in closers.close[which]], dtype=np.int64)
        z = _with_memory_reset(model, lambda: np.asarray(model.predict(ids), dtype=np.float64)[:, -1])
        correct[which] = z.argmax(axis=1) == target
        p = np.exp(z - z.max(axis=1, keepdims=True))
        prob[which] = (p / p.sum(axis=1, keepdims=True))[np.arange(len(z)), target]
    return ClosingResult(open=closers.open, close=closers.close, kind=closers.kind, distance=closers.distance,
                         correct=correct, prob=prob)


def wilson_interval(successes: int, count: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a proportion (95 % for the default ``z``): ``(low, high)``."""
    if count <= 0:
        raise ValueError(f"count must be positive, got {count}")
    p = successes / count
    centre = (p + z * z / (2 * count)) / (1 + z * z / count)
    half = z * np.sqrt(p * (1 - p) / count + z * z / (4 * count * count)) / (1 + z * z / count)
    return float(centre - half), float(centre + half)

"""Character-level encoding of (source, target) string pairs for sequence-to-sequence models (chapter 5).

The two generated tasks of chapter 5 (:mod:`rnnbook.data.addition` and
:mod:`rnnbook.data.dates`) produce lists of ``(source, target)`` strings. This
module turns them into padded integer arrays:

* ``src`` ``(N, S)``: the source characters, right-padded with ``<pad>``;
* ``tgt`` ``(N, L + 2)``: ``<s>``, the target characters, ``</s>``, then ``<pad>``.

A decoder reads ``tgt[:, :-1]`` (teacher forcing) and is trained to predict
``tgt[:, 1:]``; positions whose target is ``<pad>`` are ignored by the loss
(``SoftmaxCrossEntropy(ignore_index=PAD_ID)``).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from .vocab import END_ID, PAD_ID, START_ID, Vocab, check_vocab, decode_sequences

__all__ = ["PAD", "START", "END", "PAD_ID", "START_ID", "END_ID", "pair_vocab", "encode_pairs", "decode_ids",
           "check_pairs"]

PAD, START, END = "<pad>", "<s>", "</s>"


def check_pairs(pairs) -> list[tuple[str, str]]:
    """Validate a list of ``(source, target)`` string pairs and return it as a list."""
    if isinstance(pairs, (str, bytes)) or not hasattr(pairs, "__iter__"):
        raise TypeError(f"pairs must be a list of (source, target) string pairs, got {type(pairs).__name__}")
    pairs = list(pairs)
    if not pairs:
        raise ValueError("pairs is empty: there is nothing to encode")
    for k, p in enumerate(pairs):
        if not (isinstance(p, (tuple, list)) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], str)):
            raise TypeError(f"pairs[{k}] must be a (source, target) pair of strings, got {p!r}")
        if not p[0] or not p[1]:
            raise ValueError(f"pairs[{k}] = {p!r} has an empty source or target")
    return pairs


def pair_vocab(*pair_lists: Iterable[tuple[str, str]]) -> Vocab:
    """A character vocabulary covering every source and target character of the given pair lists.

    The ids 0, 1, 2 are ``<pad>``, ``<s>``, ``</s>``; the characters follow in
    sorted order, so the vocabulary does not depend on the order of the pairs.
    """
    if not pair_lists:
        raise ValueError("pair_vocab needs at least one list of pairs")
    chars = set()
    for pairs in pair_lists:
        for src, tgt in check_pairs(pairs):
            chars.update(src)
            chars.update(tgt)
    return Vocab(sorted(chars), specials=[PAD, START, END])


def _check_vocab(vocab) -> None:
    check_vocab(vocab, [PAD, START, END], "pair_vocab")


def encode_pairs(pairs: Sequence[tuple[str, str]], vocab: Vocab, *, src_len: int | None = None,
                 tgt_len: int | None = None, reverse_source: bool = False,
                 pad_source: str = "end") -> tuple[np.ndarray, np.ndarray]:
    """Encode string pairs as padded id arrays.

    Parameters
    ----------
    pairs:
        ``(source, target)`` strings.
    vocab:
        A vocabulary from :func:`pair_vocab`.
    src_len, tgt_len:
        Padded lengths of the source and of the target *characters* (the target
        array has two more columns, for ``<s>`` and ``</s>``). ``None``: the
        longest in ``pairs``. A longer string raises ``ValueError``.
    reverse_source:
        If true, reverse each padded source row along time, so the encoder
        reads the padding first and the first source character last
        (Sutskever et al., 2014).
    pad_source:
        Where the source's padding goes: ``"end"`` (after the characters, the
        default) or ``"start"`` (before them, so the last character is read
        right before the decoder starts). Reversing is applied after padding:
        ``reverse_source=True`` with ``"end"`` puts the padding first.

    Returns
    -------
    src: int64 array ``(N, src_len)``.
    tgt: int64 array ``(N, tgt_len + 2)``.
    """
    pairs = check_pairs(pairs)
    _check_vocab(vocab)
    if pad_source not in ("end", "start"):
        raise ValueError(f"pad_source must be 'end' or 'start', got {pad_source!r}")
    longest_s = max(len(s) for s, _ in pairs)
    longest_t = max(len(t) for _, t in pairs)
    src_len = longest_s if src_len is None else src_len
    tgt_len = longest_t if tgt_len is None else tgt_len
    for name, want, got in (("src_len", src_len, longest_s), ("tgt_len", tgt_len, longest_t)):
        if not isinstance(want, (int, np.integer)) or isinstance(want, bool) or want <= 0:
            raise ValueError(f"{name} must be a positive integer, got {want!r}")
        if got > want:
            raise ValueError(f"{name}={want} is too short: the longest {name[:3]} string has {got} characters")
    N = len(pairs)
    src = np.full((N, src_len), PAD_ID, dtype=np.int64)
    tgt = np.full((N, tgt_len + 2), PAD_ID, dtype=np.int64)
    tgt[:, 0] = START_ID
    for k, (s, t) in enumerate(pairs):
        if pad_source == "end":
            src[k, :len(s)] = vocab.encode(s)
        else:
            src[k, src_len - len(s):] = vocab.encode(s)
        tgt[k, 1:len(t) + 1] = vocab.encode(t)
        tgt[k, len(t) + 1] = END_ID
    if reverse_source:
        src = np.ascontiguousarray(src[:, ::-1])
    return src, tgt


def decode_ids(ids, vocab: Vocab) -> list[str]:
    """Turn rows of ids back into strings: stop at ``</s>``, drop ``<pad>`` and ``<s>``.

    ``ids`` is ``(N, L)`` (or ``(L,)`` for one sequence, which returns a list of one string).
    """
    _check_vocab(vocab)
    return decode_sequences(ids, vocab, "", pad_id=PAD_ID, start_id=START_ID, end_id=END_ID)

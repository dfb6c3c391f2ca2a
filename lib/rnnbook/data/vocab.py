"""Vocabularies: the mapping between tokens and integer ids (chapter 1)."""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

__all__ = ["Vocab", "check_vocab", "decode_sequences", "PAD_ID", "START_ID", "END_ID"]

#: The ids of the special tokens padding, start and end in every vocabulary of token sequences with a
#: beginning and an end (:func:`rnnbook.data.pairs.pair_vocab`, :func:`rnnbook.data.captions.caption_vocab`).
PAD_ID, START_ID, END_ID = 0, 1, 2


class Vocab:
    """A bidirectional token <-> id mapping.

    Ids are assigned by decreasing frequency (ties broken by first
    appearance), after any ``specials`` such as ``"<unk>"``, which always come
    first. Tokens rarer than ``min_count``, or beyond ``max_size``, map to
    ``unk`` when one is given; otherwise encoding an unknown token raises a
    ``KeyError`` naming it.

    Examples
    --------
    >>> v = Vocab("you say goodbye and i say hello .".split())
    >>> v.encode(["say", "hello"]).tolist()
    [0, 5]
    >>> v.decode([0, 5])
    ['say', 'hello']
    """

    def __init__(self, tokens: Iterable[str], *, specials: Sequence[str] = (), unk: str | None = None,
                 min_count: int = 1, max_size: int | None = None):
        tokens = list(tokens)
        if not tokens and not specials:
            raise ValueError("cannot build a vocabulary from no tokens")
        specials = list(specials)
        if unk is not None and unk not in specials:
            specials.insert(0, unk)
        counts = Counter(tokens)
        order = {}
        for tok in tokens:
            order.setdefault(tok, len(order))
        ranked = sorted((t for t in counts if t not in specials), key=lambda t: (-counts[t], order[t]))
        ranked = [t for t in ranked if counts[t] >= min_count]
        if max_size is not None:
            ranked = ranked[: max(0, max_size - len(specials))]
        self.itos: list[str] = specials + ranked
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(self.itos)}
        self.counts = counts
        self.unk = unk

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.itos[:5])
        return f"Vocab(size={len(self)}, first=[{head}{', ...' if len(self) > 5 else ''}])"

    def encode(self, tokens: Iterable[str]) -> np.ndarray:
        """Token sequence -> ``int64`` array of ids."""
        unk_id = self.stoi.get(self.unk) if self.unk is not None else None
        ids = []
        for tok in tokens:
            i = self.stoi.get(tok, unk_id)
            if i is None:
                raise KeyError(f"token {tok!r} is not in the vocabulary (and it has no unk token)")
            ids.append(i)
        return np.array(ids, dtype=np.int64)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids -> list of tokens."""
        out = []
        for i in np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids).reshape(-1):
            if not 0 <= int(i) < len(self.itos):
                raise ValueError(f"id {int(i)} is outside the vocabulary [0, {len(self.itos)})")
            out.append(self.itos[int(i)])
        return out


def check_vocab(vocab, specials: list[str], builder: str) -> None:
    """Raise a clear error unless ``vocab`` is a :class:`Vocab` whose first ids are ``specials``
    (``builder`` names the function that makes such a vocabulary, for the message)."""
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be an rnnbook.data.Vocab (see {builder}), got {type(vocab).__name__}")
    if vocab.itos[:len(specials)] != specials:
        raise ValueError(f"vocab must start with the specials {specials} (build it with {builder}), "
                         f"got {vocab.itos[:len(specials)]}")


def decode_sequences(ids, vocab: Vocab, sep: str, *, pad_id: int = 0, start_id: int = 1,
                     end_id: int = 2) -> list[str]:
    """Rows of ids -> strings joined with ``sep``: stop at ``end_id``, skip ``pad_id`` and ``start_id``.

    ``ids`` is ``(N, L)`` (or ``(L,)`` for one sequence, which returns a list of one string). Used by the
    seq2seq pairs (characters, ``sep=""``) and by the captions (words, ``sep=" "``).
    """
    ids = np.asarray(ids)
    if ids.dtype.kind not in "iu" or ids.ndim not in (1, 2):
        raise ValueError(f"ids must be an integer array of shape (N, L) or (L,), got {ids.dtype} {ids.shape}")
    out = []
    for row in (ids[None] if ids.ndim == 1 else ids):
        tokens = []
        for i in row.tolist():
            if i == end_id:
                break
            if i in (pad_id, start_id):
                continue
            if not 0 <= i < len(vocab):
                raise ValueError(f"id {i} is outside the vocabulary [0, {len(vocab)})")
            tokens.append(vocab.itos[i])
        out.append(sep.join(tokens))
    return out

"""English-French sentence pairs from the Tatoeba project, shipped with the package (chapter 5).

The pairs come from the Tatoeba project (https://tatoeba.org, licence CC BY 2.0 FR; see
``tatoeba_eng_fra.LICENSE.txt`` beside this module for the attribution and how the 30,000 pairs were
chosen). Nothing is downloaded.

**Tokens.** :func:`tokenize` lower-cases a sentence, keeps its accents (Unicode NFC, so ``é`` is one
character whichever way it was typed), turns the typographic apostrophe and the French non-breaking
spaces before ``!``, ``?``, ``:`` and ``;`` into their plain forms, and splits it into words and
punctuation marks. An apostrophe stays with the word it ends: ``"L'homme n'est pas là."`` becomes
``l' homme n' est pas là .`` and ``"Don't go."`` becomes ``don' t go .``.

**Split.** :func:`tatoeba_split` groups the pairs by their English sentence (many English sentences
have several French translations) and deals whole groups, in a seeded random order, to the test, the
validation and the training set, so no English sentence of the test set is seen in training. All the
French translations of a test sentence are its references for BLEU (:func:`references`).
"""
from __future__ import annotations

import lzma
import pathlib
import random
import re
import unicodedata
from collections import Counter
from typing import Sequence

import numpy as np

from .pairs import END, END_ID, PAD, PAD_ID, START, START_ID
from .vocab import Vocab, check_vocab

__all__ = ["UNK", "load_tatoeba_pairs", "tokenize", "tatoeba_split", "references", "word_pair_vocab",
           "encode_word_pairs", "decode_words"]

UNK = "<unk>"
_FILE = pathlib.Path(__file__).with_name("tatoeba_eng_fra.tsv.xz")
_TOKEN = re.compile(r"\w+'|\w+|[^\w\s]")


def load_tatoeba_pairs() -> list[tuple[str, str]]:
    """The 30,000 ``(english, french)`` sentence pairs as shipped, untokenised, in the file's order."""
    text = lzma.decompress(_FILE.read_bytes()).decode("utf-8")
    return [tuple(line.split("\t")) for line in text.splitlines()]


def tokenize(sentence: str) -> list[str]:
    """Lower-cased word and punctuation tokens of ``sentence`` (see the module docstring)."""
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a string, got {type(sentence).__name__}")
    s = unicodedata.normalize("NFC", sentence).replace("\u2019", "'").replace("\u202f", " ").replace("\xa0", " ")
    return _TOKEN.findall(s.lower())


def tatoeba_split(*, n_test: int = 1500, n_val: int = 1000, seed: int = 0,
                  pairs: Sequence[tuple[str, str]] | None = None) -> dict[str, list[tuple[list[str], list[str]]]]:
    """Tokenised ``train``/``val``/``test`` lists of ``(english tokens, french tokens)``.

    The English sentences are shuffled with ``random.Random(seed)``; their groups of pairs go to the test
    set until it holds at least ``n_test`` pairs, then to the validation set until it holds ``n_val``,
    the rest to training. ``pairs`` (default: :func:`load_tatoeba_pairs`) lets a test split a small list.
    """
    pairs = load_tatoeba_pairs() if pairs is None else list(pairs)
    for name, n in (("n_test", n_test), ("n_val", n_val)):
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {n!r}")
    if n_test + n_val >= len(pairs):
        raise ValueError(f"n_test + n_val = {n_test + n_val} leaves no training pairs out of {len(pairs)}")
    groups: dict[str, list[tuple[list[str], list[str]]]] = {}
    for en, fr in pairs:
        groups.setdefault(en, []).append((tokenize(en), tokenize(fr)))
    order = sorted(groups)
    random.Random(seed).shuffle(order)
    out: dict[str, list] = {"test": [], "val": [], "train": []}
    for en in order:
        part = "test" if len(out["test"]) < n_test else "val" if len(out["val"]) < n_val else "train"
        out[part].extend(groups[en])
    return out


def references(pairs: Sequence[tuple[list[str], list[str]]]) -> tuple[list[list[str]], list[list[list[str]]]]:
    """The distinct English sentences of ``pairs`` (in order of first appearance) and, for each, all its
    French translations in ``pairs``: ``(sources, refs)`` for :func:`rnnbook.bleu.corpus_bleu`."""
    refs: dict[tuple, list[list[str]]] = {}
    for en, fr in pairs:
        refs.setdefault(tuple(en), []).append(list(fr))
    return [list(en) for en in refs], list(refs.values())


def word_pair_vocab(pairs: Sequence[tuple[list[str], list[str]]], min_count: int = 2) -> Vocab:
    """One word vocabulary for both languages: ``<pad>``, ``<s>``, ``</s>``, ``<unk>`` (ids 0-3), then every
    token seen at least ``min_count`` times in ``pairs`` (either side), most frequent first (ties by
    spelling). Rarer tokens are encoded as ``<unk>``."""
    if not isinstance(min_count, int) or isinstance(min_count, bool) or min_count < 1:
        raise ValueError(f"min_count must be a positive integer, got {min_count!r}")
    counts = Counter(tok for en, fr in pairs for tok in (*en, *fr))
    if not counts:
        raise ValueError("pairs is empty: there is nothing to build a vocabulary from")
    kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
    return Vocab(kept, specials=[PAD, START, END, UNK], unk=UNK)


def encode_word_pairs(pairs: Sequence[tuple[list[str], list[str]]], vocab: Vocab, *, src_len: int,
                      tgt_len: int) -> tuple[np.ndarray, np.ndarray]:
    """``src`` ``(N, src_len)`` (right-padded) and ``tgt`` ``(N, tgt_len + 2)`` (``<s>`` ... ``</s>``, padded),
    as :func:`rnnbook.data.pairs.encode_pairs` does for characters. A longer sentence raises ``ValueError``."""
    check_vocab(vocab, [PAD, START, END, UNK], "word_pair_vocab")
    src = np.full((len(pairs), src_len), PAD_ID, dtype=np.int64)
    tgt = np.full((len(pairs), tgt_len + 2), PAD_ID, dtype=np.int64)
    tgt[:, 0] = START_ID
    for k, (en, fr) in enumerate(pairs):
        if len(en) > src_len or len(fr) > tgt_len:
            raise ValueError(f"pair {k} has {len(en)} source and {len(fr)} target tokens; src_len={src_len} "
                             f"and tgt_len={tgt_len} are too short")
        src[k, :len(en)] = vocab.encode(en)
        tgt[k, 1:len(fr) + 1] = vocab.encode(fr)
        tgt[k, len(fr) + 1] = END_ID
    return src, tgt


def decode_words(ids, vocab: Vocab) -> list[list[str]]:
    """Rows of ids ``(N, L)`` -> token lists, stopping at ``</s>`` and dropping ``<pad>`` and ``<s>``."""
    out = []
    for row in np.atleast_2d(np.asarray(ids)):
        words = []
        for i in row:
            if i == END_ID:
                break
            if i not in (PAD_ID, START_ID):
                words.append(vocab.itos[int(i)])
        out.append(words)
    return out

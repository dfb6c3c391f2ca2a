"""A tiny synthetic language with subject-verb agreement across attractor nouns (chapter 3).

Every sentence is ``the SUBJECT (PREP the NOUN) x k VERB ADJECTIVE .``, for example::

    the cat near the dogs behind the box is old .

The verb (*is/are*, *was/were*) agrees in number with the subject, never with the nouns of the
``k`` prepositional phrases in between. In the training sentences the number of every noun is drawn
independently, so the nearest noun says nothing about the verb; an *attractor* item is one whose
intervening nouns all have the number opposite to the subject's, the case where "agree with the
most recent noun" is always wrong (Linzen, Dupoux & Goldberg, 2016). Chapter 4 tests agreement on
real text with :mod:`rnnbook.data.agreement`; this language is the controlled version.

A training row may hold several sentences in a row (``max_sentences``); then the number of each new
subject has to replace the number stored for the previous one, which :func:`reset_items` tests.

Rows are padded to one length so that a batch is one array: inputs start with ``<s>``, the
targets are the inputs shifted by one, and padded positions have the target ``-1`` (ignored by
:class:`rnnbook.layers.SoftmaxCrossEntropy`).
"""
from __future__ import annotations

import numpy as np

from .._checks import check_min_int
from ..seeds import init_rng
from .vocab import Vocab

__all__ = ["NOUNS", "VERBS", "PREPOSITIONS", "ADJECTIVES", "agreement_vocab", "sentence",
           "agreement_batch", "attractor_items", "reset_items"]

#: (singular, plural) nouns.
NOUNS = (("cat", "cats"), ("dog", "dogs"), ("key", "keys"), ("box", "boxes"), ("book", "books"),
         ("car", "cars"), ("tree", "trees"), ("bird", "birds"))
#: (singular, plural) verbs.
VERBS = (("is", "are"), ("was", "were"))
PREPOSITIONS = ("near", "behind", "under", "with", "of")
ADJECTIVES = ("old", "new", "red", "big")


def agreement_vocab() -> Vocab:
    """The language's vocabulary: ``<pad>`` (id 0), ``<s>``, the words, ``"the"`` and ``"."``."""
    words = [w for pair in NOUNS + VERBS for w in pair] + list(PREPOSITIONS + ADJECTIVES) + ["the", "."]
    return Vocab(words, specials=["<pad>", "<s>"])


def sentence(rng, phrases: int, plural: bool, attractor_plural=None) -> list[str]:
    """One sentence with ``phrases`` prepositional phrases and a subject of the given number.

    ``attractor_plural``: the number of every intervening noun (``None``: each drawn at random).
    """
    def noun(pl):
        return NOUNS[rng.integers(len(NOUNS))][int(pl)]
    words = ["the", noun(plural)]
    for _ in range(phrases):
        pl = rng.random() < 0.5 if attractor_plural is None else attractor_plural
        words += [PREPOSITIONS[rng.integers(len(PREPOSITIONS))], "the", noun(pl)]
    return words + [VERBS[rng.integers(len(VERBS))][int(plural)], ADJECTIVES[rng.integers(len(ADJECTIVES))], "."]


def _pad(vocab: Vocab, sentences, length: int):
    ids = np.zeros((len(sentences), length + 1), dtype=np.int64)
    for r, words in enumerate(sentences):
        enc = vocab.encode(["<s>"] + words)
        ids[r, :len(enc)] = enc
    targets = ids[:, 1:].copy()
    targets[targets == 0] = -1
    return ids[:, :-1], targets


def agreement_batch(vocab: Vocab, n: int, *, max_phrases: int = 3, max_sentences: int = 1, rng=None):
    """``n`` random training rows of ``1 .. max_sentences`` sentences (``0 .. max_phrases`` phrases each, every
    number random).

    Returns ``(ids, targets)``, both ``(n, max_sentences * (3 * max_phrases + 5))`` int; targets ``-1`` at padding.
    """
    n = check_min_int("n", n, 1)
    K = check_min_int("max_phrases", max_phrases, 0)
    S = check_min_int("max_sentences", max_sentences, 1)
    rng = init_rng(rng)
    rows = []
    for _ in range(n):
        count = 1 if S == 1 else int(rng.integers(1, S + 1))
        rows.append([w for _ in range(count)
                     for w in sentence(rng, int(rng.integers(0, K + 1)), bool(rng.random() < 0.5))])
    return _pad(vocab, rows, S * (3 * K + 5))


def attractor_items(vocab: Vocab, n: int, phrases: int, *, attractors: bool = True, rng=None):
    """``n`` test prefixes that end just before the verb, with ``phrases`` phrases.

    With ``attractors`` every intervening noun has the number opposite to the subject's (else the
    same number). Returns ``(ids, plural, correct, wrong)``: ids ``(n, 3 * phrases + 3)`` (``<s>``
    to the last noun), the subject's number (bool), and the ids of the agreeing and the
    non-agreeing verb form.
    """
    K = check_min_int("phrases", phrases, 0)

    def text(rng, pl):
        return [], sentence(rng, K, pl, attractor_plural=(not pl) if attractors else pl)
    return _prefix_items(vocab, n, rng, text)


def reset_items(vocab: Vocab, n: int, phrases: int, *, rng=None):
    """``n`` test prefixes of two sentences whose subjects differ in number, ending just before the second verb.

    The first sentence is complete and has ``phrases`` phrases with nouns of random number; the second has
    ``phrases`` phrases whose nouns all have the number of the *first* subject (attractors), so neither the old
    subject nor the nearest noun predicts the verb. Returns ``(ids, plural, correct, wrong)`` as
    :func:`attractor_items` does, with ``plural`` the number of the second subject; ids
    ``(n, 6 * phrases + 8)``.
    """
    K = check_min_int("phrases", phrases, 0)

    def text(rng, pl):
        first = sentence(rng, K, not pl)
        return first, sentence(rng, K, pl, attractor_plural=not pl)
    return _prefix_items(vocab, n, rng, text)


def _prefix_items(vocab: Vocab, n, rng, text):
    """The items of :func:`attractor_items` and :func:`reset_items`: for each of ``n`` subjects of random number
    ``pl``, ``text(rng, pl)`` gives the words before the last sentence and that sentence; the prefix ends just
    before the last sentence's verb, whose two forms are the agreeing and the non-agreeing answer."""
    n = check_min_int("n", n, 1)
    rng = init_rng(rng)
    ids, plural, correct, wrong = [], [], [], []
    for _ in range(n):
        pl = bool(rng.random() < 0.5)
        before, last = text(rng, pl)
        verb = next(pair for pair in VERBS if last[-3] in pair)
        ids.append(vocab.encode(["<s>"] + before + last[:-3]))
        plural.append(pl)
        correct.append(vocab.encode([verb[int(pl)]])[0])
        wrong.append(vocab.encode([verb[int(not pl)]])[0])
    return np.array(ids), np.array(plural), np.array(correct), np.array(wrong)

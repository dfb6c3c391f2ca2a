"""A controlled test of subject-verb agreement for word-level language models (chapter 4).

Linzen, Dupoux & Goldberg (2016) asked whether a language model "knows" that a verb must agree
in number with its subject, even when other nouns stand in between:

    the value of the files in the module  is / are  ...

A model that tracks the subject prefers *is*; a model that copies the number of the most recent
noun prefers *are*. This module builds such sentences from a fixed list of singular/plural noun
pairs and verb pairs that are frequent in the standard library's docstrings (the book's corpus),
and scores a model by how often it gives the correct verb form the higher probability.

Each item is ``<eos> the SUBJECT (PREP the NOUN) x k`` followed by a verb slot. The ``k``
prepositional phrases put ``3 k`` tokens between the subject and the verb. Their nouns either all
have the **opposite** number to the subject (*attractors*, the hard case) or all the **same**
number (the control: here even "agree with the nearest noun" is right).
"""
from __future__ import annotations

import numpy as np

from .._checks import check_ids, check_positive_int

__all__ = ["NOUN_PAIRS", "VERB_PAIRS", "PREPOSITIONS", "AgreementSet", "make_agreement_set",
           "agreement_scores", "accuracy_table", "flip_numbers", "paired_accuracy", "wilson_interval"]

#: (singular, plural) nouns, each form frequent in the standard library's docstrings.
NOUN_PAIRS: tuple[tuple[str, str], ...] = (
    ("value", "values"), ("argument", "arguments"), ("file", "files"), ("object", "objects"),
    ("name", "names"), ("function", "functions"), ("string", "strings"), ("element", "elements"),
    ("item", "items"), ("line", "lines"), ("method", "methods"), ("character", "characters"),
    ("module", "modules"), ("option", "options"), ("attribute", "attributes"), ("header", "headers"),
    ("type", "types"), ("instance", "instances"), ("parameter", "parameters"), ("error", "errors"),
)

#: (singular, plural) verb forms.
VERB_PAIRS: tuple[tuple[str, str], ...] = (("is", "are"), ("has", "have"), ("was", "were"))

#: Prepositions that open the phrases placed between subject and verb.
PREPOSITIONS: tuple[str, ...] = ("of", "in", "for", "from", "with", "on")

CONDITIONS = ("attractor", "control")


class AgreementSet:
    """A list of agreement items, all arrays of length ``n``.

    Attributes
    ----------
    prefixes
        The items' words as lists of str, from the start token to the word before the verb.
    correct, wrong
        Lists of str: the verb form that agrees with the subject, and the one that does not.
    phrases
        Int array: the number ``k`` of prepositional phrases.
    distance
        Int array: the number of tokens strictly between subject and verb (``3 k``).
    condition
        Array of str, ``"attractor"`` or ``"control"`` (for ``k = 0`` both are the same sentence
        shape; such items are labelled ``"control"``).
    plural
        Bool array: whether the subject is plural.
    """

    def __init__(self, prefixes, correct, wrong, phrases, distance, condition, plural):
        self.prefixes, self.correct, self.wrong = prefixes, correct, wrong
        self.phrases, self.distance, self.condition, self.plural = phrases, distance, condition, plural

    def __len__(self) -> int:
        return len(self.prefixes)

    def sentence(self, i: int) -> str:
        """Item ``i`` as text, e.g. ``'the value of the files [is/are]'`` (correct form first)."""
        words = [w for w in self.prefixes[i] if w != "<eos>"]
        return " ".join(words + [f"[{self.correct[i]}/{self.wrong[i]}]"])


def make_agreement_set(vocab=None, *, phrases=(0, 1, 2, 3, 4), per_cell: int = 40, seed: int = 0,
                       start: str = "<eos>") -> AgreementSet:
    """Build the controlled agreement items.

    For every number of phrases ``k`` in ``phrases``, every condition (attractor, control; just one
    for ``k = 0``) and both subject numbers, ``per_cell`` items are drawn (seeded): a random subject
    noun, random verb pair, random prepositions and random phrase nouns (different from the subject
    noun and from each other).

    Parameters
    ----------
    vocab:
        Optional :class:`~rnnbook.data.vocab.Vocab`: only noun and verb pairs whose two forms are both in
        it are used (a form mapped to ``<unk>`` could not be scored).
    phrases:
        Numbers of prepositional phrases between subject and verb (each adds 3 tokens).
    per_cell, seed:
        Items per (k, condition, subject number), and the random seed.
    start:
        Token placed before ``the`` (the corpus's line separator, so that the item starts like a
        docstring).

    Returns
    -------
    AgreementSet
    """
    per_cell = check_positive_int("per_cell", per_cell)
    phrases = [int(k) for k in phrases]
    if not phrases or any(k < 0 for k in phrases):
        raise ValueError(f"phrases must be a non-empty list of non-negative integers, got {phrases}")
    nouns, verbs = list(NOUN_PAIRS), list(VERB_PAIRS)
    if vocab is not None:
        nouns = [p for p in nouns if all(w in vocab for w in p)]
        verbs = [p for p in verbs if all(w in vocab for w in p)]
        for what, left in (("noun", nouns), ("verb", verbs)):
            if not left:
                raise ValueError(f"no {what} pair has both forms in the vocabulary (size {len(vocab)}): "
                                 f"use a larger vocabulary")
        needed = [w for w in ("the", start, *PREPOSITIONS) if w not in vocab]
        if needed:
            raise ValueError(f"the vocabulary lacks the word(s) {needed} that every item uses")
    if max(phrases) + 1 > len(nouns):
        raise ValueError(f"{max(phrases)} phrases need {max(phrases) + 1} different nouns, "
                         f"only {len(nouns)} are usable")
    rng = np.random.default_rng(seed)
    items = {"prefixes": [], "correct": [], "wrong": [], "phrases": [], "distance": [], "condition": [],
             "plural": []}
    for k in phrases:
        for condition in (("control",) if k == 0 else CONDITIONS):
            for plural in (False, True):
                for _ in range(per_cell):
                    chosen = rng.choice(len(nouns), size=k + 1, replace=False)
                    subject = nouns[chosen[0]][int(plural)]
                    other = int(plural) if condition == "control" else 1 - int(plural)
                    words = [start, "the", subject]
                    for j in chosen[1:]:
                        words += [PREPOSITIONS[rng.integers(len(PREPOSITIONS))], "the", nouns[j][other]]
                    verb = verbs[rng.integers(len(verbs))]
                    items["prefixes"].append(words)
                    items["correct"].append(verb[int(plural)])
                    items["wrong"].append(verb[1 - int(plural)])
                    items["phrases"].append(k)
                    items["distance"].append(3 * k)
                    items["condition"].append(condition)
                    items["plural"].append(plural)
    return AgreementSet(items["prefixes"], items["correct"], items["wrong"], np.array(items["phrases"]),
                        np.array(items["distance"]), np.array(items["condition"]), np.array(items["plural"]))


def agreement_scores(model, vocab, items: AgreementSet, *, batch_size: int = 256) -> np.ndarray:
    """Log-probability margin ``log p(correct verb) - log p(wrong verb)`` for every item.

    The item is correct when its margin is positive. Items of the same length are run as one
    batch through ``model.predict`` (evaluation mode), from a reset state.

    Returns
    -------
    margins: float64 array ``(len(items),)``.
    """
    if not isinstance(items, AgreementSet):
        raise TypeError(f"items must be an AgreementSet (from make_agreement_set), got {type(items).__name__}")
    batch_size = check_positive_int("batch_size", batch_size)
    missing = sorted({w for i in range(len(items)) for w in (*items.prefixes[i], items.correct[i], items.wrong[i])
                      if w not in vocab})
    if missing:
        raise ValueError(f"the vocabulary lacks {missing[:5]}: build the items with make_agreement_set(vocab)")
    V = getattr(model, "vocab_size", len(vocab))
    if len(vocab) != V:
        raise ValueError(f"the vocabulary has {len(vocab)} words but the model predicts {V}")
    lengths = np.array([len(p) for p in items.prefixes])
    margins = np.empty(len(items))
    for L in np.unique(lengths):
        idx = np.flatnonzero(lengths == L)
        for s in range(0, idx.size, batch_size):
            part = idx[s:s + batch_size]
            ids = np.stack([vocab.encode(items.prefixes[i]) for i in part])
            check_ids("ids", ids, V)
            model.reset_state()
            logits = model.predict(ids)[:, -1].astype(np.float64)            # (B, V)
            good = vocab.encode([items.correct[i] for i in part])
            bad = vocab.encode([items.wrong[i] for i in part])
            rows = np.arange(part.size)
            margins[part] = logits[rows, good] - logits[rows, bad]            # softmax's normaliser cancels
    model.reset_state()
    return margins


def accuracy_table(items: AgreementSet, margins) -> dict:
    """Accuracy (fraction of positive margins) per condition and distance.

    Returns ``{"distance": [...], "attractor": [...], "control": [...]}``: for each distance, the
    accuracy in each condition (``nan`` where a condition has no item, e.g. attractors at distance 0;
    the distance-0 items count for both conditions).
    """
    margins = np.asarray(margins, dtype=np.float64)
    if margins.shape != (len(items),):
        raise ValueError(f"margins must have shape ({len(items)},) (one per item), got {margins.shape}")
    distances = sorted(set(items.distance.tolist()))
    table = {"distance": distances}
    for condition in CONDITIONS:
        row = []
        for d in distances:
            sel = (items.distance == d) & ((items.condition == condition) | (items.phrases == 0))
            row.append(float((margins[sel] > 0).mean()) if sel.any() else float("nan"))
        table[condition] = row
    return table


def flip_numbers(items: AgreementSet) -> AgreementSet:
    """The same items with every noun in the other number, and so the other verb form correct.

    The condition is kept (all nouns flip together: an attractor stays an attractor). Adding an item's
    margin to its flipped twin's, ``m(x) + m(x')``, cancels any fixed preference of the model for one verb
    form: the sum is positive only when the model moves its choice the right way as the subject's number
    changes (see :func:`paired_accuracy`).
    """
    if not isinstance(items, AgreementSet):
        raise TypeError(f"items must be an AgreementSet, got {type(items).__name__}")
    other = {w: pair[1 - k] for pair in NOUN_PAIRS for k, w in enumerate(pair)}
    prefixes = [[other.get(w, w) for w in p] for p in items.prefixes]
    return AgreementSet(prefixes, list(items.wrong), list(items.correct), items.phrases.copy(),
                        items.distance.copy(), items.condition.copy(), ~items.plural)


def paired_accuracy(items: AgreementSet, margins, flipped_margins) -> dict:
    """Like :func:`accuracy_table`, but an item counts as right when ``margin + flipped margin > 0``."""
    return accuracy_table(items, np.asarray(margins, dtype=np.float64) + np.asarray(flipped_margins))


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval (95 % for ``z = 1.96``) of an accuracy of ``correct`` out of ``n``.

    >>> [round(x, 3) for x in wilson_interval(40, 80)]
    [0.393, 0.607]
    """
    check_positive_int("n", n)
    if not 0 <= correct <= n:
        raise ValueError(f"correct must lie in [0, n={n}], got {correct}")
    p = correct / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, float(centre - half)), min(1.0, float(centre + half))

"""BLEU, the n-gram overlap score of generated text against references (chapter 6).

BLEU (Papineni et al., 2002) compares a generated sentence, the *hypothesis*,
with one or more human *references*:

1. **Modified n-gram precision.** Count the hypothesis's n-grams; clip each
   count at the largest number of times that n-gram occurs in any single
   reference (so "the the the the" earns at most as many "the" as a reference
   has); divide the clipped total by the number of hypothesis n-grams.
2. **Corpus level.** Add up the clipped counts and the totals over all
   sentences *before* dividing (a micro-average), for each order ``n = 1..N``.
3. **Geometric mean** of the ``N`` precisions, times a **brevity penalty**
   ``BP = exp(1 - r / c)`` when the total hypothesis length ``c`` is shorter
   than the total reference length ``r`` (for each sentence, the reference
   length closest to its hypothesis, the shorter one on a tie), ``BP = 1``
   otherwise. Precision alone would reward saying very little.

BLEU-n uses the orders 1 to n with equal weights ``1/n``. The functions here
reproduce NLTK's ``corpus_bleu`` (the tests compare them), including two of its
conventions: a hypothesis shorter than ``n`` still adds 1 to the denominator of
the order-``n`` precision, and a corpus with no matching n-gram of some order
scores 0 without smoothing. (NLTK returns a number below ``1e-70`` there: to
avoid ``log 0`` it replaces a zero precision by the smallest positive float,
``2.2e-308``, whose ``n``-th root is still tiny; the exact value is 0.)

**Smoothing.** One order with no match sets the geometric mean to 0 however
good the other orders are, which is harsh for short captions. ``smoothing=eps``
applies Chen and Cherry's (2014) method 1: an order with 0 matched n-grams out
of ``total`` gets the precision ``eps / total`` instead of 0 (NLTK's
``SmoothingFunction(epsilon=eps).method1``; 0.1 is its default). A corpus
without a single matching unigram still scores 0, as in NLTK.

Sentences are lists of tokens (strings); ``references`` for one hypothesis is a
list of such lists.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

from ._checks import is_integer

__all__ = ["ngrams", "modified_precision", "closest_ref_length", "brevity_penalty", "corpus_bleu",
           "sentence_bleu", "bleu_scores", "exact_match"]


def _check_sentence(name: str, s) -> list:
    if isinstance(s, str) or not isinstance(s, (list, tuple)):
        raise TypeError(f"{name} must be a list of tokens (e.g. 'a red circle'.split()), got {type(s).__name__}"
                        + (f" {s!r}" if isinstance(s, str) else ""))
    return list(s)


def _check_refs(name: str, refs) -> list[list]:
    if isinstance(refs, str) or not isinstance(refs, (list, tuple)) or not refs:
        raise TypeError(f"{name} must be a non-empty list of reference token lists, got {refs!r}")
    return [_check_sentence(f"{name}[{k}]", r) for k, r in enumerate(refs)]


def _check_n(n) -> int:
    if not is_integer(n) or n < 1:
        raise ValueError(f"n must be a positive integer n-gram order, got {n!r}")
    return int(n)


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    """The n-grams of ``tokens`` (tuples of ``n`` consecutive tokens) with their counts."""
    tokens = _check_sentence("tokens", tokens)
    n = _check_n(n)
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def modified_precision(candidate: Sequence[str], references: Sequence[Sequence[str]], n: int) -> tuple[int, int]:
    """Clipped n-gram matches of one hypothesis, as ``(clipped, total)``.

    Parameters
    ----------
    candidate : list of str
        The hypothesis.
    references : list of list of str
        Its references.
    n : int
        The n-gram order.

    Returns
    -------
    clipped : int
        ``sum over the hypothesis's n-grams g of min(count of g in the hypothesis,
        max over references of the count of g in that reference)``.
    total : int
        The number of n-grams in the hypothesis, at least 1 (NLTK's convention,
        so that a hypothesis shorter than ``n`` counts as 0 matches out of 1).
    """
    candidate = _check_sentence("candidate", candidate)
    references = _check_refs("references", references)
    n = _check_n(n)
    counts = ngrams(candidate, n)
    ref_counts = [ngrams(r, n) for r in references]
    clipped = sum(min(c, max(rc[g] for rc in ref_counts)) for g, c in counts.items())
    return clipped, max(1, sum(counts.values()))


def closest_ref_length(references: Sequence[Sequence[str]], hyp_len: int) -> int:
    """The reference length closest to ``hyp_len`` (the shorter one on a tie)."""
    references = _check_refs("references", references)
    return min((len(r) for r in references), key=lambda L: (abs(L - hyp_len), L))


def brevity_penalty(ref_len: int, hyp_len: int) -> float:
    """``1`` if ``hyp_len > ref_len``, ``0`` for an empty hypothesis, else ``exp(1 - ref_len / hyp_len)``."""
    if hyp_len > ref_len:
        return 1.0
    if hyp_len == 0:
        return 0.0
    return math.exp(1.0 - ref_len / hyp_len)


def _check_corpus(list_of_references, hypotheses):
    if isinstance(hypotheses, str) or not isinstance(hypotheses, (list, tuple)):
        raise TypeError(f"hypotheses must be a list of token lists, got {type(hypotheses).__name__}")
    if isinstance(list_of_references, str) or not isinstance(list_of_references, (list, tuple)):
        raise TypeError(f"list_of_references must be a list (one list of references per hypothesis), "
                        f"got {type(list_of_references).__name__}")
    if len(list_of_references) != len(hypotheses):
        raise ValueError(f"list_of_references and hypotheses must have the same length, got "
                         f"{len(list_of_references)} and {len(hypotheses)}")
    if not hypotheses:
        raise ValueError("hypotheses is empty: there is nothing to score")
    return ([_check_refs(f"list_of_references[{k}]", r) for k, r in enumerate(list_of_references)],
            [_check_sentence(f"hypotheses[{k}]", h) for k, h in enumerate(hypotheses)])


def _corpus_stats(list_of_references, hypotheses, max_n):
    clipped, totals = [0] * max_n, [0] * max_n
    hyp_len = ref_len = 0
    for refs, hyp in zip(list_of_references, hypotheses):
        for n in range(1, max_n + 1):
            c, t = modified_precision(hyp, refs, n)
            clipped[n - 1] += c
            totals[n - 1] += t
        hyp_len += len(hyp)
        ref_len += closest_ref_length(refs, len(hyp))
    return clipped, totals, hyp_len, ref_len


def _combine(clipped, totals, hyp_len, ref_len, weights, smoothing: float = 0.0) -> float:
    if clipped[0] == 0:
        return 0.0
    # Chen & Cherry's method 1: an order without matches counts `smoothing` matches instead of 0
    matched = [c if c > 0 else smoothing for c in clipped]
    if any(matched[k] == 0 for k, w in enumerate(weights) if w > 0):
        return 0.0
    log_p = math.fsum(w * math.log(matched[k] / totals[k]) for k, w in enumerate(weights) if w > 0)
    return brevity_penalty(ref_len, hyp_len) * math.exp(log_p)


def _check_smoothing(smoothing) -> float:
    if isinstance(smoothing, bool) or not isinstance(smoothing, (int, float)) or not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be a number in [0, 1) (0: none; 0.1: NLTK's method1), got {smoothing!r}")
    return float(smoothing)


def _check_weights(weights) -> tuple[float, ...]:
    if is_integer(weights):
        return (1.0 / _check_n(weights),) * weights
    try:
        weights = tuple(float(w) for w in weights)
    except TypeError:
        raise TypeError(f"weights must be a tuple of per-order weights or an int order, got {weights!r}") from None
    if not weights or any(w < 0 for w in weights):
        raise ValueError(f"weights must be a non-empty tuple of non-negative numbers, got {weights!r}")
    return weights


def corpus_bleu(list_of_references, hypotheses, weights=(0.25, 0.25, 0.25, 0.25), smoothing: float = 0.0) -> float:
    """Corpus-level BLEU (the same number as NLTK's ``corpus_bleu``).

    Parameters
    ----------
    list_of_references : list of (list of (list of str))
        For every hypothesis, its references.
    hypotheses : list of (list of str)
        The generated sentences.
    weights : tuple of float, or int
        Weight of each n-gram order, ``(1/4,) * 4`` for BLEU-4; an int ``n``
        means BLEU-n, i.e. ``(1/n,) * n``.
    smoothing : float
        0 (the default): none, an order without matches gives 0. ``eps > 0``:
        Chen and Cherry's method 1, such an order's precision is ``eps / total``
        (equal to NLTK with ``SmoothingFunction(epsilon=eps).method1``).

    Returns
    -------
    float in ``[0, 1]``.
    """
    weights = _check_weights(weights)
    smoothing = _check_smoothing(smoothing)
    list_of_references, hypotheses = _check_corpus(list_of_references, hypotheses)
    return _combine(*_corpus_stats(list_of_references, hypotheses, len(weights)), weights, smoothing)


def sentence_bleu(references, hypothesis, weights=(0.25, 0.25, 0.25, 0.25), smoothing: float = 0.0) -> float:
    """BLEU of one hypothesis: :func:`corpus_bleu` of a corpus of one sentence."""
    return corpus_bleu([references], [hypothesis], weights, smoothing)


def bleu_scores(list_of_references, hypotheses, max_n: int = 4, smoothing: float = 0.0) -> dict[str, float]:
    """``{"BLEU-1": ..., ..., "BLEU-max_n": ...}`` from one pass over the corpus (``smoothing``: see
    :func:`corpus_bleu`)."""
    max_n = _check_n(max_n)
    smoothing = _check_smoothing(smoothing)
    list_of_references, hypotheses = _check_corpus(list_of_references, hypotheses)
    stats = _corpus_stats(list_of_references, hypotheses, max_n)
    return {f"BLEU-{n}": _combine(*stats, (1.0 / n,) * n, smoothing) for n in range(1, max_n + 1)}


def exact_match(list_of_references, hypotheses) -> float:
    """Fraction of hypotheses equal, token for token, to one of their references."""
    list_of_references, hypotheses = _check_corpus(list_of_references, hypotheses)
    return sum(any(h == r for r in refs) for refs, h in zip(list_of_references, hypotheses)) / len(hypotheses)

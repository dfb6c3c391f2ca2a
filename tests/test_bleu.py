"""BLEU (rnnbook.bleu): cross-checked against NLTK's corpus_bleu on the same inputs, plus hand-worked cases."""
import math
import random
import warnings

import pytest

from rnnbook.bleu import (bleu_scores, brevity_penalty, closest_ref_length, corpus_bleu, exact_match, ngrams,
                          modified_precision, sentence_bleu)

nltk_bleu = pytest.importorskip("nltk.translate.bleu_score")


def nltk_corpus_bleu(refs, hyps, weights):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")              # NLTK warns when an order has no match
        return nltk_bleu.corpus_bleu(refs, hyps, weights=weights)


def random_corpus(r, words, n_sent):
    hyps = [[r.choice(words) for _ in range(r.randint(0, 9))] for _ in range(n_sent)]
    refs = [[[r.choice(words) for _ in range(r.randint(1, 10))] for _ in range(r.randint(1, 3))]
            for _ in range(n_sent)]
    return refs, hyps


@pytest.mark.parametrize("seed", range(4))
def test_corpus_bleu_matches_nltk_on_random_corpora(seed):
    r = random.Random(seed)
    words = "a b c d e".split() if seed % 2 else "the red blue circle square left of a".split()
    for _ in range(60):
        refs, hyps = random_corpus(r, words, r.randint(1, 8))
        for n in range(1, 5):
            w = (1 / n,) * n
            assert corpus_bleu(refs, hyps, w) == pytest.approx(nltk_corpus_bleu(refs, hyps, w), abs=1e-12)
        scores = bleu_scores(refs, hyps)
        for n in range(1, 5):
            assert scores[f"BLEU-{n}"] == pytest.approx(nltk_corpus_bleu(refs, hyps, (1 / n,) * n), abs=1e-12)


def test_corpus_bleu_matches_nltk_on_captions_and_uneven_weights():
    refs = [[["a", "small", "red", "circle", "left", "of", "a", "large", "blue", "square"]],
            [["four", "one", "seven"]],
            [["a", "large", "green", "triangle"], ["a", "big", "green", "triangle"]]]
    hyps = [["a", "small", "red", "square", "left", "of", "a", "large", "blue", "square"],
            ["four", "seven"],
            ["a", "large", "green", "triangle"]]
    for w in [(0.25,) * 4, (1.0,), (0.5, 0.5), (0.1, 0.2, 0.3, 0.4), (0.5, 0.0, 0.5)]:
        assert corpus_bleu(refs, hyps, w) == pytest.approx(nltk_corpus_bleu(refs, hyps, w), abs=1e-12)
        for rs, h in zip(refs, hyps):
            assert sentence_bleu(rs, h, w) == pytest.approx(nltk_corpus_bleu([rs], [h], w), abs=1e-12)


def test_hand_worked_example_with_clipping_and_brevity():
    # "the the the the" against "the cat is on the mat": 4 unigrams, "the" clipped at 2
    assert modified_precision("the the the the".split(), ["the cat is on the mat".split()], 1) == (2, 4)
    # the maximum over references clips, not the sum
    assert modified_precision("the the the".split(), [["the"], ["the", "the"]], 1) == (2, 3)
    # a hypothesis shorter than n: 0 matches out of 1 (NLTK's convention)
    assert modified_precision(["a"], [["a", "b"]], 2) == (0, 1)
    assert ngrams(["a", "b", "a", "b"], 2) == {("a", "b"): 2, ("b", "a"): 1}
    assert closest_ref_length([[1] * 12, [1] * 15, [1] * 17], 14) == 15
    assert closest_ref_length([[1] * 12, [1] * 16], 14) == 12          # tie: the shorter one
    assert brevity_penalty(10, 12) == 1.0 and brevity_penalty(10, 0) == 0.0
    assert brevity_penalty(12, 8) == pytest.approx(math.exp(1 - 12 / 8))
    # BLEU-1 of one sentence = BP * p1
    ref, hyp = "four one seven two".split(), "four seven".split()
    assert corpus_bleu([[ref]], [hyp], 1) == pytest.approx(math.exp(1 - 4 / 2) * 1.0)


def test_perfect_and_hopeless_corpora():
    refs = [[["a", "b", "c", "d"]], [["e", "f", "g", "h", "i"]]]
    assert corpus_bleu(refs, [["a", "b", "c", "d"], ["e", "f", "g", "h", "i"]]) == 1.0
    assert corpus_bleu(refs, [["x"], ["y"]]) == 0.0
    # unigrams match but no 4-gram: BLEU-4 is 0 (NLTK gives a number below 1e-70), BLEU-1 is not
    hyps = [["d", "c", "b", "a"], ["i", "h", "g", "f", "e"]]
    assert corpus_bleu(refs, hyps) == 0.0 and nltk_corpus_bleu(refs, hyps, (0.25,) * 4) < 1e-70
    assert corpus_bleu(refs, hyps, 1) == 1.0
    assert corpus_bleu(refs, [[], []], 1) == 0.0


def test_exact_match():
    refs = [[["a", "b"]], [["c"], ["d", "e"]], [["f"]]]
    assert exact_match(refs, [["a", "b"], ["d", "e"], ["g"]]) == pytest.approx(2 / 3)


def test_bad_inputs_name_the_argument():
    with pytest.raises(TypeError, match=r"hypotheses\[0\] must be a list of tokens .* got str 'a b'"):
        corpus_bleu([[["a", "b"]]], ["a b"])
    with pytest.raises(ValueError, match="list_of_references and hypotheses must have the same length, got 2 and 1"):
        corpus_bleu([[["a"]], [["b"]]], [["a"]])
    with pytest.raises(TypeError, match=r"list_of_references\[0\] must be a non-empty list of reference token"):
        corpus_bleu([[]], [["a"]])
    with pytest.raises(ValueError, match="hypotheses is empty"):
        corpus_bleu([], [])
    with pytest.raises(ValueError, match="n must be a positive integer n-gram order, got 0"):
        modified_precision(["a"], [["a"]], 0)
    with pytest.raises(ValueError, match="weights must be a non-empty tuple of non-negative numbers"):
        corpus_bleu([[["a"]]], [["a"]], (0.5, -0.5))
    with pytest.raises(TypeError, match=r"candidate must be a list of tokens"):
        modified_precision("a b", [["a"]], 1)


@pytest.mark.parametrize("eps", [0.1, 0.01])
def test_smoothing_method1_matches_nltk(eps):
    # Chen & Cherry (2014) method 1 = NLTK's SmoothingFunction(epsilon).method1, on corpora where many orders
    # have no match (short hypotheses over a small vocabulary)
    smooth = nltk_bleu.SmoothingFunction(epsilon=eps).method1
    r = random.Random(7)
    words = "a b c d e f g".split()
    zero_orders = 0
    for _ in range(80):
        refs, hyps = random_corpus(r, words, r.randint(1, 4))
        for n in range(1, 5):
            w = (1 / n,) * n
            ours = corpus_bleu(refs, hyps, w, smoothing=eps)
            theirs = nltk_bleu.corpus_bleu(refs, hyps, weights=w, smoothing_function=smooth)
            assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-15)
            zero_orders += corpus_bleu(refs, hyps, w) == 0 < ours
        scores = bleu_scores(refs, hyps, smoothing=eps)
        assert scores["BLEU-4"] == pytest.approx(corpus_bleu(refs, hyps, smoothing=eps), abs=1e-15)
    assert zero_orders > 20                          # the cases smoothing is for did occur


def test_smoothing_hand_worked_and_checked():
    ref = "a small red circle".split()
    hyp = "a small blue square".split()            # p1 = 2/4, p2 = 1/3, p3 = 0/2, p4 = 0/1
    assert corpus_bleu([[ref]], [hyp]) == 0.0
    expected = math.exp((math.log(2 / 4) + math.log(1 / 3) + math.log(0.1 / 2) + math.log(0.1 / 1)) / 4)
    assert sentence_bleu([ref], hyp, smoothing=0.1) == pytest.approx(expected, rel=1e-12)
    assert corpus_bleu([[ref]], [["blue"]], smoothing=0.1) == 0.0       # no unigram match: still 0
    for bad in (-0.1, 1.0, True, "0.1"):
        with pytest.raises(ValueError, match="smoothing"):
            corpus_bleu([[ref]], [hyp], smoothing=bad)

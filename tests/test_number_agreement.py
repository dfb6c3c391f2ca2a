"""Tests of rnnbook.data.number_agreement (chapter 3's synthetic agreement language)."""
import numpy as np
import pytest

from rnnbook.data.number_agreement import (
    NOUNS,
    VERBS,
    agreement_batch,
    agreement_vocab,
    attractor_items,
    reset_items,
    sentence,
)


def test_sentences_agree_with_their_subject():
    rng = np.random.default_rng(0)
    for _ in range(200):
        k, plural = int(rng.integers(0, 4)), bool(rng.integers(0, 2))
        words = sentence(rng, k, plural)
        assert len(words) == 3 * k + 5 and words[0] == "the" and words[-1] == "."
        assert any(words[1] == pair[int(plural)] for pair in NOUNS)
        assert any(words[-3] == pair[int(plural)] for pair in VERBS)


def test_batch_is_padded_and_shifted():
    vocab = agreement_vocab()
    ids, targets = agreement_batch(vocab, 50, max_phrases=2, rng=0)
    assert ids.shape == targets.shape == (50, 11)
    assert np.all(ids[:, 0] == vocab.encode(["<s>"])[0])
    np.testing.assert_array_equal(targets[:, :-1][targets[:, :-1] >= 0], ids[:, 1:][targets[:, :-1] >= 0])
    dot = vocab.encode(["."])[0]
    for row in targets:                      # the valid targets are one sentence, then only padding
        n = int((row >= 0).sum())
        assert np.all(row[n:] == -1) and row[n - 1] == dot and (n - 5) % 3 == 0
    a, _ = agreement_batch(vocab, 5, rng=3)
    np.testing.assert_array_equal(a, agreement_batch(vocab, 5, rng=3)[0])


def test_attractor_items():
    vocab = agreement_vocab()
    ids, plural, correct, wrong = attractor_items(vocab, 40, 2, rng=0)
    assert ids.shape == (40, 9) and plural.any() and (~plural).any()
    words = [vocab.decode(row) for row in ids]
    for w, pl, c, x in zip(words, plural, correct, wrong):
        subject, attractors = w[2], w[5::3]
        assert any(subject == pair[int(pl)] for pair in NOUNS)
        assert all(any(a == pair[int(not pl)] for pair in NOUNS) for a in attractors)
        verb = vocab.decode([c, x])
        assert any(tuple(verb) == (pair[int(pl)], pair[int(not pl)]) for pair in VERBS)
    same = [vocab.decode(row) for row in attractor_items(vocab, 10, 1, attractors=False, rng=1)[0]]
    assert all((w[2].endswith("s")) == (w[5].endswith("s")) for w in same)


def test_batch_of_several_sentences():
    vocab = agreement_vocab()
    ids, targets = agreement_batch(vocab, 200, max_phrases=2, max_sentences=2, rng=0)
    assert ids.shape == targets.shape == (200, 22)
    dot = vocab.encode(["."])[0]
    counts = (targets == dot).sum(axis=1)
    assert set(counts) == {1, 2}                  # one or two sentences per row, both kinds present
    for row, n in zip(targets, counts):
        words = vocab.decode(row[row >= 0])
        assert words[-1] == "." and len(words) == int((row >= 0).sum())
        sentences = " ".join(words).split(" . ")
        assert len(sentences) == n
        for s in sentences:                       # every sentence agrees with its own subject
            w = s.rstrip(" .").split()
            plural = any(w[1] == pair[1] for pair in NOUNS)
            assert any(w[-2] == pair[int(plural)] for pair in VERBS)


def test_reset_items():
    vocab = agreement_vocab()
    ids, plural, correct, wrong = reset_items(vocab, 40, 2, rng=0)
    assert ids.shape == (40, 20) and plural.any() and (~plural).any()
    for row, pl, c, x in zip(ids, plural, correct, wrong):
        w = vocab.decode(row)
        first, second = w[1:12], w[12:]
        assert first[-1] == "." and second[0] == "the"
        assert any(first[1] == pair[int(not pl)] for pair in NOUNS)      # the subjects differ in number
        assert any(second[1] == pair[int(pl)] for pair in NOUNS)
        assert all(any(a == pair[int(not pl)] for pair in NOUNS) for a in second[4::3])   # attractors
        verb = vocab.decode([c, x])
        assert any(tuple(verb) == (pair[int(pl)], pair[int(not pl)]) for pair in VERBS)
    np.testing.assert_array_equal(ids, reset_items(vocab, 40, 2, rng=0)[0])


def test_bad_inputs():
    with pytest.raises(ValueError, match="n must be an integer >= 1"):
        agreement_batch(agreement_vocab(), 0)
    with pytest.raises(ValueError, match="max_sentences must be an integer >= 1"):
        agreement_batch(agreement_vocab(), 4, max_sentences=0)
    with pytest.raises(ValueError, match="phrases must be an integer >= 0"):
        reset_items(agreement_vocab(), 4, -1)

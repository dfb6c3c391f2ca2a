"""rnnbook.data.agreement: the controlled subject-verb agreement items and their scorer."""
import numpy as np
import pytest

from rnnbook.data import Vocab
from rnnbook.data.agreement import (NOUN_PAIRS, PREPOSITIONS, VERB_PAIRS, AgreementSet, accuracy_table,
                                    agreement_scores, make_agreement_set)

ALL_WORDS = (["<eos>", "the", *PREPOSITIONS] + [w for p in NOUN_PAIRS for w in p] + [w for p in VERB_PAIRS for w in p])


def full_vocab():
    return Vocab(ALL_WORDS, unk="<unk>")


def test_items_are_well_formed():
    items = make_agreement_set(phrases=(0, 1, 3), per_cell=5, seed=1)
    assert len(items) == 2 * 5 + 2 * (2 * 2 * 5)                   # k = 0 has only one condition
    plural = {p for _, p in NOUN_PAIRS}
    verbs = dict(VERB_PAIRS)
    for i in range(len(items)):
        words = items.prefixes[i]
        k = items.phrases[i]
        assert words[:2] == ["<eos>", "the"] and len(words) == 3 + 3 * k
        assert items.distance[i] == 3 * k
        subject = words[2]
        assert (subject in plural) == bool(items.plural[i])
        assert (items.correct[i] in verbs.values()) == bool(items.plural[i])   # plural form for a plural subject
        assert {items.correct[i], items.wrong[i]} in [set(p) for p in VERB_PAIRS]
        nouns = words[5::3]
        assert all(p in PREPOSITIONS for p in words[3::3]) and all(t == "the" for t in words[4::3])
        same = [(n in plural) == bool(items.plural[i]) for n in nouns]
        assert all(same) if items.condition[i] == "control" else not any(same)
        stems = [n.rstrip("s") for n in [subject, *nouns]]
        assert len(set(stems)) == len(stems)                        # no noun is repeated in an item
    assert "[" in items.sentence(0) and "<eos>" not in items.sentence(0)


def test_seeded_and_filtered_by_vocabulary():
    a, b = make_agreement_set(per_cell=3, seed=4), make_agreement_set(per_cell=3, seed=4)
    assert a.prefixes == b.prefixes and a.correct == b.correct
    words = [w for w in ALL_WORDS if w not in ("were", "values")]
    items = make_agreement_set(Vocab(words, unk="<unk>"), per_cell=20, seed=0)
    used = {w for p in items.prefixes for w in p} | set(items.correct) | set(items.wrong)
    assert "were" not in used and "was" not in used and "values" not in used and "value" not in used


class OracleModel:
    """Scores the correct form highest when ``agree`` is true, else always prefers the singular form."""

    def __init__(self, vocab, items, agree=True):
        self.vocab, self.items, self.agree = vocab, items, agree
        self.vocab_size = len(vocab)

    def reset_state(self):
        pass

    def predict(self, ids):
        logits = np.zeros(ids.shape + (self.vocab_size,))
        plural_nouns = {self.vocab.stoi[p] for _, p in NOUN_PAIRS}
        for n, row in enumerate(ids):
            plural = row[2] in plural_nouns
            for s, p in VERB_PAIRS:
                good = p if (plural and self.agree) else s
                logits[n, -1, self.vocab.stoi[good]] = 1.0
        return logits


def test_scores_and_accuracy_table():
    vocab = full_vocab()
    items = make_agreement_set(vocab, phrases=(0, 2), per_cell=6, seed=0)
    perfect = agreement_scores(OracleModel(vocab, items), vocab, items, batch_size=5)
    assert perfect.shape == (len(items),) and np.all(perfect > 0)
    table = accuracy_table(items, perfect)
    assert table == {"distance": [0, 6], "attractor": [1.0, 1.0], "control": [1.0, 1.0]}
    singular_only = agreement_scores(OracleModel(vocab, items, agree=False), vocab, items)
    table = accuracy_table(items, singular_only)
    assert table["control"] == [0.5, 0.5] and table["attractor"][1] == 0.5


def test_bad_inputs():
    with pytest.raises(ValueError, match="per_cell must be a positive integer, got 0"):
        make_agreement_set(per_cell=0)
    with pytest.raises(ValueError, match="phrases must be a non-empty list of non-negative integers"):
        make_agreement_set(phrases=(-1,))
    with pytest.raises(ValueError, match="no verb pair has both forms in the vocabulary"):
        make_agreement_set(Vocab([w for w in ALL_WORDS if w not in ("are", "have", "were")], unk="<unk>"))
    with pytest.raises(ValueError, match=r"the vocabulary lacks the word\(s\) \['of'\]"):
        make_agreement_set(Vocab([w for w in ALL_WORDS if w != "of"], unk="<unk>"))
    vocab = full_vocab()
    items = make_agreement_set(per_cell=2)
    small = Vocab(["<eos>", "the"], unk="<unk>")
    with pytest.raises(ValueError, match="the vocabulary lacks"):
        agreement_scores(OracleModel(small, items), small, items)
    with pytest.raises(TypeError, match="items must be an AgreementSet"):
        agreement_scores(OracleModel(vocab, items), vocab, [["the", "value"]])
    with pytest.raises(ValueError, match="the vocabulary has .* words but the model predicts 3"):
        model = OracleModel(vocab, items)
        model.vocab_size = 3
        agreement_scores(model, vocab, items)
    with pytest.raises(ValueError, match=r"margins must have shape \(\d+,\) \(one per item\), got \(2,\)"):
        accuracy_table(items, np.zeros(2))
    assert isinstance(items, AgreementSet)


def test_flip_numbers_keeps_the_condition_and_swaps_the_verb():
    from rnnbook.data.agreement import flip_numbers
    items = make_agreement_set(per_cell=3, seed=1)
    flipped = flip_numbers(items)
    assert flipped.correct == items.wrong and flipped.wrong == items.correct
    assert (flipped.plural == ~items.plural).all() and (flipped.condition == items.condition).all()
    assert flip_numbers(flipped).prefixes == items.prefixes


def test_paired_accuracy_cancels_a_fixed_preference():
    from rnnbook.data.agreement import flip_numbers, paired_accuracy
    items = make_agreement_set(per_cell=5, seed=2)
    singular_forms = {"is", "has", "was"}
    bias = lambda s: np.array([1.0 if c in singular_forms else -1.0 for c in s.correct])  # always "is"
    raw = accuracy_table(items, bias(items))
    assert all(a == 0.5 for a in raw["control"])                    # exactly chance, whatever the subject
    flipped = flip_numbers(items)
    paired = paired_accuracy(items, bias(items), bias(flipped))
    assert all(a == 0.0 for a in paired["control"])                 # no movement with the subject: never right


def test_wilson_interval():
    from rnnbook.data.agreement import wilson_interval
    lo, hi = wilson_interval(40, 80)
    assert lo < 0.5 < hi and abs((lo + hi) / 2 - 0.5) < 1e-12
    assert wilson_interval(0, 10)[0] == 0.0 and wilson_interval(10, 10)[1] > 0.999
    with pytest.raises(ValueError):
        wilson_interval(11, 10)

"""The shipped Tatoeba English-French pairs (rnnbook.data.tatoeba): the file, tokens, the split, encoding."""
import pathlib

import numpy as np
import pytest

from rnnbook.data import tatoeba
from rnnbook.data.pairs import END_ID, PAD_ID, START_ID


def test_the_file_ships_with_its_licence():
    pairs = tatoeba.load_tatoeba_pairs()
    assert len(pairs) == 30000 and all(len(p) == 2 and p[0] and p[1] for p in pairs)
    assert all(4 <= len(en.split()) <= 9 for en, _ in pairs)
    here = pathlib.Path(tatoeba.__file__).parent
    assert (here / "tatoeba_eng_fra.tsv.xz").stat().st_size < 2_000_000
    notice = (here / "tatoeba_eng_fra.LICENSE.txt").read_text(encoding="utf-8")
    assert "CC BY 2.0 FR" in notice and "tatoeba.org" in notice and "random.Random(5)" in notice
    pyproject = (here.parents[2] / "pyproject.toml").read_text(encoding="utf-8")
    assert "tatoeba_eng_fra.tsv.xz" in pyproject and "tatoeba_eng_fra.LICENSE.txt" in pyproject


def test_tokenize_lowercases_keeps_accents_and_splits_punctuation():
    assert tatoeba.tokenize("L'homme n'est pas là.") == ["l'", "homme", "n'", "est", "pas", "là", "."]
    assert tatoeba.tokenize("Don't go!") == ["don'", "t", "go", "!"]
    assert tatoeba.tokenize("Va\u202f! C\u2019est\xa0ça ?") == ["va", "!", "c'", "est", "ça", "?"]
    assert tatoeba.tokenize("E\u0301te\u0301") == ["été"]          # decomposed accents become one character
    with pytest.raises(TypeError, match="sentence must be a string"):
        tatoeba.tokenize(["a"])


def test_split_is_seeded_and_keeps_english_sentences_apart():
    a, b = tatoeba.tatoeba_split(), tatoeba.tatoeba_split()
    assert a == b
    assert sum(len(v) for v in a.values()) == 30000
    assert 1500 <= len(a["test"]) < 1520 and 1000 <= len(a["val"]) < 1020
    english = {k: {tuple(en) for en, _ in v} for k, v in a.items()}
    assert not english["train"] & english["test"] and not english["train"] & english["val"]
    assert not english["val"] & english["test"]
    assert tatoeba.tatoeba_split(seed=1)["test"] != a["test"]
    with pytest.raises(ValueError, match="no training pairs"):
        tatoeba.tatoeba_split(n_test=20000, n_val=10000)
    with pytest.raises(ValueError, match="n_val"):
        tatoeba.tatoeba_split(n_val=-1)


def test_references_group_the_translations_of_one_sentence():
    pairs = [(["hi", "."], ["salut", "."]), (["go", "."], ["va", "!"]), (["hi", "."], ["bonjour", "."])]
    sources, refs = tatoeba.references(pairs)
    assert sources == [["hi", "."], ["go", "."]]
    assert refs == [[["salut", "."], ["bonjour", "."]], [["va", "!"]]]


def test_vocab_encode_decode():
    pairs = [(["the", "cat", "."], ["le", "chat", "."]), (["the", "dog", "."], ["le", "chien", "."])]
    vocab = tatoeba.word_pair_vocab(pairs, min_count=2)
    assert vocab.itos == ["<pad>", "<s>", "</s>", "<unk>", ".", "le", "the"]
    src, tgt = tatoeba.encode_word_pairs(pairs, vocab, src_len=4, tgt_len=3)
    assert src.shape == (2, 4) and tgt.shape == (2, 5)
    assert src[0].tolist() == [vocab.stoi["the"], 3, vocab.stoi["."], PAD_ID]
    assert tgt[0].tolist() == [START_ID, vocab.stoi["le"], 3, vocab.stoi["."], END_ID]
    assert tatoeba.decode_words(tgt, vocab) == [["le", "<unk>", "."]] * 2
    with pytest.raises(ValueError, match="too short"):
        tatoeba.encode_word_pairs(pairs, vocab, src_len=2, tgt_len=3)
    with pytest.raises(ValueError, match="min_count"):
        tatoeba.word_pair_vocab(pairs, min_count=0)
    with pytest.raises(ValueError, match="word_pair_vocab"):
        from rnnbook.data.vocab import Vocab
        tatoeba.encode_word_pairs(pairs, Vocab(["a"]), src_len=4, tgt_len=3)
    assert np.array_equal(tatoeba.decode_words(np.array([START_ID, 5, END_ID, 6]), vocab), [["le"]])

"""Tests of rnnbook.data.corpora: offline corpora, splits and vocabularies."""
import numpy as np
import pytest

from rnnbook.data import corpora
from rnnbook.data import (STDLIB_MODULES, STDLIB_MORE_MODULES, char_vocab, load_text_file, stdlib_source_text,
                          train_val_test_split, word_tokenize, word_vocab)


def test_stdlib_source_text_is_real_and_deterministic():
    assert list(STDLIB_MODULES) == sorted(STDLIB_MODULES)
    text = stdlib_source_text()
    assert len(text) > 500_000
    assert "def " in text and "import " in text
    assert text == stdlib_source_text()
    assert stdlib_source_text(max_chars=1000) == text[:1000]


def test_stdlib_source_text_missing_sources_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(corpora, "stdlib_dir", lambda: tmp_path)
    with pytest.raises(FileNotFoundError, match="ships no .py sources"):
        stdlib_source_text(source="installed")
    with pytest.raises(FileNotFoundError, match="load_text_file"):
        corpora.stdlib_docstrings_text(source="installed")
    assert stdlib_source_text(max_chars=10)       # the default snapshot needs no source files


def test_stdlib_source_text_bad_max_chars():
    with pytest.raises(ValueError, match="max_chars"):
        stdlib_source_text(max_chars=0)


def test_stdlib_docstrings_text_is_prose():
    text = corpora.stdlib_docstrings_text()
    lines = text.splitlines()
    assert len(text) > 500_000
    assert all(len(line) > 40 for line in lines[:1000])
    assert "return" in text.lower()


def test_load_text_file(tmp_path):
    p = tmp_path / "ptb.train.txt"
    p.write_text(" the cat sat\n on the mat\n", encoding="utf-8")
    assert load_text_file(p) == " the cat sat\n on the mat\n"
    assert load_text_file(str(p)) == " the cat sat\n on the mat\n"
    with pytest.raises(FileNotFoundError, match="no such text file"):
        load_text_file(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_text_file(tmp_path / "empty.txt")


def test_load_text_file_reads_a_small_fake_penn_treebank(tmp_path):
    # the PTB's format: one tokenised, lower-cased sentence per line, rare words already <unk>
    lines = [" the <unk> rose N % in the quarter", " mr. <unk> is chairman of the board", " the board rose"]
    p = tmp_path / "ptb.train.txt"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tokens = load_text_file(p).replace("\n", " <eos> ").split()     # as load_text_file's docstring shows
    assert tokens[:3] == ["the", "<unk>", "rose"] and tokens.count("<eos>") == 3
    vocab = word_vocab(tokens)
    ids = vocab.encode(tokens)
    assert len(ids) == len(tokens) and vocab.decode(ids) == tokens
    tr, va, te = train_val_test_split(ids, (0.6, 0.2, 0.2))
    assert len(tr) + len(va) + len(te) == len(ids)


def test_train_val_test_split_is_contiguous():
    data = np.arange(100)
    tr, va, te = train_val_test_split(data)
    assert (len(tr), len(va), len(te)) == (90, 5, 5)
    assert np.array_equal(np.concatenate([tr, va, te]), data)
    a, b, c = train_val_test_split("abcdefghij", (0.6, 0.2, 0.2))
    assert (a, b, c) == ("abcdef", "gh", "ij")


@pytest.mark.parametrize("fractions", [(0.5, 0.5), (0.8, 0.3, 0.1), (1.2, -0.1, -0.1)])
def test_train_val_test_split_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        train_val_test_split(np.arange(10), fractions)


def test_train_val_test_split_too_short_and_2d():
    with pytest.raises(ValueError, match="part is empty: data has only 5 items"):
        train_val_test_split(np.arange(5))
    with pytest.raises(ValueError, match="one-dimensional"):
        train_val_test_split(np.zeros((4, 4)))


def test_char_vocab_roundtrip():
    v = char_vocab("hello world")
    assert v.itos[0] == "l"                     # the most frequent character first
    assert "".join(v.decode(v.encode("hold"))) == "hold"
    with pytest.raises(ValueError, match="empty"):
        char_vocab("")
    with pytest.raises(TypeError, match="str"):
        char_vocab(["a", "b"])


def test_word_tokenize_and_vocab():
    toks = word_tokenize("Return the value.\n\nNone if absent")
    assert toks == ["return", "the", "value", ".", "<eos>", "none", "if", "absent", "<eos>"]
    v = word_vocab(toks + ["the"], min_count=2)
    assert v.itos[:2] == ["<unk>", "the"]
    assert v.decode(v.encode(["the", "zebra"])) == ["the", "<unk>"]


def test_the_snapshot_is_the_default_and_matches_python_3_11_7():
    """The book trains on a fixed snapshot, so every Python version sees the same characters."""
    import platform
    from rnnbook.data.corpora import _snapshot, stdlib_docstrings_text, stdlib_source_text
    snap = _snapshot()
    assert snap["python"] == "3.11.7" and sorted(snap["modules"]) == sorted(STDLIB_MODULES + STDLIB_MORE_MODULES)
    assert not set(STDLIB_MODULES) & set(STDLIB_MORE_MODULES)
    assert list(STDLIB_MORE_MODULES) == sorted(STDLIB_MORE_MODULES)
    assert len(stdlib_source_text(STDLIB_MORE_MODULES)) > 1_000_000
    text = stdlib_source_text()
    assert len(text) == 866_912 and text.startswith("# Author: Steven J. Bethard")
    assert len(stdlib_docstrings_text()) == 1_554_030
    if platform.python_version() == "3.11.7":       # the snapshot is exactly this Python's files
        assert text == stdlib_source_text(source="installed")
        assert stdlib_docstrings_text(min_chars=60) == stdlib_docstrings_text(min_chars=60, source="installed")


def test_snapshot_arguments_are_checked():
    from rnnbook.data.corpora import stdlib_docstrings_text, stdlib_source_text
    with pytest.raises(ValueError, match="source must be 'snapshot'"):
        stdlib_source_text(source="3.12")
    with pytest.raises(KeyError, match="not in the book's snapshot"):
        stdlib_source_text(["sys.py"])
    with pytest.raises(ValueError, match="min_chars >= 40"):
        stdlib_docstrings_text(min_chars=10)
    with pytest.raises(TypeError, match="not one string"):
        stdlib_source_text("os.py")

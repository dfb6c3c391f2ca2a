"""rnnbook.seeds: every chapter seed through book_seed, shifted at once by RNNBOOK_SEED_OFFSET."""
import numpy as np
import pytest

from rnnbook.seeds import SEED_OFFSET_VARIABLE, book_rng, book_seed, seed_offset


def test_unset_or_empty_offset_leaves_every_seed_as_written(monkeypatch):
    monkeypatch.delenv(SEED_OFFSET_VARIABLE, raising=False)
    assert seed_offset() == 0 and book_seed(0) == 0 and book_seed(7) == 7
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, " ")
    assert book_seed(3) == 3


def test_offset_shifts_every_seed_by_the_same_amount(monkeypatch):
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, "2")
    assert [book_seed(k) for k in (0, 1, 5)] == [2, 3, 7]
    assert book_rng(1).integers(1 << 30) == np.random.default_rng(3).integers(1 << 30)


@pytest.mark.parametrize("text", ["-1", "one", "1.5"])
def test_a_bad_offset_is_named(monkeypatch, text):
    monkeypatch.setenv(SEED_OFFSET_VARIABLE, text)
    with pytest.raises(ValueError, match=SEED_OFFSET_VARIABLE):
        book_seed(0)


@pytest.mark.parametrize("k", [-1, 1.0, "0", True, None])
def test_a_bad_seed_is_refused(monkeypatch, k):
    monkeypatch.delenv(SEED_OFFSET_VARIABLE, raising=False)
    with pytest.raises(ValueError, match="non-negative integer"):
        book_seed(k)


def test_numpy_integers_are_seeds(monkeypatch):
    monkeypatch.delenv(SEED_OFFSET_VARIABLE, raising=False)
    assert book_seed(np.int64(4)) == 4 and isinstance(book_seed(np.int64(4)), int)

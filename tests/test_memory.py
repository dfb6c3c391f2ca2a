"""Tests of rnnbook.data.memory: the long-range memory tasks."""
import numpy as np
import pytest

from rnnbook.data.memory import count_since_reset, recall_first, recall_last_marked


def test_recall_first_shapes_and_content():
    xs, y = recall_first(50, 7, n_symbols=3, n_distractors=2, rng=0)
    assert xs.shape == (50, 7, 5) and xs.dtype == np.float32 and y.shape == (50,)
    np.testing.assert_array_equal(xs.sum(-1), 1)
    np.testing.assert_array_equal(xs[:, 0].argmax(-1), y)
    assert y.max() < 3 and (xs[:, 1:].argmax(-1) >= 3).all()
    ids, y2 = recall_first(50, 7, n_symbols=3, n_distractors=2, rng=0, one_hot=False)
    np.testing.assert_array_equal(ids, xs.argmax(-1))
    np.testing.assert_array_equal(y, y2)


def test_recall_first_is_seeded():
    a = recall_first(5, 4, rng=3)
    b = recall_first(5, 4, rng=3)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], recall_first(5, 4, rng=4)[0])


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0, T=5), "n must be an integer >= 1"),
    (dict(n=3, T=0), "T must be an integer >= 1"),
    (dict(n=3, T=5, n_symbols=1), "n_symbols must be an integer >= 2"),
    (dict(n=3, T=2.5), "T must be an integer"),
])
def test_recall_first_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        recall_first(**kwargs)


def test_recall_last_marked_answer_follows_the_last_marker():
    ids, y = recall_last_marked(200, 20, n_symbols=3, n_distractors=2, max_markers=5, rng=0, one_hot=False)
    marker = 3 + 2
    for row, target in zip(ids, y):
        where = np.flatnonzero(row == marker)
        assert 1 <= len(where) <= 5 and np.all(np.diff(where) >= 2) and where[-1] <= 18
        assert row[where[-1] + 1] == target and np.all(row[where + 1] < 3)
        others = np.setdiff1d(np.arange(20), np.r_[where, where + 1])
        assert np.all((row[others] >= 3) & (row[others] < marker))
    assert len({len(np.flatnonzero(r == marker)) for r in ids}) == 5     # the number of markers varies
    xs, _ = recall_last_marked(4, 20, rng=1)
    assert xs.shape == (4, 20, 9) and np.all(xs.sum(axis=2) == 1)


def test_count_since_reset_counts_after_the_last_reset():
    ids, y = count_since_reset(200, 30, n_symbols=5, n_distractors=2, rng=0, one_hot=False)
    reset = 2 + 1
    for row, target in zip(ids, y):
        last = np.flatnonzero(row == reset)[-1]
        assert 15 <= last < 30 - 5 and np.sum(row[last + 1:] == 0) == target
    assert set(y) == set(range(5))
    xs, _ = count_since_reset(4, 30, rng=1)
    assert xs.shape == (4, 30, 5)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=2, T=5, max_markers=3), "T must be an integer >= 6"),
    (dict(n=2, T=10, max_markers=0), "max_markers must be an integer >= 1"),
])
def test_recall_last_marked_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        recall_last_marked(**kwargs)

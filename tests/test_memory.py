"""Tests of rnnbook.data.memory and rnnbook.experiments."""
import numpy as np
import pytest

from rnnbook.data.memory import count_since_reset, recall_first, recall_last_marked
from rnnbook.experiments import SequenceClassifier, accuracy_grid, train_memory_task
from rnnbook.gradcheck import numerical_gradient, rel_error


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


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_classifier_gradients(cell):
    rng = np.random.default_rng(0)
    model = SequenceClassifier(cell, 5, 4, 3, rng=1, dtype=np.float64)
    xs, y = rng.standard_normal((3, 4, 5)), rng.integers(0, 3, size=3)
    model.forward(xs, y)
    model.backward()
    for p, g in zip(model.params, [g.copy() for g in model.grads]):
        assert rel_error(g, numerical_gradient(lambda: model.forward(xs, y), p)) < 1e-6


def test_training_learns_short_sequences_and_is_deterministic():
    a = train_memory_task("recall_first", "lstm", 5, seed=0, steps=60, hidden_size=8, stop_at=None)
    b = train_memory_task("recall_first", "lstm", 5, seed=0, steps=60, hidden_size=8, stop_at=None)
    np.testing.assert_array_equal(a["losses"], b["losses"])
    assert a["accuracy"] > 0.9 and a["steps"] == 60 and a["curve"].shape == (3, 2)
    grid = accuracy_grid("recall_first", "rnn", [3, 4], [0, 1], steps=5, hidden_size=4)
    assert grid.shape == (2, 2)


def test_classifier_bad_cell():
    with pytest.raises(ValueError, match="cell must be 'rnn', 'lstm' or 'gru'"):
        SequenceClassifier("transformer", 2, 2, 2)


def test_training_stops_early_once_solved():
    r = train_memory_task("recall_first", "lstm", 5, seed=0, steps=400, hidden_size=8, check_every=20)
    assert r["steps"] < 400 and r["curve"][-1, 1] >= 0.99


def test_unknown_task():
    with pytest.raises(ValueError, match="task must be one of"):
        train_memory_task("recall_middle", "lstm", 5, seed=0)


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


def test_mixed_training_lengths():
    r = train_memory_task("recall_first", "lstm", 12, seed=0, steps=20, hidden_size=4, min_T=3, stop_at=None)
    assert r["steps"] == 20
    with pytest.raises(ValueError, match="min_T must be between 1 and T"):
        train_memory_task("recall_first", "lstm", 12, seed=0, min_T=13)


def test_keep_gate_matches_the_step_functions():
    from rnnbook.functions import sigmoid
    from rnnbook.gru import TimeGRU
    from rnnbook.lstm import TimeLSTM
    from rnnbook.experiments import keep_gate
    xs = np.random.default_rng(0).standard_normal((2, 5, 3))
    lstm = TimeLSTM(3, 4, rng=0, dtype=np.float64)
    f = keep_gate(lstm, xs)
    hs = lstm.forward(xs)
    Wx, Wh, b = lstm.params
    expected = sigmoid(xs[:, 3] @ Wx[:, :4] + hs[:, 2] @ Wh[:, :4] + b[:4])
    np.testing.assert_allclose(f[:, 3], expected)
    np.testing.assert_array_equal(keep_gate(TimeLSTM(3, 4, rng=0, fixed_gates={"f": 1.0}), xs.astype(np.float32)), 1.0)
    gru = TimeGRU(3, 4, rng=0, dtype=np.float64)
    z = keep_gate(gru, xs)
    hs = gru.forward(xs)
    Wx, Wh, b = gru.params
    np.testing.assert_allclose(z[:, 2], sigmoid(xs[:, 2] @ Wx[:, 4:8] + b[4:8] + hs[:, 1] @ Wh[:, 4:8]))
    assert z.shape == (2, 5, 4)
    with pytest.raises(TypeError, match="keep_gate needs a TimeLSTM or a TimeGRU"):
        keep_gate(object(), xs)


"""Tests of rnnbook.data.memory and rnnbook.experiments."""
import numpy as np
import pytest

from rnnbook.data.memory import adding_problem, recall_first
from rnnbook.experiments import SequenceClassifier, accuracy_grid, train_recall_first
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


def test_adding_problem():
    xs, y = adding_problem(100, 10, rng=0)
    assert xs.shape == (100, 10, 2)
    np.testing.assert_array_equal(xs[..., 1].sum(1), 2)
    assert (xs[:, :5, 1].sum(1) == 1).all() and (xs[:, 5:, 1].sum(1) == 1).all()
    np.testing.assert_allclose((xs[..., 0] * xs[..., 1]).sum(1), y, rtol=1e-6)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0, T=5), "n must be an integer >= 1"),
    (dict(n=3, T=0), "T must be an integer >= 1"),
    (dict(n=3, T=5, n_symbols=1), "n_symbols must be an integer >= 2"),
    (dict(n=3, T=2.5), "T must be an integer"),
])
def test_recall_first_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        recall_first(**kwargs)


def test_adding_problem_bad_inputs():
    with pytest.raises(ValueError, match="T must be an integer >= 2"):
        adding_problem(4, 1)


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
    a = train_recall_first("lstm", 5, seed=0, steps=60, hidden_size=8)
    b = train_recall_first("lstm", 5, seed=0, steps=60, hidden_size=8)
    np.testing.assert_array_equal(a["losses"], b["losses"])
    assert a["accuracy"] > 0.9
    grid = accuracy_grid("rnn", [3, 4], [0, 1], steps=5, hidden_size=4)
    assert grid.shape == (2, 2)


def test_classifier_bad_cell():
    with pytest.raises(ValueError, match="cell must be 'rnn', 'lstm' or 'gru'"):
        SequenceClassifier("transformer", 2, 2, 2)

"""Tests of rnnbook.experiments: the sequence classifier and the seeded memory experiments of chapter 3."""
import numpy as np
import pytest

from rnnbook.experiments import SequenceClassifier, accuracy_grid, keep_gate, train_memory_task
from rnnbook.functions import sigmoid
from rnnbook.gradcheck import numerical_gradient, rel_error
from rnnbook.gru import TimeGRU
from rnnbook.lstm import TimeLSTM


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


def test_mixed_training_lengths():
    r = train_memory_task("recall_first", "lstm", 12, seed=0, steps=20, hidden_size=4, min_T=3, stop_at=None)
    assert r["steps"] == 20
    with pytest.raises(ValueError, match="min_T must be between 1 and T"):
        train_memory_task("recall_first", "lstm", 12, seed=0, min_T=13)


def test_keep_gate_matches_the_step_functions():
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

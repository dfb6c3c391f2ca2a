"""Language models: gradient checks (float64), weight tying, dropout, and checkpoints."""
import numpy as np
import pytest

from rnnbook.checkpoint import load_into, load_model, save_model
from rnnbook.gradcheck import numerical_gradient, rel_error
from rnnbook.layers import Dropout, TiedAffine
from rnnbook.models import LanguageModel, LSTMLM, RNNLM


def model_errors(model, V, seed=0):
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, V, (2, 4)), rng.integers(0, V, (2, 4))
    model.forward(x, y, train=False)
    model.backward()
    analytic = [g.copy() for g in model.grads]
    loss = lambda: model.forward(x, y, train=False)
    return [rel_error(a, numerical_gradient(loss, p)) for a, p in zip(analytic, model.params)]


@pytest.mark.parametrize("cell,layers,tie", [("rnn", 1, False), ("lstm", 1, False), ("lstm", 2, False),
                                             ("lstm", 2, True), ("rnn", 2, True)])
def test_language_model_gradients(cell, layers, tie):
    model = LanguageModel(7, 5, 5, cell=cell, num_layers=layers, tie_weights=tie, rng=1, dtype=np.float64)
    assert max(model_errors(model, 7)) < 1e-6


def test_tying_shares_one_matrix_and_saves_parameters():
    untied = LSTMLM(50, 8, 8, rng=0)
    tied = LSTMLM(50, 8, 8, tie_weights=True, rng=0)
    assert untied.num_params() - tied.num_params() == 8 * 50
    assert tied.out.embedding.params[0] is tied.embed.params[0]
    with pytest.raises(ValueError, match="tie_weights needs embed_size == hidden_size"):
        LSTMLM(50, 8, 9, tie_weights=True)
    with pytest.raises(TypeError, match="needs the Embedding"):
        TiedAffine(np.zeros((3, 3)))


def test_dropout_is_inverted_and_off_in_evaluation():
    d = Dropout(0.5, rng=0)
    x = np.ones((200, 50))
    y = d.forward(x, train=True)
    assert set(np.unique(y)) <= {0.0, 2.0} and abs(y.mean() - 1) < 0.05
    np.testing.assert_array_equal(d.backward(np.ones_like(x)), y)       # the same mask scales the gradient
    np.testing.assert_array_equal(d.forward(x, train=False), x)


def test_rnnlm_is_the_one_layer_rnn_language_model():
    m = RNNLM(6, 3, 4, rng=0)
    assert m.rnn is m.recurrent[0] and m.config["cell"] == "rnn"


def test_checkpoint_round_trip(tmp_path):
    model = LSTMLM(20, 6, 6, num_layers=2, tie_weights=True, dropout=0.3, rng=3)
    path = save_model(model, tmp_path / "lm", epoch=4, vocab=["a", "b"])
    assert path.name == "lm.npz"
    loaded, extra = load_model(path, return_extra=True)
    ids = np.random.default_rng(0).integers(0, 20, (2, 5))
    np.testing.assert_array_equal(loaded.predict(ids), model.predict(ids))
    assert extra == {"epoch": 4, "vocab": ["a", "b"]}
    other = LSTMLM(20, 6, 6, num_layers=2, tie_weights=True, dropout=0.3, rng=99)
    load_into(other, path)
    np.testing.assert_array_equal(other.predict(ids), model.predict(ids))
    rnn = RNNLM(20, 6, 6, rng=0)
    np.testing.assert_array_equal(load_model(save_model(rnn, tmp_path / "rnn.npz")).predict(ids), rnn.predict(ids))


def test_bad_checkpoints_give_clear_errors(tmp_path):
    model = LSTMLM(20, 6, 6, rng=0)
    path = save_model(model, tmp_path / "lm.npz")
    data = path.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_model(tmp_path / "truncated.npz")
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_model(tmp_path / "garbage.npz")
    np.savez(tmp_path / "plain.npz", W=np.zeros(3))
    with pytest.raises(ValueError, match="not an rnnbook checkpoint"):
        load_model(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_model(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="different configuration: hidden_size: file 6 vs model 7"):
        load_into(LSTMLM(20, 6, 7), path)
    with pytest.raises(ValueError, match="saved from a LSTMLM, not a RNNLM"):
        load_into(RNNLM(20, 6, 6), path)
    assert not list(tmp_path.glob("*.tmp")), "a temporary file was left behind"

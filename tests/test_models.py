"""Language models: gradient checks (float64), weight tying, dropout (checkpoints: tests/test_checkpoint.py)."""
import numpy as np
import pytest

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

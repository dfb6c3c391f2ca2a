"""rnnbook.layers: gradient checks of every layer, the layer contract, and the stateful layers' batch-size rule."""
import numpy as np
import pytest

from rnnbook.gradcheck import check_layer, numerical_gradient, rel_error
from rnnbook.gru import TimeGRU
from rnnbook.layers import Affine, Dropout, Embedding, SoftmaxCrossEntropy, collect
from rnnbook.lm_ops import softmax_cross_entropy
from rnnbook.lstm import TimeLSTM
from rnnbook.rnn import TimeRNN

TOL = 1e-6


def test_affine_gradients():
    rng = np.random.default_rng(0)
    layer = Affine(4, 3, rng=1, dtype=np.float64)
    layer.params[1][...] = rng.standard_normal(3)
    errs = check_layer(layer, [rng.standard_normal((2, 5, 4))])
    assert set(errs) == {"param0", "param1", "input0"}
    assert max(errs.values()) < TOL, errs


def test_embedding_gradients_with_repeated_ids():
    layer = Embedding(6, 3, rng=0, dtype=np.float64)
    ids = np.array([[0, 2, 2], [5, 0, 2]])          # repeated ids must accumulate
    errs = check_layer(layer, [ids])
    assert set(errs) == {"param0"}
    assert errs["param0"] < TOL


@pytest.mark.parametrize("ignore", [False, True])
def test_softmax_cross_entropy_gradient(ignore):
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((3, 4, 5)) * 2
    targets = rng.integers(0, 5, size=(3, 4))
    if ignore:
        targets[0, 1] = targets[2, 3] = -1
    layer = SoftmaxCrossEntropy(ignore_index=-1)
    layer.forward(logits, targets)
    analytic = layer.backward()
    numeric = numerical_gradient(lambda: layer.forward(logits, targets), logits)
    assert rel_error(analytic, numeric) < TOL
    if ignore:   # ignored positions get no gradient at all
        assert np.all(analytic[0, 1] == 0) and np.all(analytic[2, 3] == 0)


def test_dropout_gradient_with_fixed_mask():
    rng = np.random.default_rng(2)
    x = rng.standard_normal((4, 6))
    R = rng.standard_normal((4, 6))
    layer = Dropout(0.4, rng=0)

    def loss():
        layer.rng = np.random.default_rng(7)        # the same mask at every evaluation
        return float(np.sum(layer.forward(x) * R))

    loss()
    analytic = layer.backward(R)
    assert rel_error(analytic, numerical_gradient(loss, x)) < TOL
    assert np.any(analytic == 0)                      # some units really were dropped


def test_fused_loss_layer_agrees_with_the_plain_function():
    """SoftmaxCrossEntropy is the fused training version of lm_ops.softmax_cross_entropy: same numbers."""
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((2, 5, 7)) * 3
    targets = rng.integers(0, 7, size=(2, 5))
    targets[1, 2] = -1
    layer = SoftmaxCrossEntropy(ignore_index=-1)
    loss, dlogits = softmax_cross_entropy(logits, targets, ignore_index=-1)
    assert layer.forward(logits, targets) == pytest.approx(loss, rel=1e-12)
    np.testing.assert_allclose(layer.backward(), dlogits, rtol=1e-10, atol=1e-15)


def test_collect_concatenates_params_and_grads_in_order():
    a, b = Affine(3, 2, rng=0), Embedding(5, 3, rng=1)
    params, grads = collect(a, b)
    assert all(x is y for x, y in zip(params, a.params + b.params))
    assert all(x is y for x, y in zip(grads, a.grads + b.grads))


@pytest.mark.parametrize("Layer", [TimeRNN, TimeLSTM, TimeGRU])
def test_stateful_layer_restarts_from_zeros_when_the_batch_size_changes(Layer):
    """The documented rule (layers.py): a carried state of another batch size is dropped, as by reset_state()."""
    rng = np.random.default_rng(4)
    layer = Layer(3, 4, stateful=True, rng=0, dtype=np.float64)
    fresh = Layer(3, 4, rng=0, dtype=np.float64)
    layer.forward(rng.standard_normal((2, 5, 3)))
    xs = rng.standard_normal((3, 5, 3))
    np.testing.assert_array_equal(layer.forward(xs), fresh.forward(xs))
    # with the same batch size the state is carried, so the output differs from a fresh start
    assert not np.allclose(layer.forward(xs), fresh.forward(xs))


@pytest.mark.parametrize("Layer", [TimeRNN, TimeLSTM, TimeGRU])
def test_time_layers_put_initial_state_gradients_on_attributes(Layer):
    """The contract: backward returns dxs; dh0 (and the LSTM's dc0) go to attributes."""
    rng = np.random.default_rng(5)
    layer = Layer(3, 4, rng=0, dtype=np.float64)
    xs, h0 = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 4))
    hs = layer.forward(xs, h0=h0)
    dxs = layer.backward(np.ones_like(hs))
    assert dxs.shape == xs.shape and layer.dh0.shape == h0.shape
    assert all(g.shape == p.shape for p, g in zip(layer.params, layer.grads))

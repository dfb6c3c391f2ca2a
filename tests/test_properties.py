"""Property-based tests (hypothesis): every layer's forward pass stays finite and well-shaped for
random shapes and input scales, and its backward pass agrees with numerical gradients in float64."""
import numpy as np
from hypothesis import given, settings, strategies as st

from rnnbook.gradcheck import check_layer
from rnnbook.gru import TimeGRU
from rnnbook.layers import Affine, Embedding, SoftmaxCrossEntropy
from rnnbook.lstm import TimeLSTM
from rnnbook.rnn import TimeRNN

SETTINGS = settings(max_examples=15, deadline=None)
dims = st.integers(1, 4)
scales = st.sampled_from([1e-3, 1.0, 30.0])


RECURRENT = {"rnn": TimeRNN, "lstm": TimeLSTM, "gru": TimeGRU}


@SETTINGS
@given(N=dims, T=dims, D=dims, H=dims, scale=scales, seed=st.integers(0, 2 ** 16),
       kind=st.sampled_from(sorted(RECURRENT)))
def test_recurrent_layers(N, T, D, H, scale, seed, kind):
    rng = np.random.default_rng(seed)
    layer = RECURRENT[kind](D, H, rng=seed, dtype=np.float64)
    xs = rng.standard_normal((N, T, D)) * scale
    hs = layer.forward(xs)
    assert hs.shape == (N, T, H) and np.isfinite(hs).all() and np.abs(hs).max() <= 1.0
    if scale <= 1.0:   # at scale 30 the units saturate and finite differences lose meaning
        errors = check_layer(layer, [xs], seed=seed)
        assert max(errors.values()) < 1e-6, errors


@SETTINGS
@given(lead=st.lists(dims, min_size=1, max_size=3), D=dims, V=dims, scale=scales, seed=st.integers(0, 2 ** 16))
def test_affine(lead, D, V, scale, seed):
    rng = np.random.default_rng(seed)
    layer = Affine(D, V, rng=seed, dtype=np.float64)
    x = rng.standard_normal(tuple(lead) + (D,)) * scale
    assert layer.forward(x).shape == tuple(lead) + (V,)
    assert max(check_layer(layer, [x], seed=seed).values()) < 1e-6


@SETTINGS
@given(N=dims, T=dims, V=st.integers(2, 9), D=dims, seed=st.integers(0, 2 ** 16))
def test_embedding(N, T, V, D, seed):
    rng = np.random.default_rng(seed)
    layer = Embedding(V, D, rng=seed, dtype=np.float64)
    ids = rng.integers(0, V, (N, T))
    out = layer.forward(ids)
    assert out.shape == (N, T, D)
    dout = rng.standard_normal(out.shape)
    layer.backward(dout)
    expected = np.zeros((V, D))
    for (n, t), i in np.ndenumerate(ids):
        expected[i] += dout[n, t]
    np.testing.assert_allclose(layer.grads[0], expected, atol=1e-12)


@SETTINGS
@given(N=dims, T=dims, V=st.integers(2, 9), scale=st.sampled_from([1e-3, 1.0, 1e4]), seed=st.integers(0, 2 ** 16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_softmax_cross_entropy(N, T, V, scale, seed, dtype):
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal((N, T, V)) * scale).astype(dtype)
    targets = rng.integers(0, V, (N, T))
    targets[0, 0] = -1 if N * T > 1 else targets[0, 0]     # some padding
    layer = SoftmaxCrossEntropy()
    loss = layer.forward(logits, targets)
    d = layer.backward()
    assert np.isfinite(loss) and loss >= 0 and np.isfinite(d).all() and d.dtype == dtype
    if scale <= 1.0 and dtype == np.float64:
        from rnnbook.gradcheck import numerical_gradient, rel_error
        num = numerical_gradient(lambda: SoftmaxCrossEntropy().forward(logits, targets), logits)
        assert rel_error(d, num) < 1e-6

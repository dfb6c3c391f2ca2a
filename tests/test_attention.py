"""Dot-product attention (rnnbook.attention): values, gradients, bad inputs."""
import numpy as np
import pytest

from rnnbook.attention import Attention, attention_backward, attention_forward
from rnnbook.gradcheck import check_layer, numerical_gradient, rel_error


def test_weights_are_a_softmax_over_source_positions():
    rng = np.random.default_rng(0)
    enc, dec = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4, 3))
    w, ctx = attention_forward(enc, dec)
    assert w.shape == (2, 4, 5) and ctx.shape == (2, 4, 3)
    assert np.allclose(w.sum(-1), 1) and (w >= 0).all()
    n, t = 1, 2
    s = enc[n] @ dec[n, t]
    e = np.exp(s - s.max())
    assert np.allclose(w[n, t], e / e.sum())
    assert np.allclose(ctx[n, t], (e / e.sum()) @ enc[n])


def test_a_query_aligned_with_one_key_attends_to_it():
    enc = np.eye(4)[None] * 20.0                  # four orthogonal keys
    dec = enc[:, [2, 0]]                          # queries equal to keys 2 and 0
    w, _ = attention_forward(enc, dec)
    assert w[0, 0].argmax() == 2 and w[0, 1].argmax() == 0 and w.max() > 0.999


def test_attention_layer_gradients():
    rng = np.random.default_rng(1)
    enc, dec = rng.standard_normal((3, 5, 4)), rng.standard_normal((3, 6, 4))
    errors = check_layer(Attention(), [enc, dec])
    assert set(errors) == {"input0", "input1"}
    assert max(errors.values()) < 1e-6, errors


def test_attention_backward_function():
    rng = np.random.default_rng(2)
    enc, dec = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 3, 3))
    R = rng.standard_normal((2, 3, 3))
    w, _ = attention_forward(enc, dec)
    denc, ddec = attention_backward(R, w, enc, dec)
    f = lambda: float(np.sum(attention_forward(enc, dec)[1] * R))
    assert rel_error(denc, numerical_gradient(f, enc)) < 1e-6
    assert rel_error(ddec, numerical_gradient(f, dec)) < 1e-6


def test_bad_inputs():
    enc = np.zeros((2, 4, 3))
    with pytest.raises(ValueError,
                       match=r"hs_dec must have shape \(2, \*, 3\), got \(2, 5, 4\): axis 2 \(hidden size H"):
        attention_forward(enc, np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match="hs_enc must have 3 dimensions"):
        attention_forward(np.zeros((4, 3)), np.zeros((2, 5, 3)))
    with pytest.raises(TypeError, match="hs_enc must be a floating-point array"):
        attention_forward(np.zeros((2, 4, 3), dtype=int), np.zeros((2, 5, 3)))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        Attention().backward(np.zeros((2, 5, 3)))
    with pytest.raises(TypeError, match="convert it with"):
        Attention().forward(enc, np.zeros((2, 5, 3), dtype=np.float32))


def test_masked_positions_get_zero_weight_and_zero_gradient():
    rng = np.random.default_rng(4)
    enc, dec = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4, 3))
    mask = np.array([[True] * 5, [True, True, True, False, False]])
    w, ctx = attention_forward(enc, dec, mask)
    assert (w[1, :, 3:] == 0).all() and np.allclose(w.sum(-1), 1)
    # the unpadded positions of row 1 get what attention over those positions alone gives
    w_short, ctx_short = attention_forward(enc[1:, :3], dec[1:])
    assert np.allclose(w[1, :, :3], w_short[0]) and np.allclose(ctx[1], ctx_short[0])
    # mask=None and an all-True mask agree with the unmasked function
    assert np.allclose(attention_forward(enc, dec, np.ones((2, 5), bool))[0], attention_forward(enc, dec)[0])
    R = rng.standard_normal(ctx.shape)
    denc, ddec = attention_backward(R, w, enc, dec)
    f = lambda: float(np.sum(attention_forward(enc, dec, mask)[1] * R))
    assert rel_error(denc, numerical_gradient(f, enc)) < 1e-6
    assert rel_error(ddec, numerical_gradient(f, dec)) < 1e-6
    assert (denc[1, 3:] == 0).all()                    # padding: neither a value nor a key


def test_masked_attention_layer_gradients():
    rng = np.random.default_rng(5)
    enc, dec = rng.standard_normal((2, 4, 3)), rng.standard_normal((2, 3, 3))
    mask = np.array([[True, True, False, False], [True] * 4])
    layer = Attention()
    out = layer.forward(enc, dec, mask)
    R = rng.standard_normal(out.shape)
    denc, ddec = layer.backward(R)
    f = lambda: float(np.sum(Attention().forward(enc, dec, mask) * R))
    assert rel_error(denc, numerical_gradient(f, enc)) < 1e-6
    assert rel_error(ddec, numerical_gradient(f, dec)) < 1e-6


def test_bad_masks():
    enc, dec = np.zeros((2, 4, 3)), np.zeros((2, 5, 3))
    with pytest.raises(ValueError, match=r"mask must be a boolean array of shape \(N, S\) = \(2, 4\)"):
        attention_forward(enc, dec, np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"mask must be a boolean array of shape \(N, S\) = \(2, 4\)"):
        attention_forward(enc, dec, np.ones((2, 3), bool))
    with pytest.raises(ValueError, match="at least one True"):
        attention_forward(enc, dec, np.array([[True] * 4, [False] * 4]))

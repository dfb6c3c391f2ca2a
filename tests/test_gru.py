"""Tests of rnnbook.gru: gradient checks, PyTorch cross-check, bad inputs."""
import numpy as np
import pytest
import torch

from rnnbook.gradcheck import check_layer, numerical_gradient, rel_error
from rnnbook.gru import TimeGRU, gru_backward, gru_forward, gru_step_backward, gru_step_forward


def _weights(rng, D, H, scale=0.5):
    return (rng.standard_normal((D, 3 * H)) * scale, rng.standard_normal((H, 3 * H)) * scale,
            rng.standard_normal(3 * H) * 0.2)


def test_step_backward_matches_numerical():
    rng = np.random.default_rng(0)
    N, D, H = 3, 4, 5
    x, h = rng.standard_normal((N, D)), rng.standard_normal((N, H))
    Wx, Wh, b = _weights(rng, D, H)
    R = rng.standard_normal((N, H))
    grads = gru_step_backward(R, x, h, Wx, Wh, b)
    for g, p in zip(grads, (x, h, Wx, Wh, b)):
        num = numerical_gradient(lambda: float(np.sum(gru_step_forward(x, h, Wx, Wh, b) * R)), p)
        assert rel_error(g, num) < 1e-6


def test_sequence_backward_matches_numerical_and_steps():
    rng = np.random.default_rng(1)
    N, T, D, H = 2, 4, 3, 4
    xs, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = _weights(rng, D, H)
    R, Rh = rng.standard_normal((N, T, H)), rng.standard_normal((N, H))

    def loss():
        hs = gru_forward(xs, h0, Wx, Wh, b)
        return float(np.sum(hs * R) + np.sum(hs[:, -1] * Rh))

    grads = gru_backward(R, xs, h0, Wx, Wh, b, dh_last=Rh)
    for g, p in zip(grads, (xs, h0, Wx, Wh, b)):
        assert rel_error(g, numerical_gradient(loss, p)) < 1e-6
    hs, h = gru_forward(xs, h0, Wx, Wh, b), h0
    for t in range(T):
        h = gru_step_forward(xs[:, t], h, Wx, Wh, b)
        np.testing.assert_allclose(hs[:, t], h, atol=1e-12)


def test_layer_gradcheck_and_dtype():
    rng = np.random.default_rng(2)
    errors = check_layer(TimeGRU(3, 4, rng=0, dtype=np.float64), [rng.standard_normal((2, 5, 3))])
    assert max(errors.values()) < 1e-6, errors
    layer = TimeGRU(3, 4)
    hs = layer.forward(np.ones((2, 3, 3), dtype=np.float32))
    assert hs.dtype == np.float32 and layer.backward(hs).dtype == np.float32


def test_matches_torch_gru():
    rng = np.random.default_rng(3)
    N, T, D, H = 3, 6, 4, 5
    layer = TimeGRU(D, H, rng=1, dtype=np.float64)
    layer.params[2][...] = rng.standard_normal(3 * H) * 0.3
    xs, h0, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)) * 0.5, rng.standard_normal((N, T, H))
    hs = layer.forward(xs, h0)
    dxs = layer.backward(dhs)
    Wx, Wh, b = layer.params
    net = torch.nn.GRU(D, H, batch_first=True).double()
    with torch.no_grad():   # same gate order (r, z, n); the hidden-side bias is zero in our variant
        net.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
        net.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        net.bias_ih_l0.copy_(torch.from_numpy(b))
        net.bias_hh_l0.zero_()
    tx = torch.from_numpy(xs).requires_grad_()
    th0 = torch.from_numpy(h0)[None].requires_grad_()
    out, _ = net(tx, th0)
    (out * torch.from_numpy(dhs)).sum().backward()
    np.testing.assert_allclose(hs, out.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(dxs, tx.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.dh0, th0.grad[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.grads[0].T, net.weight_ih_l0.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.grads[1].T, net.weight_hh_l0.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.grads[2], net.bias_ih_l0.grad.numpy(), atol=1e-6)


def test_bad_inputs():
    rng = np.random.default_rng(4)
    Wx, Wh, b = _weights(rng, 3, 2)
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 3H\)"):
        gru_step_forward(np.zeros((1, 3)), np.zeros((1, 2)), Wx[:, :5], Wh, b)
    with pytest.raises(ValueError, match=r"h_prev must have shape .*batch size N from x"):
        gru_step_forward(np.zeros((2, 3)), np.zeros((1, 2)), Wx, Wh, b)
    with pytest.raises(ValueError, match=r"b must have shape"):
        gru_forward(np.zeros((1, 2, 3)), np.zeros((1, 2)), Wx, Wh, b[:4])
    with pytest.raises(TypeError, match="float32"):
        TimeGRU(3, 2).forward(np.zeros((1, 2, 3)))

"""rnnbook.rnn: gradient checks of the vanilla RNN's functions and TimeRNN, and a cross-check against PyTorch."""
import numpy as np
import pytest
import torch

from rnnbook.gradcheck import check_layer, numerical_gradient, rel_error
from rnnbook.models import RNNLM
from rnnbook.rnn import TimeRNN, rnn_backward, rnn_forward, rnn_step_backward, rnn_step_forward

TOL = 1e-6


def _weights(rng, D, H, scale=0.5):
    return (rng.standard_normal((D, H)) * scale, rng.standard_normal((H, H)) * scale,
            rng.standard_normal(H) * 0.1)


def test_rnn_step_backward_gradients():
    rng = np.random.default_rng(3)
    N, D, H = 3, 4, 5
    x, h_prev = rng.standard_normal((N, D)), rng.standard_normal((N, H)) * 0.5
    Wx, Wh, b = _weights(rng, D, H)
    R = rng.standard_normal((N, H))

    def loss():
        return float(np.sum(rnn_step_forward(x, h_prev, Wx, Wh, b) * R))

    h_next = rnn_step_forward(x, h_prev, Wx, Wh, b)
    grads = rnn_step_backward(R, x, h_prev, h_next, Wx, Wh)
    for g, p in zip(grads, (x, h_prev, Wx, Wh, b)):
        assert g.shape == p.shape
        assert rel_error(g, numerical_gradient(loss, p)) < TOL


@pytest.mark.parametrize("with_dh_last", [False, True])
def test_rnn_backward_gradients(with_dh_last):
    rng = np.random.default_rng(4)
    N, T, D, H = 2, 6, 3, 4
    xs, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)) * 0.5
    Wx, Wh, b = _weights(rng, D, H)
    R = rng.standard_normal((N, T, H))
    R_last = rng.standard_normal((N, H)) if with_dh_last else None

    def loss():
        hs = rnn_forward(xs, h0, Wx, Wh, b)
        extra = float(np.sum(hs[:, -1] * R_last)) if with_dh_last else 0.0
        return float(np.sum(hs * R)) + extra

    hs = rnn_forward(xs, h0, Wx, Wh, b)
    grads = rnn_backward(R, xs, h0, hs, Wx, Wh, dh_last=R_last)
    for g, p in zip(grads, (xs, h0, Wx, Wh, b)):
        assert g.shape == p.shape
        assert rel_error(g, numerical_gradient(loss, p)) < TOL


def test_rnn_backward_equals_stepwise_backward():
    rng = np.random.default_rng(5)
    N, T, D, H = 3, 5, 2, 4
    xs, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H))
    Wx, Wh, b = _weights(rng, D, H)
    dhs = rng.standard_normal((N, T, H))
    hs = rnn_forward(xs, h0, Wx, Wh, b)
    dxs, dh0, dWx, dWh, db = rnn_backward(dhs, xs, h0, hs, Wx, Wh)
    dh = np.zeros((N, H))
    sums = [np.zeros_like(Wx), np.zeros_like(Wh), np.zeros_like(b)]
    for t in reversed(range(T)):
        h_prev = h0 if t == 0 else hs[:, t - 1]
        dx, dh, *dw = rnn_step_backward(dhs[:, t] + dh, xs[:, t], h_prev, hs[:, t], Wx, Wh)
        assert np.allclose(dx, dxs[:, t])
        for s, g in zip(sums, dw):
            s += g
    assert np.allclose(dh, dh0)
    for s, g in zip(sums, (dWx, dWh, db)):
        assert np.allclose(s, g)


def test_time_rnn_gradients_including_initial_state():
    rng = np.random.default_rng(6)
    layer = TimeRNN(3, 4, rng=0, dtype=np.float64)
    layer.params[2][...] = rng.standard_normal(4) * 0.1
    xs, h0 = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4)) * 0.5
    errs = check_layer(layer, [xs, h0])
    assert set(errs) == {"param0", "param1", "param2", "input0"}
    assert max(errs.values()) < TOL, errs
    R = np.random.default_rng(0).standard_normal((2, 5, 4))     # check_layer's R for seed 0
    layer.forward(xs, h0)
    layer.backward(R)
    numeric = numerical_gradient(lambda: float(np.sum(layer.forward(xs, h0) * R)), h0)
    assert rel_error(layer.dh0, numeric) < TOL


def test_stateful_time_rnn_carries_state():
    rng = np.random.default_rng(7)
    layer = TimeRNN(3, 4, stateful=True, rng=0, dtype=np.float64)
    xs = rng.standard_normal((2, 6, 3))
    whole = TimeRNN(3, 4, rng=0, dtype=np.float64).forward(xs)
    first, second = layer.forward(xs[:, :3]), layer.forward(xs[:, 3:])
    assert np.allclose(np.concatenate([first, second], axis=1), whole)
    layer.reset_state()
    assert np.allclose(layer.forward(xs[:, 3:]), TimeRNN(3, 4, rng=0, dtype=np.float64).forward(xs[:, 3:]))


def test_rnnlm_end_to_end_gradients():
    rng = np.random.default_rng(8)
    V, D, H, N, T = 7, 3, 5, 2, 4
    model = RNNLM(V, D, H, rng=0, dtype=np.float64)
    for p in model.params:          # non-zero biases so their gradients are checked too
        if p.ndim == 1:
            p[...] = rng.standard_normal(p.shape) * 0.1
    ids, targets = rng.integers(0, V, size=(N, T)), rng.integers(0, V, size=(N, T))
    model.forward(ids, targets)
    model.backward()
    analytic = [g.copy() for g in model.grads]
    for g, p in zip(analytic, model.params):
        assert rel_error(g, numerical_gradient(lambda: model.forward(ids, targets), p)) < TOL


def test_rnn_bad_inputs_name_the_argument():
    rng = np.random.default_rng(9)
    Wx, Wh, b = _weights(rng, 3, 4)
    with pytest.raises(ValueError, match="(xs|Wx) must have shape.*input size"):
        rnn_forward(rng.standard_normal((2, 5, 4)), np.zeros((2, 4)), Wx, Wh, b)
    with pytest.raises(ValueError, match="h0 must have shape"):
        rnn_forward(rng.standard_normal((2, 5, 3)), np.zeros((3, 4)), Wx, Wh, b)
    with pytest.raises(ValueError, match="dhs must have shape"):
        hs = rnn_forward(rng.standard_normal((2, 5, 3)), np.zeros((2, 4)), Wx, Wh, b)
        rnn_backward(np.zeros((2, 4, 4)), rng.standard_normal((2, 5, 3)), np.zeros((2, 4)), hs, Wx, Wh)


# --------------------------------------------------------------------------- PyTorch cross-check


@pytest.mark.parametrize("N,T,D,H", [(1, 1, 2, 3), (3, 7, 4, 5), (2, 12, 6, 8)])
def test_time_rnn_matches_torch_rnn(N, T, D, H):
    rng = np.random.default_rng(10 + T)
    layer = TimeRNN(D, H, rng=int(T), dtype=np.float64)
    Wx, Wh, b = layer.params
    b[...] = rng.standard_normal(H) * 0.2
    xs, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)) * 0.5
    dhs = rng.standard_normal((N, T, H))

    ref = torch.nn.RNN(D, H, num_layers=1, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
    b_ih = rng.standard_normal(H) * 0.2           # torch has two biases: their sum plays the role of b
    with torch.no_grad():
        ref.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))    # torch stores (H, D): the transpose
        ref.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        ref.bias_ih_l0.copy_(torch.from_numpy(b_ih))
        ref.bias_hh_l0.copy_(torch.from_numpy(b - b_ih))
    xt = torch.tensor(xs, requires_grad=True)
    h0t = torch.tensor(h0[None], requires_grad=True)              # (layers, N, H)
    out, h_last = ref(xt, h0t)
    out.backward(torch.from_numpy(dhs))

    hs = layer.forward(xs, h0)
    dxs = layer.backward(dhs)
    assert rel_error(hs, out.detach().numpy()) < 1e-6
    assert rel_error(layer.h, h_last.detach().numpy()[0]) < 1e-6
    assert rel_error(dxs, xt.grad.numpy()) < 1e-6
    assert rel_error(layer.dh0, h0t.grad.numpy()[0]) < 1e-6
    assert rel_error(layer.grads[0], ref.weight_ih_l0.grad.numpy().T) < 1e-6
    assert rel_error(layer.grads[1], ref.weight_hh_l0.grad.numpy().T) < 1e-6
    assert rel_error(layer.grads[2], ref.bias_ih_l0.grad.numpy()) < 1e-6
    assert rel_error(layer.grads[2], ref.bias_hh_l0.grad.numpy()) < 1e-6

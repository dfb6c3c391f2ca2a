"""Tests of rnnbook.lstm: gradient checks, PyTorch cross-check, bad inputs."""
import numpy as np
import pytest
import torch

from rnnbook.gradcheck import check_layer, numerical_gradient, rel_error
from rnnbook.lstm import TimeLSTM, lstm_backward, lstm_forward, lstm_step_backward, lstm_step_forward


def _weights(rng, D, H, scale=0.5):
    return (rng.standard_normal((D, 4 * H)) * scale, rng.standard_normal((H, 4 * H)) * scale,
            rng.standard_normal(4 * H) * 0.2)


@pytest.mark.parametrize("fixed", [None, {"f": 1.0}, {"i": 1.0}, {"o": 1.0}])
def test_step_backward_matches_numerical(fixed):
    rng = np.random.default_rng(0)
    N, D, H = 3, 4, 5
    x, h, c = rng.standard_normal((N, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = _weights(rng, D, H)
    Rh, Rc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def loss():
        hn, cn = lstm_step_forward(x, h, c, Wx, Wh, b, fixed_gates=fixed)
        return float(np.sum(hn * Rh) + np.sum(cn * Rc))

    grads = lstm_step_backward(Rh, Rc, x, h, c, Wx, Wh, b, fixed_gates=fixed)
    for g, p in zip(grads, (x, h, c, Wx, Wh, b)):
        assert rel_error(g, numerical_gradient(loss, p)) < 1e-6


def test_sequence_backward_matches_numerical():
    rng = np.random.default_rng(1)
    N, T, D, H = 2, 4, 3, 4
    xs, h0, c0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)), rng.standard_normal((N, H))
    Wx, Wh, b = _weights(rng, D, H)
    R, Rh, Rc = rng.standard_normal((N, T, H)), rng.standard_normal((N, H)), rng.standard_normal((N, H))

    def loss():
        hs, cs = lstm_forward(xs, h0, c0, Wx, Wh, b)
        return float(np.sum(hs * R) + np.sum(hs[:, -1] * Rh) + np.sum(cs[:, -1] * Rc))

    grads = lstm_backward(R, xs, h0, c0, Wx, Wh, b, dh_last=Rh, dc_last=Rc)
    for g, p in zip(grads, (xs, h0, c0, Wx, Wh, b)):
        assert rel_error(g, numerical_gradient(loss, p)) < 1e-6


def _loop_of_steps(xs, h, c, Wx, Wh, b, dhs, fixed=None):
    """The oracle: the chapter's step functions run one step at a time, forward then backward."""
    T = xs.shape[1]
    hs, cs, inputs = [], [], []
    for t in range(T):
        inputs.append((xs[:, t], h, c))
        h, c = lstm_step_forward(xs[:, t], h, c, Wx, Wh, b, fixed_gates=fixed)
        hs.append(h)
        cs.append(c)
    dh, dc = np.zeros_like(h), np.zeros_like(c)
    dxs, dWx, dWh, db = [None] * T, 0, 0, 0
    for t in reversed(range(T)):
        dxs[t], dh, dc, gWx, gWh, gb = lstm_step_backward(dhs[:, t] + dh, dc, *inputs[t], Wx, Wh, b,
                                                          fixed_gates=fixed)
        dWx, dWh, db = dWx + gWx, dWh + gWh, db + gb
    return np.stack(hs, 1), np.stack(cs, 1), np.stack(dxs, 1), dh, dc, dWx, dWh, db


@pytest.mark.parametrize("fixed", [None, {"f": 1.0}, {"i": 1.0, "o": 0.5}])
def test_time_lstm_equals_a_loop_of_the_step_functions(fixed):
    """The layer (the private engine) against an independent oracle: a loop of the chapter's steps."""
    rng = np.random.default_rng(2)
    N, T, D, H = 3, 6, 2, 3
    layer = TimeLSTM(D, H, rng=0, dtype=np.float64, fixed_gates=fixed)
    layer.params[2][...] = rng.standard_normal(4 * H) * 0.3
    xs, dhs = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, H))
    h0, c0 = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    hs = layer.forward(xs, h0, c0)
    dxs = layer.backward(dhs)
    want = _loop_of_steps(xs, h0, c0, *layer.params, dhs, fixed)
    got = (hs, layer.cs, dxs, layer.dh0, layer.dc0, *layer.grads)
    for name, w, g in zip(("hs", "cs", "dxs", "dh0", "dc0", "dWx", "dWh", "db"), want, got):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12, err_msg=name)
    np.testing.assert_allclose(lstm_forward(xs, h0, c0, *layer.params, fixed_gates=fixed)[0], hs, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fixed", [None, {"f": 1.0}, {"f": 1.0, "i": 1.0, "g": 0.0}, {"o": 0.5}])
def test_engine_equals_the_step_functions_bit_for_bit(dtype, fixed):
    """With Wx = I, Wh = 0 and b = 0 every matrix product is exact, so the pre-activations are the inputs
    themselves and the engine's elementwise work (gates, cell update, gradients at the pre-activations and
    along the cell state) must reproduce the step functions' bits, not just their values."""
    rng = np.random.default_rng(7)
    N, T, H = 4, 5, 6
    layer = TimeLSTM(4 * H, H, rng=0, dtype=dtype, fixed_gates=fixed)
    layer.params[0][...] = np.eye(4 * H)
    layer.params[1][...] = 0
    layer.params[2][...] = 0
    xs = (rng.standard_normal((N, T, 4 * H)) * 3).astype(dtype)
    dhs, c0 = (rng.standard_normal(s).astype(dtype) for s in ((N, T, H), (N, H)))
    hs = layer.forward(xs, c0=c0)
    dxs = layer.backward(dhs)             # = the gradient at the pre-activations, since Wx = I
    want_hs, want_cs, want_dxs, _, want_dc0, *_ = _loop_of_steps(xs, np.zeros_like(c0), c0, *layer.params,
                                                                 dhs, fixed)
    for name, want, got in (("hs", want_hs, hs), ("cs", want_cs, layer.cs), ("da", want_dxs, dxs),
                            ("dc0", want_dc0, layer.dc0)):
        assert got.dtype == dtype and np.array_equal(got, want), name


@pytest.mark.parametrize("fixed", [None, {"f": 1.0}, {"i": 1.0, "o": 1.0}])
def test_layer_gradcheck(fixed):
    rng = np.random.default_rng(3)
    layer = TimeLSTM(3, 4, rng=0, dtype=np.float64, fixed_gates=fixed)
    errors = check_layer(layer, [rng.standard_normal((2, 5, 3))])
    assert max(errors.values()) < 1e-6, errors


def test_layer_float32_and_forget_bias():
    layer = TimeLSTM(3, 4, rng=0)
    assert all(p.dtype == np.float32 for p in layer.params)
    np.testing.assert_array_equal(layer.params[2][:4], 1.0)
    np.testing.assert_array_equal(layer.params[2][4:], 0.0)
    hs = layer.forward(np.ones((2, 3, 3), dtype=np.float32))
    assert hs.dtype == np.float32
    assert layer.backward(np.ones_like(hs)).dtype == np.float32
    assert all(g.dtype == np.float32 for g in layer.grads)


def test_fixed_gates_keep_the_cell_state():
    """With f = 1, i = 1 and a zero candidate the cell state never changes, and those three gates get no
    gradient; with f = 1 alone the cell state only accumulates: each step adds i * g, at most 1 in size."""
    rng = np.random.default_rng(0)
    xs, c0 = rng.standard_normal((2, 6, 2)), rng.standard_normal((2, 3))
    layer = TimeLSTM(2, 3, rng=0, dtype=np.float64, fixed_gates={"f": 1.0, "i": 1.0, "g": 0.0})
    layer.forward(xs, c0=c0)
    np.testing.assert_array_equal(layer.cs, np.broadcast_to(c0[:, None], layer.cs.shape))
    layer.backward(rng.standard_normal((2, 6, 3)))
    for grad in (layer.grads[0][:, :9], layer.grads[1][:, :9], layer.grads[2][:9]):   # the f, i, g blocks
        np.testing.assert_array_equal(grad, 0)
    assert np.abs(layer.grads[0][:, 9:]).max() > 0                                      # o still learns

    forget_only = TimeLSTM(2, 3, rng=0, dtype=np.float64, fixed_gates={"f": 1.0})
    forget_only.forward(xs, c0=c0)
    steps = np.diff(np.concatenate([c0[:, None], forget_only.cs], axis=1), axis=1)    # = i * g at every step
    assert np.all(np.abs(steps) <= 1) and np.abs(steps).max() > 0


def test_stateful_carries_h_and_c():
    rng = np.random.default_rng(4)
    xs = rng.standard_normal((2, 6, 3))
    full = TimeLSTM(3, 4, rng=0, dtype=np.float64)
    hs = full.forward(xs)
    part = TimeLSTM(3, 4, rng=0, dtype=np.float64, stateful=True)
    a = part.forward(xs[:, :3])
    b = part.forward(xs[:, 3:])
    np.testing.assert_allclose(np.concatenate([a, b], axis=1), hs, atol=1e-12)
    part.reset_state()
    np.testing.assert_allclose(part.forward(xs[:, :3]), a, atol=1e-12)


def _to_torch(Wx, Wh, b):
    """Our (f, i, g, o) fused weights -> PyTorch's (i, f, g, o) weight_ih, weight_hh, bias."""
    H = Wh.shape[0]
    order = np.concatenate([np.arange(H, 2 * H), np.arange(0, H), np.arange(2 * H, 4 * H)])
    return Wx[:, order].T, Wh[:, order].T, b[order], order


def test_matches_torch_lstm_forward_and_gradients():
    rng = np.random.default_rng(5)
    N, T, D, H = 3, 7, 4, 5
    layer = TimeLSTM(D, H, rng=1, dtype=np.float64)
    layer.params[2][...] = rng.standard_normal(4 * H) * 0.3
    xs = rng.standard_normal((N, T, D))
    h0, c0 = rng.standard_normal((N, H)) * 0.5, rng.standard_normal((N, H)) * 0.5
    dhs = rng.standard_normal((N, T, H))
    hs = layer.forward(xs, h0, c0)
    dxs = layer.backward(dhs)

    Wx, Wh, b = layer.params
    wih, whh, bias, order = _to_torch(Wx, Wh, b)
    net = torch.nn.LSTM(D, H, batch_first=True).double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(wih))
        net.weight_hh_l0.copy_(torch.from_numpy(whh))
        net.bias_ih_l0.copy_(torch.from_numpy(bias))
        net.bias_hh_l0.zero_()
    tx = torch.from_numpy(xs).requires_grad_()
    th0 = torch.from_numpy(h0)[None].requires_grad_()
    tc0 = torch.from_numpy(c0)[None].requires_grad_()
    out, _ = net(tx, (th0, tc0))
    (out * torch.from_numpy(dhs)).sum().backward()

    np.testing.assert_allclose(hs, out.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(dxs, tx.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.dh0, th0.grad[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.dc0, tc0.grad[0].numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.grads[0][:, order].T, net.weight_ih_l0.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.grads[1][:, order].T, net.weight_hh_l0.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.grads[2][order], net.bias_ih_l0.grad.numpy(), atol=1e-6)
    np.testing.assert_allclose(layer.grads[2][order], net.bias_hh_l0.grad.numpy(), atol=1e-6)


def test_bad_inputs():
    rng = np.random.default_rng(6)
    Wx, Wh, b = _weights(rng, 3, 2)
    x, h, c = np.zeros((4, 3)), np.zeros((4, 2)), np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"Wx must have shape \(D, 4H\)"):
        lstm_step_forward(x, h, c, Wx[:, :7], Wh, b)
    with pytest.raises(ValueError, match=r"c_prev must have shape .*axis 1 \(hidden size H from Wx\) is 3"):
        lstm_step_forward(x, h, np.zeros((4, 3)), Wx, Wh, b)
    with pytest.raises(ValueError, match=r"Wx must have shape .*input size D from x"):
        lstm_step_forward(np.zeros((4, 5)), h, c, Wx, Wh, b)
    with pytest.raises(ValueError, match="unknown gate 'z'"):
        lstm_step_forward(x, h, c, Wx, Wh, b, fixed_gates={"z": 1.0})
    with pytest.raises(ValueError, match="T = 0"):
        lstm_forward(np.zeros((4, 0, 3)), h, c, Wx, Wh, b)
    layer = TimeLSTM(3, 2)
    with pytest.raises(TypeError, match="dtype float64 but the layer's parameters are float32"):
        layer.forward(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        TimeLSTM(3, 0)
    with pytest.raises(RuntimeError, match="before forward"):
        TimeLSTM(3, 2).backward(np.zeros((1, 2, 2), dtype=np.float32))


@pytest.mark.parametrize("fixed", [{}, {"f": 1.0}])
def test_prepared_weights_change_no_bit(fixed):
    """The time loop folds the gates' scales (1/2 and 1) into Wx, Wh and b once (NumpyCell.prepare_forward)
    instead of scaling the (N, 4H) pre-activations at every step: powers of two, so bit for bit the same."""
    from rnnbook._lstm_engine import NumpyCell
    rng = np.random.default_rng(5)
    N, D, H = 4, 3, 5
    x, h, c_prev = (rng.standard_normal((N, k)).astype(np.float32) for k in (D, H, H))
    Wx, Wh, b = (w.astype(np.float32) for w in _weights(rng, D, H, scale=2.0))
    cell = NumpyCell(np, H, np.float32, fixed)
    plain = (x @ Wx + b) + h @ Wh                              # the layer's order: projection, bias, h @ Wh
    Wx2, Wh2, b2 = cell.prepare_forward(Wx, Wh, b)
    prepared = (x @ Wx2 + b2) + h @ Wh2
    outs = []
    for a, flag in ((plain, False), (prepared, True)):
        c, hn, tc = (np.empty((N, H), np.float32) for _ in range(3))
        cell.forward(a, c_prev, c, hn, tc, prepared=flag)
        outs.append((a, c, hn, tc))
    for want, got in zip(*outs):
        assert np.array_equal(want, got)


def test_layers_sharing_one_scratch_dict_compute_what_separate_layers_compute():
    """Stacked layers may share the backward pass's scratch arrays (they run backward one after the other)."""
    rng = np.random.default_rng(8)
    xs, dhs = rng.standard_normal((3, 5, 4)), rng.standard_normal((3, 5, 4))
    shared = {}
    pair = [TimeLSTM(4, 4, rng=k, dtype=np.float64, scratch=shared) for k in (1, 2)]
    alone = [TimeLSTM(4, 4, rng=k, dtype=np.float64) for k in (1, 2)]
    for first, second in (pair, alone):
        second.forward(first.forward(xs))
        first.backward(second.backward(dhs))
    assert shared and pair[0]._ws is pair[1]._ws
    for a, b in zip(pair, alone):
        for g, h in zip(a.grads, b.grads):
            np.testing.assert_array_equal(g, h)
    with pytest.raises(TypeError, match="scratch must be a dict"):
        TimeLSTM(4, 4, scratch=[])

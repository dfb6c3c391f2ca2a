"""Convolution and pooling (rnnbook.conv): against direct loops and PyTorch, gradient checks, bad inputs."""
import numpy as np
import pytest
import torch

from rnnbook.conv import (Conv2D, Flatten, MaxPool2D, ReLU, col2im, conv_backward, conv_forward, conv_output_size,
                          im2col, maxpool_backward, maxpool_forward)
from rnnbook.gradcheck import check_layer, numerical_gradient, rel_error

CONFIGS = [  # N, C, H, W, F, k, stride, pad
    (2, 3, 5, 6, 4, 3, 1, 1),
    (2, 2, 7, 7, 3, 3, 2, 0),
    (1, 1, 6, 5, 2, 2, 2, 1),
    (3, 2, 4, 4, 2, 1, 1, 0),
]


def naive_conv(x, W, b, stride, pad):
    N, C, H, Wd = x.shape
    F, _, kh, kw = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    OH, OW = (H + 2 * pad - kh) // stride + 1, (Wd + 2 * pad - kw) // stride + 1
    out = np.zeros((N, F, OH, OW))
    for n in range(N):
        for f in range(F):
            for i in range(OH):
                for j in range(OW):
                    patch = xp[n, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    out[n, f, i, j] = (patch * W[f]).sum() + b[f]
    return out


@pytest.mark.parametrize("cfg", CONFIGS)
def test_im2col_rows_are_patches_and_col2im_is_its_adjoint(cfg):
    N, C, H, W, F, k, s, p = cfg
    rng = np.random.default_rng(0)
    x = rng.standard_normal((N, C, H, W))
    cols = im2col(x, k, k, s, p)
    OH, OW = conv_output_size(H, k, s, p), conv_output_size(W, k, s, p)
    assert cols.shape == (N * OH * OW, C * k * k)
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    n, i, j = N - 1, OH - 1, OW // 2
    assert np.array_equal(cols[(n * OH + i) * OW + j], xp[n, :, i * s:i * s + k, j * s:j * s + k].reshape(-1))
    # <im2col(x), Y> == <x, col2im(Y)> for every x, Y
    Y = rng.standard_normal(cols.shape)
    assert np.isclose((cols * Y).sum(), (x * col2im(Y, x.shape, k, k, s, p)).sum())


@pytest.mark.parametrize("cfg", CONFIGS)
def test_conv_forward_matches_loops(cfg):
    N, C, H, W, F, k, s, p = cfg
    rng = np.random.default_rng(1)
    x, Wt, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, k, k)), rng.standard_normal(F)
    assert np.allclose(conv_forward(x, Wt, b, s, p), naive_conv(x, Wt, b, s, p))


@pytest.mark.parametrize("cfg", CONFIGS)
def test_conv_backward_gradients(cfg):
    N, C, H, W, F, k, s, p = cfg
    rng = np.random.default_rng(2)
    x, Wt, b = rng.standard_normal((N, C, H, W)), rng.standard_normal((F, C, k, k)), rng.standard_normal(F)
    R = rng.standard_normal(conv_forward(x, Wt, b, s, p).shape)
    dx, dW, db = conv_backward(R, x, Wt, s, p)
    f = lambda: float(np.sum(conv_forward(x, Wt, b, s, p) * R))
    for analytic, arr in ((dx, x), (dW, Wt), (db, b)):
        assert rel_error(analytic, numerical_gradient(f, arr)) < 1e-6


@pytest.mark.parametrize("cfg", CONFIGS)
def test_conv_layer_gradcheck(cfg):
    N, C, H, W, F, k, s, p = cfg
    layer = Conv2D(C, F, k, stride=s, pad=p, rng=3, dtype=np.float64)
    layer.params[1][:] = np.random.default_rng(3).standard_normal(F)
    x = np.random.default_rng(4).standard_normal((N, C, H, W))
    errors = check_layer(layer, [x])
    assert set(errors) == {"param0", "param1", "input0"}
    assert max(errors.values()) < 1e-6, errors


def test_conv_layer_without_input_grad():
    layer = Conv2D(2, 3, 3, pad=1, input_grad=False, rng=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((2, 2, 5, 5))
    out = layer.forward(x)
    assert layer.backward(np.ones_like(out)) is None
    full = Conv2D(2, 3, 3, pad=1, rng=0, dtype=np.float64)
    full.forward(x)
    full.backward(np.ones_like(out))
    assert all(np.allclose(a, b) for a, b in zip(layer.grads, full.grads))


def test_conv_against_pytorch():
    rng = np.random.default_rng(5)
    x, Wt, b = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, Wt, b))
    out = torch.nn.functional.conv2d(xt, wt, bt, stride=2, padding=1)
    R = rng.standard_normal(tuple(out.shape))
    out.backward(torch.tensor(R))
    assert np.allclose(conv_forward(x, Wt, b, 2, 1), out.detach().numpy(), atol=1e-12)
    for mine, theirs in zip(conv_backward(R, x, Wt, 2, 1), (xt.grad, wt.grad, bt.grad)):
        assert np.allclose(mine, theirs.numpy(), atol=1e-12)


@pytest.mark.parametrize("pool,stride,shape", [(2, 2, (2, 3, 6, 8)), (3, 1, (1, 2, 5, 6)), (2, 1, (2, 1, 4, 5)),
                                               (2, 2, (1, 2, 5, 7))])
def test_maxpool_against_loops_and_gradients(pool, stride, shape):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(shape)
    out = maxpool_forward(x, pool, stride)
    N, C, H, W = shape
    OH, OW = (H - pool) // stride + 1, (W - pool) // stride + 1
    expect = np.array([[[[x[n, c, i * stride:i * stride + pool, j * stride:j * stride + pool].max()
                          for j in range(OW)] for i in range(OH)] for c in range(C)] for n in range(N)])
    assert np.array_equal(out, expect)
    R = rng.standard_normal(out.shape)
    dx = maxpool_backward(R, x, pool, stride)
    assert rel_error(dx, numerical_gradient(lambda: float(np.sum(maxpool_forward(x, pool, stride) * R)), x)) < 1e-6
    layer = MaxPool2D(pool, stride)
    assert max(check_layer(layer, [x]).values()) < 1e-6


def test_maxpool_against_pytorch():
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 3, 7, 6))
    xt = torch.tensor(x, requires_grad=True)
    out = torch.nn.functional.max_pool2d(xt, 3, 2)
    R = rng.standard_normal(tuple(out.shape))
    out.backward(torch.tensor(R))
    assert np.array_equal(maxpool_forward(x, 3, 2), out.detach().numpy())
    assert np.allclose(maxpool_backward(R, x, 3, 2), xt.grad.numpy())


def test_maxpool_ties_send_the_gradient_to_the_first_maximum_only():
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, 1, 3] = -1.0
    dx = maxpool_backward(np.ones((1, 1, 1, 2)), x, 2)
    assert dx.tolist() == [[[[1.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]]
    layer = MaxPool2D(2)
    layer.forward(x)
    assert np.array_equal(layer.backward(np.ones((1, 1, 1, 2))), dx)


def test_relu_and_flatten_gradcheck():
    x = np.random.default_rng(8).standard_normal((3, 2, 4, 5))
    x[np.abs(x) < 1e-3] = 0.5                    # keep away from the kink at 0
    assert max(check_layer(ReLU(), [x]).values()) < 1e-6
    assert max(check_layer(Flatten(), [x]).values()) < 1e-6
    assert Flatten().forward(x).shape == (3, 40)


def test_float32_stays_float32():
    layer = Conv2D(3, 4, 3, pad=1, rng=0)
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32 and layer.grads[0].dtype == np.float32
    pool = MaxPool2D(2)
    assert pool.forward(out).dtype == np.float32 and ReLU().forward(out).dtype == np.float32


def test_bad_inputs_name_the_argument():
    x = np.zeros((2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"x must have 4 dimensions, got shape \(3, 5, 5\)"):
        conv_forward(np.zeros((3, 5, 5)), np.zeros((2, 3, 3, 3)), np.zeros(2))
    with pytest.raises(ValueError, match=r"W must have shape \(F, C, kh, kw\) with C = 3 input channels"):
        conv_forward(x, np.zeros((2, 4, 3, 3)), np.zeros(2))
    with pytest.raises(ValueError, match=r"b must have shape \(2,\), got \(3,\)"):
        conv_forward(x, np.zeros((2, 3, 3, 3)), np.zeros(3))
    with pytest.raises(TypeError, match="x must be a floating-point array, got dtype int64"):
        im2col(np.zeros((1, 1, 4, 4), dtype=np.int64), 2, 2)
    with pytest.raises(ValueError, match="a window of size 7 does not fit in an input of size 5"):
        im2col(x, 7, 7)
    with pytest.raises(ValueError, match="stride must be an integer >= 1, got 0"):
        im2col(x, 3, 3, stride=0)
    with pytest.raises(ValueError, match=r"cols must have shape \(18, 27\), got \(18, 26\)"):
        col2im(np.zeros((18, 26)), (2, 3, 5, 5), 3, 3, 1, 0)
    with pytest.raises(ValueError, match=r"x_shape must be a tuple \(N, C, H, W\)"):
        col2im(np.zeros((18, 27)), (2, 3, 5), 3, 3)
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 2, 3, 3\), got \(2, 2, 3, 4\)"):
        conv_backward(np.zeros((2, 2, 3, 4)), x, np.zeros((2, 3, 3, 3)))
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 3, 2, 2\), got \(2, 3, 3, 3\)"):
        maxpool_backward(np.zeros((2, 3, 3, 3)), x, 2)
    with pytest.raises(ValueError, match="pool must be an integer >= 1, got 0"):
        maxpool_forward(x, 0)
    layer = Conv2D(3, 2, 3)
    with pytest.raises(TypeError, match="x has dtype float64 but the layer's parameters are float32"):
        layer.forward(x)
    with pytest.raises(RuntimeError, match="Conv2D.backward called before forward"):
        layer.backward(np.zeros((2, 2, 3, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="out_channels must be a positive integer, got 0"):
        Conv2D(3, 0)
    with pytest.raises(ValueError, match=r"x must be a non-empty batch of images"):
        maxpool_forward(np.zeros((0, 3, 4, 4)))

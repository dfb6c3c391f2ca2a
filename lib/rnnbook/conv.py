"""Convolution and pooling for a small image encoder (chapter 6).

Images are batches in the ``NCHW`` layout: ``x`` has shape ``(N, C, H, W)``
(images, channels, rows, columns). A convolution with ``F`` filters of size
``kh x kw`` has weights ``W`` ``(F, C, kh, kw)`` and a bias ``b`` ``(F,)``.

**im2col.** A convolution is a matrix product in disguise. :func:`im2col`
copies every ``kh x kw`` patch of every channel into one row of a matrix
``cols`` of shape ``(N * OH * OW, C * kh * kw)``; rows are ordered by
``(image, output row, output column)`` and columns by ``(channel, kernel row,
kernel column)``, the order of ``W.reshape(F, -1)``'s columns. Then::

    out = cols @ W.reshape(F, -1).T + b        # (N * OH * OW, F), one GEMM

with ``OH = (H + 2 pad - kh) // stride + 1`` and ``OW`` alike. The copy costs
memory (every pixel appears in up to ``kh * kw`` rows) but turns the work into
one large matrix product, which BLAS does far faster than any loop. The backward
pass is the same product transposed, and :func:`col2im` adds the rows of the
gradient back onto the pixels they came from. Neither function loops over
pixels: :func:`im2col` copies one strided slice of the (padded) images per
kernel offset, and :func:`col2im` adds them back the same way: both loop over
the ``kh * kw`` kernel offsets only.

**Max pooling** keeps the largest value of every ``pool x pool`` window; its
gradient goes to the position of that maximum (the first one in row-major order
when several are equal) and is zero elsewhere.

The plain functions take every argument explicitly; the layers (:class:`Conv2D`,
:class:`MaxPool2D`, :class:`ReLU`, :class:`Flatten`) follow the ``params`` /
``grads`` / ``forward`` / ``backward`` contract of :mod:`rnnbook.layers`.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_array, check_min_int, check_positive_int, check_same_dtype, saved_by_forward
from .seeds import init_rng

__all__ = ["conv_output_size", "im2col", "col2im", "conv_forward", "conv_backward", "maxpool_forward",
           "maxpool_backward", "Conv2D", "MaxPool2D", "ReLU", "Flatten"]


def conv_output_size(size: int, k: int, stride: int = 1, pad: int = 0) -> int:
    """Output length of a window of size ``k`` slid with ``stride`` over ``size + 2 pad`` positions."""
    size = check_min_int("size", size, 1)
    k = check_min_int("k", k, 1)
    stride = check_min_int("stride", stride, 1)
    pad = check_min_int("pad", pad, 0)
    if size + 2 * pad < k:
        raise ValueError(f"a window of size {k} does not fit in an input of size {size} with padding {pad}")
    return (size + 2 * pad - k) // stride + 1


def _check_images(name: str, x) -> np.ndarray:
    x = check_array(name, x, ndim=4, kind="float")
    if 0 in x.shape:
        raise ValueError(f"{name} must be a non-empty batch of images (N, C, H, W), got shape {x.shape}")
    return x


def _im2col_t(x, kh, kw, stride, pad):
    """The transposed unfolding ``(C * kh * kw, N * OH * OW)``, built with one strided copy per kernel offset."""
    N, C, H, W = x.shape
    OH = conv_output_size(H, kh, stride, pad)
    OW = conv_output_size(W, kw, stride, pad)
    xt = x.transpose(1, 0, 2, 3)                                   # (C, N, H, W): a view
    if pad:
        xt = np.pad(xt, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.empty((C, kh, kw, N, OH, OW), dtype=x.dtype)
    for i in range(kh):                        # loops over the kernel offsets, not over pixels
        for j in range(kw):
            out[:, i, j] = xt[:, :, i:i + stride * OH:stride, j:j + stride * OW:stride]
    return out.reshape(C * kh * kw, N * OH * OW)


def _col2im_t(dcols_t, x_shape, kh, kw, stride, pad):
    """The adjoint of :func:`_im2col_t`: ``(C * kh * kw, N * OH * OW) -> (N, C, H, W)``."""
    N, C, H, W = x_shape
    OH = conv_output_size(H, kh, stride, pad)
    OW = conv_output_size(W, kw, stride, pad)
    d = dcols_t.reshape(C, kh, kw, N, OH, OW)
    dx = np.zeros((C, N, H + 2 * pad, W + 2 * pad), dtype=dcols_t.dtype)
    for i in range(kh):                        # loops over the kernel offsets, not over pixels
        for j in range(kw):
            dx[:, :, i:i + stride * OH:stride, j:j + stride * OW:stride] += d[:, i, j]
    return dx[:, :, pad:pad + H, pad:pad + W].transpose(1, 0, 2, 3)


def im2col(x, kh: int, kw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """Unfold every ``kh x kw`` patch of ``x`` into a row.

    Parameters
    ----------
    x : array ``(N, C, H, W)``
        A batch of images.
    kh, kw : int
        Height and width of the patches (the kernel size).
    stride : int
        Step between neighbouring patches.
    pad : int
        Zeros added on every side of every image first.

    Returns
    -------
    cols : array ``(N * OH * OW, C * kh * kw)``
        Row ``(n * OH + i) * OW + j`` holds the patch whose top-left corner is
        at ``(i * stride, j * stride)`` of the padded image ``n``, flattened in
        the order (channel, kernel row, kernel column). (For speed it is the
        transposed view of a ``(C * kh * kw, N * OH * OW)`` buffer, which BLAS
        multiplies without another copy.)
    """
    x = _check_images("x", x)
    check_min_int("kh", kh, 1)
    check_min_int("kw", kw, 1)
    check_min_int("stride", stride, 1)
    check_min_int("pad", pad, 0)
    return _im2col_t(x, kh, kw, stride, pad).T


def col2im(cols, x_shape, kh: int, kw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """The adjoint of :func:`im2col`: add every row of ``cols`` back onto the pixels of its patch.

    Parameters
    ----------
    cols : array ``(N * OH * OW, C * kh * kw)``
        Gradients with respect to the rows of ``im2col(x, ...)``.
    x_shape : tuple ``(N, C, H, W)``
        Shape of the images.
    kh, kw, stride, pad : int
        As for :func:`im2col`.

    Returns
    -------
    dx : array ``x_shape``
        A pixel that belongs to several patches receives the sum of their
        gradients (and the padding's share is dropped).
    """
    if not (isinstance(x_shape, tuple) and len(x_shape) == 4 and all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in x_shape)):
        raise ValueError(f"x_shape must be a tuple (N, C, H, W) of positive integers, got {x_shape!r}")
    N, C, H, W = (int(s) for s in x_shape)
    OH = conv_output_size(H, kh, stride, pad)
    OW = conv_output_size(W, kw, stride, pad)
    cols = check_array("cols", cols, shape=((N * OH * OW, "N * OH * OW"), (C * kh * kw, "C * kh * kw")),
                       kind="float")
    return _col2im_t(cols.T, (N, C, H, W), kh, kw, stride, pad)


def _check_conv(x, W, b):
    x = _check_images("x", x)
    W = check_array("W", W, ndim=4, kind="float")
    if W.shape[1] != x.shape[1]:
        raise ValueError(f"W must have shape (F, C, kh, kw) with C = {x.shape[1]} input channels (from x), "
                         f"got {W.shape}")
    b = check_array("b", b, shape=((W.shape[0], "F, the number of filters in W"),), kind="float")
    return x, W, b


def conv_forward(x, W, b, stride: int = 1, pad: int = 0) -> np.ndarray:
    """2-D convolution (cross-correlation, as in every deep-learning library) via :func:`im2col`.

    Parameters
    ----------
    x : array ``(N, C, H, W)``
    W : array ``(F, C, kh, kw)``
    b : array ``(F,)``
    stride, pad : int

    Returns
    -------
    out : array ``(N, F, OH, OW)`` with
        ``out[n, f, i, j] = b[f] + sum_{c, p, q} W[f, c, p, q] * xpad[n, c, i * stride + p, j * stride + q]``.
    """
    x, W, b = _check_conv(x, W, b)
    stride = check_min_int("stride", stride, 1)
    pad = check_min_int("pad", pad, 0)
    return _conv_forward_cols(_im2col_t(x, W.shape[2], W.shape[3], stride, pad), x.shape, W, b, stride, pad)


def _conv_forward_cols(cols_t, x_shape, W, b, stride, pad):
    N, _, H, Wd = x_shape
    F, C, kh, kw = W.shape
    OH = conv_output_size(H, kh, stride, pad)
    OW = conv_output_size(Wd, kw, stride, pad)
    out = W.reshape(F, -1) @ cols_t                                # (F, N * OH * OW): one GEMM
    out += b[:, None]
    return out.reshape(F, N, OH, OW).transpose(1, 0, 2, 3)         # a view, no copy


def conv_backward(dout, x, W, stride: int = 1, pad: int = 0):
    """Backward pass of :func:`conv_forward`.

    Parameters
    ----------
    dout : array ``(N, F, OH, OW)``
        Gradient of the loss with respect to the output.
    x, W, stride, pad :
        The forward pass's arguments.

    Returns
    -------
    dx, dW, db : arrays shaped like ``x``, ``W`` and ``(F,)``.
    """
    x = _check_images("x", x)
    W = check_array("W", W, ndim=4, kind="float")
    stride = check_min_int("stride", stride, 1)
    pad = check_min_int("pad", pad, 0)
    F, C, kh, kw = W.shape
    if C != x.shape[1]:
        raise ValueError(f"W must have shape (F, C, kh, kw) with C = {x.shape[1]} input channels (from x), "
                         f"got {W.shape}")
    N = x.shape[0]
    OH = conv_output_size(x.shape[2], kh, stride, pad)
    OW = conv_output_size(x.shape[3], kw, stride, pad)
    dout = check_array("dout", dout, shape=((N, "N"), (F, "F"), (OH, "OH"), (OW, "OW")), kind="float")
    return _conv_backward_cols(dout, _im2col_t(x, kh, kw, stride, pad), x.shape, W, stride, pad)


def _conv_backward_cols(dout, cols_t, x_shape, W, stride, pad, input_grad=True):
    F, C, kh, kw = W.shape
    d2 = dout.transpose(1, 0, 2, 3).reshape(F, -1)                 # (F, N * OH * OW)
    dW = (d2 @ cols_t.T).reshape(W.shape)
    db = d2.sum(axis=1)
    dx = _col2im_t(W.reshape(F, -1).T @ d2, tuple(x_shape), kh, kw, stride, pad) if input_grad else None
    return dx, dW, db


def _pool_max_masks(x, pool, stride):
    """Maximum of every window, and for each window offset ``k = p * pool + q`` a boolean mask of the
    windows whose (first, in row-major order) maximum sits at that offset. Loops over offsets, not pixels."""
    N, C, H, W = x.shape
    OH = conv_output_size(H, pool, stride)
    OW = conv_output_size(W, pool, stride)

    def at(k):
        p, q = divmod(k, pool)
        return x[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride]

    best = at(0).copy()
    for k in range(1, pool * pool):
        np.maximum(best, at(k), out=best)
    taken = np.zeros(best.shape, dtype=bool)
    masks = []
    for k in range(pool * pool):
        m = at(k) == best
        m &= ~taken                            # ties: only the first maximum gets the gradient
        taken |= m
        masks.append(m)
    return best, masks


def _maxpool_backward_masks(dout, masks, x_shape, pool, stride):
    OH, OW = dout.shape[2:]
    dx = np.zeros(x_shape, dtype=dout.dtype)
    for k, m in enumerate(masks):             # loops over the window offsets, not over pixels
        p, q = divmod(k, pool)
        dx[:, :, p:p + stride * OH:stride, q:q + stride * OW:stride] += dout * m
    return dx


def maxpool_forward(x, pool: int = 2, stride: int | None = None) -> np.ndarray:
    """Max pooling: the largest value of every ``pool x pool`` window.

    Parameters
    ----------
    x : array ``(N, C, H, W)``
    pool : int
        Window size.
    stride : int or None
        Step between windows (``pool`` when ``None``: non-overlapping windows).
        Rows and columns left over at the bottom and right are dropped.

    Returns
    -------
    out : array ``(N, C, OH, OW)`` with ``OH = (H - pool) // stride + 1`` and ``OW`` alike.
    """
    x = _check_images("x", x)
    pool = check_min_int("pool", pool, 1)
    stride = pool if stride is None else check_min_int("stride", stride, 1)
    return _pool_max_masks(x, pool, stride)[0]


def maxpool_backward(dout, x, pool: int = 2, stride: int | None = None) -> np.ndarray:
    """Backward pass of :func:`maxpool_forward`.

    Each window's gradient goes to the position of its maximum, the first one
    in row-major order when several are equal (what ``np.argmax`` returns).
    With overlapping windows a pixel can receive gradient from several windows,
    which are summed.

    Returns
    -------
    dx : array shaped like ``x``.
    """
    x = _check_images("x", x)
    pool = check_min_int("pool", pool, 1)
    stride = pool if stride is None else check_min_int("stride", stride, 1)
    out, masks = _pool_max_masks(x, pool, stride)
    N, C, OH, OW = out.shape
    dout = check_array("dout", dout, shape=((N, "N"), (C, "C"), (OH, "OH"), (OW, "OW")), kind="float")
    return _maxpool_backward_masks(dout, masks, x.shape, pool, stride)


class Conv2D:
    """A convolutional layer (:func:`conv_forward` / :func:`conv_backward`).

    Parameters
    ----------
    in_channels, out_channels : int
        ``C`` and ``F``.
    kernel_size : int
        ``k``: square ``k x k`` filters.
    stride, pad : int
        As for :func:`conv_forward`. ``pad = (k - 1) // 2`` with stride 1 keeps the image size.
    input_grad : bool
        If false, ``backward`` skips the gradient with respect to the input and
        returns ``None`` (for a first layer, whose input is the images: it saves
        a third of the backward pass).
    rng, dtype :
        Initialisation seed/generator (He initialisation: normal with variance ``2 / (C k k)``,
        suited to a ReLU after the layer) and parameter dtype.

    Attributes
    ----------
    params : ``[W (F, C, k, k), b (F,)]``
    grads : ``[dW, db]``
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3, *, stride: int = 1,
                 pad: int = 0, input_grad: bool = True, rng=None, dtype=np.float32):
        C = check_positive_int("in_channels", in_channels)
        F = check_positive_int("out_channels", out_channels)
        k = check_positive_int("kernel_size", kernel_size)
        self.stride = check_min_int("stride", stride, 1)
        self.pad = check_min_int("pad", pad, 0)
        self.input_grad = bool(input_grad)
        rng = init_rng(rng)
        W = (rng.standard_normal((F, C, k, k)) * np.sqrt(2.0 / (C * k * k))).astype(dtype)
        self.params = [W, np.zeros(F, dtype=dtype)]
        self.grads = [np.zeros_like(W), np.zeros(F, dtype=dtype)]
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """``(N, C, H, W) -> (N, F, OH, OW)``."""
        W, b = self.params
        x, _, _ = _check_conv(x, W, b)
        check_same_dtype("x", x, W.dtype)
        cols_t = _im2col_t(x, W.shape[2], W.shape[3], self.stride, self.pad)
        self._cache = (cols_t, x.shape)
        return _conv_forward_cols(cols_t, x.shape, W, b, self.stride, self.pad)

    def backward(self, dout: np.ndarray) -> np.ndarray | None:
        """Return ``dL/dx`` (``None`` if ``input_grad`` is false) and store ``dL/dW``, ``dL/db``."""
        cols_t, x_shape = saved_by_forward(self, self._cache)
        W = self.params[0]
        N = x_shape[0]
        OH = conv_output_size(x_shape[2], W.shape[2], self.stride, self.pad)
        OW = conv_output_size(x_shape[3], W.shape[3], self.stride, self.pad)
        dout = check_array("dout", dout, shape=((N, "N"), (W.shape[0], "F"), (OH, "OH"), (OW, "OW")),
                           kind="float")
        dx, dW, db = _conv_backward_cols(dout, cols_t, x_shape, W, self.stride, self.pad, self.input_grad)
        self.grads[0][...] = dW
        self.grads[1][...] = db
        return dx


class MaxPool2D:
    """Max pooling over ``pool x pool`` windows (:func:`maxpool_forward`); no parameters."""

    def __init__(self, pool: int = 2, stride: int | None = None):
        self.pool = check_min_int("pool", pool, 1)
        self.stride = self.pool if stride is None else check_min_int("stride", stride, 1)
        self.params, self.grads = [], []
        self._cache = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = _check_images("x", x)
        out, masks = _pool_max_masks(x, self.pool, self.stride)
        self._cache = (masks, x.shape, out.shape)
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        masks, x_shape, out_shape = saved_by_forward(self, self._cache)
        dout = check_array("dout", dout, shape=tuple(zip(out_shape, ("N", "C", "OH", "OW"))), kind="float")
        return _maxpool_backward_masks(dout, masks, x_shape, self.pool, self.stride)


class _NoParams:
    """Base of the layers without parameters: empty ``params`` and ``grads``, and ``_saved``, what
    ``forward`` keeps for ``backward``."""

    def __init__(self):
        self.params, self.grads = [], []
        self._saved = None


class ReLU(_NoParams):
    """``max(x, 0)`` elementwise; its gradient passes where ``x > 0``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_array("x", x, kind="float")
        self._saved = x > 0
        return np.maximum(x, 0, dtype=x.dtype)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout * saved_by_forward(self, self._saved)


class Flatten(_NoParams):
    """``(N, ...) -> (N, prod(...))``, and back in ``backward``."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        x = check_array("x", x, kind="float")
        if x.ndim < 2:
            raise ValueError(f"x must have a batch axis and at least one more, got shape {x.shape}")
        self._saved = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return dout.reshape(saved_by_forward(self, self._saved))

"""Where the arrays live: NumPy on the CPU (always), or CuPy on an NVIDIA GPU when asked.

CuPy mirrors NumPy's API, so a layer written against an *array module* ``xp`` runs on
either: it asks :func:`array_module` which module owns its input (``numpy`` or
``cupy``) and creates every new array with that module (``xp.empty``, ``xp.zeros``).
Nothing in ``rnnbook`` imports CuPy unless you ask for the GPU.

**The switch.** ``rnnbook.use_gpu()`` (or the environment variable ``RNNBOOK_DEVICE=gpu`` when
``rnnbook`` is imported) makes the parameters of every layer created *afterwards* CuPy
arrays on the current GPU. Parameters are initialised by NumPy's generator first and
then copied, so a seed gives the same initial weights on both devices. Token ids and
targets may stay NumPy arrays: the layers copy them to the device. When CuPy or a GPU
is missing, ``use_gpu()`` says why in a ``RuntimeWarning`` and ``rnnbook`` stays on
NumPy. ``use_cpu()`` switches back; :func:`to_numpy` copies any array to the host.

**What runs on the GPU:** the language-model path of chapter 4 (``Embedding``,
``Dropout``, ``TimeLSTM``, ``Affine``, ``TiedAffine``, ``SoftmaxCrossEntropy``, ``SGD``,
``clip_grad_norm``, and ``LanguageModel`` built from them with ``cell="lstm"``). The other
layers and models are NumPy-only; ``TimeRNN`` and ``TimeGRU`` (so ``LanguageModel(cell="rnn")``
and ``cell="gru"``) raise a ``RuntimeError`` saying so when built under ``use_gpu()``. Dropout
masks are drawn on the GPU by CuPy's generator, seeded from the layer's NumPy generator:
reproducible for a seed, but not the same masks as on the CPU.
On CuPy, the elementwise work of one LSTM time step (three sigmoids, two
tanh, the cell and hidden updates; and its backward) is one fused kernel
(:func:`lstm_kernels`), because on a GPU the cost of launching many tiny kernels, not
the arithmetic, dominates a small time step.

**Status.** The CPU path is what the book's tests run everywhere; a stand-in device module in
``tests/test_backend.py`` checks that no array of the language-model path is created on the
host by mistake. ``tests/test_gpu.py`` (kernels against the NumPy formulas, a gradient check on
the GPU, CPU/GPU agreement) and ``benchmarks/lstm_lm.py --gpu`` run only where CuPy finds a GPU.
"""
from __future__ import annotations

import os
import warnings

import numpy as np

__all__ = ["use_gpu", "use_cpu", "gpu_enabled", "is_cupy", "is_cupy_array", "array_module", "to_device",
           "to_numpy", "require_cpu", "scatter_add", "lstm_kernels"]

_device_xp = None        # the CuPy module while the GPU is switched on, else None


def _load_cupy():
    """Import CuPy and check that it sees a GPU; return ``(cupy, None)`` or ``(None, reason)``."""
    try:
        import cupy
    except ImportError as e:
        return None, (f"CuPy is not installed ({e}); install the build for your CUDA version, "
                      f"e.g. `pip install cupy-cuda12x`")
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:                      # CUDA driver missing or broken: CuPy raises its own error types
        return None, f"CuPy cannot reach a GPU ({type(e).__name__}: {e})"
    if count < 1:
        return None, "CuPy found no GPU on this machine"
    return cupy, None


def use_gpu() -> bool:
    """Create the parameters of layers made from now on on the GPU (CuPy). Returns whether it is on.

    Without CuPy or a GPU this warns, with the reason, and keeps NumPy.
    """
    global _device_xp
    cupy, reason = _load_cupy()
    if cupy is None:
        warnings.warn(f"rnnbook.use_gpu(): {reason}. rnnbook keeps running on the CPU with NumPy.",
                      RuntimeWarning, stacklevel=2)
        _device_xp = None
        return False
    _device_xp = cupy
    return True


def use_cpu() -> None:
    """Create the parameters of layers made from now on as NumPy arrays (the default)."""
    global _device_xp
    _device_xp = None


def gpu_enabled() -> bool:
    """Whether :func:`use_gpu` is in effect."""
    return _device_xp is not None


def is_cupy_array(x) -> bool:
    """Whether ``x`` is a CuPy array (tested by its type's module, so CuPy is never imported here)."""
    return type(x).__module__.startswith("cupy")


def is_cupy(xp) -> bool:
    """Whether the array module ``xp`` is CuPy."""
    return getattr(xp, "__name__", "") == "cupy"


def array_module(*arrays):
    """The module that owns the arrays: CuPy if any of them is a CuPy array, else NumPy."""
    for a in arrays:
        if is_cupy_array(a):
            import cupy
            return cupy
        if _device_xp is not None and isinstance(a, _device_xp.ndarray):   # a stand-in device module (tests)
            return _device_xp
    return np


def require_cpu(layer: str) -> None:
    """Refuse to build a NumPy-only layer while :func:`use_gpu` is in effect, with a clear error.

    Without this check, such a layer would quietly create NumPy parameters next to CuPy ones, and the
    model would fail later, inside CuPy, with a message that does not name the cause.
    """
    if _device_xp is not None:
        raise RuntimeError(f"{layer} runs on the CPU only (NumPy), but rnnbook.use_gpu() is in effect. "
                           f"On the GPU use the LSTM (cell='lstm'), or call rnnbook.use_cpu() before building "
                           f"this model.")


def to_device(array):
    """A new parameter array on the current device: unchanged on the CPU, copied to the GPU after ``use_gpu()``."""
    return array if _device_xp is None else _device_xp.asarray(array)


def to_numpy(array) -> np.ndarray:
    """Copy an array (NumPy or CuPy) to a NumPy array on the host."""
    if is_cupy_array(array):
        return array.get()
    return np.asarray(array)


def scatter_add(target, indices, values) -> None:
    """``target[indices] += values``, adding repeated indices (``np.add.at``; ``cupyx.scatter_add`` on CuPy).

    For rows (``target`` ``(V, D)``, ``indices`` ``(M,)``, ``values`` ``(M, D)``, as in an embedding's
    backward pass) NumPy gets one ``add.at`` over the flattened arrays: the same additions in the same
    order, so the same bits, but NumPy's one-dimensional ``add.at`` is several times faster than its
    row-by-row one (``benchmarks/README.md`` has the measurements).
    """
    if is_cupy_array(target):
        import cupyx
        cupyx.scatter_add(target, indices, values)
    elif (target.ndim == 2 and target.flags.c_contiguous and indices.ndim == 1 and indices.size
          and values.shape == (indices.size, target.shape[1]) and indices.min() >= 0):
        D = target.shape[1]
        flat = (indices[:, None] * D + np.arange(D)).reshape(-1)       # the index of every entry of every row
        np.add.at(target.reshape(-1), flat, np.ascontiguousarray(values).reshape(-1))
    else:
        array_module(target).add.at(target, indices, values)


# The fused LSTM step kernels, as (input parameters, output parameters, CUDA body) of a CuPy
# ElementwiseKernel. They compute what rnnbook.lstm's step functions compute (tests/test_backend.py runs these
# bodies with NumPy arrays to check that). ``i`` and ``n`` are reserved names in CuPy kernels, hence the
# ``g`` prefixes.
LSTM_FORWARD_KERNEL = (
    "T c_prev", "T gf, T gi, T gg, T go, T c, T h, T tc",
    """
    gf = 1 / (1 + exp(-gf));
    gi = 1 / (1 + exp(-gi));
    gg = tanh(gg);
    go = 1 / (1 + exp(-go));
    c = gf * c_prev + gi * gg;
    tc = tanh(c);
    h = go * tc;
    """)
LSTM_BACKWARD_KERNEL = (
    "T gf, T gi, T gg, T go, T c_prev, T tc, T dh, T dc_next", "T df, T di, T dg, T d_o, T dc_prev",
    """
    T dc = dc_next + dh * go * (1 - tc * tc);
    df = dc * c_prev * gf * (1 - gf);
    di = dc * gg * gi * (1 - gi);
    dg = dc * gi * (1 - gg * gg);
    d_o = dh * tc * go * (1 - go);
    dc_prev = dc * gf;
    """)

_kernels = None


def lstm_kernels(xp):
    """The fused LSTM step kernels ``(forward, backward)`` for CuPy, or ``None`` for any other module.

    ``forward(c_prev, gf, gi, gg, go, c, h, tc)`` takes the gate pre-activations in ``gf, gi, gg, go`` (the
    four ``(N, H)`` column blocks of the step's ``(N, 4H)`` array), activates them in place and writes ``c``,
    ``h`` and ``tc = tanh(c)``. ``backward(gf, gi, gg, go, c_prev, tc, dh, dc_next, df, di, dg, d_o, dc_prev)``
    takes the activated gates and writes the gradients at the four pre-activations and at ``c_prev``. The
    formulas are those of :func:`rnnbook.lstm.lstm_step_forward` and :func:`rnnbook.lstm.lstm_step_backward`;
    the sources are ``LSTM_FORWARD_KERNEL`` and ``LSTM_BACKWARD_KERNEL``.
    """
    global _kernels
    if not is_cupy(xp):
        return None
    if _kernels is None:
        _kernels = (xp.ElementwiseKernel(*LSTM_FORWARD_KERNEL, "rnnbook_lstm_step_forward"),
                    xp.ElementwiseKernel(*LSTM_BACKWARD_KERNEL, "rnnbook_lstm_step_backward"))
    return _kernels


if os.environ.get("RNNBOOK_DEVICE", "").lower() in ("gpu", "cuda", "cupy"):
    use_gpu()

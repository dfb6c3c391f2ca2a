"""The NumPy/CuPy switch (rnnbook.backend), tested without a GPU.

* ``use_gpu()`` on a machine without CuPy, or with CuPy but no GPU, warns with the reason and keeps NumPy.
* A stand-in device module (NumPy arrays of a subclass that marks them as "on the device") checks that
  the language-model path creates every array with the array module of its inputs: after training
  steps, every parameter, gradient and carried state is still a device array, and the numbers are
  those of the same model on NumPy. An ``np.empty`` where ``xp.empty`` belongs would put a host array
  into the model and fail here, as it would fail on a real GPU.

The GPU itself is tested by tests/test_gpu.py, which is skipped on machines without one.
"""
import importlib.util
import sys
import types
import warnings

import numpy as np
import pytest

from rnnbook import backend
from rnnbook.checkpoint import load_model, save_model
from rnnbook.models import LanguageModel
from rnnbook.optim import SGD, clip_grad_norm


def _has_gpu() -> bool:
    return backend._load_cupy()[0] is not None


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None, reason="CuPy is installed here")
def test_use_gpu_without_cupy_warns_and_stays_on_numpy(monkeypatch):
    monkeypatch.setattr(backend, "_device_xp", None)
    with pytest.warns(RuntimeWarning, match=r"CuPy is not installed.*keeps running on the CPU with NumPy"):
        assert backend.use_gpu() is False
    assert not backend.gpu_enabled()
    model = LanguageModel(7, 4, 4, rng=0)
    assert all(type(p) is np.ndarray for p in model.params)


def test_use_gpu_with_cupy_but_no_gpu_warns(monkeypatch):
    if _has_gpu():
        pytest.skip("this machine has a GPU")

    class NoDevice(Exception):
        pass

    def no_device():
        raise NoDevice("no CUDA-capable device is detected")

    fake = types.ModuleType("cupy")
    fake.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=no_device))
    monkeypatch.setitem(sys.modules, "cupy", fake)
    monkeypatch.setattr(backend, "_device_xp", None)
    with pytest.warns(RuntimeWarning, match=r"cannot reach a GPU \(NoDevice: no CUDA-capable device"):
        assert backend.use_gpu() is False
    assert not backend.gpu_enabled()


def test_use_cpu_switches_back(monkeypatch):
    monkeypatch.setattr(backend, "_device_xp", object())
    backend.use_cpu()
    assert not backend.gpu_enabled()


# ------------------------------------------------------------------ a stand-in device
class DeviceArray(np.ndarray):
    """A NumPy array that says "I live on the device"; NumPy keeps the subclass through ufuncs and views."""


_CREATE = {"asarray", "array", "empty", "zeros", "ones", "full", "arange", "concatenate", "ascontiguousarray",
           "where", "empty_like", "zeros_like"}


class FakeDevice(types.ModuleType):
    """NumPy under another name: array-creating functions return ``DeviceArray``; everything else is NumPy's."""
    ndarray = DeviceArray

    def __init__(self):
        super().__init__("fakedevice")

    def __getattr__(self, name):
        f = getattr(np, name)
        if name not in _CREATE:
            return f

        def create(*args, **kwargs):
            out = f(*args, **kwargs)
            return out.view(DeviceArray) if isinstance(out, np.ndarray) else out
        return create


@pytest.fixture
def device(monkeypatch):
    monkeypatch.setattr(backend, "_device_xp", FakeDevice())
    return backend._device_xp


def _train(model, steps=3, seed=1):
    rng = np.random.default_rng(seed)
    opt = SGD(0.5)
    losses = []
    for _ in range(steps):
        ids = rng.integers(0, model.vocab_size, size=(3, 5))
        losses.append(model.forward(ids[:, :-1], ids[:, 1:], train=True))
        model.backward()
        clip_grad_norm(model.grads, 1.0)
        opt.update(model.params, model.grads)
    return losses


@pytest.mark.parametrize("tie", [False, True])
def test_language_model_stays_on_the_device_and_matches_numpy(device, monkeypatch, tie):
    kwargs = dict(cell="lstm", num_layers=2, dropout=0.3, tie_weights=tie, stateful=True, rng=0, dtype=np.float64)
    on_device = LanguageModel(11, 6, 6, **kwargs)
    assert all(isinstance(p, DeviceArray) for p in on_device.params)
    device_losses = _train(on_device)
    monkeypatch.setattr(backend, "_device_xp", None)
    on_host = LanguageModel(11, 6, 6, **kwargs)
    assert all(type(p) is np.ndarray for p in on_host.params)
    host_losses = _train(on_host)

    np.testing.assert_allclose(device_losses, host_losses, rtol=1e-12)
    for name, arrays in (("params", on_device.params), ("grads", on_device.grads),
                         ("carried state", [a for st in on_device.carried_state() for a in st.values()])):
        leaked = [k for k, a in enumerate(arrays) if not isinstance(a, DeviceArray)]
        assert not leaked, f"{name} {leaked} left the device"
    for p, q in zip(on_device.params, on_host.params):
        np.testing.assert_allclose(np.asarray(p), q, rtol=1e-12)


def test_checkpoint_of_a_device_model_loads_on_the_host(device, monkeypatch, tmp_path):
    model = LanguageModel(9, 4, 4, cell="lstm", rng=3)
    _train(model, steps=1)
    path = save_model(model, tmp_path / "m")
    monkeypatch.setattr(backend, "_device_xp", None)
    loaded = load_model(path)
    assert all(type(p) is np.ndarray for p in loaded.params)
    for p, q in zip(model.params, loaded.params):
        np.testing.assert_array_equal(backend.to_numpy(p), q)


def test_fixed_gates_and_the_numpy_path_agree_on_the_device(device):
    """TimeLSTM with a fixed gate takes the generic path on any device; it must stay on the device too."""
    from rnnbook.lstm import TimeLSTM
    layer = TimeLSTM(3, 4, rng=0, fixed_gates={"f": 1.0}, dtype=np.float64)
    xs = np.random.default_rng(0).standard_normal((2, 5, 3)).view(DeviceArray)
    hs = layer.forward(xs)
    dxs = layer.backward(np.ones_like(hs))
    assert isinstance(hs, DeviceArray) and isinstance(dxs, DeviceArray)
    assert all(isinstance(g, DeviceArray) for g in layer.grads)


def test_to_numpy_and_array_module_on_the_host():
    x = np.arange(3.0)
    assert backend.array_module(x) is np
    assert backend.to_numpy(x) is x or np.shares_memory(backend.to_numpy(x), x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert backend.lstm_kernels(np) is None


@pytest.mark.parametrize("cell, layer", [("rnn", "TimeRNN"), ("gru", "TimeGRU")])
def test_rnn_and_gru_language_models_refuse_the_gpu_clearly(device, cell, layer):
    """Only the LSTM path runs on the GPU: the other cells say so when built, instead of failing later in CuPy."""
    with pytest.raises(RuntimeError, match=rf"{layer} runs on the CPU only .*use_gpu\(\) is in effect"):
        LanguageModel(11, 6, 6, cell=cell, rng=0)
    backend.use_cpu()
    assert all(type(p) is np.ndarray for p in LanguageModel(11, 6, 6, cell=cell, rng=0).params)


def _run_cuda_body(kernel, arrays: dict) -> dict:
    """Run the body of one of rnnbook.backend's CUDA kernels line by line with NumPy arrays as its variables.

    The bodies are plain assignments of C arithmetic (``T dc = ...;`` declares a local of the kernel's
    type), which are also Python once the type and the semicolon are dropped."""
    ins, outs, body = kernel
    names = {p.split()[-1] for p in (ins + ", " + outs).split(",")}
    assert set(arrays) <= names, set(arrays) - names
    variables = {k: np.array(v, dtype=np.float64) for k, v in arrays.items()}
    for line in filter(None, (ln.strip() for ln in body.splitlines())):
        assert line.endswith(";"), line
        line = line[:-1].removeprefix("T ")
        exec(line, {"exp": np.exp, "tanh": np.tanh}, variables)
    return variables


def test_the_cuda_kernels_compute_what_the_step_functions_compute():
    """The fused GPU kernels' bodies, run on the CPU, against the chapter's step functions
    (rnnbook.lstm.lstm_step_forward and lstm_step_backward). With Wx = I, Wh = 0 and b = 0 the step's
    pre-activations are its input ``x``, and its ``dx`` is the gradient at the pre-activations."""
    from rnnbook.lstm import lstm_step_backward, lstm_step_forward
    rng = np.random.default_rng(0)
    N, H = 5, 7
    a = rng.standard_normal((N, 4 * H)) * 3
    c_prev, dh, dc_next = (rng.standard_normal((N, H)) for _ in range(3))
    weights = np.eye(4 * H), np.zeros((H, 4 * H)), np.zeros(4 * H)
    h, c = lstm_step_forward(a, np.zeros((N, H)), c_prev, *weights)
    da, _, dc_prev, *_ = lstm_step_backward(dh, dc_next, a, np.zeros((N, H)), c_prev, *weights)

    blocks = {g: a[:, k * H:(k + 1) * H] for k, g in enumerate(("gf", "gi", "gg", "go"))}
    fwd = _run_cuda_body(backend.LSTM_FORWARD_KERNEL, dict(c_prev=c_prev, **blocks))
    np.testing.assert_allclose(fwd["c"], c, rtol=1e-12)
    np.testing.assert_allclose(fwd["h"], h, rtol=1e-12)
    np.testing.assert_allclose(fwd["tc"], np.tanh(c), rtol=1e-12)
    bwd = _run_cuda_body(backend.LSTM_BACKWARD_KERNEL,
                         dict(c_prev=c_prev, tc=fwd["tc"], dh=dh, dc_next=dc_next, **{g: fwd[g] for g in blocks}))
    np.testing.assert_allclose(np.concatenate([bwd[g] for g in ("df", "di", "dg", "d_o")], axis=1), da,
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bwd["dc_prev"], dc_prev, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("V, M, D", [(65, 700, 100), (3, 50, 4), (1000, 7, 16)])
def test_scatter_add_of_rows_equals_add_at_bit_for_bit(V, M, D):
    """The embedding's scatter-add of rows runs one flat np.add.at: the same additions in the same order."""
    rng = np.random.default_rng(V)
    ids = rng.integers(0, V, M)
    ids[: M // 2] = ids[0]                                   # many repeats of one id
    values = rng.standard_normal((M, D)).astype(np.float32)
    want, got = np.zeros((V, D), np.float32), np.zeros((V, D), np.float32)
    np.add.at(want, ids, values)
    backend.scatter_add(got, ids, values)
    assert np.array_equal(want, got)
    # other shapes, negative ids and non-contiguous targets keep np.add.at's own meaning
    target = np.zeros((V, 2 * D), np.float32)[:, ::2]
    backend.scatter_add(target, -1 - ids % V, values)
    ref = np.zeros((V, D), np.float32)
    np.add.at(ref, -1 - ids % V, values)
    assert np.array_equal(target, ref)

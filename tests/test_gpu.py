"""rnnbook on a real GPU (CuPy). Skipped, with the reason, on machines without CuPy or without a GPU.

What it checks where it runs: the fused CuPy kernels of one LSTM step agree with the step functions,
``TimeLSTM`` on the GPU passes a float64 gradient check and matches the CPU layer, and a language model
trains on the GPU to the same losses as on the CPU.
"""
import numpy as np
import pytest

from rnnbook import backend

cupy, _reason = backend._load_cupy()
pytestmark = pytest.mark.skipif(cupy is None, reason=f"no GPU for rnnbook: {_reason}")


@pytest.fixture
def gpu():
    assert backend.use_gpu()
    yield cupy
    backend.use_cpu()


def test_fused_kernels_match_the_step_functions(gpu):
    """One step of the engine's fused CUDA kernels against the chapter's step functions on the CPU (with
    Wx = I, Wh = 0 and b = 0 the step's pre-activations are its input and its dx is the gradient there)."""
    from rnnbook._lstm_engine import CupyCell, lstm_cell
    from rnnbook.lstm import lstm_step_backward, lstm_step_forward
    rng = np.random.default_rng(0)
    N, H = 5, 7
    a = rng.standard_normal((N, 4 * H)) * 3
    c_prev, dh, dc_next = (rng.standard_normal((N, H)) for _ in range(3))
    weights = np.eye(4 * H), np.zeros((H, 4 * H)), np.zeros(4 * H)
    h, c = lstm_step_forward(a, np.zeros((N, H)), c_prev, *weights)
    da, _, dc_prev, *_ = lstm_step_backward(dh, dc_next, a, np.zeros((N, H)), c_prev, *weights)

    fused = lstm_cell(gpu, H, np.float64, {})
    assert isinstance(fused, CupyCell)
    a_gpu, c_gpu, h_gpu, tc_gpu = gpu.asarray(a), *(gpu.empty((N, H)) for _ in range(3))
    fused.forward(a_gpu, gpu.asarray(c_prev), c_gpu, h_gpu, tc_gpu)
    for got, want in ((c_gpu, c), (h_gpu, h), (tc_gpu, np.tanh(c))):
        np.testing.assert_allclose(got.get(), want, rtol=1e-12)
    da_gpu, dc_prev_gpu = gpu.empty((N, 4 * H)), gpu.empty((N, H))
    fused.prepare_backward(a_gpu[None], gpu.asarray(c_prev)[None], tc_gpu[None])
    fused.backward(0, gpu.asarray(dh), gpu.asarray(dc_next), da_gpu, dc_prev_gpu)
    np.testing.assert_allclose(da_gpu.get(), da, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dc_prev_gpu.get(), dc_prev, rtol=1e-10, atol=1e-12)


def test_time_lstm_on_the_gpu_matches_the_cpu_and_its_numerical_gradient(gpu):
    from rnnbook.gradcheck import numerical_gradient, rel_error
    from rnnbook.lstm import TimeLSTM
    rng = np.random.default_rng(1)
    xs, dhs = rng.standard_normal((3, 6, 4)), rng.standard_normal((3, 6, 5))
    layer_gpu = TimeLSTM(4, 5, rng=2, dtype=np.float64)
    backend.use_cpu()
    layer_cpu = TimeLSTM(4, 5, rng=2, dtype=np.float64)
    hs = layer_cpu.forward(xs)
    dxs = layer_cpu.backward(dhs)
    hs_gpu = layer_gpu.forward(gpu.asarray(xs))
    dxs_gpu = layer_gpu.backward(gpu.asarray(dhs))
    np.testing.assert_allclose(hs_gpu.get(), hs, rtol=1e-10)
    np.testing.assert_allclose(dxs_gpu.get(), dxs, rtol=1e-10)
    for g_gpu, g in zip(layer_gpu.grads, layer_cpu.grads):
        np.testing.assert_allclose(g_gpu.get(), g, rtol=1e-10, atol=1e-12)
    # and the GPU layer against finite differences, for the recurrent weights
    Wh = layer_gpu.params[1]
    host = Wh.get()

    def loss():
        Wh[...] = gpu.asarray(host)
        return float((layer_gpu.forward(gpu.asarray(xs)) * gpu.asarray(dhs)).sum())
    num = numerical_gradient(loss, host)
    loss()
    layer_gpu.backward(gpu.asarray(dhs))
    assert rel_error(layer_gpu.grads[1].get(), num) < 1e-6


def test_language_model_trains_to_the_same_losses_on_the_gpu(gpu):
    from rnnbook.models import LanguageModel
    from rnnbook.optim import SGD, clip_grad_norm

    def run():
        # no dropout: on the GPU its masks come from CuPy's generator, so they differ from the CPU's
        model = LanguageModel(20, 8, 8, num_layers=2, tie_weights=True, stateful=True, rng=0, dtype=np.float64)
        rng, opt, losses = np.random.default_rng(3), SGD(0.5), []
        for _ in range(4):
            ids = rng.integers(0, 20, size=(4, 7))
            losses.append(model.forward(ids[:, :-1], ids[:, 1:]))
            model.backward()
            clip_grad_norm(model.grads, 1.0)
            opt.update(model.params, model.grads)
        return losses, model
    losses_gpu, model = run()
    assert all(isinstance(p, gpu.ndarray) for p in model.params)
    backend.use_cpu()
    losses_cpu, _ = run()
    np.testing.assert_allclose(losses_gpu, losses_cpu, rtol=1e-9)


def test_dropout_on_the_gpu_is_reproducible_and_keeps_the_expected_fraction(gpu):
    from rnnbook.layers import Dropout
    x = gpu.ones((200, 300), dtype=gpu.float32)
    a, b = Dropout(0.3, rng=5).forward(x), Dropout(0.3, rng=5).forward(x)
    assert isinstance(a, gpu.ndarray)
    np.testing.assert_array_equal(a.get(), b.get())
    assert abs(float((a > 0).mean()) - 0.7) < 0.01

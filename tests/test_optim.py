"""Tests of rnnbook.optim: SGD, Adam (against PyTorch's), the global gradient norm and clipping."""
import numpy as np
import pytest
import torch

from rnnbook.optim import SGD, Adam, clip_grad_norm, global_norm


def _problem(seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in ((3, 4), (4,), (2, 2, 2))]


def test_sgd_takes_one_step_against_the_gradient():
    params, grads = _problem(0), _problem(1)
    want = [p - 0.1 * g for p, g in zip(params, grads)]
    SGD(0.1).update(params, grads)
    for p, w in zip(params, want):
        np.testing.assert_allclose(p, w, rtol=1e-15)


def test_sgd_keeps_float32_parameters_float32():
    params, grads = _problem(0, np.float32), _problem(1, np.float32)
    SGD(0.5).update(params, grads)
    assert all(p.dtype == np.float32 for p in params)


def test_adam_matches_pytorch():
    params, grads_seq = _problem(0), [_problem(k) for k in range(1, 6)]
    tparams = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    topt = torch.optim.Adam(tparams, lr=0.01, betas=(0.9, 0.999), eps=1e-8)
    adam = Adam(0.01)
    for grads in grads_seq:
        adam.update(params, grads)
        for t, g in zip(tparams, grads):
            t.grad = torch.tensor(g)
        topt.step()
    for p, t in zip(params, tparams):
        # the two differ only in where eps enters (ours adds it before the bias correction, so it weighs up to
        # 1 / sqrt(1 - beta2) = 32 times more in the first steps): a few 1e-7 over five steps of size 0.01
        np.testing.assert_allclose(p, t.detach().numpy(), rtol=1e-6, atol=1e-6)


def test_adam_state_round_trip_continues_identically():
    params, grads = _problem(0), _problem(1)
    a = Adam(0.05)
    a.update(params, grads)
    b = Adam(0.5)
    b.load_state_dict(a.state_dict())
    copy = [p.copy() for p in params]
    a.update(params, grads)
    b.update(copy, grads)
    for p, q in zip(params, copy):
        np.testing.assert_array_equal(p, q)
    assert b.t == 2 and b.lr == 0.05


def test_global_norm_is_the_norm_of_all_gradients_together():
    grads = _problem(2) + [np.random.default_rng(3).standard_normal(200_003).astype(np.float32)]
    want = np.sqrt(sum(float(np.sum(g.astype(np.float64) ** 2)) for g in grads))
    assert global_norm(grads) == pytest.approx(want, rel=1e-6)


def test_clipping_shortens_without_turning_and_returns_the_norm_before():
    grads = _problem(4)
    before = global_norm(grads)
    direction = [g / before for g in grads]
    assert clip_grad_norm(grads, before / 4) == before
    assert global_norm(grads) == pytest.approx(before / 4, rel=1e-5)
    for g, d in zip(grads, direction):
        np.testing.assert_allclose(g / global_norm(grads), d, rtol=1e-10)
    small = _problem(5)
    kept = [g.copy() for g in small]
    clip_grad_norm(small, 1e9)
    for g, k in zip(small, kept):
        np.testing.assert_array_equal(g, k)


def test_bad_inputs():
    with pytest.raises(ValueError, match="learning rate must be positive"):
        SGD(0)
    with pytest.raises(ValueError, match="learning rate must be positive"):
        Adam(-1e-3)
    with pytest.raises(ValueError, match="got 3 parameters but 2 gradients"):
        Adam().update(_problem(0), _problem(1)[:2])
    with pytest.raises(ValueError, match="max_norm must be positive"):
        clip_grad_norm(_problem(0), 0.0)
    with pytest.raises(FloatingPointError, match="NaN or inf"):
        clip_grad_norm([np.array([np.nan, 1.0])], 1.0)

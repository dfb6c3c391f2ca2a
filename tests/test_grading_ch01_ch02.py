"""Chapters 1 and 2's exercises: every known mistake is diagnosed when a learner makes it (written here the way
a learner would, independently of the variants in the solutions), and the experiments judge their runs."""
from functools import partial

import numpy as np
import pytest

from rnnbook import grading
from rnnbook.grading import ch01_rnn, ch02_bptt
from rnnbook.grading.core import Choice, Experiment, run_exercise


def _grade(chapter, name, fn):
    spec = {e.name: e for e in grading.exercises_for(chapter)}[name]
    refs = grading.reference_functions(chapter)
    variants = {k: refs[f"{name}__{k}"] for k in spec.mistakes}
    assert len(variants) == len(spec.mistakes) >= 2, f"{name}: every known mistake needs its variant"
    with np.errstate(all="ignore"):
        return run_exercise(spec, fn, refs[name], variants=variants)


def _rnn_backward(dhs, xs, h0, hs, Wx, Wh, carry=True, accumulate=True):
    N, T, H = hs.shape
    dxs, dWx, dWh, db, dh = np.zeros_like(xs), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H), np.zeros((N, H))
    for t in reversed(range(T)):
        prev = h0 if t == 0 else hs[:, t - 1]
        da = (dhs[:, t] + (dh if carry else 0)) * (1 - hs[:, t] ** 2)
        dxs[:, t], dh = da @ Wx.T, da @ Wh.T
        if accumulate:
            dWx, dWh, db = dWx + xs[:, t].T @ da, dWh + prev.T @ da, db + da.sum(0)
        else:
            dWx, dWh, db = xs[:, t].T @ da, prev.T @ da, da.sum(0)
    return dxs, dh, dWx, dWh, db


def _jacobian_norms(Wh, hs, ord=2, transpose=True):
    T, H = hs.shape
    P, out = np.eye(H), []
    for k in range(T):
        out.append(np.linalg.norm(P, ord))
        P = P @ np.diag(1 - hs[T - k - 1] ** 2) @ (Wh.T if transpose else Wh)
    return np.array(out)


def _masked(dhs, xs, h0, hs, Wx, Wh, mask, use_mask=True, passthrough=True):
    N, T, H = hs.shape
    dxs, dWx, dWh, db, dh = np.zeros_like(xs), np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H), np.zeros((N, H))
    for t in reversed(range(T)):
        m = mask[:, t, None] if use_mask else 1.0
        g = dhs[:, t] + dh
        da = m * g * (1 - hs[:, t] ** 2)
        dxs[:, t] = da @ Wx.T
        dWx, dWh, db = dWx + xs[:, t].T @ da, dWh + (h0 if t == 0 else hs[:, t - 1]).T @ da, db + da.sum(0)
        dh = da @ Wh.T + ((1 - m) * g if passthrough else 0)
    return dxs, dh, dWx, dWh, db


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _ce_grad(logits, targets, divide="valid", mask_padded=True):
    valid = targets != -1
    g = _softmax(logits) - np.eye(logits.shape[-1])[np.where(valid, targets, 0) if mask_padded else targets]
    if mask_padded:
        g = g * valid[..., None]
    return g / {"valid": valid.sum(), "all": targets.size, "none": 1}[divide]


def _sample(E, Wx, Wh, b, Wo, bo, first_id, us, temperature, greedy=False, use_t=True, feed=True):
    h, token, out = np.zeros(Wh.shape[0]), first_id, []
    for u in us:
        h = np.tanh(E[token if feed else first_id] @ Wx + h @ Wh + b)
        p = _softmax((h @ Wo + bo) / (temperature if use_t else 1.0))
        nxt = int(p.argmax()) if greedy else min(int(np.searchsorted(np.cumsum(p), u, side="right")), p.size - 1)
        out.append(nxt)
        token = nxt
    return np.array(out)


def _padded(xs, lengths, h0, Wx, Wh, b, stop=True, hold=True, extra=0):
    hs, h = np.empty(xs.shape[:2] + (Wh.shape[0],)), h0
    for t in range(xs.shape[1]):
        new = np.tanh(xs[:, t] @ Wx + h @ Wh + b)
        reading = (t < lengths + extra)[:, None] if stop else True
        h = np.where(reading, new, h if hold else 0.0)
        hs[:, t] = h
    return hs


MISTAKES = [
    ("02_bptt", "rnn_backward", "no_carry", partial(_rnn_backward, carry=False)),
    ("02_bptt", "rnn_backward", "overwrite", partial(_rnn_backward, accumulate=False)),
    ("02_bptt", "jacobian_norms", "frobenius", lambda Wh, hs: _jacobian_norms(Wh, hs, ord="fro")),
    ("02_bptt", "jacobian_norms", "no_transpose", lambda Wh, hs: _jacobian_norms(Wh, hs, transpose=False)),
    ("02_bptt", "rnn_backward_masked", "unmasked", partial(_masked, use_mask=False)),
    ("02_bptt", "rnn_backward_masked", "no_passthrough", partial(_masked, passthrough=False)),
    ("01_rnn", "one_hot", "flat", lambda ids, vocab_size: np.eye(vocab_size)[np.ravel(ids)]),
    ("01_rnn", "one_hot", "transposed", lambda ids, vocab_size: np.moveaxis(np.eye(vocab_size)[ids], -1, 0)),
    ("01_rnn", "cross_entropy", "sign", lambda logits, targets: float(np.mean(np.take_along_axis(
        logits - logits.max(-1, keepdims=True) - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(
            -1, keepdims=True)), targets[..., None], -1)))),
    ("01_rnn", "cross_entropy", "sum",
     lambda logits, targets: float(-np.log(np.take_along_axis(_softmax(logits), targets[..., None], -1)).sum())
     if np.abs(logits).max() < 100 else float(
         -(np.take_along_axis(logits - logits.max(-1, keepdims=True), targets[..., None], -1)
           - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True))).sum())),
    ("01_rnn", "rnn_forward_padded", "no_lengths", partial(_padded, stop=False)),
    ("01_rnn", "rnn_forward_padded", "zero_after_end", partial(_padded, hold=False)),
    ("01_rnn", "rnn_forward_padded", "one_extra_step", partial(_padded, extra=1)),
    ("01_rnn", "softmax", "axis0", lambda x: np.exp(x - x.max(axis=0)) / np.exp(x - x.max(axis=0)).sum(axis=0)),
    ("01_rnn", "softmax", "whole_sum", lambda x: np.exp(x - x.max()) / np.exp(x - x.max()).sum()),
    ("01_rnn", "rnn_step_masked", "no_mask", lambda x, h_prev, mask, Wx, Wh, b: np.tanh(x @ Wx + h_prev @ Wh + b)),
    ("01_rnn", "rnn_step_masked", "zeroed",
     lambda x, h_prev, mask, Wx, Wh, b: np.tanh(x @ Wx + h_prev @ Wh + b) * mask[:, None]),
    ("01_rnn", "cross_entropy_grad", "all_positions", partial(_ce_grad, divide="all")),
    ("01_rnn", "cross_entropy_grad", "no_mean", partial(_ce_grad, divide="none")),
    ("01_rnn", "cross_entropy_grad", "padded_nonzero", partial(_ce_grad, mask_padded=False)),
    ("01_rnn", "sample_tokens", "argmax", partial(_sample, greedy=True)),
    ("01_rnn", "sample_tokens", "no_temperature", partial(_sample, use_t=False)),
    ("01_rnn", "sample_tokens", "no_feedback", partial(_sample, feed=False)),
]


@pytest.mark.parametrize("chapter, name, key, fn", MISTAKES, ids=[f"{m[1]}-{m[2]}" for m in MISTAKES])
def test_known_mistake_is_named(chapter, name, key, fn):
    spec = {e.name: e for e in grading.exercises_for(chapter)}[name]
    r = _grade(chapter, name, fn)
    assert r.score == 0 and "known mistake" in r.feedback and spec.mistakes[key] in r.feedback, r.feedback


@pytest.mark.parametrize("chapter", ["01_rnn", "02_bptt"])
def test_every_function_exercise_has_two_mistakes_and_the_kinds_are_there(chapter):
    specs = grading.exercises_for(chapter)
    refs = grading.reference_functions(chapter)
    for s in specs:
        if hasattr(s, "mistakes"):
            assert len(s.mistakes) >= 2, s.name
            for key in s.mistakes:
                assert callable(refs.get(f"{s.name}__{key}")), f"{s.name}__{key}"
    assert sum(isinstance(s, Experiment) for s in specs) >= 1
    assert sum(isinstance(s, Choice) for s in specs) >= 2


def test_experiments_reject_bad_configurations_clearly():
    with pytest.raises(ValueError, match="hidden_size"):
        ch01_rnn.separate_sentences({"hidden_size": 0, "lr": 0.05, "steps": 300}, 0)
    with pytest.raises(ValueError, match="exactly the keys"):
        ch01_rnn.separate_sentences({"hidden": 8}, 0)
    with pytest.raises(ValueError, match="max_norm"):
        ch02_bptt.train_clipped({"lr": 1.0, "max_norm": -1}, 0)
    with pytest.raises(ValueError, match="lr"):
        ch02_bptt.train_clipped({"lr": "fast", "max_norm": None}, 0)


def test_tiny_model_experiment_tells_a_small_model_from_one_that_fails():
    assert ch01_rnn.separate_sentences({"hidden_size": 8, "lr": 0.02, "steps": 500}, 0) == 8
    assert ch01_rnn.separate_sentences({"hidden_size": 2, "lr": 0.05, "steps": 100}, 0) == float("inf")

"""Tests of rnnbook.train: truncated-BPTT batches, evaluation, the training loop and sampling."""
import numpy as np
import pytest

from rnnbook.models import RNNLM
from rnnbook.optim import SGD, Adam
from rnnbook.train import (TrainState, evaluate_perplexity, fit, sample, shuffled_batches, tbptt_batches, train_lm,
                           train_step)


def test_tbptt_batches_layout():
    batches = tbptt_batches(np.arange(9), 2, 2)
    pairs = [(x.tolist(), y.tolist()) for x, y in batches]
    assert pairs == [([[0, 1], [4, 5]], [[1, 2], [5, 6]]), ([[2, 3], [6, 7]], [[3, 4], [7, 8]])]
    assert len(batches) == 2 and batches.tokens_per_epoch == 8


def test_tbptt_rows_continue_across_batches():
    ids = np.arange(1000)
    B, L = 4, 7
    batches = list(tbptt_batches(ids, B, L))
    assert len(batches) == (999 // B) // L
    for (x0, y0), (x1, _) in zip(batches, batches[1:]):
        assert x0.shape == y0.shape == (B, L)
        assert np.array_equal(y0[:, :-1], x0[:, 1:])         # targets are the next tokens
        assert np.array_equal(x1[:, 0], x0[:, -1] + 1)        # each row continues where it stopped
    starts = batches[0][0][:, 0]
    assert np.array_equal(starts, np.arange(B) * (999 // B))  # rows are contiguous slices of the corpus


@pytest.mark.parametrize("kwargs,match", [
    (dict(ids=np.arange(10), batch_size=4, seq_len=3), "too short"),
    (dict(ids=np.arange(10), batch_size=0, seq_len=3), "batch_size must be a positive integer"),
    (dict(ids=np.arange(10), batch_size=2, seq_len=2.5), "seq_len must be a positive integer"),
    (dict(ids=np.arange(10).reshape(2, 5), batch_size=1, seq_len=2), "ids must have 1 dimensions"),
])
def test_tbptt_batches_bad_inputs(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tbptt_batches(**kwargs)
    with pytest.raises(TypeError, match="integer array"):
        tbptt_batches(np.linspace(0, 1, 50), 2, 3)


def test_uniform_model_has_perplexity_vocab_size():
    V = 11
    model = RNNLM(V, 4, 6, stateful=True, rng=0, dtype=np.float64)
    W, b = model.out.params
    W[...] = 0
    b[...] = 0                                       # all logits equal: the uniform distribution
    ids = np.random.default_rng(0).integers(0, V, size=500)
    assert evaluate_perplexity(model, ids, 4, 10) == pytest.approx(V)


def _toy_corpus(n=3000):
    rng = np.random.default_rng(0)
    pattern = np.array([0, 1, 2, 3, 4, 2, 1])
    ids = np.tile(pattern, n // len(pattern) + 1)[:n].copy()
    noise = rng.random(n) < 0.05
    ids[noise] = rng.integers(0, 6, size=noise.sum())
    return ids


def test_train_lm_learns_and_records_history(capsys):
    ids = _toy_corpus()
    tr, va = ids[:2500], ids[2500:]
    model = RNNLM(6, 8, 16, stateful=True, rng=0)
    hist = train_lm(model, Adam(1e-2), tr, va, batch_size=8, seq_len=10, epochs=3, progress=False)
    out = capsys.readouterr().out
    assert out.count("val ppl") == 3
    assert hist["epoch"] == [1, 2, 3]
    assert hist["steps"] == 3 * (2499 // 8 // 10) == len(hist["loss"])
    assert hist["tokens"][-1] == hist["steps"] * 80
    assert hist["val_ppl"][-1] < 2.0 < 6.0           # the pattern is learnable; uniform would be 6
    assert hist["val_ppl"][-1] < hist["val_ppl"][0]
    assert not hist["diverged"]


def test_train_lm_max_steps_and_determinism():
    ids = _toy_corpus()
    runs = []
    for _ in range(2):
        model = RNNLM(6, 8, 16, stateful=True, rng=3)
        runs.append(train_lm(model, SGD(0.5), ids[:2500], ids[2500:], batch_size=4, seq_len=5, epochs=5,
                             max_steps=37, progress=False, log=None))
    assert runs[0]["steps"] == 37
    assert runs[0]["loss"] == runs[1]["loss"]
    assert len(runs[0]["val_ppl"]) == 1


class _BlowsUp(RNNLM):
    """An RNNLM whose loss becomes NaN at its fifth forward call."""
    calls = 0

    def forward(self, ids, targets):
        self.calls += 1
        loss = super().forward(ids, targets)
        return float("nan") if self.calls >= 5 else loss


@pytest.mark.parametrize("stop", [True, False])
def test_train_lm_reports_divergence(stop):
    ids = _toy_corpus()
    model = _BlowsUp(6, 8, 16, stateful=True, rng=0)
    kwargs = dict(batch_size=4, seq_len=20, epochs=2, progress=False, log=None, stop_on_nan=stop)
    if not stop:
        with pytest.raises(FloatingPointError, match="diverged at step 5"):
            train_lm(model, SGD(0.1), ids, None, **kwargs)
        return
    hist = train_lm(model, SGD(0.1), ids, None, **kwargs)
    assert hist["diverged"] and hist["steps"] == 4
    assert np.isnan(hist["loss"][-1]) and len(hist["loss"]) == 5


def test_train_lm_validates_before_training():
    model = RNNLM(6, 4, 4, stateful=True, rng=0)
    with pytest.raises(ValueError, match="too short"):
        train_lm(model, SGD(0.1), _toy_corpus(), np.arange(5), batch_size=4, seq_len=10, progress=False)
    with pytest.raises(ValueError, match="max_norm"):
        train_lm(model, SGD(0.1), _toy_corpus(), None, max_norm=0.0, progress=False)


def test_sample_is_deterministic_and_valid():
    model = RNNLM(6, 4, 8, stateful=True, rng=0)
    a = sample(model, np.array([0, 1]), 20, rng=5)
    b = sample(model, np.array([0, 1]), 20, rng=5)
    assert a.shape == (20,) and a.dtype == np.int64
    assert np.array_equal(a, b)
    assert a.min() >= 0 and a.max() < 6
    with pytest.raises(ValueError, match="prompt_ids is empty"):
        sample(model, np.array([], dtype=np.int64), 5)
    with pytest.raises(ValueError, match="temperature"):
        sample(model, np.array([1]), 5, temperature=0)


def test_evaluate_perplexity_turns_dropout_off():
    from rnnbook.models.lm import LanguageModel
    ids = _toy_corpus(600)
    model = LanguageModel(6, 4, 8, cell="rnn", dropout=0.5, stateful=True, rng=0)
    first = evaluate_perplexity(model, ids, 4, 10)
    assert evaluate_perplexity(model, ids, 4, 10) == first     # no random dropout masks at evaluation


# --------------------------------------------------------------------------- the training core
class _Quadratic:
    """loss = sum(w * x) ** 2 / 2 for a batch (x,): a model with the training interface and known gradients."""

    def __init__(self, w):
        self.params, self.grads = [np.array(w, dtype=np.float64)], [np.zeros(len(w))]

    def forward(self, x):
        self._x = np.asarray(x, dtype=np.float64)
        self._s = float(self.params[0] @ self._x)
        return 0.5 * self._s ** 2

    def backward(self):
        self.grads[0][...] = self._s * self._x


def test_train_step_clips_with_the_global_norm_and_updates():
    model = _Quadratic([3.0, 4.0])
    loss, norm = train_step(model, SGD(1.0), (np.array([1.0, 0.0]),), max_norm=1.0)
    assert loss == 4.5 and norm == pytest.approx(3.0)           # gradient (3, 0) before clipping
    np.testing.assert_allclose(model.params[0], [3.0 - 1.0, 4.0], rtol=1e-6)
    _, norm = train_step(model, SGD(1.0), (np.array([0.0, 1.0]),))   # no clipping: just the norm
    assert norm == pytest.approx(4.0)


def test_train_step_leaves_parameters_alone_when_not_finite():
    model = _Quadratic([np.inf, 1.0])
    loss, norm = train_step(model, SGD(1.0), (np.array([1.0, 1.0]),), max_norm=1.0)
    assert not np.isfinite(loss) and np.isnan(norm)
    assert model.params[0][1] == 1.0


def test_fit_runs_epochs_with_hooks_and_weighted_means():
    model, calls = _Quadratic([1.0, 1.0]), []
    batches = lambda epoch: (((np.array([1.0, 0.0]),), 3), ((np.array([0.0, 1.0]),), 1))  # noqa: E731
    state = fit(model, SGD(0.1), batches, epochs=2, on_epoch_start=lambda s: calls.append(("start", s.epoch)),
                on_epoch_end=lambda s, mean: calls.append(("end", s.epoch, mean)))
    assert state.steps == 4 and len(state.history["loss"]) == 4 and state.finished
    losses = state.history["loss"]
    assert calls[0] == ("start", 1) and calls[1][:2] == ("end", 1)
    assert calls[1][2] == pytest.approx((3 * losses[0] + losses[1]) / 4)
    state = fit(_Quadratic([1.0, 1.0]), SGD(0.1), batches, epochs=5, max_steps=3)
    assert state.steps == 3


def test_fit_stops_or_raises_on_divergence():
    batches = lambda epoch: (((np.array([1.0, 1.0]),), 1) for _ in range(3))  # noqa: E731
    state = fit(_Quadratic([np.nan, 1.0]), SGD(0.1), batches, epochs=2)
    assert state.history["diverged"] and state.steps == 0
    with pytest.raises(FloatingPointError, match="diverged at step 1"):
        fit(_Quadratic([np.nan, 1.0]), SGD(0.1), batches, epochs=2, on_nonfinite="raise")
    with pytest.raises(ValueError, match="on_nonfinite"):
        fit(_Quadratic([1.0, 1.0]), SGD(0.1), batches, epochs=1, on_nonfinite="ignore")


def test_shuffled_batches_cover_every_row_once_per_epoch():
    x, y = np.arange(10)[:, None], np.arange(10)
    batches = shuffled_batches((x, y), 4, seed=0, dtypes=(np.float32, None))
    first = list(batches(1))
    assert [w for _, w in first] == [4, 4, 2]
    assert sorted(np.concatenate([b[1] for b, _ in first]).tolist()) == list(range(10))
    assert all(b[0].dtype == np.float32 and (b[0][:, 0] == b[1]).all() for b, _ in first)
    second = np.concatenate([b[1] for b, _ in batches(2)])
    assert not np.array_equal(second, np.concatenate([b[1] for b, _ in first]))


def test_train_state_needs_a_path_to_checkpoint():
    with pytest.raises(ValueError, match="checkpoint_every needs a checkpoint_path"):
        TrainState(every=5)

"""Tests of rnnbook.train: truncated-BPTT batches, evaluation, the training loop and sampling."""
import numpy as np
import pytest

from rnnbook.models import RNNLM
from rnnbook.optim import SGD, Adam
from rnnbook.train import evaluate_perplexity, sample, tbptt_batches, train_lm


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


def test_ch02_clip_exercise_agrees_with_library():
    """The clip_grad_norm exercise returns copies, the library clips in place: same numbers."""
    from rnnbook.grading import exercises_for, reference_functions
    from rnnbook.optim import clip_grad_norm
    ex = {e.name: e for e in exercises_for("02_bptt")}["clip_grad_norm"]
    ref = reference_functions("02_bptt")["clip_grad_norm"]
    for case in ex.make_cases():
        expected, norm_ref = ref(**case)
        grads = [g.copy() for g in case["grads"]]
        norm = clip_grad_norm(grads, case["max_norm"])
        assert norm == pytest.approx(norm_ref, rel=1e-12)
        for g, e in zip(grads, expected):
            np.testing.assert_allclose(g, e, rtol=1e-12)


def test_evaluate_perplexity_turns_dropout_off():
    from rnnbook.models.lm import LanguageModel
    ids = _toy_corpus(600)
    model = LanguageModel(6, 4, 8, cell="rnn", dropout=0.5, stateful=True, rng=0)
    first = evaluate_perplexity(model, ids, 4, 10)
    assert evaluate_perplexity(model, ids, 4, 10) == first     # no random dropout masks at evaluation

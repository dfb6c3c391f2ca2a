"""rnnbook.generate: the sampling distribution (temperature, top-k) and the generation loop."""
import numpy as np
import pytest

from rnnbook.functions import softmax
from rnnbook.generate import generate, sampling_distribution
from rnnbook.models import LanguageModel


def test_temperature_one_is_the_softmax_and_temperature_reshapes():
    z = np.random.default_rng(0).standard_normal((3, 8)) * 2
    np.testing.assert_allclose(sampling_distribution(z), softmax(z))
    sharp, flat = sampling_distribution(z, 0.3), sampling_distribution(z, 5.0)
    np.testing.assert_allclose(sharp.sum(axis=-1), 1.0)
    assert np.all(sharp.max(axis=-1) > softmax(z).max(axis=-1))
    assert np.all(flat.max(axis=-1) < softmax(z).max(axis=-1))
    np.testing.assert_array_equal(sharp.argmax(axis=-1), z.argmax(axis=-1))
    cold = sampling_distribution(z, 1e-4)                       # tends to greedy
    np.testing.assert_allclose(cold, np.eye(8)[z.argmax(axis=-1)], atol=1e-12)


def test_top_k_keeps_exactly_k_tokens_ties_to_lower_id():
    z = np.array([1.0, 3.0, 2.0, 3.0, 0.5])
    p = sampling_distribution(z, top_k=2)
    assert np.count_nonzero(p) == 2 and p[1] == pytest.approx(0.5) and p[3] == pytest.approx(0.5)
    p = sampling_distribution(z, top_k=1)                      # tie between ids 1 and 3: the lower id wins
    np.testing.assert_array_equal(p, [0, 1, 0, 0, 0])
    p = sampling_distribution(z, top_k=3)
    kept = np.exp(z[[1, 2, 3]])
    np.testing.assert_allclose(p[[1, 2, 3]], kept / kept.sum())
    np.testing.assert_allclose(sampling_distribution(z, top_k=5), softmax(z))


def test_huge_logits_are_stable():
    p = sampling_distribution(np.array([[1e4, -1e4, 0.0]]), 0.5, top_k=2)
    assert np.isfinite(p).all() and p[0, 0] == pytest.approx(1.0)


def _model(V=9, stateful=True):
    return LanguageModel(V, 6, 8, cell="lstm", stateful=stateful, rng=3, dtype=np.float64)


def test_generate_greedy_follows_the_argmax_path():
    model = _model()
    prompt = np.array([1, 4, 2])
    out = generate(model, prompt, 6, greedy=True)
    assert out.shape == (1, 6) and out.dtype == np.int64
    ids = list(prompt)
    for _ in range(6):                                            # the slow way: re-read the whole text
        model.reset_state()
        ids.append(int(model.predict(np.array([ids]))[0, -1].argmax()))
    assert out[0].tolist() == ids[3:]
    np.testing.assert_array_equal(generate(model, prompt, 6, top_k=1, rng=5), out)   # top-1 sampling = greedy


def test_generate_works_on_a_non_stateful_model_and_restores_it():
    model = _model(stateful=False)
    a = generate(model, np.array([3]), 5, greedy=True)
    b = generate(_model(stateful=True), np.array([3]), 5, greedy=True)
    np.testing.assert_array_equal(a, b)
    assert all(layer.stateful is False for layer in model.recurrent)


def test_generate_is_seeded_and_samples_from_the_distribution():
    model = _model()
    prompt = np.array([0])
    a = generate(model, prompt, 4, temperature=1.3, num_samples=3, rng=7)
    np.testing.assert_array_equal(a, generate(model, prompt, 4, temperature=1.3, num_samples=3, rng=7))
    # the first generated token: its frequencies over many samples match the sampling distribution
    model.reset_state()
    p = sampling_distribution(model.predict(prompt[None])[0, -1], 1.3, top_k=4)
    first = generate(model, prompt, 1, temperature=1.3, top_k=4, num_samples=20000, rng=1)[:, 0]
    freq = np.bincount(first, minlength=p.size) / first.size
    assert np.all(freq[p == 0] == 0)
    assert np.abs(freq - p).max() < 0.02


def test_generate_bad_inputs():
    model = _model()
    with pytest.raises(ValueError, match="prompt_ids is empty"):
        generate(model, np.array([], dtype=int), 3)
    with pytest.raises(ValueError, match="prompt_ids must have 1 dimensions, got shape"):
        generate(model, np.array([[1, 2]]), 3)
    with pytest.raises(ValueError, match="length must be a positive integer, got 0"):
        generate(model, np.array([1]), 0)
    with pytest.raises(ValueError, match=r"top_k must be None or an integer from 1 to the vocabulary size 9, got 10"):
        generate(model, np.array([1]), 2, top_k=10)
    with pytest.raises(ValueError, match=r"ids contains token id\(s\) outside the vocabulary"):
        generate(model, np.array([12]), 2)
    with pytest.raises(ValueError, match="temperature must be a positive finite number, got 0"):
        sampling_distribution(np.zeros(3), 0)
    with pytest.raises(TypeError, match="temperature must be a positive number, got str"):
        sampling_distribution(np.zeros(3), "hot")
    with pytest.raises(TypeError, match="logits must be a floating-point array, got dtype int64"):
        sampling_distribution(np.arange(3))
    with pytest.raises(ValueError, match="logits contains NaN or inf"):
        sampling_distribution(np.array([0.0, np.nan]))
    with pytest.raises(ValueError, match=r"top_k must be None or an integer from 1 to the vocabulary size 3, got 0"):
        sampling_distribution(np.zeros(3), top_k=0)

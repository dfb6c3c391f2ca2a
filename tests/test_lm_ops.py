"""rnnbook.lm_ops: gradient checks (float64), agreement with the layers the models use, bad inputs."""
import numpy as np
import pytest

from rnnbook.gradcheck import numerical_gradient, rel_error
from rnnbook.layers import Embedding, SoftmaxCrossEntropy
from rnnbook.lm_ops import (embedding_backward, embedding_forward, perplexity_from_losses, softmax_cross_entropy,
                            tied_embedding_grad)
from rnnbook.models import LanguageModel
from rnnbook.train import evaluate_perplexity, tbptt_batches


def test_embedding_forward_and_backward_gradient():
    rng = np.random.default_rng(0)
    V, D = 5, 3
    ids = rng.integers(0, V, size=(3, 6))
    W = rng.standard_normal((V, D))
    R = rng.standard_normal((3, 6, D))
    np.testing.assert_array_equal(embedding_forward(ids, W), W[ids])
    numeric = numerical_gradient(lambda: float(np.sum(embedding_forward(ids, W) * R)), W)
    assert rel_error(embedding_backward(R, ids, V), numeric) < 1e-6


def test_embedding_backward_adds_repeated_tokens_and_matches_the_layer():
    ids = np.array([[2, 0, 2], [1, 2, 3]])
    dW = embedding_backward(np.ones((2, 3, 1)), ids, 5)
    np.testing.assert_array_equal(dW.ravel(), [1, 1, 3, 1, 0])
    layer = Embedding(5, 4, rng=0, dtype=np.float64)
    dout = np.random.default_rng(1).standard_normal((2, 3, 4))
    layer.forward(ids)
    layer.backward(dout)
    np.testing.assert_allclose(embedding_backward(dout, ids, 5), layer.grads[0])


@pytest.mark.parametrize("ignore_index", [-1, 0])
def test_softmax_cross_entropy_gradient_and_padding(ignore_index):
    rng = np.random.default_rng(2)
    N, T, V = 2, 5, 6
    logits = rng.standard_normal((N, T, V))
    targets = rng.integers(1, V, size=(N, T))
    targets[1, 3:] = ignore_index
    loss, d = softmax_cross_entropy(logits, targets, ignore_index)
    numeric = numerical_gradient(lambda: softmax_cross_entropy(logits, targets, ignore_index)[0], logits)
    assert rel_error(d, numeric) < 1e-6
    assert np.all(d[1, 3:] == 0)
    layer = SoftmaxCrossEntropy(ignore_index=ignore_index)
    assert np.isclose(loss, layer.forward(logits, targets))
    np.testing.assert_allclose(d, layer.backward(), atol=1e-12)


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[[1000.0, 0.0, -1000.0]]])
    loss, d = softmax_cross_entropy(logits, np.array([[0]]))
    assert loss == pytest.approx(0.0) and np.isfinite(d).all()


def test_perplexity_from_losses_weights_batches_by_their_tokens():
    assert perplexity_from_losses(np.array([4.0, 5.0]), np.array([30, 10])) == pytest.approx(np.exp(4.25))
    assert perplexity_from_losses(np.array([np.log(7.0)]), np.array([3])) == pytest.approx(7.0)


def test_perplexity_from_losses_agrees_with_evaluate_perplexity():
    V = 11
    model = LanguageModel(V, 4, 5, cell="lstm", stateful=True, rng=0, dtype=np.float64)
    ids = np.random.default_rng(3).integers(0, V, size=200)
    batches = tbptt_batches(ids, 4, 7)
    model.reset_state()
    losses = np.array([model.forward(x, y, train=False) for x, y in batches])
    counts = np.full(len(losses), 4 * 7)
    assert perplexity_from_losses(losses, counts) == pytest.approx(evaluate_perplexity(model, ids, 4, 7))


def test_tied_embedding_grad_is_the_tied_models_embedding_gradient():
    """Run a tied model, capture the pieces, and compare with the model's own gradient of E."""
    V, D = 7, 4
    model = LanguageModel(V, D, D, cell="lstm", tie_weights=True, rng=4, dtype=np.float64)
    rng = np.random.default_rng(5)
    x, y = rng.integers(0, V, size=(2, 5)), rng.integers(0, V, size=(2, 5))
    model.forward(x, y, train=False)
    hs = model.out._x.copy()
    model.backward()
    dlogits = model.loss_layer.backward()
    d_embedded = model.recurrent[0].backward(model.out.backward(dlogits))
    np.testing.assert_allclose(tied_embedding_grad(x, d_embedded, hs, dlogits), model.grads[0], atol=1e-12)
    # and a finite-difference check of the function itself, for L = sum(E[ids] * R1) + sum((hs @ E.T) * R2)
    E = rng.standard_normal((V, D))
    R1, R2 = rng.standard_normal((2, 5, D)), rng.standard_normal((2, 5, V))
    numeric = numerical_gradient(lambda: float(np.sum(E[x] * R1) + np.sum((hs @ E.T) * R2)), E)
    assert rel_error(tied_embedding_grad(x, R1, hs, R2), numeric) < 1e-6


def test_bad_inputs_name_the_argument():
    W = np.zeros((4, 2))
    with pytest.raises(ValueError, match=r"ids contains token id\(s\) outside the vocabulary \[0, 4\)"):
        embedding_forward(np.array([[5]]), W)
    with pytest.raises(TypeError, match="ids must be an integer array"):
        embedding_forward(np.array([[0.5]]), W)
    with pytest.raises(ValueError,
                       match=r"dout must have shape ids.shape \+ \(D,\) = \(1, 2\) \+ \(D,\), got \(1, 3, 2\)"):
        embedding_backward(np.zeros((1, 3, 2)), np.array([[0, 1]]), 4)
    with pytest.raises(ValueError, match="vocab_size must be a positive integer, got 0"):
        embedding_backward(np.zeros((1, 2, 2)), np.array([[0, 1]]), 0)
    with pytest.raises(ValueError, match=r"targets must have shape \(2, 3\).*got \(2, 4\)"):
        softmax_cross_entropy(np.zeros((2, 3, 5)), np.zeros((2, 4), dtype=int))
    with pytest.raises(ValueError, match="every target is ignore_index"):
        softmax_cross_entropy(np.zeros((1, 2, 5)), np.full((1, 2), -1))
    with pytest.raises(ValueError, match=r"counts must have shape \(2,\), got \(3,\)"):
        perplexity_from_losses(np.array([1.0, 2.0]), np.array([1, 2, 3]))
    with pytest.raises(ValueError, match="positive total"):
        perplexity_from_losses(np.array([1.0]), np.array([0]))
    with pytest.raises(ValueError, match=r"hs must have shape \(1, 2, \*\), got \(1, 3, 2\)"):
        tied_embedding_grad(np.array([[0, 1]]), np.zeros((1, 2, 2)), np.zeros((1, 3, 2)), np.zeros((1, 2, 4)))

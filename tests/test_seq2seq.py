"""Encoder-decoder models (rnnbook.models.seq2seq): gradient checks, decoding, training, bad inputs."""
import numpy as np
import pytest

from rnnbook.decode import greedy_decode
from rnnbook.gradcheck import check_model, numerical_gradient, rel_error
from rnnbook.lstm import lstm_forward
from rnnbook.models.seq2seq import (AttentionSeq2Seq, Decoder, Encoder, PeekyDecoder, PeekySeq2Seq, Seq2Seq,
                                    encoder_forward, exact_match, peek_concat, peek_concat_backward)
from rnnbook.train import fit_seq2seq

V, D, H = 7, 3, 4
MODELS = [Seq2Seq, PeekySeq2Seq, AttentionSeq2Seq]


def batch(seed=0, N=3, S=5, L=5):
    rng = np.random.default_rng(seed)
    src = rng.integers(0, V, size=(N, S))
    tgt = rng.integers(3, V, size=(N, L))
    tgt[:, 0] = 1
    tgt[0, 3:] = 0                    # padding, ignored by the loss
    return src, tgt


@pytest.mark.parametrize("cls", MODELS)
def test_model_gradients(cls):
    model = cls(V, D, H, pad_id=0, rng=1, dtype=np.float64)
    src, tgt = batch()
    for k, err in enumerate(check_model(model, src, tgt)):
        assert err < 1e-6, f"{cls.__name__} param {k} shape {model.params[k].shape}: rel error {err:.2e}"


@pytest.mark.parametrize("dec_cls", [Decoder, PeekyDecoder])
def test_decoder_layer_gradients_including_the_encoder_state(dec_cls):
    dec = dec_cls(V, D, H, rng=2, dtype=np.float64)
    rng = np.random.default_rng(3)
    ids = rng.integers(0, V, size=(2, 4))
    h = rng.standard_normal((2, H)) * 0.5
    R = rng.standard_normal((2, 4, V))
    dec.forward(ids, h)
    dh = dec.backward(R)
    f = lambda: float(np.sum(dec.forward(ids, h) * R))
    assert rel_error(dh, numerical_gradient(f, h)) < 1e-6
    dec.forward(ids, h)
    dec.backward(R)
    analytic = [g.copy() for g in dec.grads]
    for k, p in enumerate(dec.params):
        assert rel_error(analytic[k], numerical_gradient(f, p)) < 1e-6, k


def test_peek_concat_and_its_backward():
    rng = np.random.default_rng(4)
    xs, h = rng.standard_normal((2, 3, 5)), rng.standard_normal((2, 4))
    out = peek_concat(xs, h)
    assert out.shape == (2, 3, 9)
    assert (out[:, :, :5] == xs).all() and (out[:, 1, 5:] == h).all()
    R = rng.standard_normal(out.shape)
    dxs, dh = peek_concat_backward(R, 5)
    assert rel_error(dxs, numerical_gradient(lambda: float(np.sum(peek_concat(xs, h) * R)), xs)) < 1e-6
    assert rel_error(dh, numerical_gradient(lambda: float(np.sum(peek_concat(xs, h) * R)), h)) < 1e-6


def test_encoder_matches_encoder_forward_and_lstm_forward():
    enc = Encoder(V, D, H, rng=5, dtype=np.float64)
    src, _ = batch(1)
    h = enc.forward(src)
    E = enc.embed.params[0]
    Wx, Wh, b = enc.lstm.params
    assert np.allclose(h, encoder_forward(src, E, Wx, Wh, b))
    hs, _ = lstm_forward(E[src], np.zeros((3, H)), np.zeros((3, H)), Wx, Wh, b)
    assert np.allclose(h, hs[:, -1])


@pytest.mark.parametrize("cls", MODELS)
def test_step_agrees_with_teacher_forced_forward(cls):
    """Decoding one step at a time gives the same distributions as the whole-sequence forward pass."""
    model = cls(V, D, H, rng=6, dtype=np.float64)
    src, tgt = batch(2)
    tgt[0, 3:] = 4
    model.forward(src, tgt)
    logits = model.decoder.affine._x @ model.decoder.affine.params[0] + model.decoder.affine.params[1]
    state = model.start_state(src)
    for t in range(tgt.shape[1] - 1):
        lp, state = model.step(tgt[:, t], state)
        z = logits[:, t] - logits[:, t].max(-1, keepdims=True)
        assert np.allclose(lp, z - np.log(np.exp(z).sum(-1, keepdims=True)))


def test_generate_is_greedy_and_beam_one_matches():
    model = PeekySeq2Seq(V, D, H, rng=7)
    src, _ = batch(3)
    out = model.generate(src, 1, 6, end_id=2)
    assert out.shape == (3, 6)
    assert (out == greedy_decode(model.step, model.start_state(src), 1, 6, 2)).all()
    ids, _ = model.beam_search(src, 1, 6, 1, end_id=2)
    assert (ids == out).all()


def test_attention_weights_shape_and_sum():
    model = AttentionSeq2Seq(V, D, H, rng=8)
    src, tgt = batch(4)
    w = model.attention_weights(src, tgt)
    assert w.shape == (3, 4, 5) and np.allclose(w.sum(-1), 1, atol=1e-5)


def test_training_learns_to_copy():
    """A small model learns to copy a short sequence: the whole pipeline works end to end."""
    rng = np.random.default_rng(0)
    src = rng.integers(3, 8, size=(600, 3))
    tgt = np.concatenate([np.ones((600, 1), int), src, np.full((600, 1), 2)], axis=1)
    model = PeekySeq2Seq(8, 8, 32, rng=0)
    hist = fit_seq2seq(model, src, tgt, epochs=15, batch_size=32, lr=1e-2, seed=0)
    assert hist["loss"][-1] < 0.3 * hist["loss"][0]
    out = model.generate(src[:100], 1, 4, end_id=2)
    assert (out[:, :3] == src[:100]).all(axis=1).mean() > 0.8


def test_exact_match():
    assert exact_match(["1", "2", "3"], ["1", "2", "4"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="same length"):
        exact_match(["1"], ["1", "2"])


def test_bad_inputs():
    model = Seq2Seq(V, D, H)
    src, tgt = batch()
    with pytest.raises(ValueError, match="src and tgt must have the same batch size"):
        model.forward(src, tgt[:2])
    with pytest.raises(ValueError, match="tgt must have at least 2 columns"):
        model.forward(src, tgt[:, :1])
    with pytest.raises(ValueError, match=r"src contains token id\(s\) outside the vocabulary \[0, 7\)"):
        model.forward(src + 10, tgt)
    with pytest.raises(TypeError, match="src must be an integer array"):
        model.forward(src.astype(float), tgt)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        Seq2Seq(V, D, 0)
    with pytest.raises(ValueError, match="pad_id must be an integer id"):
        Seq2Seq(V, D, H, pad_id=7)
    with pytest.raises(ValueError, match="D must be an integer in"):
        peek_concat_backward(np.zeros((2, 3, 4)), 4)
    with pytest.raises(ValueError, match=r"h must have shape \(2, \*\)"):
        peek_concat(np.zeros((2, 3, 4)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        fit_seq2seq(model, src, tgt, epochs=0)


def test_attention_model_masks_the_source_padding():
    src, tgt = batch(5)
    src[1, 3:] = 0                                     # padding at the end of row 1
    masked = AttentionSeq2Seq(V, D, H, rng=9, dtype=np.float64)
    w = masked.attention_weights(src, tgt)
    assert (w[src[:, None, :].repeat(w.shape[1], 1) == 0] == 0).all() and np.allclose(w.sum(-1), 1)
    unmasked = AttentionSeq2Seq(V, D, H, rng=9, dtype=np.float64, mask_padding=False)
    assert (unmasked.attention_weights(src, tgt)[1, :, 3:] > 0).all()
    assert len(masked.start_state(src)) == 4 and len(unmasked.start_state(src)) == 3
    # decoding carries the mask in its state: greedy and a width-1 beam agree, a wider beam runs
    out = masked.generate(src, 1, 5, end_id=2)
    assert (masked.beam_search(src, 1, 5, 1, end_id=2)[0] == out).all()
    assert masked.beam_search(src, 1, 5, 3, end_id=2)[0].shape == (3, 5)


def test_check_model_catches_a_wrong_gradient():
    model = Seq2Seq(V, D, H, pad_id=0, rng=1, dtype=np.float64)
    src, tgt = batch()
    backward = model.backward

    def wrong():
        backward()
        model.grads[0] *= 1.1                          # one parameter's gradient 10 % off

    model.backward = wrong
    errors = check_model(model, src, tgt)
    assert errors[0] > 1e-3 and max(errors[1:]) < 1e-6

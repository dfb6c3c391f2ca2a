"""The image captioner (rnnbook.models.captioner): gradient checks, decoding, training, bad inputs."""
import numpy as np
import pytest

from rnnbook.conv import Conv2D
from rnnbook.data.captions import (END_ID, START_ID, caption_vocab, decode_captions, encode_captions,
                                   shape_captions)
from rnnbook.decode import beam_search, greedy_decode
from rnnbook.gradcheck import check_layer, check_model, numerical_gradient, rel_error
from rnnbook.layers import SoftmaxCrossEntropy
from rnnbook.models.captioner import (Annotations, CNNEncoder, Captioner, InitState, annotations_backward,
                                      annotations_forward, caption_images, init_state_backward,
                                      init_state_forward, masked_cross_entropy)
from rnnbook.train import fit_captioner

V = 7


def batch(seed=0, N=3, L=5, shape=(2, 8, 8)):
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((N,) + shape)
    caps = rng.integers(3, V, size=(N, L))
    caps[:, 0] = START_ID
    caps[0, 3] = END_ID
    caps[0, 4:] = 0                       # padding, ignored by the loss
    return images, caps


@pytest.mark.parametrize("conditioning", ["init", "peeky", "attention"])
def test_model_gradients(conditioning):
    model = Captioner(V, (2, 8, 8), conditioning=conditioning, channels=(2, 3), embed_size=3, hidden_size=4,
                      rng=1, dtype=np.float64)
    images, caps = batch()
    # encoder (2 conv layers: W, b each), bridge (W, b), annotations (Wp, P) with attention, decoder
    assert len(model.params) == 4 + 2 + 2 * (conditioning == "attention") + len(model.decoder.params)
    for k, err in enumerate(check_model(model, images, caps)):
        assert err < 1e-6, f"{conditioning} param {k} shape {model.params[k].shape}: rel error {err:.2e}"


@pytest.mark.parametrize("conditioning", ["init", "attention"])
def test_frozen_encoder_has_no_parameters_in_the_model_and_is_not_changed(conditioning):
    enc = CNNEncoder((2, 8, 8), (2, 3), rng=0, dtype=np.float64)
    model = Captioner(V, (2, 8, 8), conditioning=conditioning, encoder=enc, train_encoder=False, embed_size=3,
                      hidden_size=4, rng=1, dtype=np.float64)
    assert len(model.params) == 2 + 2 * (conditioning == "attention") + len(model.decoder.params)
    images, caps = batch(1)
    model.forward(images, caps)
    model.backward()
    analytic = [g.copy() for g in model.grads]
    for k, p in enumerate(model.params):
        assert rel_error(analytic[k], numerical_gradient(lambda: model.forward(images, caps), p)) < 1e-6
    before = [p.copy() for p in enc.params]
    bridge_before = model.bridge.params[0].copy()
    fit_captioner(model, images, caps, epochs=2, batch_size=2, lr=0.1)
    assert all(np.array_equal(a, b) for a, b in zip(before, enc.params))
    assert not np.array_equal(bridge_before, model.bridge.params[0])


def test_encoder_and_bridge_layers_gradcheck():
    enc = CNNEncoder((2, 4, 8), (3,), rng=2, dtype=np.float64)
    for layer in enc.layers:
        if isinstance(layer, Conv2D):
            layer.input_grad = True                  # so that check_layer also checks the images' gradient
    images = np.random.default_rng(3).standard_normal((2, 2, 4, 8))
    assert enc.forward(images).shape == (2, enc.feature_size) and enc.feature_size == 3 * 2 * 4
    rng = np.random.default_rng(4)
    R = rng.standard_normal((2, enc.feature_size))
    enc.forward(images)
    enc.backward(R)
    analytic = [g.copy() for g in enc.grads]
    f = lambda: float(np.sum(enc.forward(images) * R))
    for a, p in zip(analytic, enc.params):
        assert rel_error(a, numerical_gradient(f, p)) < 1e-6
    bridge = InitState(5, 4, rng=5, dtype=np.float64)
    errors = check_layer(bridge, [rng.standard_normal((3, 5))])
    assert max(errors.values()) < 1e-6 and set(errors) == {"param0", "param1", "input0"}


def test_init_state_functions():
    rng = np.random.default_rng(6)
    feats, W, b = rng.standard_normal((3, 5)), rng.standard_normal((5, 4)), rng.standard_normal(4)
    h0 = init_state_forward(feats, W, b)
    assert np.allclose(h0, np.tanh(feats @ W + b))
    dh0 = rng.standard_normal(h0.shape)
    f = lambda: float(np.sum(init_state_forward(feats, W, b) * dh0))
    for analytic, arr in zip(init_state_backward(dh0, feats, W, b), (feats, W, b)):
        assert rel_error(analytic, numerical_gradient(f, arr)) < 1e-6


def test_annotations_functions_and_layer():
    rng = np.random.default_rng(10)
    N, C, h, w, H = 3, 4, 2, 3, 5
    fmap = rng.standard_normal((N, C, h, w))
    feats = fmap.reshape(N, -1)                              # the CNNEncoder's flat order (channel, row, column)
    Wp, P = rng.standard_normal((C, H)), rng.standard_normal((h * w, H))
    a = annotations_forward(feats, Wp, P)
    assert a.shape == (N, h * w, H)
    for n in range(N):                                       # location s = row * w + column
        for i in range(h):
            for j in range(w):
                assert np.allclose(a[n, i * w + j], np.tanh(fmap[n, :, i, j] @ Wp + P[i * w + j]))
    da = rng.standard_normal(a.shape)
    f = lambda: float(np.sum(annotations_forward(feats, Wp, P) * da))
    for analytic, arr in zip(annotations_backward(da, feats, Wp, P), (feats, Wp, P)):
        assert analytic.shape == arr.shape
        assert rel_error(analytic, numerical_gradient(f, arr)) < 1e-6
    layer = Annotations(C, h * w, H, rng=0, dtype=np.float64)
    errors = check_layer(layer, [feats])
    assert max(errors.values()) < 1e-6 and set(errors) == {"param0", "param1", "input0"}
    assert np.allclose(layer.forward(feats), annotations_forward(feats, *layer.params))


def test_attention_weights_and_encoder_grid():
    model = Captioner(V, (2, 8, 12), conditioning="attention", channels=(2, 3), embed_size=3, hidden_size=4,
                      rng=11, dtype=np.float64)
    assert model.encoder.grid_shape == (3, 2, 3)
    assert model.annotations.params[1].shape == (6, 4)       # one position vector per location
    images, caps = batch(3, shape=(2, 8, 12))
    weights = model.attention_weights(images, caps)
    assert weights.shape == (3, caps.shape[1] - 1, 6 + 1)    # S = 2 * 3 locations, then the image state h
    assert np.allclose(weights.sum(axis=-1), 1) and (weights >= 0).all()
    hs_enc = model._condition(images)
    assert np.allclose(hs_enc[:, -1], model.encode(images))   # the last entry is the image state h
    with pytest.raises(ValueError, match="attention_weights needs a model with conditioning='attention', "
                                         "this one has 'peeky'"):
        Captioner(V, (2, 8, 8), conditioning="peeky", channels=(2,), rng=0).attention_weights(*batch())


def test_masked_cross_entropy_ignores_padding():
    rng = np.random.default_rng(7)
    logits = rng.standard_normal((2, 4, 5))
    targets = np.array([[1, 2, 0, 0], [3, 4, 2, 0]])
    loss, d = masked_cross_entropy(logits, targets, pad_id=0)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    keep = targets != 0
    assert loss == pytest.approx(-np.mean(np.take_along_axis(logp, targets[..., None], -1)[..., 0][keep]))
    assert (d[~keep] == 0).all()
    f = lambda: masked_cross_entropy(logits, targets, 0)[0]
    assert rel_error(d, numerical_gradient(f, logits)) < 1e-6
    # changing the logits at padded positions changes nothing
    logits2 = logits.copy()
    logits2[0, 2:] += 10
    assert masked_cross_entropy(logits2, targets, 0)[0] == pytest.approx(loss)
    assert loss == pytest.approx(SoftmaxCrossEntropy(ignore_index=0).forward(logits, targets))


@pytest.mark.parametrize("conditioning", ["init", "peeky", "attention"])
def test_step_agrees_with_teacher_forced_forward(conditioning):
    model = Captioner(V, (2, 8, 8), conditioning=conditioning, channels=(2,), embed_size=3, hidden_size=4, rng=8,
                      dtype=np.float64)
    images, caps = batch(2)
    logits = model.decoder.forward(caps[:, :-1], model._condition(images))
    state = model.start_state(images)
    for t in range(caps.shape[1] - 1):
        log_probs, state = model.step(caps[:, t], state)
        ref = logits[:, t] - np.log(np.exp(logits[:, t]).sum(-1, keepdims=True))
        assert np.allclose(log_probs, ref)


@pytest.mark.parametrize("conditioning", ["peeky", "attention"])
def test_input_map_changes_what_the_decoder_reads_in_training_and_decoding(conditioning):
    images, caps = batch(2)
    merge = np.arange(V)
    merge[4] = 3                                 # word 4 reads as word 3; the targets stay as they are
    kw = dict(conditioning=conditioning, channels=(2,), embed_size=3, hidden_size=4, rng=8, dtype=np.float64)
    plain, mapped = Captioner(V, (2, 8, 8), **kw), Captioner(V, (2, 8, 8), input_map=merge, **kw)
    as_read = np.where(caps == 4, 3, caps)
    assert (caps == 4).any()
    # teacher forcing: the loss of `mapped` on caps equals that of a model reading as_read, scored on caps
    logits = plain.decoder.forward(as_read[:, :-1], plain._condition(images))
    ref = plain.loss_layer.forward(logits, caps[:, 1:])
    assert mapped.forward(images, caps) == pytest.approx(ref, rel=1e-12)
    mapped.backward()
    # decoding: step reads through the map as well
    state_m, state_p = mapped.start_state(images), plain.start_state(images)
    for t in range(caps.shape[1] - 1):
        lm, state_m = mapped.step(caps[:, t], state_m)
        lp, state_p = plain.step(as_read[:, t], state_p)
        np.testing.assert_allclose(lm, lp, rtol=1e-12)
    with pytest.raises(ValueError, match="input_map"):
        Captioner(V, (2, 8, 8), input_map=np.arange(V - 1), **kw)
    with pytest.raises(ValueError, match="input_map"):
        Captioner(V, (2, 8, 8), input_map=np.full(V, V), **kw)


@pytest.mark.parametrize("conditioning", ["init", "attention"])
def test_generate_and_beam_search_use_the_generic_decoders(conditioning):
    model = Captioner(V, (2, 8, 8), conditioning=conditioning, channels=(2,), embed_size=3, hidden_size=4, rng=9)
    images = np.random.default_rng(9).standard_normal((4, 2, 8, 8)).astype(np.float32)
    ids = model.generate(images, START_ID, 6, END_ID)
    assert np.array_equal(ids, greedy_decode(model.step, model.start_state(images), START_ID, 6, END_ID))
    b1, _ = model.beam_search(images, START_ID, 6, 1, END_ID)
    assert np.array_equal(b1, ids)                         # a beam of width 1 is greedy decoding
    b3, s3 = model.beam_search(images, START_ID, 6, 3, END_ID)
    ref, ref_s = beam_search(model.step, model.start_state(images), START_ID, 6, 3, END_ID)
    assert np.array_equal(b3, ref) and np.allclose(s3, ref_s)
    assert np.array_equal(caption_images(model, images, 6, batch_size=3), ids)
    assert np.array_equal(caption_images(model, images, 6, beam_width=3, batch_size=3), b3)


def test_training_learns_a_tiny_shapes_task():
    data = shape_captions(64, seed=0, max_objects=1)
    vocab = caption_vocab(data.captions)
    caps = encode_captions(data.captions, vocab, 4)
    model = Captioner(len(vocab), (3, 24, 24), conditioning="peeky", channels=(4, 8), embed_size=8,
                      hidden_size=16, rng=0)
    hist = fit_captioner(model, data.images, caps, epochs=15, batch_size=16, lr=1e-2)
    assert hist["loss"][-1] < 0.5 * hist["loss"][0]
    pred = decode_captions(caption_images(model, data.images, 5), vocab)
    assert np.mean([p == c for p, c in zip(pred, data.captions)]) > 0.3


def test_bad_inputs_name_the_argument():
    model = Captioner(V, (2, 8, 8), channels=(2,), embed_size=3, hidden_size=4, rng=0)
    images, caps = batch()
    images = images.astype(np.float32)
    with pytest.raises(ValueError, match=r"images must have shape \(\*, 2, 8, 8\), got \(3, 2, 8, 9\): "
                                         r"axis 3 \(width W\) is 9, expected 8"):
        model.forward(np.zeros((3, 2, 8, 9), dtype=np.float32), caps)
    with pytest.raises(TypeError, match="images has dtype float64 but the layer's parameters are float32"):
        model.forward(images.astype(np.float64), caps)
    with pytest.raises(ValueError, match="images and captions must have the same batch size, got 3 and 2"):
        model.forward(images, caps[:2])
    with pytest.raises(ValueError, match=r"captions contains token id\(s\) outside the vocabulary \[0, 7\)"):
        model.forward(images, caps + 5)
    with pytest.raises(TypeError, match="captions must be an integer array of token ids, got dtype float64"):
        model.forward(images, caps.astype(float))
    with pytest.raises(ValueError, match="captions must have at least 2 columns"):
        model.forward(images, caps[:, :1])
    with pytest.raises(ValueError, match="conditioning must be 'init', 'peeky' or 'attention', got 'spatial'"):
        Captioner(V, (2, 8, 8), conditioning="spatial")
    with pytest.raises(ValueError, match=r"features must have shape \(\*, 6\), got \(2, 5\): axis 1 "
                                         r"\(C \* S = Wp.shape\[0\] \* P.shape\[0\]\) is 5, expected 6"):
        annotations_forward(np.zeros((2, 5)), np.zeros((2, 4)), np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"P must have shape \(\*, 4\), got \(3, 5\)"):
        annotations_forward(np.zeros((2, 6)), np.zeros((2, 4)), np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"da must have shape \(2, 3, 4\), got \(2, 3, 5\)"):
        annotations_backward(np.zeros((2, 3, 5)), np.zeros((2, 6)), np.zeros((2, 4)), np.zeros((3, 4)))
    att = Captioner(V, (2, 8, 8), conditioning="attention", channels=(2,), embed_size=3, hidden_size=4, rng=0)
    with pytest.raises(ValueError, match=r"features must have shape \(\*, 32\), got \(3, 30\)"):
        att.annotations.forward(np.zeros((3, 30), dtype=np.float32))
    with pytest.raises(TypeError, match="features has dtype float64 but the layer's parameters are float32"):
        att.annotations.forward(np.zeros((3, 32)))
    with pytest.raises(RuntimeError, match="Annotations.backward called before forward"):
        Annotations(2, 16, 4).backward(np.zeros((3, 16, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="locations must be a positive integer, got 0"):
        Annotations(2, 0, 4)
    with pytest.raises(ValueError, match="image height and width must be divisible by 2\\*\\*len\\(channels\\) = 4"):
        CNNEncoder((1, 8, 10), (2, 2))
    with pytest.raises(ValueError, match=r"W must have shape \(5, \*\), got \(4, 3\)"):
        init_state_forward(np.zeros((2, 5)), np.zeros((4, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"dh0 must have shape \(2, 3\), got \(2, 4\)"):
        init_state_backward(np.zeros((2, 4)), np.zeros((2, 5)), np.zeros((5, 3)), np.zeros(3))
    with pytest.raises(ValueError, match=r"targets must have shape \(2, 4\)"):
        masked_cross_entropy(np.zeros((2, 4, 5)), np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match="image_shape \\(2, 8, 8\\) differs from the encoder's \\(1, 8, 8\\)"):
        Captioner(V, (2, 8, 8), encoder=CNNEncoder((1, 8, 8), (2,)))
    with pytest.raises(ValueError, match="images and captions must have the same number of rows, got 3 and 2"):
        fit_captioner(model, images, caps[:2], epochs=1)

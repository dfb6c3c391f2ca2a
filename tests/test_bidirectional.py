"""The bidirectional encoder (rnnbook.bidirectional) and the attention model's bidirectional option."""
import numpy as np
import pytest

from rnnbook.bidirectional import BiEncoder, bidirectional_encoder_forward
from rnnbook.gradcheck import check_model, numerical_gradient, rel_error
from rnnbook.lstm import lstm_forward
from rnnbook.models.seq2seq import AttentionSeq2Seq

V, D, H = 7, 3, 4


def test_biencoder_states_are_forward_plus_backward_and_match_the_plain_function():
    enc = BiEncoder(V, D, H, rng=1, dtype=np.float64)
    src = np.random.default_rng(0).integers(0, V, size=(3, 5))
    h_last = enc.forward(src)
    E = enc.embed.params[0]
    zeros = np.zeros((3, H))
    hs_f, _ = lstm_forward(E[src], zeros, zeros, *enc.lstm.params)
    hs_b, _ = lstm_forward(E[src[:, ::-1]], zeros, zeros, *enc.lstm_back.params)
    assert np.allclose(enc.hs, hs_f + hs_b[:, ::-1])
    assert np.allclose(h_last, enc.hs[:, -1])
    summary = bidirectional_encoder_forward(src, E, *enc.lstm.params, *enc.lstm_back.params)
    assert np.allclose(summary, np.concatenate([hs_f[:, -1], hs_b[:, -1]], axis=1))


def test_biencoder_gradients_float64():
    enc = BiEncoder(V, D, H, rng=2, dtype=np.float64)
    rng = np.random.default_rng(3)
    src = rng.integers(0, V, size=(2, 5))
    R, r = rng.standard_normal((2, 5, H)), rng.standard_normal((2, H))
    f = lambda: float(np.sum(enc.forward(src) * r) + np.sum(enc.hs * R))
    f()
    enc.backward(dh=r, dhs=R)
    analytic = [g.copy() for g in enc.grads]
    for k, p in enumerate(enc.params):
        err = rel_error(analytic[k], numerical_gradient(f, p))
        assert err < 1e-6, f"param {k} shape {p.shape}: rel error {err:.2e}"


def test_bidirectional_attention_model_gradients_float64():
    model = AttentionSeq2Seq(V, D, H, bidirectional=True, rng=4, dtype=np.float64)
    assert isinstance(model.encoder, BiEncoder) and len(model.params) == 1 + 3 + 3 + 1 + 3 + 2
    rng = np.random.default_rng(5)
    src = rng.integers(0, V, size=(3, 5))
    src[1, 3:] = 0                    # source padding, masked
    tgt = rng.integers(3, V, size=(3, 5))
    tgt[:, 0] = 1
    tgt[0, 3:] = 0
    for k, err in enumerate(check_model(model, src, tgt)):
        assert err < 1e-6, f"param {k} shape {model.params[k].shape}: rel error {err:.2e}"
    state = model.start_state(src)
    assert state[2].shape == (3, 5, H)


def test_bad_source_is_named():
    with pytest.raises((ValueError, TypeError), match="src"):
        BiEncoder(V, D, H, rng=0).forward(np.array([[0, V]]))

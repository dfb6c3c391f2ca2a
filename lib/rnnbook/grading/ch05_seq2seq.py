"""Graded exercises of chapter 5 (sequence to sequence)."""
from __future__ import annotations

import numpy as np

from .core import Exercise, Question


def _lstm_weights(rng, D, H):
    return {"Wx": rng.standard_normal((D, 4 * H)) * 0.5, "Wh": rng.standard_normal((H, 4 * H)) * 0.5,
            "b": rng.standard_normal(4 * H) * 0.1}


def _encoder_cases(rng):
    cases = []
    for N, S, V, D, H in [(1, 2, 4, 2, 3), (3, 5, 6, 3, 4), (4, 7, 9, 5, 6)]:
        cases.append({"src": rng.integers(0, V, size=(N, S)), "E": rng.standard_normal((V, D)),
                      **_lstm_weights(rng, D, H)})
    return cases


def _peek_cases(rng):
    return [{"xs": rng.standard_normal((N, T, D)), "h": rng.standard_normal((N, H))}
            for N, T, D, H in [(1, 2, 2, 3), (3, 4, 5, 2), (2, 6, 3, 7)]]


def _peek_back_cases(rng):
    return [{"dout": rng.standard_normal((N, T, D + H)), "D": D}
            for N, T, D, H in [(1, 2, 2, 3), (3, 4, 5, 2), (2, 6, 3, 7)]]


def _mask(rng, N, S):
    """A padding mask: True on the first L positions of each row (L from 1 to S), as for end-padded sources."""
    lengths = rng.integers(1, S + 1, size=N)
    lengths[0] = S                        # one row without padding
    return np.arange(S)[None, :] < lengths[:, None]


def _attention_cases(rng):
    cases = [{"hs_enc": rng.standard_normal((1, 3, 2)), "hs_dec": rng.standard_normal((1, 1, 2)), "mask": None}]
    for N, S, T, H in [(2, 5, 4, 3), (3, 7, 6, 5)]:
        cases.append({"hs_enc": rng.standard_normal((N, S, H)), "hs_dec": rng.standard_normal((N, T, H)),
                      "mask": _mask(rng, N, S)})
    cases.append({"hs_enc": rng.standard_normal((2, 4, 3)) * 30, "hs_dec": rng.standard_normal((2, 3, 3)) * 30,
                  "mask": np.array([[True, True, True, False], [True, True, False, False]])})
    return cases


def _attention_backward_cases(rng):
    from ..attention import attention_forward
    cases = []
    for N, S, T, H, masked in [(1, 3, 1, 2, False), (2, 5, 4, 3, True), (3, 7, 6, 5, True)]:
        hs_enc, hs_dec = rng.standard_normal((N, S, H)), rng.standard_normal((N, T, H))
        mask = _mask(rng, N, S) if masked else None
        weights, _ = attention_forward(hs_enc, hs_dec, mask)
        cases.append({"dcontext": rng.standard_normal((N, T, H)), "weights": weights, "hs_enc": hs_enc,
                      "hs_dec": hs_dec})
    return cases


def _bidirectional_cases(rng):
    cases = []
    for N, S, V, D, H in [(1, 2, 4, 2, 3), (3, 5, 6, 3, 4), (2, 6, 7, 4, 2)]:
        fwd, bwd = _lstm_weights(rng, D, H), _lstm_weights(rng, D, H)
        cases.append({"src": rng.integers(0, V, size=(N, S)), "E": rng.standard_normal((V, D)),
                      **{k + "_f": v for k, v in fwd.items()}, **{k + "_b": v for k, v in bwd.items()}})
    return cases


def _additive_cases(rng):
    cases = []
    for N, S, T, H, A in [(1, 3, 1, 2, 2), (2, 5, 4, 3, 4), (3, 4, 6, 5, 3)]:
        cases.append({"hs_enc": rng.standard_normal((N, S, H)), "hs_dec": rng.standard_normal((N, T, H)),
                      "W1": rng.standard_normal((H, A)), "W2": rng.standard_normal((H, A)),
                      "v": rng.standard_normal(A)})
    return cases


EXERCISES = [
    Exercise(
        name="encoder_forward", points=2, cases=_encoder_cases, outputs=("h",), axes={"h": ("row", "unit")},
        library="rnnbook.models.seq2seq.encoder_forward",
        hint="Look up E[src[:, t]] for each time step t, run lstm_step_forward from zero h and c (the cell "
             "state must be carried too), and return only the last hidden state h, not c and not all states."),
    Exercise(
        name="peek_concat", points=1, cases=_peek_cases, outputs=("out",), axes={"out": ("row", "time", "unit")},
        library="rnnbook.models.seq2seq.peek_concat",
        hint="Repeat h along a new time axis (h[:, None, :], broadcast or np.repeat to T steps) and concatenate "
             "it AFTER xs on the last axis: out[:, t] = [xs[:, t], h]."),
    Exercise(
        name="peek_concat_backward", points=2, cases=_peek_back_cases, outputs=("dxs", "dh"),
        axes={"dxs": ("row", "time", "unit"), "dh": ("row", "unit")},
        library="rnnbook.models.seq2seq.peek_concat_backward",
        hint="The first D columns of dout are dxs; h was copied to every time step, so its gradient is the SUM "
             "over time of the remaining columns (not the mean, not the last step)."),
    Exercise(
        name="attention_forward", points=2, cases=_attention_cases, outputs=("weights", "context"),
        axes={"weights": ("row", "decoder step", "source position"), "context": ("row", "decoder step", "unit")},
        library="rnnbook.attention.attention_forward",
        nudge="Padding positions (mask False) must get weight exactly 0 and the other weights of a row must still "
              "sum to 1: change the scores before the softmax, not the weights after it.",
        hint="scores = hs_dec @ hs_enc.transpose(0, 2, 1) has shape (N, T, S); where mask is False set the score "
             "to -inf (np.where(mask[:, None, :], scores, -np.inf)); the softmax runs over the LAST axis (source "
             "positions), minus its maximum for stability (one case has large scores); context = weights @ hs_enc. "
             "With mask=None nothing is masked."),
    Exercise(
        name="attention_backward", points=3, cases=_attention_backward_cases, outputs=("dhs_enc", "dhs_dec"),
        axes={"dhs_enc": ("row", "source position", "unit"), "dhs_dec": ("row", "decoder step", "unit")},
        library="rnnbook.attention.attention_backward",
        nudge="Go backwards through context = weights @ hs_enc, then the softmax, then scores = hs_dec @ hs_enc^T. "
              "hs_enc is used twice (as values and as keys), so its gradient has two terms.",
        hint="dweights = dcontext @ hs_enc^T; the softmax's Jacobian-vector product row by row: dscores = "
             "weights * (dweights - (dweights * weights).sum(-1, keepdims=True)); dhs_dec = dscores @ hs_enc; "
             "dhs_enc = weights^T @ dcontext + dscores^T @ hs_dec (transpose the last two axes). Masked positions "
             "need no special case: their weight is 0."),
    Exercise(
        name="bidirectional_encoder_forward", points=2, cases=_bidirectional_cases, outputs=("h",),
        axes={"h": ("row", "unit")},
        nudge="Run two independent LSTMs over the same embedded source, one from the first character to the last "
              "and one from the last to the first, each from zero states.",
        hint="Forward: t = 0 .. S-1 with the _f weights; backward: t = S-1 .. 0 with the _b weights (both from zero "
             "h and c, with lstm_step_forward on E[src[:, t]]). Return np.concatenate([h_forward, h_backward], "
             "axis=1): the forward state first, each the LAST state of its own direction."),
    Exercise(
        name="additive_scores", points=2, cases=_additive_cases, outputs=("scores",),
        axes={"scores": ("row", "decoder step", "source position")},
        nudge="Every (decoder step t, source position s) pair gets its own tanh layer input W1 q_t + W2 h_s; "
              "broadcasting over a new axis computes all of them at once.",
        hint="a = hs_dec @ W1 (N, T, A) and b = hs_enc @ W2 (N, S, A); scores = np.tanh(a[:, :, None, :] + "
             "b[:, None, :, :]) @ v, shape (N, T, S). q_t goes through W1, h_s through W2."),
    Question(
        name="q_masked_weight", points=1, kind="number",
        prompt="the weight that masked dot-product attention gives to source position 1 of a 6-position source "
               "whose last 2 positions are padding, when all 6 scores are equal",
        explanation="The 2 padding scores become -inf and get weight 0; the 4 remaining equal scores share the "
                    "weight equally: exp(e) / (4 exp(e)) = 1/4 = 0.25 each."),
    Question(
        name="q_peeky_affine_shape", points=1, kind="shape",
        prompt="the shape of the output layer's weight W of a peeky decoder with H = 128 hidden units and a "
               "vocabulary of V = 14 characters",
        explanation="The output layer reads [h_t; h], the decoder's state next to the encoder's summary, so its "
                    "input has 2H = 256 numbers: W is (256, 14)."),
    Question(
        name="q_beam_candidates", points=1, kind="number",
        prompt="how many candidate continuations a beam of width K = 5 ranks at each decoding step, per input, "
               "for a vocabulary of V = 14",
        explanation="Each of the K hypotheses is extended by each of the V tokens: K V = 5 x 14 = 70 candidates, of "
                    "which the best 5 are kept."),
]

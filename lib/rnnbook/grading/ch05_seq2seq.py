"""Graded exercises of chapter 5 (sequence to sequence)."""
from __future__ import annotations

import numpy as np

from .core import Exercise


def _lstm_weights(rng, D, H):
    return {"Wx": rng.standard_normal((D, 4 * H)) * 0.5, "Wh": rng.standard_normal((H, 4 * H)) * 0.5,
            "b": rng.standard_normal(4 * H) * 0.1}


def _encoder_cases(rng):
    cases = []
    for N, S, V, D, H in [(1, 2, 4, 2, 3), (3, 5, 6, 3, 4), (4, 7, 9, 5, 6)]:
        cases.append({"src": rng.integers(0, V, size=(N, S)), "E": rng.standard_normal((V, D)),
                      **_lstm_weights(rng, D, H)})
    return cases


class ToyDecoderStep:
    """A small random recurrent decoder used as the step function of the greedy-decoding exercise.

    ``step(tokens (B,), (h,)) -> (log_probs (B, V), (h_next,))``.
    """

    def __init__(self, rng, V, H):
        self.V, self.H = V, H
        self.E = rng.standard_normal((V, H)) * 1.5
        self.Wh = rng.standard_normal((H, H)) / np.sqrt(H)
        self.Wo = rng.standard_normal((H, V)) * 2.0

    def __call__(self, tokens, state):
        (h,) = state
        h = np.tanh(self.E[tokens] + h @ self.Wh)
        z = h @ self.Wo
        z = z - z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True)), (h,)

    def __repr__(self):
        return f"ToyDecoderStep(V={self.V}, H={self.H})"


def _free_run(step, h0, start_id, L):
    tokens, state, out = np.full(h0.shape[0], start_id), (h0,), []
    for _ in range(L):
        lp, state = step(tokens, state)
        tokens = lp.argmax(axis=1)
        out.append(tokens)
    return np.stack(out, axis=1)


def _greedy_cases(rng):
    cases = []
    for N, V, H, L, with_end in [(1, 4, 3, 3, False), (3, 5, 4, 6, False), (6, 5, 4, 8, True), (8, 6, 5, 10, True)]:
        step, h0 = ToyDecoderStep(rng, V, H), rng.standard_normal((N, H))
        end = None
        if with_end:
            # an end token that the model emits in the middle of a row and then follows by other tokens,
            # so that a loop which ignores end_id is caught
            free = _free_run(step, h0, 1, L)
            def tested(tok):
                return sum(any(row[k] == tok and (row[k + 1:] != tok).any() for k in range(L - 1)) for row in free)
            end = int(max(range(V), key=tested))
        cases.append({"step": step, "state": (h0,), "start_id": 1, "max_len": L, "end_id": end})
    return cases


def _peek_cases(rng):
    return [{"xs": rng.standard_normal((N, T, D)), "h": rng.standard_normal((N, H))}
            for N, T, D, H in [(1, 2, 2, 3), (3, 4, 5, 2), (2, 6, 3, 7)]]


def _peek_back_cases(rng):
    return [{"dout": rng.standard_normal((N, T, D + H)), "D": D}
            for N, T, D, H in [(1, 2, 2, 3), (3, 4, 5, 2), (2, 6, 3, 7)]]


def _attention_cases(rng):
    cases = [{"hs_enc": rng.standard_normal((N, S, H)), "hs_dec": rng.standard_normal((N, T, H))}
             for N, S, T, H in [(1, 3, 1, 2), (2, 5, 4, 3), (3, 7, 6, 5)]]
    cases.append({"hs_enc": rng.standard_normal((2, 4, 3)) * 30, "hs_dec": rng.standard_normal((2, 3, 3)) * 30})
    return cases


def _beam_cases(rng):
    cases = []
    for K, V, first in [(2, 3, False), (3, 5, True), (4, 6, False), (5, 8, True)]:
        scores = -rng.random(K) * 5
        if first:
            scores[1:] = -np.inf          # the first step: only one live hypothesis
        lp = rng.standard_normal((K, V)) * 2
        lp = lp - np.log(np.exp(lp).sum(axis=1, keepdims=True))
        cases.append({"scores": scores, "log_probs": lp, "beam_width": K})
    cases.append({"scores": np.array([-0.5, -1.0]), "log_probs": np.log(np.full((2, 4), 0.25)), "beam_width": 3})
    return cases


EXERCISES = [
    Exercise(
        name="encoder_forward", points=2, cases=_encoder_cases, outputs=("h",), axes={"h": ("row", "unit")},
        library="rnnbook.models.seq2seq.encoder_forward",
        hint="Look up E[src[:, t]] for each time step t, run lstm_step_forward from zero h and c (the cell "
             "state must be carried too), and return only the last hidden state h, not c and not all states."),
    Exercise(
        name="greedy_decode", points=2, cases=_greedy_cases, outputs=("ids",), axes={"ids": ("row", "time")},
        library="rnnbook.decode.greedy_decode",
        hint="Feed start_id at the first step, then feed each step's argmax back in (not the start token again), "
             "and carry the new state. Once a row has produced end_id, every later token of that row must be "
             "end_id; with end_id=None, fill all max_len columns."),
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
        hint="scores = hs_dec @ hs_enc.transpose(0, 2, 1) has shape (N, T, S); the softmax runs over the LAST "
             "axis (source positions), minus its maximum for stability (one case has large scores); "
             "context = weights @ hs_enc."),
    Exercise(
        name="beam_step", points=2, cases=_beam_cases, outputs=("new_scores", "parents", "tokens"),
        axes={"new_scores": ("rank",), "parents": ("rank",), "tokens": ("rank",)},
        library="rnnbook.decode.beam_step",
        hint="Add scores[:, None] to log_probs, flatten the (K, V) candidates, sort them by decreasing score with "
             "a STABLE sort (np.argsort(-flat, kind='stable')), keep beam_width; parent = index // V, "
             "token = index % V."),
]

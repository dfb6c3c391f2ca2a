"""Graded exercises of chapter 4 (the LSTM language model)."""
from __future__ import annotations

import numpy as np

from .core import Exercise, Question


def _ids_with_repeats(rng, N, T, V):
    """Token ids (N, T) in which at least one token occurs more than once (V < N * T guarantees it)."""
    ids = rng.integers(0, V, size=(N, T))
    ids.flat[-1] = ids.flat[0]                   # make sure: the first token comes back at the end
    return ids


def _embedding_backward_cases(rng):
    cases = []
    for N, T, V, D in [(1, 3, 4, 2), (2, 4, 5, 3), (3, 6, 7, 4), (4, 8, 20, 5)]:
        cases.append({"dout": rng.standard_normal((N, T, D)), "ids": _ids_with_repeats(rng, N, T, V),
                      "vocab_size": V})
    return cases


def _perplexity_cases(rng):
    cases = [{"losses": np.array([4.0]), "counts": np.array([100])},
             {"losses": np.array([4.0, 5.0]), "counts": np.array([30, 10])}]
    for B in (3, 6):
        cases.append({"losses": rng.uniform(3.0, 6.0, size=B), "counts": rng.integers(1, 500, size=B)})
    return cases


def _tied_cases(rng):
    cases = []
    for N, T, V, D in [(1, 2, 4, 2), (2, 3, 5, 3), (3, 5, 8, 4)]:
        cases.append({"ids": _ids_with_repeats(rng, N, T, V), "d_embedded": rng.standard_normal((N, T, D)),
                      "hs": rng.standard_normal((N, T, D)), "dlogits": rng.standard_normal((N, T, V))})
    return cases


def _top_p_cases(rng):
    cases = []
    for shape, p in [((5,), 0.5), ((6,), 0.9), ((6,), 1.0), ((2, 8), 0.7), ((3, 9), 0.3), ((4,), 0.999)]:
        cases.append({"logits": rng.standard_normal(shape) * 2, "p": p})
    cases.append({"logits": np.array([2.0, 1.0, 1.0, 0.0]), "p": 0.6})       # the cut falls in a tie
    cases.append({"logits": rng.standard_normal((2, 6)) * 300, "p": 0.9})    # huge logits
    return cases


def _locked_dropout_cases(rng):
    cases = []
    for N, T, D, p in [(1, 2, 3, 0.5), (2, 3, 4, 0.3), (3, 5, 6, 0.1), (2, 4, 5, 0.0)]:
        cases.append({"x": rng.standard_normal((N, T, D)), "keep": rng.random((N, D)) >= p, "p": p})
    return cases


def _bpc_cases(rng):
    cases = [{"summed_losses": np.array([69.31471805599453]), "counts": np.array([100])},
             {"summed_losses": np.array([10.0, 30.0]), "counts": np.array([20, 10])}]
    for B in (3, 7):
        counts = rng.integers(1, 400, size=B)
        cases.append({"summed_losses": counts * rng.uniform(0.5, 3.0, size=B), "counts": counts})
    return cases


EXERCISES = [
    Exercise(
        name="embedding_backward", points=2, cases=_embedding_backward_cases, outputs=("dW",),
        axes={"dW": ("token", "unit")}, library="rnnbook.lm_ops.embedding_backward",
        hint="Start from zeros of shape (vocab_size, D) and ADD every dout vector to the row of its token. A "
             "token that occurs twice must receive both gradients: dW[ids] += dout keeps only one of them, "
             "np.add.at(dW, ids.reshape(-1), dout.reshape(-1, D)) adds them all."),
    Exercise(
        name="perplexity_from_losses", points=1, cases=_perplexity_cases, outputs=("perplexity",),
        library="rnnbook.lm_ops.perplexity_from_losses",
        hint="Weight each batch's mean loss by its token count, divide by the total count, and take exp of "
             "that one mean. Averaging the per-batch perplexities, or the losses without weights, is wrong."),
    Exercise(
        name="tied_embedding_grad", points=2, cases=_tied_cases, outputs=("dE",),
        axes={"dE": ("token", "unit")}, library="rnnbook.lm_ops.tied_embedding_grad",
        hint="E is used twice, so its gradient is a SUM of two parts: the embedding's scatter-add of d_embedded "
             "(np.add.at, repeated tokens add up) and the output layer's dlogits^T @ hs, with both (N, T, .) "
             "arrays reshaped to (N*T, .)."),
    Exercise(
        name="top_p_distribution", points=2, cases=_top_p_cases, outputs=("probs",),
        axes={"probs": ("word",)},
        nudge="Sort the probabilities from the largest down and walk along their running total: which words "
              "are needed before the total reaches p?",
        hint="probs = stable softmax of the logits; order = argsort of -probs (stable, so ties keep the lower "
             "index first); keep a word when the total of the words BEFORE it in that order is still < p (so "
             "the word that crosses p is kept); zero the others and renormalise over the last axis."),
    Exercise(
        name="locked_dropout", points=2, cases=_locked_dropout_cases, outputs=("y",),
        axes={"y": ("row", "time", "unit")},
        nudge="One mask per sequence, reused at every time step: keep is (N, D) but x is (N, T, D).",
        hint="y = x * keep[:, None, :] / (1 - p): the mask broadcast over the time axis, and the survivors "
             "scaled by 1 / (1 - p) so that the expected value of y is x (the backward pass is the same product)."),
    Exercise(
        name="bits_per_char", points=1, cases=_bpc_cases, outputs=("bpc",),
        nudge="The losses are SUMS over each batch's characters, in nats; bits are logarithms in base 2.",
        hint="Add all summed losses, divide by the total number of characters (a mean in nats per character), "
             "and divide by ln 2 to turn nats into bits."),
    Question(
        name="q_uniform_bpc", points=1, kind="number",
        prompt="the bits per character of a model that gives each of 128 characters the same probability",
        explanation="Every character gets p = 1/128, so the cross-entropy is -log2(1/128) = 7 bits per character "
                    "whatever the text; a model is only useful below that (the unigram model of chapter 4's "
                    "corpus needs about 4.8)."),
    Question(
        name="q_tied_saved", points=1, kind="number",
        prompt="how many parameters weight tying saves in a model with V = 10,000 words and D = H = 650",
        explanation="The output layer's (H, V) matrix is replaced by the embedding's (V, D) matrix: V x D = "
                    "10,000 x 650 = 6,500,000 numbers fewer. The output bias (V numbers) stays."),
    Question(
        name="q_dropout_mean", points=1, kind="number",
        prompt="the mean over many training steps of one output of an (inverted) dropout layer with p = 0.3 "
               "whose input is 2.0",
        explanation="The output is 0 with probability 0.3 and 2.0 / 0.7 otherwise, so its mean is "
                    "0.7 x 2.0 / 0.7 = 2.0: inverted dropout keeps the expected value, which is why evaluation "
                    "(no dropout) needs no rescaling."),
]

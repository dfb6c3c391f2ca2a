"""Graded exercises of chapter 4 (the LSTM language model)."""
from __future__ import annotations

import numpy as np

from .core import Exercise


def _ids_with_repeats(rng, N, T, V):
    """Token ids (N, T) in which at least one token occurs more than once (V < N * T guarantees it)."""
    ids = rng.integers(0, V, size=(N, T))
    ids.flat[-1] = ids.flat[0]                   # make sure: the first token comes back at the end
    return ids


def _embedding_forward_cases(rng):
    return [{"ids": rng.integers(0, V, size=(N, T)), "W": rng.standard_normal((V, D))}
            for N, T, V, D in [(1, 3, 5, 2), (2, 4, 6, 3), (3, 5, 10, 4)]]


def _embedding_backward_cases(rng):
    cases = []
    for N, T, V, D in [(1, 3, 4, 2), (2, 4, 5, 3), (3, 6, 7, 4), (4, 8, 20, 5)]:
        cases.append({"dout": rng.standard_normal((N, T, D)), "ids": _ids_with_repeats(rng, N, T, V),
                      "vocab_size": V})
    return cases


def _softmax_ce_cases(rng):
    cases = []
    for N, T, V, pad, scale in [(1, 3, 4, None, 1.0), (2, 4, 5, -1, 1.0), (3, 5, 6, -1, 1.0),
                                (2, 6, 7, 0, 1.0), (2, 4, 5, -1, 50.0)]:
        logits = rng.standard_normal((N, T, V)) * scale
        targets = rng.integers(1 if pad == 0 else 0, V, size=(N, T))
        case = {"logits": logits, "targets": targets}
        if pad is not None:
            targets[:, -2:] = pad                # padding at the end of every row...
            targets[0, 0] = pad                  # ...and one in the middle
            case["ignore_index"] = pad
        cases.append(case)
    return cases


def _perplexity_cases(rng):
    cases = [{"losses": np.array([4.0]), "counts": np.array([100])},
             {"losses": np.array([4.0, 5.0]), "counts": np.array([30, 10])}]
    for B in (3, 6):
        cases.append({"losses": rng.uniform(3.0, 6.0, size=B), "counts": rng.integers(1, 500, size=B)})
    return cases


def _sampling_cases(rng):
    cases = []
    for shape, temperature, top_k in [((5,), 1.0, None), ((6,), 0.5, None), ((6,), 2.0, None),
                                      ((7,), 1.0, 3), ((2, 8), 0.7, 2), ((3, 9), 1.5, 1), ((4,), 1.0, 4)]:
        cases.append({"logits": rng.standard_normal(shape) * 2, "temperature": temperature, "top_k": top_k})
    cases.append({"logits": rng.standard_normal((2, 6)) * 300, "temperature": 1.0, "top_k": None})
    return cases


def _tied_cases(rng):
    cases = []
    for N, T, V, D in [(1, 2, 4, 2), (2, 3, 5, 3), (3, 5, 8, 4)]:
        cases.append({"ids": _ids_with_repeats(rng, N, T, V), "d_embedded": rng.standard_normal((N, T, D)),
                      "hs": rng.standard_normal((N, T, D)), "dlogits": rng.standard_normal((N, T, V))})
    return cases


EXERCISES = [
    Exercise(
        name="embedding_forward", points=1, cases=_embedding_forward_cases, outputs=("out",),
        axes={"out": ("row", "time", "unit")}, library="rnnbook.lm_ops.embedding_forward",
        hint="Fancy indexing does the whole block at once: W[ids] has shape ids.shape + (D,). No loop and no "
             "one-hot matrix are needed."),
    Exercise(
        name="embedding_backward", points=2, cases=_embedding_backward_cases, outputs=("dW",),
        axes={"dW": ("token", "unit")}, library="rnnbook.lm_ops.embedding_backward",
        hint="Start from zeros of shape (vocab_size, D) and ADD every dout vector to the row of its token. A "
             "token that occurs twice must receive both gradients: dW[ids] += dout keeps only one of them, "
             "np.add.at(dW, ids.reshape(-1), dout.reshape(-1, D)) adds them all."),
    Exercise(
        name="softmax_cross_entropy", points=3, cases=_softmax_ce_cases, outputs=("loss", "dlogits"),
        axes={"dlogits": ("row", "time", "word")}, library="rnnbook.lm_ops.softmax_cross_entropy",
        hint="Subtract the maximum over the last axis before exp (one case has huge logits). Average the loss "
             "over the M positions whose target is NOT ignore_index (not over all N*T), and give ignored "
             "positions a zero gradient; elsewhere dlogits = (softmax - onehot(target)) / M."),
    Exercise(
        name="perplexity_from_losses", points=1, cases=_perplexity_cases, outputs=("perplexity",),
        library="rnnbook.lm_ops.perplexity_from_losses",
        hint="Weight each batch's mean loss by its token count, divide by the total count, and take exp of "
             "that one mean. Averaging the per-batch perplexities, or the losses without weights, is wrong."),
    Exercise(
        name="sampling_distribution", points=2, cases=_sampling_cases, outputs=("probs",),
        axes={"probs": ("word",)}, library="rnnbook.generate.sampling_distribution",
        hint="Divide the logits by the temperature; with top_k, set every logit outside the k largest (along "
             "the last axis) to -inf; then a stable softmax over the last axis (subtract the maximum: one case "
             "has huge logits). Logits may have a leading batch axis."),
    Exercise(
        name="tied_embedding_grad", points=2, cases=_tied_cases, outputs=("dE",),
        axes={"dE": ("token", "unit")}, library="rnnbook.lm_ops.tied_embedding_grad",
        hint="E is used twice, so its gradient is a SUM of two parts: the embedding's scatter-add of d_embedded "
             "(np.add.at, repeated tokens add up) and the output layer's dlogits^T @ hs, with both (N, T, .) "
             "arrays reshaped to (N*T, .)."),
]

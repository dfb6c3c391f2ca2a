"""Graded exercises of chapter 4 (the LSTM language model)."""
from __future__ import annotations

import numpy as np

from .core import Choice, Exercise, Experiment, Question


def _ids_with_repeats(rng, N, T, V):
    """Token ids (N, T) in which at least one token occurs more than once (V < N * T guarantees it)."""
    ids = rng.integers(0, V, size=(N, T))
    ids.flat[-1] = ids.flat[0]                   # make sure: the first token comes back at the end
    return ids


def _sparse_update_cases(rng):
    cases = []
    for N, T, V, D, lr in [(1, 3, 4, 2, 0.1), (2, 4, 9, 3, 0.5), (3, 6, 12, 4, 0.01), (4, 8, 40, 5, 1.0)]:
        cases.append({"W": rng.standard_normal((V, D)), "dout": rng.standard_normal((N, T, D)),
                      "ids": _ids_with_repeats(rng, N, T, V), "lr": lr})
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


def _check_lm_config(config) -> tuple[float, bool]:
    """The learner's configuration as ``(dropout, tie_weights)``, or a ValueError that names the problem."""
    if not isinstance(config, dict) or set(config) != {"dropout", "tie_weights"}:
        got = sorted(config) if isinstance(config, dict) else type(config).__name__
        raise ValueError(f"lm_config must be a dict with exactly the keys 'dropout' and 'tie_weights', got {got}")
    dropout, tie = config["dropout"], config["tie_weights"]
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout <= 0.9:
        raise ValueError(f"lm_config['dropout'] must be a number from 0 to 0.9, got {dropout!r}")
    if not isinstance(tie, bool):
        raise ValueError(f"lm_config['tie_weights'] must be True or False, got {tie!r}")
    return float(dropout), tie


def train_ladder_lm(config, seed):
    """Train a one-layer LSTM language model of the chapter's ladder (``CONFIGS["ladder"]`` of
    ``rnnbook.recipes.ch04_lm``: 20,000 training tokens, 1000 words, D = H = 200, 8 epochs, the first 8,000
    validation tokens) with the learner's dropout and tying, from the initial weights of ``seed``; return the
    validation perplexity after the LAST epoch (no early stopping, so over-fitting shows). Runs in a process
    that holds no learner code."""
    from ..models import LanguageModel
    from ..optim import Adam
    from ..recipes.ch04_lm import CONFIGS, load_data
    from ..train import train_lm

    dropout, tie = _check_lm_config(config)
    c = CONFIGS["ladder"]
    data = load_data(c)
    model = LanguageModel(len(data["vocab"]), c["embed_size"], c["hidden_size"], cell="lstm", num_layers=1,
                          dropout=dropout, tie_weights=tie, stateful=True, rng=int(seed))
    hist = train_lm(model, Adam(lr=c["lr"]), data["train"], data["val"], batch_size=c["batch_size"],
                    seq_len=c["seq_len"], epochs=c["epochs"], max_norm=c["max_norm"], progress=False, log=None)
    return float(hist["val_ppl"][-1])


EXERCISES = [
    Exercise(
        name="sparse_embedding_update", points=2, cases=_sparse_update_cases, outputs=("W_new", "rows"),
        axes={"W_new": ("token", "unit"), "rows": ("row",)},
        absent=("rnnbook.lm_ops.embedding_backward",),
        nudge="A row of W changes only if its token occurs in ids, and then by lr times the total of the "
              "gradients of ALL its occurrences.",
        hint="rows = the distinct ids, in increasing order; for each row r, W_new[r] = W[r] - lr * (sum of "
             "dout[n, t] over the positions with ids[n, t] == r); every other row is W's row unchanged.",
        mistakes={"fancy": "a token that occurs several times moved by the gradient of only one occurrence: "
                           "an indexed in-place update (W[ids] -= ...) reads all rows first and then writes, "
                           "so repeated writes to a row overwrite each other",
                  "mean": "a repeated token moved by the MEAN of its gradients; the loss adds the positions "
                          "up, so its gradient is their SUM"}),
    Exercise(
        name="perplexity_from_losses", points=1, cases=_perplexity_cases, outputs=("perplexity",),
        library="rnnbook.lm_ops.perplexity_from_losses",
        nudge="Perplexity is the exponential of the mean loss per TOKEN of the whole corpus; the batches "
              "hold different numbers of tokens.",
        hint="perplexity = exp( sum_b losses[b] * counts[b] / sum_b counts[b] ).",
        mistakes={"mean_of_ppl": "the per-batch perplexities were averaged (weighted by the token counts): "
                                 "the exponential must come after the mean, not before",
                  "unweighted": "each batch counts the same in the mean, whatever its number of tokens: "
                                "a batch of 10 tokens weighs as much as one of 500"}),
    Exercise(
        name="tied_embedding_grad", points=2, cases=_tied_cases, outputs=("dE",),
        axes={"dE": ("token", "unit")}, library="rnnbook.lm_ops.tied_embedding_grad",
        nudge="E is used twice, as the embedding and as the output layer: its gradient has one part from "
              "each use.",
        hint="dE = (the embedding's part: row w receives the sum of d_embedded at every position whose id "
             "is w) + (the output layer's part: the sum over all positions of the outer product "
             "dlogits[n, t] x hs[n, t], a (V, D) matrix).",
        mistakes={"fancy": "a token that occurs several times in ids received the embedding gradient of "
                           "only one occurrence (an indexed in-place add keeps only the last write to a row)",
                  "output_only": "only the output layer's part is there: the embedding's use of E is missing",
                  "embedding_only": "only the embedding's part is there: the output layer's use of E is "
                                    "missing"}),
    Exercise(
        name="top_p_distribution", points=2, cases=_top_p_cases, outputs=("probs",),
        axes={"probs": ("word",)},
        nudge="Sort the probabilities from the largest down and walk along their running total: which words "
              "are needed before the total reaches p? The nucleus is never empty: when the most probable word "
              "alone has more than p, it is that one word.",
        hint="Keep a word when the total of the words ranked ABOVE it (ties: the lower index first) is still "
             "< p, so that the word that crosses p is kept; zero the others and renormalise over the last axis.",
        mistakes={"one_too_few": "the nucleus is one word too small wherever it holds more than one word: the "
                                 "word whose probability makes the running total reach p belongs to it, so the "
                                 "kept words add up to at least p",
                  "no_renormalise": "the kept probabilities do not add up to 1: they must be renormalised "
                                    "after the others are set to 0"}),
    Exercise(
        name="locked_dropout", points=2, cases=_locked_dropout_cases, outputs=("y",),
        axes={"y": ("row", "time", "unit")},
        nudge="One mask per sequence, reused at every time step: keep is (N, D) but x is (N, T, D).",
        hint="y[n, t, d] = x[n, t, d] * keep[n, d] / (1 - p) for every t: the survivors are scaled so that "
             "the expected value of y is x.",
        mistakes={"no_scale": "the survivors are not rescaled: inverted dropout divides them by 1 - p, so "
                              "that the expected output equals the input",
                  "times_keep_prob": "the survivors are multiplied by 1 - p instead of divided by it: that "
                                     "shrinks the expected output to (1 - p)^2 times the input"}),
    Exercise(
        name="bits_per_char", points=1, cases=_bpc_cases, outputs=("bpc",),
        nudge="The losses are SUMS over each batch's characters, in nats; bits are logarithms in base 2.",
        hint="bits per character = (total of the summed losses / total number of characters) / ln 2.",
        mistakes={"nats": "the answer is in nats per character: divide by ln 2 to get bits",
                  "batch_mean": "each batch's mean counts the same, whatever its number of characters: "
                                "divide the total loss by the total count instead"}),
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
    Choice(
        name="c_ppl_mean", points=1,
        prompt="why perplexity is exp(mean over tokens of -log p) and not the mean over tokens of 1 / p",
        options={
            "a": "they are not the same number: exp is convex, so the mean of the exponentials is larger than "
                 "the exponential of the mean unless every token has the same loss; the choice is not about cost",
            "b": "overflow is a matter of how to compute, not of what to compute: the mean of 1 / p would "
                 "still be a different quantity if it were computed safely",
            "c": ""},
        explanation="exp(mean of -log p) = (p_1 p_2 ... p_n)^(-1/n), one over the geometric mean of the "
                    "probabilities: it is fixed by the probability that the model gives the whole text, spread "
                    "evenly over its n tokens. The mean of 1 / p is ruled by the least likely tokens: a single "
                    "token with p = 1e-6 adds 1e6 / n to it.",
        reveal_after=3),
    Choice(
        name="c_tied_rows", points=1,
        prompt="with tied weights, which rows of E receive a non-zero gradient from one training batch",
        options={
            "a": "that is the embedding's part alone, as in an untied model; the output layer's part reaches "
                 "other rows too",
            "b": "the softmax gives EVERY word a probability above 0, so every word's logit has a non-zero "
                 "gradient, not only the targets'",
            "c": "the targets' logits are not the only ones with a gradient, and the input tokens' rows also "
                 "receive the embedding's part",
            "d": ""},
        explanation="The output layer's part is dlogits^T h, and dlogits = softmax - onehot is non-zero in "
                    "every column, because the softmax gives every word some probability: every row of E "
                    "receives a gradient from every batch, which pushes it away from the states after which its "
                    "word did not come next. Untied, only the rows of the batch's input tokens receive one (the "
                    "embedding's gradient is sparse).",
        reveal_after=3),
    Choice(
        name="c_agreement_skew", points=1,
        prompt="what a model that prefers 'is' to 'are' after every subject scores on an agreement set in "
               "which 70 % of the subjects are singular and 30 % plural",
        options={
            "a": "0.5 holds on a BALANCED set only: the model is right on exactly the singular items, so its "
                 "score is the share of singular subjects",
            "b": "",
            "c": "that is the share of the plural items, the ones on which 'is' is wrong",
            "d": "the model's preference is fixed, so its answer on every item is known: right on each "
                 "singular subject, wrong on each plural one"},
        explanation="Always 'is' is right exactly on the singular subjects, so the accuracy is their share, "
                    "0.7. A fixed preference scores the share of the items whose answer it happens to favour, "
                    "which is why the chapter's probe uses a balanced set, and why a score of 0.5 there does "
                    "not mean guessing.",
        reveal_after=3),
    Experiment(
        name="lm_config", points=3,
        prompt="a dropout probability and a tying switch, lm_config = {'dropout': ..., 'tie_weights': ...}, "
               "with which the experiment's LSTM language model ends its training at a validation "
               "perplexity of at most the target",
        target=75.0, lower_is_better=True, run=train_ladder_lm, seeds=(10, 11), budget_s=60,
        unit="validation perplexity",
        nudge="The run is not early-stopped: it is judged after its last epoch, when a model that memorises "
              "its 20,000 training tokens has already got worse on new text."),
]

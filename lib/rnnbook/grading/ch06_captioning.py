"""Graded exercises of chapter 6 (image captioning)."""
from __future__ import annotations

import numpy as np

from .core import Exercise, Question

CONV_SHAPES = [  # N, C, H, W, F, k, stride, pad
    (1, 1, 3, 3, 1, 2, 1, 0),
    (2, 2, 5, 4, 3, 3, 1, 1),
    (2, 3, 7, 6, 2, 3, 2, 1),
    (3, 2, 6, 8, 4, 2, 2, 0),
]


def _im2col_cases(rng):
    return [{"x": rng.standard_normal((N, C, H, W)), "kh": k, "kw": k, "stride": s, "pad": p}
            for N, C, H, W, F, k, s, p in CONV_SHAPES] + [
        {"x": rng.standard_normal((2, 2, 5, 7)), "kh": 2, "kw": 3, "stride": 1, "pad": 0}]


def _conv_cases(rng):
    return [{"x": rng.standard_normal((N, C, H, W)), "W": rng.standard_normal((F, C, k, k)),
             "b": rng.standard_normal(F), "stride": s, "pad": p} for N, C, H, W, F, k, s, p in CONV_SHAPES]


def _pool_cases(rng, backward=False):
    cases = []
    for shape, pool, stride, relu in [((1, 1, 2, 2), 2, 2, False), ((2, 3, 4, 6), 2, 2, False),
                                      ((2, 2, 5, 7), 2, 2, False), ((1, 2, 5, 5), 3, 1, False),
                                      ((2, 3, 6, 4), 2, 2, True)]:
        x = rng.standard_normal(shape)
        if relu:
            x = np.maximum(x, 0) * (rng.random(shape) < 0.5)    # after a ReLU: windows of equal zeros (ties)
        case = {"x": x, "pool": pool, "stride": stride}
        if backward:
            OH, OW = (shape[2] - pool) // stride + 1, (shape[3] - pool) // stride + 1
            case = {"dout": rng.standard_normal(shape[:2] + (OH, OW)), **case}
        cases.append(case)
    return cases


def _loss_cases(rng):
    cases = []
    for N, T, V, pad in [(1, 2, 3, 0), (2, 4, 5, 0), (3, 6, 7, 0), (2, 5, 6, 2)]:
        targets = rng.integers(0, V, size=(N, T))
        targets[:, 0] = np.where(targets[:, 0] == pad, (pad + 1) % V, targets[:, 0])  # every row has a target
        if T > 2:
            targets[0, T - 2:] = pad                              # a padded tail
        cases.append({"logits": rng.standard_normal((N, T, V)) * 2, "targets": targets, "pad_id": pad})
    cases.append({"logits": rng.standard_normal((2, 3, 4)) * 40, "targets": np.array([[1, 2, 0], [3, 0, 0]]),
                  "pad_id": 0})
    return cases


def _precision_cases(rng):
    words = ["a", "small", "red", "circle", "left", "of", "blue", "square"]
    cases = [
        {"candidate": "the the the the".split(), "references": ["the cat is on the mat".split()], "n": 1},
        {"candidate": "a red circle".split(), "references": ["a red circle".split()], "n": 2},
        {"candidate": "the the the".split(), "references": [["the"], ["the", "the"]], "n": 1},
        {"candidate": ["four"], "references": [["four", "one"]], "n": 2},
    ]
    for n in (1, 2, 3, 4):
        cand = [words[i] for i in rng.integers(0, 4, size=int(rng.integers(3, 9)))]
        refs = [[words[i] for i in rng.integers(0, 4, size=int(rng.integers(3, 9)))] for _ in range(2)]
        cases.append({"candidate": cand, "references": refs, "n": n})
    return cases


def _init_cases(rng, backward=False):
    cases = []
    for N, F, H in [(1, 2, 3), (3, 5, 4), (4, 7, 6)]:
        case = {"features": rng.standard_normal((N, F)), "W": rng.standard_normal((F, H)) * 0.5,
                "b": rng.standard_normal(H) * 0.1}
        if backward:
            case = {"dh0": rng.standard_normal((N, H)), **case}
        cases.append(case)
    return cases


def _context_cases(rng):
    cases = []
    for N, S, C in [(1, 2, 1), (2, 3, 4), (3, 16, 5), (2, 37, 8)]:
        scores = rng.standard_normal((N, S)) * 2
        weights = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
        cases.append({"weights": weights, "grid": rng.standard_normal((N, S, C)),
                      "dcontext": rng.standard_normal((N, C))})
    return cases


def _avgpool_cases(rng):
    cases = []
    for shape, pool in [((1, 1, 2, 2), 2), ((2, 3, 4, 6), 2), ((2, 2, 6, 9), 3), ((1, 2, 8, 32), 4)]:
        N, C, H, W = shape
        cases.append({"dout": rng.standard_normal((N, C, H // pool, W // pool)), "x_shape": shape, "pool": pool})
    return cases


EXERCISES = [
    Exercise(
        name="im2col", points=2, cases=_im2col_cases, outputs=("cols",), axes={"cols": ("row", "column")},
        library="rnnbook.conv.im2col",
        hint="Pad x first (np.pad on the last two axes only). Row (n * OH + i) * OW + j is the patch at "
             "(i * stride, j * stride) of image n, flattened in the order (channel, kernel row, kernel column), "
             "i.e. xpad[n, :, i*stride:i*stride+kh, j*stride:j*stride+kw].reshape(-1); "
             "OH = (H + 2 pad - kh) // stride + 1."),
    Exercise(
        name="conv_forward", points=2, cases=_conv_cases, outputs=("out",),
        axes={"out": ("image", "filter", "row", "column")}, library="rnnbook.conv.conv_forward",
        hint="With cols = im2col(x, kh, kw, stride, pad) of shape (N*OH*OW, C*kh*kw), the output is "
             "cols @ W.reshape(F, -1).T + b, of shape (N*OH*OW, F): reshape it to (N, OH, OW, F) and move the "
             "filter axis to position 1 (transpose(0, 3, 1, 2)), not a plain reshape to (N, F, OH, OW)."),
    Exercise(
        name="maxpool_forward", points=1, cases=lambda rng: _pool_cases(rng), outputs=("out",),
        axes={"out": ("image", "channel", "row", "column")}, library="rnnbook.conv.maxpool_forward",
        hint="out[n, c, i, j] is the max of x[n, c, i*stride:i*stride+pool, j*stride:j*stride+pool]; "
             "OH = (H - pool) // stride + 1, so a leftover row or column at the end is dropped."),
    Exercise(
        name="maxpool_backward", points=2, cases=lambda rng: _pool_cases(rng, backward=True), outputs=("dx",),
        axes={"dx": ("image", "channel", "row", "column")}, library="rnnbook.conv.maxpool_backward",
        hint="dout[n, c, i, j] goes to the position of the maximum of its window and nowhere else; when several "
             "entries are equal (a window of zeros after a ReLU), only the FIRST in row-major order (np.argmax of "
             "the flattened window) gets it. Add (+=), do not assign, when windows overlap (stride < pool)."),
    Exercise(
        name="masked_cross_entropy", points=2, cases=_loss_cases, outputs=("loss", "dlogits"),
        axes={"dlogits": ("row", "time", "word")}, library="rnnbook.models.captioner.masked_cross_entropy",
        hint="Divide by the number of positions whose target is NOT pad_id (not by N*T), give padded positions a "
             "zero gradient, and subtract the maximum of each row of logits before exp (one case has large "
             "logits): dlogits = (softmax - onehot) / count."),
    Exercise(
        name="modified_precision", points=2, cases=_precision_cases, outputs=("clipped", "total"),
        library="rnnbook.bleu.modified_precision",
        hint="Count the candidate's n-grams (tuples of n consecutive words) with collections.Counter; clip each "
             "count at the MAXIMUM count of that n-gram in any single reference (not the sum over references); "
             "total = number of candidate n-grams, but at least 1."),
    Exercise(
        name="init_state_forward", points=1, cases=_init_cases, outputs=("h0",), axes={"h0": ("row", "unit")},
        library="rnnbook.models.captioner.init_state_forward",
        hint="h0 = np.tanh(features @ W + b): a tanh, so that h0 lies in (-1, 1) like every LSTM hidden state."),
    Exercise(
        name="init_state_backward", points=2, cases=lambda rng: _init_cases(rng, backward=True),
        outputs=("dfeatures", "dW", "db"),
        axes={"dfeatures": ("row", "feature"), "dW": ("feature", "unit"), "db": ("unit",)},
        library="rnnbook.models.captioner.init_state_backward",
        hint="Recompute h0 = tanh(features @ W + b); the gradient at the pre-activation is da = dh0 * (1 - h0**2); "
             "then dfeatures = da @ W.T, dW = features.T @ da, db = da summed over the rows."),
    Exercise(
        name="context_backward", points=2, cases=_context_cases, outputs=("dweights", "dgrid"),
        axes={"dweights": ("image", "location"), "dgrid": ("image", "location", "channel")},
        nudge="The context is a sum over locations of weight times vector: each product has two factors, and "
              "each factor's gradient is the upstream gradient times the other factor.",
        hint="dweights[n, s] = sum over c of dcontext[n, c] * grid[n, s, c] (grid @ dcontext); "
             "dgrid[n, s, c] = weights[n, s] * dcontext[n, c] (an outer product per image)."),
    Exercise(
        name="avgpool_backward", points=2, cases=_avgpool_cases, outputs=("dx",),
        axes={"dx": ("image", "channel", "row", "column")},
        nudge="Every pixel of a window contributed 1/pool^2 of its value to that window's mean; unlike max "
              "pooling, all of them get a share of the gradient.",
        hint="dx[n, c, i, j] = dout[n, c, i // pool, j // pool] / pool**2, e.g. np.repeat(np.repeat(dout, pool, "
             "axis=2), pool, axis=3) / pool**2."),
    Question(
        name="q_im2col_shape", points=1, kind="shape",
        prompt="the shape of im2col(x, 3, 3, stride=1, pad=1) for x of shape (2, 1, 8, 32)",
        explanation="one row per output position and image: with pad 1 a 3 x 3 patch fits at every one of the "
                    "8 x 32 pixels, so 2 * 8 * 32 = 512 rows; one column per number of a patch, C * 3 * 3 = 9."),
    Question(
        name="q_bleu4_short", points=1, kind="number",
        prompt="corpus_bleu([[['seven']]], [['seven']]), the BLEU-4 of a perfect one-word caption, without smoothing",
        explanation="a hypothesis shorter than n words has no n-gram but still adds 1 to the denominator of p_n "
                    "(NLTK's convention), so p2 = p3 = p4 = 0/1 and the geometric mean is 0: BLEU-4 is 0 for a "
                    "perfect caption of one word, which is why even the true digit captions score well below 1."),
    Question(
        name="q_bleu4_smoothed", points=1, kind="number", rtol=0.01,
        prompt="the same BLEU-4 with smoothing=0.1 (Chen and Cherry's method 1)",
        explanation="p1 = 1/1, and each of p2, p3, p4 becomes 0.1/1; the brevity penalty is 1 (c = r = 1), so "
                    "BLEU-4 = (1 * 0.1 * 0.1 * 0.1) ** (1/4) = 0.1 ** 0.75, about 0.178."),
]

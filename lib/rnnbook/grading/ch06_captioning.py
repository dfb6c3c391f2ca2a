"""Graded exercises of chapter 6 (image captioning)."""
from __future__ import annotations

import numpy as np

from .core import Choice, Exercise, Experiment, Question

CONV_SHAPES = [  # N, C, H, W, F, k, stride, pad
    (1, 1, 3, 3, 1, 2, 1, 0),
    (2, 2, 5, 4, 3, 3, 1, 1),
    (2, 3, 7, 6, 2, 3, 2, 1),
    (3, 2, 6, 8, 4, 2, 2, 0),
]


def _col2im_cases(rng):
    cases = []
    for N, C, H, W, F, k, s, p in CONV_SHAPES + [(2, 2, 5, 7, 1, 2, 1, 0)]:
        OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
        cases.append({"cols": rng.standard_normal((N * OH * OW, C * k * k)), "x_shape": (N, C, H, W),
                      "kh": k, "kw": k, "stride": s, "pad": p})
    return cases


def _conv_back_cases(rng):
    cases = []
    for N, C, H, W, F, k, s, p in CONV_SHAPES:
        OH, OW = (H + 2 * p - k) // s + 1, (W + 2 * p - k) // s + 1
        cases.append({"dout": rng.standard_normal((N, F, OH, OW)), "x": rng.standard_normal((N, C, H, W)),
                      "W": rng.standard_normal((F, C, k, k)), "stride": s, "pad": p})
    return cases


DIGIT_TRAIN, DIGIT_TEST = 2000, 500      # strips the experiment trains on and scores on
CONDITIONINGS = ("init", "peeky", "attention")


def train_digits(config, seed):
    """Train a captioner on 2,000 digit strips with the learner's configuration and return its exact match
    on 500 held-out strips. Runs in a process that holds no learner code, on one BLAS thread (the products are
    small: more threads only contend with each other)."""
    from threadpoolctl import threadpool_limits

    if not isinstance(config, dict):
        raise TypeError(f"digits_config must be a dict, got {type(config).__name__}")
    unknown = sorted(set(config) - {"conditioning", "lr", "epochs"})
    if unknown:
        raise ValueError(f"digits_config has unknown keys {unknown}: use conditioning, lr and epochs")
    conditioning = config.get("conditioning")
    if conditioning not in CONDITIONINGS:
        raise ValueError(f"conditioning must be one of {CONDITIONINGS}, got {conditioning!r}")
    lr, epochs = config.get("lr", 3e-3), config.get("epochs", 4)
    if not isinstance(lr, (int, float)) or isinstance(lr, bool) or not 0 < lr <= 0.05:
        raise ValueError(f"lr must be a number in (0, 0.05], got {lr!r}")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or not 1 <= epochs <= 6:
        raise ValueError(f"epochs must be an integer from 1 to 6, got {epochs!r}")
    with threadpool_limits(limits=1):
        return _train_digits(conditioning, float(lr), epochs, seed)


def _train_digits(conditioning, lr, epochs, seed):
    from ..data.captions import caption_vocab, decode_captions, digit_captions, encode_captions
    from ..models.captioner import Captioner, caption_images
    from ..train import fit_captioner

    train = digit_captions(DIGIT_TRAIN, split="train", seed=1)
    test = digit_captions(DIGIT_TEST, split="test", seed=2)
    vocab = caption_vocab(train.captions)
    model = Captioner(len(vocab), (1, 8, 32), conditioning=conditioning, channels=(16, 32), rng=seed)
    fit_captioner(model, train.images, encode_captions(train.captions, vocab, 4), epochs=epochs, lr=lr,
                  seed=seed)
    pred = decode_captions(caption_images(model, test.images, 5), vocab)
    return float(np.mean([p == c for p, c in zip(pred, test.captions)]))


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
        name="col2im", points=2, cases=_col2im_cases, outputs=("dx",),
        axes={"dx": ("image", "channel", "row", "column")}, library="rnnbook.conv.col2im",
        nudge="A pixel lies in every patch that covers it: with stride < kernel size it appears in several rows "
              "of cols, and each of those rows holds a share of its gradient.",
        hint="Make a zero array of the PADDED shape; for every image n and output position (i, j), ADD row "
             "(n * OH + i) * OW + j, reshaped to (C, kh, kw), onto the window at (i * stride, j * stride); "
             "return the array without its border of pad pixels.",
        mistakes={"assign": "each window is ASSIGNED (=), so a pixel shared by overlapping patches keeps only "
                            "the last patch's gradient: the shares must be added",
                  "padded": "the result still holds the padding border: return only the (H, W) pixels of x"}),
    Exercise(
        name="conv_backward", points=2, cases=_conv_back_cases, outputs=("dx", "dW", "db"),
        axes={"dx": ("image", "channel", "row", "column"), "dW": ("filter", "channel", "row", "column"),
              "db": ("filter",)},
        library="rnnbook.conv.conv_backward",
        absent=("rnnbook.conv.Conv2D",),
        nudge="The forward pass is out = cols @ Wmat.T + b with cols = im2col(x): backpropagate through that "
              "matrix product, then send the columns' gradient back to the pixels.",
        hint="Bring dout to (N*OH*OW, F) with the filter axis last (transpose(0, 2, 3, 1), then reshape); "
             "db = its column sums; dW = (dout_rows.T @ cols).reshape(W.shape); dx = col2im(dout_rows @ Wmat, "
             "x.shape, kh, kw, stride, pad).",
        mistakes={"reshape": "dout is reshaped to (N*OH*OW, F) without first moving the filter axis last, so "
                             "its rows mix filters and positions",
                  "db_mean": "db averages dout over the images and positions: the bias is used once at each of "
                             "them, so its gradient is the SUM"}),
    Exercise(
        name="maxpool_forward", points=1, cases=lambda rng: _pool_cases(rng), outputs=("out",),
        axes={"out": ("image", "channel", "row", "column")}, library="rnnbook.conv.maxpool_forward",
        hint="out[n, c, i, j] is the max of x[n, c, i*stride:i*stride+pool, j*stride:j*stride+pool]; "
             "OH = (H - pool) // stride + 1, so a leftover row or column at the end is dropped.",
        mistakes={
            'ignore_stride': 'the windows start every `pool` pixels whatever the stride: they should start every '
                             '`stride` pixels (they overlap when stride < pool)',
            'mean': "each window's MEAN is returned (average pooling): max pooling keeps its largest value"
        },
        nudge="Each output is one window's largest value; the windows start every `stride` pixels.",),
    Exercise(
        name="maxpool_backward", points=2, cases=lambda rng: _pool_cases(rng, backward=True), outputs=("dx",),
        axes={"dx": ("image", "channel", "row", "column")}, library="rnnbook.conv.maxpool_backward",
        hint="dout[n, c, i, j] goes to the position of the maximum of its window and nowhere else; when several "
             "entries are equal (a window of zeros after a ReLU), only the FIRST in row-major order (np.argmax of "
             "the flattened window) gets it. Add (+=), do not assign, when windows overlap (stride < pool).",
        mistakes={
            'all_ties': 'when several entries of a window tie for the maximum (zeros after a ReLU), every one of '
                        'them gets the gradient: only the first in row-major order should',
            'assign': "a pixel that is the maximum of two overlapping windows keeps only the last window's gradient: "
                      'the two must be added'
        },
        nudge='The gradient of a maximum goes to the entry that was the maximum, and to no other.',),
    Exercise(
        name="masked_cross_entropy", points=2, cases=_loss_cases, outputs=("loss", "dlogits"),
        axes={"dlogits": ("row", "time", "word")}, library="rnnbook.models.captioner.masked_cross_entropy",
        hint="Divide by the number of positions whose target is NOT pad_id (not by N*T), give padded positions a "
             "zero gradient, and subtract the maximum of each row of logits before exp (one case has large "
             "logits): dlogits = (softmax - onehot) / count.",
        mistakes={
            'all_positions': 'the loss and gradient are divided by N * T, padded positions included: divide by the '
                             'number of positions whose target is not padding',
            'pad_grad': 'the loss is right, but padded positions get a non-zero gradient: they are not part of the '
                        'loss'
        },
        nudge='Only the positions whose target is not padding count, in the loss and in its gradient.',),
    Exercise(
        name="modified_precision", points=2, cases=_precision_cases, outputs=("clipped", "total"),
        library="rnnbook.bleu.modified_precision",
        hint="Count the candidate's n-grams (tuples of n consecutive words) with collections.Counter; clip each "
             "count at the MAXIMUM count of that n-gram in any single reference (not the sum over references); "
             "total = number of candidate n-grams, but at least 1.",
        mistakes={
            'sum_refs': "each n-gram's count is clipped at its count summed over the references: clip at its count "
                        'in the single reference where it occurs most',
            'no_clip': 'an n-gram that occurs in a reference counts as often as the candidate repeats it: its count '
                       'must be clipped'
        },
        nudge='A candidate that repeats a right word must not score higher for it: how often may each n-gram count?',),
    Exercise(
        name="init_state_forward", points=1, cases=_init_cases, outputs=("h0",), axes={"h0": ("row", "unit")},
        library="rnnbook.models.captioner.init_state_forward",
        hint="h0 = np.tanh(features @ W + b): a tanh, so that h0 lies in (-1, 1) like every LSTM hidden state.",
        mistakes={
            'no_tanh': "h0 is the affine map alone: it needs the squashing nonlinearity of an LSTM's hidden state",
            'sigmoid': 'h0 is squashed into (0, 1): an LSTM hidden state lies in (-1, 1)'
        },
        nudge='h0 must look like a hidden state the LSTM could have produced itself.',),
    Exercise(
        name="init_state_backward", points=2, cases=lambda rng: _init_cases(rng, backward=True),
        outputs=("dfeatures", "dW", "db"),
        axes={"dfeatures": ("row", "feature"), "dW": ("feature", "unit"), "db": ("unit",)},
        library="rnnbook.models.captioner.init_state_backward",
        hint="Recompute h0 = tanh(features @ W + b); the gradient at the pre-activation is da = dh0 * (1 - h0**2); "
             "then dfeatures = da @ W.T, dW = features.T @ da, db = da summed over the rows.",
        mistakes={
            'no_tanh_grad': "the gradient skips the tanh: multiply dh0 by the tanh's derivative first",
            'db_mean': 'db is averaged over the rows: the bias is added to every row, so its gradient is the SUM'
        },
        nudge='Go back through the tanh first, then through the affine map.',),
    Exercise(
        name="context_backward", points=2, cases=_context_cases, outputs=("dweights", "dgrid"),
        axes={"dweights": ("image", "location"), "dgrid": ("image", "location", "channel")},
        nudge="The context is a sum over locations of weight times vector: each product has two factors, and "
              "each factor's gradient is the upstream gradient times the other factor.",
        hint="dweights[n, s] = sum over c of dcontext[n, c] * grid[n, s, c] (grid @ dcontext); "
             "dgrid[n, s, c] = weights[n, s] * dcontext[n, c] (an outer product per image).",
        mistakes={
            'no_weight': "every location's vector gets the whole dcontext: each one entered the context scaled by "
                         'its weight',
            'weighted': "dweights is multiplied by the weights once more: a weight's gradient is dcontext times the "
                        "OTHER factor, the location's vector, alone"
        }),
    Exercise(
        name="avgpool_backward", points=2, cases=_avgpool_cases, outputs=("dx",),
        axes={"dx": ("image", "channel", "row", "column")},
        nudge="Every pixel of a window contributed 1/pool^2 of its value to that window's mean; unlike max "
              "pooling, all of them get a share of the gradient.",
        hint="dx[n, c, i, j] = dout[n, c, i // pool, j // pool] / pool**2, e.g. np.repeat(np.repeat(dout, pool, "
             "axis=2), pool, axis=3) / pool**2.",
        mistakes={
            'no_divide': "every pixel gets the whole gradient of its window's mean: it contributed 1/pool^2 of it",
            'divide_pool': 'the share is divided by pool: a window holds pool * pool pixels'
        }),
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
    Experiment(
        name="digits_config", points=3,
        prompt="a configuration digits_config = {'conditioning': ..., 'lr': ..., 'epochs': ...} that reaches an "
               "exact match of at least 0.5 on 500 held-out digit strips after training on 2,000",
        run=train_digits, target=0.5, seeds=(0, 1), budget_s=60, unit="exact match",
        nudge="With 2,000 strips and at most 6 epochs, how the image reaches the decoder matters more than "
              "anything else: which conditioning lets the word at position t look at the part of the strip "
              "that holds digit t?"),
    Choice(
        name="c_corner_uses", points=1,
        prompt="with a 3 x 3 kernel, stride 1 and NO padding, from how many output positions does the top-left "
               "pixel of an image receive gradient",
        options={"one": "",
                 "nine": "nine is the count of an interior pixel: only the patch whose top-left corner it is "
                         "contains the image's corner pixel",
                 "four": "four would need patches starting left of or above the image, which exist only with "
                         "padding",
                 "zero": "the first patch, at (0, 0), does contain it"},
        explanation="only the patch at output (0, 0) covers the corner, so dx there is one row's share; an "
                    "interior pixel collects nine. Without padding the border pixels weigh less in both passes, "
                    "one reason to pad."),
    Choice(
        name="c_filter_grad", points=1,
        prompt="a filter slides over every position of every image; its gradient dW is a sum over all those "
               "positions of dout at the position times what",
        options={"patch": "",
                 "output": "the output at a position is what the filter produced, not what it multiplied: "
                           "the gradient of a weight is the upstream gradient times the weight's INPUT",
                 "filter": "dW cannot depend on W itself here: the convolution is linear in W",
                 "dx": "dx is another result of the backward pass, computed from dout and W, not a factor of dW"},
        explanation="out = cols @ Wmat.T + b, so dWmat = dout_rows.T @ cols: each position adds dout there "
                    "times the input patch (the row of cols) the filter was applied to."),
]

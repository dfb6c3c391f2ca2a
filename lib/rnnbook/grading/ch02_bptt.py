"""Graded exercises of chapter 2 (backpropagation through time)."""
from __future__ import annotations

import numpy as np

from .core import Choice, Exercise, Experiment, Question


def _rnn_weights(rng, D, H):
    return rng.standard_normal((D, H)) * 0.5, rng.standard_normal((H, H)) * 0.5, rng.standard_normal(H) * 0.1


def _rnn_backward_cases(rng):
    cases = []
    for N, T, D, H in [(1, 1, 2, 3), (1, 3, 2, 3), (2, 5, 3, 4), (4, 8, 5, 6)]:
        Wx, Wh, b = _rnn_weights(rng, D, H)
        xs, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)) * 0.5
        hs = np.empty((N, T, H))
        h = h0
        for t in range(T):
            h = np.tanh(xs[:, t] @ Wx + h @ Wh + b)
            hs[:, t] = h
        cases.append({"dhs": rng.standard_normal((N, T, H)), "xs": xs, "h0": h0, "hs": hs, "Wx": Wx, "Wh": Wh})
    return cases


def _jacobian_cases(rng):
    cases = []
    for T, H, scale in [(1, 2, 0.5), (3, 3, 0.8), (6, 4, 1.5), (10, 5, 1.0)]:
        cases.append({"Wh": rng.standard_normal((H, H)) * scale / np.sqrt(H),
                      "hs": np.tanh(rng.standard_normal((T, H)))})
    return cases


def _masked_cases(rng):
    cases = []
    for lengths, D, H in [([1], 2, 3), ([3, 1], 2, 3), ([5, 2, 4], 3, 4), ([8, 8, 3, 6], 4, 5)]:
        N, T = len(lengths), max(lengths)
        Wx, Wh, b = _rnn_weights(rng, D, H)
        xs, h0 = rng.standard_normal((N, T, D)), rng.standard_normal((N, H)) * 0.5
        mask = (np.arange(T)[None, :] < np.array(lengths)[:, None]).astype(float)
        hs, h = np.empty((N, T, H)), h0
        for t in range(T):
            m = mask[:, t, None]
            h = m * np.tanh(xs[:, t] @ Wx + h @ Wh + b) + (1 - m) * h
            hs[:, t] = h
        cases.append({"dhs": rng.standard_normal((N, T, H)), "xs": xs, "h0": h0, "hs": hs,
                      "Wx": Wx, "Wh": Wh, "mask": mask})
    return cases


def _clip_config(config):
    """The learner's configuration, checked: {'lr': a number in (0, 10], 'max_norm': a positive number or None}."""
    if not isinstance(config, dict) or set(config) != {"lr", "max_norm"}:
        raise ValueError("the configuration should be a dict with exactly the keys 'lr' and 'max_norm', "
                         f"got {config!r}")
    lr, max_norm = config["lr"], config["max_norm"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 10:
        raise ValueError(f"lr should be a number in (0, 10], got {lr!r}")
    if max_norm is not None and (isinstance(max_norm, bool) or not isinstance(max_norm, (int, float))
                                 or not max_norm > 0):
        raise ValueError(f"max_norm should be a positive number, or None for no clipping, got {max_norm!r}")
    return float(lr), None if max_norm is None else float(max_norm)


def train_clipped(config, seed):
    """Train a small character model (16-dimensional embeddings, 64 units) with plain SGD at the learner's
    learning rate and clipping threshold: the first 60,000 characters of the chapter's corpus, batches of 32
    rows and seq_len 32, 2 epochs (116 updates), from the model seed ``seed``. Returns the training
    perplexity of the last 10 updates (inf when the run hit inf/NaN). Runs in a process that holds no learner
    code."""
    from rnnbook.data import char_vocab, stdlib_source_text
    from rnnbook.models import RNNLM
    from rnnbook.optim import SGD
    from rnnbook.train import train_lm

    lr, max_norm = _clip_config(config)
    text = stdlib_source_text(max_chars=60_000)
    vocab = char_vocab(text)
    model = RNNLM(len(vocab), 16, 64, stateful=True, rng=int(seed))
    with np.errstate(all="ignore"):
        hist = train_lm(model, SGD(lr=lr), vocab.encode(text), None, batch_size=32, seq_len=32, epochs=2,
                        max_norm=max_norm, progress=False, log=None)
        loss = float(np.mean(hist["loss"][-10:]))
    return float(np.exp(loss)) if np.isfinite(loss) and not hist["diverged"] else float("inf")


EXERCISES = [
    Exercise(
        name="rnn_backward", points=4, cases=_rnn_backward_cases,
        outputs=("dxs", "dh0", "dWx", "dWh", "db"),
        axes={"dxs": ("row", "time", "feature"), "dh0": ("row", "unit"), "dWx": ("feature", "unit"),
              "dWh": ("from unit", "to unit"), "db": ("unit",)},
        library="rnnbook.rnn.rnn_backward", absent=("rnnbook.rnn.rnn_step_backward", "rnnbook.rnn.TimeRNN"),
        nudge="Two paths lead into every state h_t: the loss above it, and the next step. The weights are "
              "used at every step.",
        hint="Loop t = T-1 down to 0; the gradient entering h_t is dhs[:, t] PLUS the dh_prev that came back "
             "from step t+1. The previous state of step 0 is h0, of step t it is hs[:, t-1]. Weight gradients "
             "are summed (+=) over time.",
        mistakes={"no_carry": "the gradient that comes back from step t+1 is dropped: only the last step is "
                              "right, every earlier h_t also receives what the next step sends back",
                  "overwrite": "the weight gradients hold only one step's contribution: the weights are shared by "
                               "all steps, so their gradients are summed over time"}),
    Exercise(
        name="jacobian_norms", points=3, cases=_jacobian_cases, outputs=("norms",), axes={"norms": ("k",)},
        nudge="dh_T/dh_(T-k) is a product of k one-step Jacobians, the newest first (section 2.4); norms[0] is "
              "the norm of the identity.",
        hint="Start from P = np.eye(H). For k = 0, 1, ..., T-1 record np.linalg.norm(P, 2) (the largest singular "
             "value, not the Frobenius norm), then multiply on the right by the Jacobian of step j = T - k: "
             "P = P @ (np.diag(1 - hs[j - 1]**2) @ Wh.T). hs[j - 1] holds h_j.",
        mistakes={"frobenius": "the norms are Frobenius norms (the root of the sum of squares): the bound of "
                               "section 2.4 is about the spectral norm, the largest singular value",
                  "no_transpose": "the Jacobian uses Wh where section 2.4 has its transpose: "
                                  "dh_j/dh_(j-1) = diag(1 - h_j^2) Wh^T"}),
    Exercise(
        name="rnn_backward_masked", points=4, cases=_masked_cases,
        outputs=("dxs", "dh0", "dWx", "dWh", "db"),
        axes={"dxs": ("row", "time", "feature"), "dh0": ("row", "unit"), "dWx": ("feature", "unit"),
              "dWh": ("from unit", "to unit"), "db": ("unit",)},
        nudge="A padded step copies the state, h_t = h_(t-1): its Jacobian is the identity, and it has no "
              "tanh and no weights.",
        hint="Walk t = T-1 down to 0 with m = mask[:, t, None] and g = dhs[:, t] + dh (the gradient entering "
             "h_t). At a real step g goes through the tanh and the weights as in rnn_backward, scaled by m; at "
             "a padded step, (1 - m) * g passes straight through to the step before.",
        mistakes={"unmasked": "the mask is ignored: padded steps are treated as real tanh steps, with weights",
                  "no_passthrough": "a padded step stops the gradient: it copies the state, so the gradient "
                                    "entering it passes unchanged to the step before"}),
    Question(
        name="q_dWh_shape", points=1, kind="shape",
        prompt="the shape of dWh for an RNN with D = 3 inputs and H = 5 units, on a batch of N = 8 sequences of "
               "T = 20 steps",
        explanation="A gradient has the shape of what it is the gradient of: Wh is (H, H) = (5, 5). The batch and "
                    "the time steps are summed over (dWh = sum over t of h_(t-1).T @ da_t)."),
    Question(
        name="q_bound_50", points=1, kind="number", rtol=1e-2,
        prompt="the upper bound of section 2.4 on ||dL/dh_(T-50)|| / ||dL/dh_T|| when the largest singular value "
               "of Wh is 0.9",
        explanation="The bound is sigma_max ** k = 0.9 ** 50, about 0.0052: even a matrix that shrinks a vector by "
                    "only 10 % per step leaves half a percent of the gradient after 50 steps."),
    Choice(
        name="c_truncation", points=1,
        prompt="why truncated BPTT cuts the backward pass at a chunk border but carries the state forward",
        options={"memory": "",
                 "gradient": "the backward pass stops at the border: no gradient flows through the carried state, "
                             "it is treated as a constant input",
                 "shapes": "a zero state has the same shape as the carried one; the shapes would match either "
                           "way"},
        explanation="The forward state costs one (N, H) array to keep and gives each chunk the context of the "
                    "text before it; a gradient through it would need the activations of every earlier chunk "
                    "kept in memory, and a backward pass as long as the text."),
    Choice(
        name="c_unclipped_trace", points=1,
        prompt="which of three gradient-norm traces is the unclipped run that diverged",
        options={"A": "a few early spikes that the run recovers from are met by clipped and unclipped runs alike: "
                      "the norms are recorded before clipping",
                 "B": "",
                 "C": "norms recorded before clipping are not capped at c: a trace that never exceeds 2 from the "
                      "first update on belongs to a run that never met a large gradient, clipped or not"},
        explanation="A diverged run's norm spikes and then stays large: the one long step threw the weights "
                    "where the loss is steep, and without clipping every later step is as long as its large "
                    "gradient, so SGD cannot find its way back."),
    Experiment(
        name="clip_config", points=3,
        prompt="a configuration {'lr': ..., 'max_norm': ...} with which plain SGD trains the small character "
               "model to a training perplexity of at most 8 on each of 5 seeds",
        run=train_clipped, target=8.0, lower_is_better=True, seeds=(0, 1, 2, 3, 4), budget_s=60,
        unit="perplexity",
        nudge="inf means that the run diverged on that seed. A small learning rate is safe but slow; a large one "
              "needs protection from the rare huge gradient."),
]

"""Graded exercises of chapter 1 (recurrent neural networks)."""
from __future__ import annotations

import numpy as np

from .core import Choice, Exercise, Experiment, Question


def _one_hot_cases(rng):
    cases = []
    for n, V in [(3, 4), (1, 7), (10, 5)]:
        cases.append({"ids": rng.integers(0, V, size=n), "vocab_size": V})
    cases.append({"ids": rng.integers(0, 6, size=(2, 3)), "vocab_size": 6})
    return cases


def _softmax_cases(rng):
    return [
        {"x": rng.standard_normal((2, 3))},
        {"x": rng.standard_normal((4, 5, 6)) * 3},
        {"x": np.array([[1000.0, 1001.0, 999.0], [-1000.0, -1000.0, -999.0]])},
        {"x": rng.standard_normal((5,)) * 10},
    ]


def _ce_cases(rng):
    cases = []
    for shape, V in [((3,), 4), ((2, 5), 6), ((4,), 3)]:
        cases.append({"logits": rng.standard_normal(shape + (V,)) * 2,
                      "targets": rng.integers(0, V, size=shape)})
    cases.append({"logits": np.array([[500.0, -500.0, 0.0]]), "targets": np.array([1])})
    return cases


def _rnn_weights(rng, D, H):
    return {"Wx": rng.standard_normal((D, H)) * 0.5, "Wh": rng.standard_normal((H, H)) * 0.5,
            "b": rng.standard_normal(H) * 0.1}


def _masked_step_cases(rng):
    cases = []
    for N, D, H in [(2, 2, 3), (4, 4, 5), (6, 3, 2)]:
        mask = np.arange(N) % 2 == 0                  # rows 0, 2, ... still read; the others have ended
        cases.append({"x": rng.standard_normal((N, D)), "h_prev": rng.standard_normal((N, H)) * 0.5,
                      "mask": mask, **_rnn_weights(rng, D, H)})
    cases.append({"x": rng.standard_normal((2, 3)), "h_prev": rng.standard_normal((2, 4)) * 0.5,
                  "mask": np.array([False, False]), **_rnn_weights(rng, 3, 4)})
    return cases


def _padded_cases(rng):
    cases = []
    for N, T, D, H, lengths in [(2, 3, 2, 3, [3, 1]), (3, 5, 3, 4, [5, 2, 4]), (4, 7, 5, 6, [7, 3, 1, 6])]:
        cases.append({"xs": rng.standard_normal((N, T, D)), "lengths": np.array(lengths),
                      "h0": rng.standard_normal((N, H)) * 0.5, **_rnn_weights(rng, D, H)})
    return cases


def _ce_grad_cases(rng):
    cases = []
    for shape, V in [((3,), 4), ((2, 5), 6), ((4, 3), 3)]:
        cases.append({"logits": rng.standard_normal(shape + (V,)) * 2, "targets": rng.integers(0, V, size=shape)})
    targets = rng.integers(0, 5, size=(3, 4))
    targets[0, 2:] = -1                              # padding: these positions do not count
    targets[2, 3] = -1
    cases.append({"logits": rng.standard_normal((3, 4, 5)) * 2, "targets": targets})
    return cases


def _sample_cases(rng):
    cases = []
    for V, D, H, L, temperature in [(3, 2, 3, 1, 1.0), (4, 2, 3, 5, 1.0), (6, 3, 5, 8, 0.5), (5, 4, 6, 10, 2.0)]:
        cases.append({"E": rng.standard_normal((V, D)), "Wx": rng.standard_normal((D, H)) * 0.8,
                      "Wh": rng.standard_normal((H, H)) * 0.5, "b": rng.standard_normal(H) * 0.1,
                      "Wo": rng.standard_normal((H, V)) * 1.5, "bo": rng.standard_normal(V) * 0.1,
                      "first_id": int(rng.integers(V)), "us": rng.random(L), "temperature": temperature})
    return cases


TINY_TEXT = "i love you . i love you too ."


def _tiny_config(config):
    """The learner's configuration, checked: a dict with an int hidden_size, a float lr and an int steps."""
    if not isinstance(config, dict) or set(config) != {"hidden_size", "lr", "steps"}:
        raise ValueError("the configuration should be a dict with exactly the keys 'hidden_size', 'lr' and 'steps', "
                         f"got {config!r}")
    H, lr, steps = config["hidden_size"], config["lr"], config["steps"]
    if isinstance(H, bool) or not isinstance(H, (int, np.integer)) or not 1 <= H <= 64:
        raise ValueError(f"hidden_size should be an integer from 1 to 64, got {H!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 1:
        raise ValueError(f"lr should be a number in (0, 1], got {lr!r}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or not 1 <= steps <= 500:
        raise ValueError(f"steps should be an integer from 1 to 500, got {steps!r}")
    return int(H), float(lr), int(steps)


def separate_sentences(config, seed):
    """Train section 1.8's tiny language model (embeddings of 8, Adam, the two sentences said four times) with
    the learner's hidden size, learning rate and number of steps, from the model seed ``seed``. Returns the
    hidden size when the trained model gives the right next token after every ``you`` of the text (``.``
    after the first sentence's, ``too`` after the second's) a probability above 0.9, and inf when it does
    not. Runs in a process that holds no learner code."""
    from rnnbook.data import Vocab
    from rnnbook.functions import softmax
    from rnnbook.models import RNNLM
    from rnnbook.optim import Adam

    H, lr, steps = _tiny_config(config)
    tokens = ((TINY_TEXT + " ") * 4).split()
    vocab = Vocab(tokens)
    ids = vocab.encode(tokens)
    x, y = ids[None, :-1], ids[None, 1:]
    model, optimizer = RNNLM(vocab_size=len(vocab), embed_size=8, hidden_size=H, rng=int(seed)), Adam(lr=lr)
    for _ in range(steps):
        model.forward(x, y)
        model.backward()
        optimizer.update(model.params, model.grads)
    probs = softmax(model.predict(x))[0]
    after_you = np.flatnonzero(x[0] == vocab.encode(["you"])[0])
    p_right = probs[after_you, y[0, after_you]]
    return float(H) if p_right.min() > 0.9 else float("inf")


EXERCISES = [
    Exercise(
        name="one_hot", points=1, cases=_one_hot_cases, outputs=("onehot",),
        axes={"onehot": None},
        nudge="The output keeps every axis of ids and adds one more, of length vocab_size, at the end.",
        hint="Build np.zeros(ids.shape + (vocab_size,)) and put a 1 at position ids[...] of the last axis; "
             "np.eye(vocab_size)[ids] does it in one line.",
        mistakes={"flat": "the ids were flattened: for a 2-D array of ids the output should keep its two axes "
                          "and add the vocabulary axis, shape ids.shape + (vocab_size,)",
                  "transposed": "the vocabulary axis comes first: it should be the LAST axis of the output"}),
    Exercise(
        name="softmax", points=2, cases=_softmax_cases, outputs=("probs",), library="rnnbook.functions.softmax",
        nudge="np.exp overflows for large scores. Subtracting the same number from every score of a position "
              "leaves its probabilities unchanged: which number keeps every exponent at most 0? The maximum.",
        hint="Subtract the maximum of the last axis (keepdims=True) before np.exp, or large logits overflow "
             "to inf and give nan; then divide by the sum over the last axis.",
        mistakes={"axis0": "the probabilities are normalised along the FIRST axis: each position's scores "
                           "are on the last axis",
                  "whole_sum": "the exponentials are divided by the sum of the whole array: each position's "
                               "probabilities (the last axis) should sum to 1"}),
    Exercise(
        name="cross_entropy", points=2, cases=_ce_cases, outputs=("loss",), library="rnnbook.functions.cross_entropy",
        nudge="Work with log-probabilities from the start: a probability that rounds to 0 has no logarithm.",
        hint="Average -log softmax(logits)[target] over every position; compute log-softmax as "
             "x - max - log(sum(exp(x - max))) so that a probability that rounds to 0 does not give log(0).",
        mistakes={"sign": "the loss is negative: cross-entropy is MINUS the mean log-probability of the "
                          "targets",
                  "sum": "the losses of the positions are summed: the loss is their MEAN"}),
    Exercise(
        name="rnn_step_masked", points=2, cases=_masked_step_cases, outputs=("h_next",),
        axes={"h_next": ("row", "unit")},
        nudge="A row whose sentence has ended has nothing left to read: what should its state be after the step?",
        hint="Compute the new state of every row as usual, then keep it only where mask is True: "
             "np.where(mask[:, None], new, h_prev).",
        mistakes={"no_mask": "the rows whose sentence has ended (mask False) were updated too: their state "
                             "should stay as it was",
                  "zeroed": "the rows whose sentence has ended (mask False) were set to 0: they should keep "
                            "their previous state"}),
    Exercise(
        name="rnn_forward_padded", points=3, cases=_padded_cases, outputs=("hs",),
        axes={"hs": ("row", "time", "unit")}, absent=("rnnbook.rnn.TimeRNN",),
        nudge="At step t, which rows still have a token to read? Compare t with lengths.",
        hint="Loop over t = 0..T-1 carrying the state h (h0 at t = 0); row n still reads at step t when "
             "t < lengths[n], so pass that mask to your rnn_step_masked and store each new state in hs[:, t]. "
             "If only time 0 is right, the state is not being carried from one step to the next.",
        mistakes={"no_lengths": "the rows keep reading the padding after their last token: a row's state "
                                "should stop changing once its sentence has ended",
                  "zero_after_end": "after a row's last token its states are 0: they should repeat the "
                                    "state the sentence ended with",
                  "one_extra_step": "each row reads one padding token too many: row n reads the steps "
                                    "t = 0 .. lengths[n] - 1 only"}),
    Exercise(
        name="cross_entropy_grad", points=2, cases=_ce_grad_cases, outputs=("dlogits",),
        axes={"dlogits": None},
        nudge="Section 1.7 derived the gradient of one position's loss: p - onehot(y). The loss is a mean, and "
              "a padded position is not one of the positions it averages.",
        hint="p = softmax(logits); valid = targets != -1; onehot = np.eye(V)[np.where(valid, targets, 0)]; "
             "dlogits = (p - onehot) * valid[..., None] / valid.sum().",
        mistakes={"all_positions": "the gradient is divided by every position, padded ones included: divide by "
                                   "the number of positions that count",
                  "no_mean": "the gradient is not divided by the number of positions: the loss is a MEAN over "
                             "them",
                  "padded_nonzero": "padded positions (target -1) get a non-zero gradient: they do not count"}),
    Exercise(
        name="sample_tokens", points=3, cases=_sample_cases, outputs=("ids",), axes={"ids": ("step",)},
        nudge="Section 1.10's loop: step the cell, turn its state into probabilities, choose, feed the "
              "choice back in. Here the random numbers are given, so the choice is deterministic.",
        hint="Start with h = np.zeros(H) and token = first_id. For each u in us: h = tanh(E[token] @ Wx + "
             "h @ Wh + b); p = softmax((h @ Wo + bo) / temperature); token = the first index whose cumulative "
             "probability exceeds u, np.searchsorted(np.cumsum(p), u, side='right'); append it.",
        mistakes={"argmax": "the most probable token is always chosen: the uniforms us are not used",
                  "no_temperature": "the temperature is ignored: the logits should be divided by it before the "
                                    "softmax",
                  "no_feedback": "the chosen token is not fed back in: every step reads first_id"}),
    Question(
        name="q_rnn_params", points=1, kind="number",
        prompt="how many trainable numbers an RNN layer with D = 3 and H = 4 holds in Wx, Wh and b",
        explanation="Wx is (D, H) = 3 x 4 = 12, Wh is (H, H) = 4 x 4 = 16 and b is (H,) = 4, so 32; the count "
                    "does not depend on the batch size N or the sequence length T, because the same weights are "
                    "used at every time step."),
    Question(
        name="q_grad_sum", points=1, kind="number",
        prompt="the sum of the V entries of the gradient of one position's loss with respect to its logits",
        explanation="The gradient is p - onehot(y): the probabilities sum to 1 and the one-hot vector sums to 1, "
                    "so the entries sum to 0 whatever the logits and the target; raising one score lowers "
                    "the others."),
    Question(
        name="q_logits_shape", points=1, kind="shape",
        prompt="the shape of the logits that RNNLM.predict returns for N = 2 sequences of T = 7 tokens with a "
               "vocabulary of V = 5 words, embeddings of D = 8 and H = 16 units",
        explanation="One score per vocabulary word at every position of every sequence: (N, T, V) = (2, 7, 5). "
                    "D and H are inside the model; they do not show in its output."),
    Choice(
        name="c_no_recurrence", points=1,
        prompt="after training the tiny model, Wh is set to zero: what does it then predict after the two 'you's",
        options={"same": "",
                 "unchanged": "the embedding of 'you' is the same at both places; only the state carried through Wh "
                              "told them apart",
                 "uniform": "the output layer still sees tanh(x Wx + b), which depends on the current word: the "
                            "prediction is not uniform, it is the same at both places"},
        explanation="With Wh = 0 the state is tanh(x_t Wx + b): a function of the current word only. The model "
                    "becomes a bigram model and gives the same distribution after both 'you's."),
    Choice(
        name="c_why_tanh", points=1,
        prompt="why the state goes through tanh instead of h_t = x_t Wx + h_(t-1) Wh + b",
        options={"bounded": "",
                 "probabilities": "the softmax of the output layer makes the probabilities; the state need not "
                                  "be one",
                 "faster": "tanh costs an extra pass over the state; leaving it out would be faster, not slower"},
        explanation="Without a squashing function, T steps compose into one linear map of the inputs, and a "
                    "state multiplied by Wh at every step can grow without bound (or shrink to nothing) with "
                    "the length of the text; tanh keeps every unit in (-1, 1) and lets the cell compute "
                    "functions that are not linear, such as the parity of the sentence."),
    Experiment(
        name="tiny_config", points=2,
        prompt="a configuration {'hidden_size': ..., 'lr': ..., 'steps': ...} with at most 8 hidden units with "
               "which the tiny model of section 1.8 tells the two sentences apart on every seed",
        run=separate_sentences, target=8, lower_is_better=True, seeds=(0, 1, 2), budget_s=30,
        unit="hidden units",
        nudge="inf means that on that seed the trained model did not give the right token after both 'you's "
              "a probability above 0.9: more units, more steps, or another learning rate."),
]

"""Graded exercises of chapter 5 (sequence to sequence)."""
from __future__ import annotations

import numpy as np

from .core import Choice, Exercise, Experiment, Question


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


#: The addition task of the experiment: smaller than the chapter's (4,000 training questions with operands of 1 or
#: 2 digits instead of 45,000 with up to 3) so that a good configuration trains in about 10 s of CPU; the 500
#: held-out questions are none of the training ones.
ADDITION_TASK = {"n_train": 4000, "n_test": 500, "max_digits": 2, "train_seed": 11, "test_seed": 12,
                 "embed_size": 16, "hidden_size": 128, "batch_size": 128, "max_norm": 5.0}
_CONFIG_KEYS = {"variant", "lr", "epochs"}


def train_addition(config, seed):
    """Train the learner's configuration ``{"variant": ..., "lr": ..., "epochs": ...}`` on :data:`ADDITION_TASK`
    from ``seed``; return the greedy exact match on the held-out questions. Runs in a process that holds no
    learner code, with one BLAS thread (the matrices are small, and idle BLAS threads would spend the CPU budget);
    a malformed configuration raises ``ValueError`` naming the problem."""
    from ..recipes.ch05_seq2seq import VARIANTS

    if not isinstance(config, dict) or set(config) != _CONFIG_KEYS:
        raise ValueError(f"the configuration must be a dict with exactly the keys {sorted(_CONFIG_KEYS)}")
    if config["variant"] not in VARIANTS:
        raise ValueError(f"unknown variant {config['variant']!r}; the variants are {list(VARIANTS)}")
    epochs, lr = config["epochs"], config["lr"]
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not 1 <= epochs <= 20:
        raise ValueError(f"epochs must be an int from 1 to 20, not {epochs!r}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 0.1:
        raise ValueError(f"lr must be a number in (0, 0.1], not {lr!r}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:                  # without it, BLAS decides
        return _train_addition(config, seed)
    with threadpool_limits(limits=1, user_api="blas"):
        return _train_addition(config, seed)


def _train_addition(config, seed):
    from ..data.addition import addition_pairs
    from ..data.pairs import END_ID, START_ID, decode_ids, encode_pairs, pair_vocab
    from ..models.seq2seq import exact_match
    from ..train import fit_seq2seq
    from ..recipes.ch05_seq2seq import VARIANTS

    epochs, lr = config["epochs"], config["lr"]
    task = ADDITION_TASK
    d = task["max_digits"]
    train = addition_pairs(task["n_train"], max_digits=d, seed=task["train_seed"])
    test = addition_pairs(task["n_test"], max_digits=d, seed=task["test_seed"], exclude=train)
    vocab = pair_vocab(train, test)
    cls, reverse, pad = VARIANTS[config["variant"]]
    kw = {"src_len": 2 * d + 1, "tgt_len": d + 1, "reverse_source": reverse, "pad_source": pad}
    (src, tgt), (test_src, _) = encode_pairs(train, vocab, **kw), encode_pairs(test, vocab, **kw)
    model = cls(len(vocab), task["embed_size"], task["hidden_size"], rng=seed)
    fit_seq2seq(model, src, tgt, epochs=epochs, batch_size=task["batch_size"], lr=float(lr),
                max_norm=task["max_norm"], seed=seed)
    answers = decode_ids(model.generate(test_src, START_ID, d + 2, END_ID), vocab)
    return exact_match([a for _, a in test], answers)


EXERCISES = [
    Exercise(
        name="encoder_forward", points=2, cases=_encoder_cases, outputs=("h",), axes={"h": ("row", "unit")},
        library="rnnbook.models.seq2seq.encoder_forward",
        mistakes={"cell": "this is the last CELL state c; the encoder's summary is the last hidden state h",
                  "reset_c": "the cell state is started from zero again at every step: c must be carried from "
                             "one step to the next, like h"},
        nudge="Two states travel through the loop; only one of them is the summary the decoder receives.",
        hint="Look up E[src[:, t]] for each time step t, run lstm_step_forward from zero h and c (the cell "
             "state must be carried too), and return only the last hidden state h, not c and not all states."),
    Exercise(
        name="peek_concat", points=1, cases=_peek_cases, outputs=("out",), axes={"out": ("row", "time", "unit")},
        library="rnnbook.models.seq2seq.peek_concat",
        mistakes={"before": "h is placed BEFORE xs on the last axis; the decoder's layers expect [xs[:, t], h]",
                  "first_only": "h reaches only the first time step (the others get zeros): a peeky decoder "
                                "sees it at EVERY step"},
        nudge="Every one of the T steps gets the same h, after that step's own input.",
        hint="Repeat h along a new time axis (h[:, None, :], broadcast or np.repeat to T steps) and concatenate "
             "it AFTER xs on the last axis: out[:, t] = [xs[:, t], h]."),
    Exercise(
        name="peek_concat_backward", points=2, cases=_peek_back_cases, outputs=("dxs", "dh"),
        axes={"dxs": ("row", "time", "unit"), "dh": ("row", "unit")},
        library="rnnbook.models.seq2seq.peek_concat_backward",
        mistakes={"mean": "dh is the MEAN over time of the h columns: h was copied, not averaged, into every step",
                  "last": "dh takes only the last step's h columns, but h was used at every step"},
        nudge="A value used at several places collects a gradient from each of them.",
        hint="The first D columns of dout are dxs; h was copied to every time step, so its gradient is the SUM "
             "over time of the remaining columns (not the mean, not the last step)."),
    Exercise(
        name="attention_forward", points=2, cases=_attention_cases, outputs=("weights", "context"),
        axes={"weights": ("row", "decoder step", "source position"), "context": ("row", "decoder step", "unit")},
        library="rnnbook.attention.attention_forward",
        mistakes={"decoder_axis": "the softmax runs over the DECODER steps (axis 1): for each decoder step the "
                                  "weights must be a distribution over the source positions",
                  "mask_after": "the padding weights are set to 0 after the softmax, so the remaining weights of "
                                "a row no longer sum to 1"},
        nudge="For each decoder step the weights are a distribution over the source positions (the last axis). "
              "Padding positions (mask False) must get weight exactly 0 and the other weights of a row must still "
              "sum to 1: change the scores before the softmax, not the weights after it.",
        hint="scores = hs_dec @ hs_enc.transpose(0, 2, 1) has shape (N, T, S); where mask is False set the score "
             "to -inf (np.where(mask[:, None, :], scores, -np.inf)); the softmax runs over the LAST axis (source "
             "positions), minus its maximum for stability (one case has large scores); context = weights @ hs_enc. "
             "With mask=None nothing is masked."),
    Exercise(
        name="attention_backward", points=3, cases=_attention_backward_cases, outputs=("dhs_enc", "dhs_dec"),
        axes={"dhs_enc": ("row", "source position", "unit"), "dhs_dec": ("row", "decoder step", "unit")},
        library="rnnbook.attention.attention_backward",
        mistakes={"values_only": "dhs_enc has only its term as VALUES (weights^T dcontext): the encoder states are "
                                 "also the KEYS that were scored, and that path through the softmax is missing",
                  "softmax_diag": "the softmax's backward pass keeps only weights * dweights: each weight depends on "
                                  "every score of its row, so the Jacobian has a second term"},
        nudge="Go backwards through context = weights @ hs_enc, then the softmax, then scores = hs_dec @ hs_enc^T. "
              "hs_enc is used twice (as values and as keys), so its gradient has two terms.",
        hint="dweights = dcontext @ hs_enc^T; the softmax's Jacobian-vector product row by row: dscores = "
             "weights * (dweights - (dweights * weights).sum(-1, keepdims=True)); dhs_dec = dscores @ hs_enc; "
             "dhs_enc = weights^T @ dcontext + dscores^T @ hs_dec (transpose the last two axes). Masked positions "
             "need no special case: their weight is 0."),
    Exercise(
        name="bidirectional_encoder_forward", points=2, cases=_bidirectional_cases, outputs=("h",),
        axes={"h": ("row", "unit")}, library="rnnbook.bidirectional.bidirectional_encoder_forward",
        mistakes={"order": "the two halves are swapped: the forward state comes first, then the backward one",
                  "unreversed": "the second LSTM reads the source in the same order as the first: it must read "
                                "from the last character to the first"},
        nudge="Run two independent LSTMs over the same embedded source, one from the first character to the last "
              "and one from the last to the first, each from zero states.",
        hint="Forward: t = 0 .. S-1 with the _f weights; backward: t = S-1 .. 0 with the _b weights (both from zero "
             "h and c, with lstm_step_forward on E[src[:, t]]). Return np.concatenate([h_forward, h_backward], "
             "axis=1): the forward state first, each the LAST state of its own direction."),
    Exercise(
        name="additive_scores", points=2, cases=_additive_cases, outputs=("scores",),
        axes={"scores": ("row", "decoder step", "source position")},
        mistakes={"swapped": "W1 and W2 are swapped: W1 transforms the decoder states q_t, W2 the encoder states h_s",
                  "no_tanh": "the tanh is missing: without it the score is linear and v^T(W1 q + W2 h) separates "
                             "into a decoder part plus a source part"},
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
    Choice(
        name="c_attention_scale", points=1,
        prompt="every encoder and decoder state is multiplied by 10 (no padding): what happens to the dot-product "
               "attention weights",
        options={"sharper": "",
                 "unchanged": "softmax ignores a constant ADDED to all scores of a row, not a factor: every score "
                              "q . h is multiplied by 100, and so are the differences between scores",
                 "flatter": "larger differences between scores make the largest score dominate more, not less",
                 "uniform": "equal weights need equal scores; multiplying unequal scores keeps them unequal"},
        explanation="Both q and h grow tenfold, so every score q . h is 100 times larger and so are its "
                    "differences; the softmax of larger differences is closer to one-hot on the best position. "
                    "This is why scaled dot-product attention divides the scores by the square root of the size.",
        reveal_after=3),
    Choice(
        name="c_reversed_last", points=1,
        prompt="the reversed model reads the end-padded question '16+75' reversed (padding first, then '57+61'): "
               "which character does the encoder read last, just before the decoder writes its first digit",
        options={"first_leading": "",
                 "second_leading": "the 7 of 75 is the second character the reversed question shows: four steps "
                                   "separate it from the decoder",
                 "last_digit": "the 5 of 75 is read FIRST after the padding: it is the furthest digit from the decoder",
                 "padding": "the padding is at the end of the row before the reversal, so it comes first after it"},
        explanation="Reversing '16+75' (after its end padding) gives the padding, then '5', '7', '+', '6', '1': the "
                    "1, the first operand's leading digit, is read last. The second operand's leading digit is not "
                    "brought near the decoder, so reversal helps one operand's leading digit, not both.",
        reveal_after=3),
    Experiment(
        name="addition_config", points=3,
        prompt="a configuration {'variant': ..., 'lr': ..., 'epochs': ...} that trains an addition model to at least "
               "0.8 held-out exact match within 60 s of CPU",
        run=train_addition, target=0.8, seeds=(0,), budget_s=60, unit="held-out exact match",
        nudge="Compare the variants of the chapter's table at the same budget; then a larger learning rate or more "
              "epochs, as long as the training fits in the CPU budget."),
]

"""Chapter 5's addition experiment: baseline, pre-padded, reversed, peeky and reversed + peeky encoder-decoders.

Run it::

    python -m rnnbook.recipes.ch05_seq2seq --config ci   --out ci.json      # the chapter's single-seed comparison
    python -m rnnbook.recipes.ch05_seq2seq --config best --out best.json    # the chapter's best model
    python -m rnnbook.recipes.ch05_seq2seq --config long --jobs 2 --out chapters/logs/05_seq2seq_long.json

Every configuration trains its ``variants`` (of :data:`VARIANTS`) on the same generated addition
questions (:func:`rnnbook.data.addition.addition_pairs`, encoded by
:func:`rnnbook.data.pairs.encode_pairs`), with the same budget, from every seed of the configuration
(the seed sets both the initialisation and the order of the minibatches). After every epoch it
measures greedy exact match on the held-out questions. Finally it decodes the held-out questions
with the model of variant ``beam_variant`` and seed ``beam_seed`` both greedily and with a beam of
width ``beam_width``, and counts the answers that changed. The JSON log is rewritten after every run
(``"complete": false`` until the end).

The ``ci`` and ``best`` configurations are exactly what ``chapters/05_seq2seq.ipynb`` trains when the
book is built (the chapter imports the functions of this module); the ``long`` one, the same comparison
from three seeds, is too slow for that and is run by hand; the chapter reads and
quotes its committed log (:func:`load_log`).
"""
from __future__ import annotations

import os
import platform
import sys
import time

import numpy as np

from ..data.addition import addition_pairs
from ..data.pairs import END_ID, START_ID, decode_ids, encode_pairs, pair_vocab
from ..models.seq2seq import PeekySeq2Seq, Seq2Seq, exact_match
from ..train import fit_seq2seq
from . import _common
from ._common import check_config, finish_log, limit_blas_threads, new_log, write_json

__all__ = ["CONFIGS", "VARIANTS", "load_data", "addition_data", "accuracy", "build_model", "train_variant",
           "beam_vs_greedy", "format_table", "scores_at", "run", "log_path", "load_log", "main"]

#: This recipe's module (``__name__`` is ``"__main__"`` when it runs with ``python -m``).
RECIPE = "rnnbook.recipes.ch05_seq2seq"

# What every configuration shares: the data and the training setup.
_SHARED = dict(
    n_train=45000, n_test=1000,        # distinct questions; no test question is in the training set
    max_digits=3,                      # operands have 1 to 3 digits
    train_seed=1, test_seed=2,         # seeds of the two addition_pairs draws
    embed_size=16, hidden_size=128,
    batch_size=128, lr=3e-3, max_norm=5.0,
    beam_variant="reversed + peeky", beam_seed=0, beam_width=5,
)
#: The configurations. ``ci`` is what the chapter trains for its comparison of the variants (one seed, few
#: epochs); ``best`` is the one model the chapter trains for longer (same data, more epochs; its first
#: ``ci`` epochs are the ``ci`` run of its variant, so the chapter trains that variant only once);
#: ``long`` repeats the comparison from three seeds (the ``ci`` seed among them), with the ``ci`` budget:
#: fifteen runs, too many for the page, which quotes the committed log instead. All use Adam and
#: gradient-norm clipping (:func:`rnnbook.train.fit_seq2seq`).
CONFIGS: dict[str, dict] = {
    "ci": dict(_SHARED, epochs=2, seeds=[0],                # model seed: initialisation and minibatch order
               variants=["baseline", "pre-padded", "reversed", "peeky", "reversed + peeky"]),
    "best": dict(_SHARED, epochs=7, seeds=[0], variants=["reversed + peeky"]),
    "long": dict(_SHARED, epochs=2, seeds=[0, 1, 2],
                 variants=["reversed + peeky", "peeky", "reversed", "pre-padded", "baseline"]),
}

#: The variants: name -> (model class, whether the padded source is reversed, where its padding goes).
#: "pre-padded" is the control of "reversed": its padding comes first too, but the question is read
#: in its own order, so comparing the two separates the effect of reversal from that of the padding;
#: "pre-padded + peeky" is the same control for "reversed + peeky" (the chapter trains it from one seed; the
#: configurations' comparisons do not include it).
VARIANTS: dict[str, tuple[type, bool, str]] = {
    "baseline": (Seq2Seq, False, "end"),
    "pre-padded": (Seq2Seq, False, "start"),
    "reversed": (Seq2Seq, True, "end"),
    "peeky": (PeekySeq2Seq, False, "end"),
    "reversed + peeky": (PeekySeq2Seq, True, "end"),
    "pre-padded + peeky": (PeekySeq2Seq, False, "start"),
}


def _check_config(config) -> dict:
    return check_config(config, CONFIGS)


def _check_variant(name: str) -> None:
    if name not in VARIANTS:
        raise ValueError(f"unknown variant {name!r}; the variants are {list(VARIANTS)}")


def load_data(config) -> dict:
    """Generate the training and held-out questions of ``config`` and their character vocabulary.

    Returns
    -------
    dict with ``train`` and ``test`` (lists of ``(question, answer)`` strings, the test questions
    drawn with ``exclude=`` the training ones), ``answers`` (the test answers), ``vocab`` (from
    :func:`rnnbook.data.pairs.pair_vocab`), ``src_len`` and ``tgt_len`` (the padded lengths: the
    longest possible question and answer) and ``max_len`` (decoding length: answer + ``</s>``).
    """
    config = _check_config(config)
    d = config["max_digits"]
    train = addition_pairs(config["n_train"], max_digits=d, seed=config["train_seed"])
    test = addition_pairs(config["n_test"], max_digits=d, seed=config["test_seed"], exclude=train)
    return {"train": train, "test": test, "answers": [a for _, a in test], "vocab": pair_vocab(train, test),
            "src_len": 2 * d + 1, "tgt_len": d + 1, "max_len": d + 2}


def addition_data(data: dict, variant: str):
    """Encode the questions of :func:`load_data` for ``variant`` -> ``((train_src, train_tgt), (test_src, test_tgt))``.

    For the reversed variants every padded source row is reversed: the encoder reads the padding first,
    then the question backwards (``"16+75"`` as ``"57+61"``); "pre-padded" puts the padding first and
    keeps the question's order.
    """
    _check_variant(variant)
    _, reverse, pad = VARIANTS[variant]
    kw = dict(src_len=data["src_len"], tgt_len=data["tgt_len"], reverse_source=reverse, pad_source=pad)
    return encode_pairs(data["train"], data["vocab"], **kw), encode_pairs(data["test"], data["vocab"], **kw)


def accuracy(model, src, answers, vocab, max_len: int) -> float:
    """Greedy exact match: the fraction of ``src`` rows whose greedily decoded answer equals ``answers``."""
    return exact_match(answers, decode_ids(model.generate(src, START_ID, max_len, END_ID), vocab))


def build_model(data: dict, config, name: str, seed: int):
    """The (float32) model of variant ``name``, initialised from ``seed``."""
    config = _check_config(config)
    _check_variant(name)
    cls = VARIANTS[name][0]
    return cls(len(data["vocab"]), config["embed_size"], config["hidden_size"], rng=seed)


def train_variant(data: dict, config, name: str, seed: int, *, log=None):
    """Train variant ``name`` from ``seed``; return ``(model, history)``.

    ``history`` is the dict of :func:`~rnnbook.train.fit_seq2seq`: the mean training loss
    (``"loss"``) and the held-out greedy exact match (``"score"``) after every epoch.
    """
    config = _check_config(config)
    model = build_model(data, config, name, seed)
    (train_src, train_tgt), (test_src, _) = addition_data(data, name)
    history = fit_seq2seq(model, train_src, train_tgt, epochs=config["epochs"], batch_size=config["batch_size"],
                          lr=config["lr"], max_norm=config["max_norm"], seed=seed, log=log,
                          evaluate=lambda m: accuracy(m, test_src, data["answers"], data["vocab"], data["max_len"]))
    return model, history


def beam_vs_greedy(model, src, answers, vocab, *, beam_width: int, max_len: int) -> dict:
    """Decode ``src`` greedily and with a beam of ``beam_width``; compare the answers.

    Returns a JSON-ready dict: both exact matches, the number of answers the beam ``changed``, how many
    of those went from wrong to right, from right to wrong and from wrong to (another) wrong, and the
    row indices of the changed answers (``changed_indices``).
    """
    greedy = decode_ids(model.generate(src, START_ID, max_len, END_ID), vocab)
    beam = decode_ids(model.beam_search(src, START_ID, max_len, beam_width, END_ID)[0], vocab)
    changed = [i for i, (g, b) in enumerate(zip(greedy, beam)) if g != b]
    return {"beam_width": int(beam_width), "questions": len(answers),
            "greedy_exact_match": exact_match(answers, greedy), "beam_exact_match": exact_match(answers, beam),
            "changed": len(changed),
            "wrong_to_right": sum(beam[i] == answers[i] for i in changed),
            "right_to_wrong": sum(greedy[i] == answers[i] for i in changed),
            "wrong_to_wrong": sum(answers[i] not in (greedy[i], beam[i]) for i in changed),
            "changed_indices": changed}


def format_table(final: dict) -> str:
    """A text table of final exact matches: ``final`` maps a variant to its values over the seeds.

    The spread is the standard deviation over the seeds (``ddof=0``).
    """
    lines = [f"{'variant':>17} | {'exact match (mean ± std over seeds)':>36} | {'min':>5} | {'max':>5}", "-" * 72]
    for name, values in final.items():
        v = np.asarray(values, dtype=float)
        lines.append(f"{name:>17} | {v.mean():>28.3f} ± {v.std():.3f} | {v.min():.3f} | {v.max():.3f}")
    return "\n".join(lines)


def scores_at(log: dict, epoch: int | None = None) -> dict:
    """The held-out exact match of every run of a log after epoch ``epoch`` (default: the last).

    Returns ``{variant: [score of each seed]}``, the variants in the order of :data:`VARIANTS` and the seeds in
    the order of the log's configuration, whatever order the runs finished in.
    """
    config = log["config"]
    epoch = config["epochs"] if epoch is None else epoch
    if not 1 <= epoch <= config["epochs"]:
        raise ValueError(f"epoch must be between 1 and {config['epochs']}, got {epoch}")
    runs = {(r["variant"], r["seed"]): r for r in log["runs"]}
    return {name: [runs[name, seed]["exact_match"][epoch - 1] for seed in config["seeds"] if (name, seed) in runs]
            for name in VARIANTS if any((name, seed) in runs for seed in config["seeds"])}


def _summary(runs: list) -> dict:
    out = {}
    for name in VARIANTS:
        final = np.array([r["final"] for r in runs if r["variant"] == name])
        if final.size:
            out[name] = {"seeds": int(final.size), "mean": float(final.mean()), "std": float(final.std()),
                         "min": float(final.min()), "max": float(final.max())}
    return out


def _train_and_record(config: dict, name: str, seed: int) -> dict:
    """Train one (variant, seed) and return its log record; the beam model also gets its beam comparison."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    data = load_data(config)
    model, hist = train_variant(data, config, name, seed)
    record = {"variant": name, "seed": seed, "loss": hist["loss"], "exact_match": hist["score"],
              "final": hist["score"][-1], "seconds": round(time.perf_counter() - t0, 1),
              "cpu_seconds": round(time.process_time() - cpu0, 1)}
    if (name, seed) == (config["beam_variant"], config["beam_seed"]):
        (_, _), (test_src, _) = addition_data(data, name)
        record["beam"] = {"variant": name, "seed": seed,
                          **beam_vs_greedy(model, test_src, data["answers"], data["vocab"],
                                           beam_width=config["beam_width"], max_len=data["max_len"])}
    return record


def _train_star(job):
    limit_blas_threads(1)
    return _train_and_record(*job)


def run(config="ci", out=None, *, variants=None, jobs: int = 1, log=print) -> dict:
    """Train the variants of ``config`` (or only ``variants``) with every seed of it; return (and write) the log.

    ``config`` is a name of :data:`CONFIGS` or a dict with the same keys. The beam comparison is made
    only if its model (``beam_variant`` with ``beam_seed``) was trained; otherwise ``"beam"`` is ``None``.
    ``jobs > 1`` trains that many (variant, seed) runs at once in separate processes (one BLAS thread
    each); the results are the same, the log lists the runs in the order they finished.
    """
    config_name = config if isinstance(config, str) else "custom"
    config = _check_config(config)
    names = list(config["variants"]) if variants is None else list(variants)
    for name in names:
        _check_variant(name)
    say = log or (lambda msg: None)
    result, wall = new_log(RECIPE, config_name, config, CONFIGS), time.perf_counter()
    data = load_data(config)
    result.update({
        "data": {"train_questions": len(data["train"]), "test_questions": len(data["test"]),
                 "vocab_size": len(data["vocab"])},
        "variants": {n: {"model": VARIANTS[n][0].__name__, "reverse": VARIANTS[n][1], "pad_source": VARIANTS[n][2]}
                     for n in names},
        "std": "standard deviation over the seeds, ddof=0",
        "jobs": int(jobs), "runs": [], "summary": {}, "beam": None,
        "machine": {"platform": platform.platform(), "processor": platform.machine(), "cpus": os.cpu_count(),
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
    })
    say(f"config {config_name}: {len(data['train'])} training and {len(data['test'])} held-out questions, "
        f"{len(names)} variant(s) x {len(config['seeds'])} seed(s), {config['epochs']} epochs")
    work = [(config, name, seed) for name in names for seed in config["seeds"]]
    if jobs > 1:
        import multiprocessing
        pool = multiprocessing.get_context("spawn").Pool(jobs)
        records = pool.imap_unordered(_train_star, work)
    else:
        pool, records = None, map(lambda job: _train_and_record(*job), work)
    for record in records:
        if "beam" in record:
            result["beam"] = record.pop("beam")
        result["runs"].append(record)
        say(f"{record['variant']:>17} seed {record['seed']}: exact match per epoch "
            f"{' '.join(f'{s:.3f}' for s in record['exact_match'])}")
        result["summary"] = _summary(result["runs"])
        write_json(out, result)
    if pool is not None:
        pool.close()
    return finish_log(result, wall, out)


log_path, load_log = _common.log_functions("05_seq2seq", RECIPE, "run the recipe again")


def main(argv=None) -> int:
    parser = _common.recipe_parser(RECIPE, __doc__, CONFIGS,
                                   "ci: the chapter's comparison (about 2 minutes); best: its best model; long: the "
                                   "hand-run comparison from three seeds (13.5 minutes with --jobs 2 on a busy "
                                   "2-core machine)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="train this many runs at once, one process each (default 1)")
    args = _common.parse_args(parser, argv)
    result = run(args.config, args.out, jobs=args.jobs)
    print(format_table(scores_at(result)))
    beam = result["beam"]
    if beam is not None:
        print(f"beam {beam['beam_width']} vs greedy ({beam['variant']}, seed {beam['seed']}): "
              f"{beam['changed']} of {beam['questions']} answers changed, {beam['wrong_to_right']} wrong -> right, "
              f"{beam['right_to_wrong']} right -> wrong; exact match {beam['greedy_exact_match']:.3f} -> "
              f"{beam['beam_exact_match']:.3f}")
    print(f"done in {result['total_seconds']:.0f} s" + (f"; log written to {args.out}" if args.out else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

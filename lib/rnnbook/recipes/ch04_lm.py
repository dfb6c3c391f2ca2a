"""Chapter 4's experiments: word-level LSTM language models on the standard library's docstrings.

Run it::

    python -m rnnbook.recipes.ch04_lm --config ci   --out ci.json               # what the chapter trains (~1 min)
    python -m rnnbook.recipes.ch04_lm --config ladder --out ladder.json         # the chapter's over-fitting ladder
    python -m rnnbook.recipes.ch04_lm --config long --out chapters/logs/04_lm_long.json   # ~20 min, 1 core

Add ``--checkpoint-dir DIR`` to save every run's training state as it goes, so that an interrupted
invocation started again (with ``--resume``) continues where it stopped.

Every configuration trains the ladder of :data:`VARIANTS` (or the part of it that its ``"variants"``
list names), each one change on top of the previous one (a plain RNN, an LSTM, a second layer,
dropout, tied weights, a learning-rate schedule), for the same number of steps on the same data, for
every seed of the configuration; validation perplexity is measured after every epoch, and each run
records its best epoch (early stopping). It
also computes a unigram baseline, the agreement test of :mod:`rnnbook.data.agreement` for every
model, and a few generated samples from the last variant. The JSON log is rewritten after every
run (``"complete": false`` until the end), and ``--resume`` skips the runs a previous, interrupted
invocation has already logged.

The ``ci`` and ``ladder`` configurations are exactly what ``chapters/04_lm.ipynb`` trains when the
book is built (the page uses seed 0 of ``ladder``);
the ``long`` one is too slow for that and is run by hand; the chapter quotes its committed log.
"""
from __future__ import annotations

import datetime
import functools
import json
import math
import pathlib
import platform
import sys
import time

import numpy as np

from ..data.agreement import accuracy_table, agreement_scores, make_agreement_set
from ..data.corpora import stdlib_docstrings_text, train_val_test_split, word_tokenize, word_vocab
from ..models import LanguageModel
from ..optim import Adam
from ..train import evaluate_perplexity, tbptt_batches, train_lm
from . import _common
from ._common import check_config, write_json

__all__ = ["CONFIGS", "VARIANTS", "variant_settings", "config_variants", "best_epoch", "load_data",
           "unigram_perplexity", "build_model", "train_variant", "run", "log_path", "load_log", "main"]

#: This recipe's module (``__name__`` is ``"__main__"`` when it runs with ``python -m``).
RECIPE = "rnnbook.recipes.ch04_lm"

#: The configurations. ``ci`` is what the chapter trains to compare the RNN with the LSTM; ``ladder``
#: is the chapter's small over-fitting setting for the regularisation ladder (only the variants it
#: lists, each run with validation after every epoch and compared at its best epoch); ``long`` is the
#: hand-run recipe whose log the chapter quotes. All use Adam, global-norm clipping and truncated BPTT.
CONFIGS: dict[str, dict] = {
    "ci": dict(
        max_vocab=2000,            # words kept (including <unk>); rarer words become <unk>
        train_tokens=100_000,      # a 100k-token subset of the training split (None: all of it)
        embed_size=64, hidden_size=64,
        batch_size=32, seq_len=32,
        epochs=3, lr=1e-2, max_norm=1.0,
        dropout=0.3,               # used by the variants from "+ dropout" on
        lr_decay=0.5, decay_after=2,   # "+ lr schedule": lr * 0.5 ** max(0, epoch - 2)
        seeds=[0],
        agreement_per_cell=40,
    ),
    "ladder": dict(
        max_vocab=1000, train_tokens=20_000,   # a small corpus, so that a plain LSTM over-fits within a few epochs
        held_out_tokens=8000,      # the first 8,000 tokens of the validation and test splits
        embed_size=200, hidden_size=200,        # D = H, so that the output layer can be tied
        batch_size=20, seq_len=35,
        epochs=8, lr=1e-2, max_norm=1.0,
        dropout=0.65,              # heavy, as in Zaremba et al.'s large model: the model is large for its data
        lr_decay=0.5, decay_after=2,
        seeds=[0, 1, 2],
        agreement_per_cell=40,
        variants=["LSTM", "+ dropout", "+ tied weights"],   # one change at a time, on one layer
    ),
    "long": dict(
        max_vocab=4000, train_tokens=None,
        embed_size=100, hidden_size=100,
        batch_size=32, seq_len=32,
        epochs=5, lr=1e-2, max_norm=1.0,
        dropout=0.3,
        lr_decay=0.5, decay_after=2,
        seeds=[0, 1],
        agreement_per_cell=40,
    ),
}

#: The ladder of variants, as pairs (name, what changes with respect to the previous variant).
VARIANTS: tuple[tuple[str, dict], ...] = (
    ("RNN", dict(cell="rnn")),
    ("LSTM", dict(cell="lstm")),
    ("+ 2nd layer", dict(num_layers=2)),
    ("+ dropout", dict(dropout=True)),
    ("+ tied weights", dict(tie_weights=True)),
    ("+ lr schedule", dict(schedule=True)),
)


def variant_settings(name: str, variants=None) -> dict:
    """The full settings of a variant: every change of the ladder up to and including ``name``.

    ``variants`` (names of :data:`VARIANTS`, default all) is the ladder actually climbed: the changes
    of the variants left out of it are not applied.

    >>> variant_settings("+ dropout")
    {'cell': 'lstm', 'num_layers': 2, 'dropout': True, 'tie_weights': False, 'schedule': False}
    >>> variant_settings("+ dropout", ["LSTM", "+ dropout", "+ tied weights"])
    {'cell': 'lstm', 'num_layers': 1, 'dropout': True, 'tie_weights': False, 'schedule': False}
    """
    names = [n for n, _ in VARIANTS]
    climbed = names if variants is None else list(variants)
    unknown = [n for n in [name, *climbed] if n not in names]
    if unknown or name not in climbed:
        raise ValueError(f"unknown variant {(unknown or [name])[0]!r}; the variants are {climbed}")
    settings = dict(cell="rnn", num_layers=1, dropout=False, tie_weights=False, schedule=False)
    for n, change in VARIANTS:
        if n in climbed:
            settings.update(change)
        if n == name:
            return settings
    raise AssertionError("unreachable")


def config_variants(config) -> list:
    """The names of the variants a configuration trains, in ladder order (its ``"variants"``, or all)."""
    config = _check_config(config)
    wanted = config.get("variants")
    return [n for n, _ in VARIANTS if wanted is None or n in wanted]


def best_epoch(record: dict) -> tuple[int, float]:
    """Early stopping, read from a run's record: ``(epoch, validation perplexity)`` of its best epoch."""
    val = record["val_ppl"]
    if not val:
        raise ValueError("the record has no validation perplexities")
    k = int(np.argmin(val))
    return int(record["epochs"][k]), float(val[k])


def _check_config(config) -> dict:
    return check_config(config, CONFIGS)


@functools.lru_cache(maxsize=1)
def _docstring_tokens() -> tuple:
    return tuple(word_tokenize(stdlib_docstrings_text()))


def _spread_subset(tokens: list, n: int, block: int = 2000) -> list:
    """``n`` tokens of ``tokens`` as evenly spaced blocks of ``block`` consecutive tokens."""
    blocks = len(tokens) // block
    wanted = max(1, n // block)
    if wanted >= blocks:
        return tokens[:n]
    starts = np.linspace(0, blocks - 1, wanted).round().astype(int) * block
    return [t for s in starts for t in tokens[s:s + block]]


def load_data(config) -> dict:
    """Tokenise the docstrings, split them, build the capped vocabulary and encode every split.

    The split is contiguous (90 / 5 / 5 % of the tokens, in the corpus's sorted file order). With
    ``train_tokens``, only that many training tokens are used: blocks of 2,000 consecutive tokens,
    evenly spaced over the training split, so that every part of the library is represented. The
    optional ``held_out_tokens`` keeps only the first that many tokens of the validation and test splits. The
    vocabulary holds the ``max_vocab - 1`` most frequent words of the training tokens used, plus
    ``<unk>``.

    Returns
    -------
    dict with ``vocab``, ``train``, ``val``, ``test`` (int64 id arrays), ``corpus_tokens`` (all tokens
    of the corpus) and ``unk_rate`` (fraction of ``<unk>`` in each split).
    """
    config = _check_config(config)
    tokens = list(_docstring_tokens())
    train, val, test = train_val_test_split(tokens, (0.9, 0.05, 0.05))
    if config["train_tokens"] is not None:
        train = _spread_subset(train, config["train_tokens"])
    if config.get("held_out_tokens") is not None:
        val, test = val[:config["held_out_tokens"]], test[:config["held_out_tokens"]]
    vocab = word_vocab(train, max_size=config["max_vocab"])
    data = {"vocab": vocab, "train": vocab.encode(train), "val": vocab.encode(val), "test": vocab.encode(test),
            "corpus_tokens": len(tokens)}
    unk = vocab.stoi["<unk>"]
    data["unk_rate"] = {k: float(np.mean(data[k] == unk)) for k in ("train", "val", "test")}
    return data


def unigram_perplexity(train_ids, ids, vocab_size: int, batch_size: int, seq_len: int,
                       alpha: float = 1.0) -> float:
    """Perplexity of the add-``alpha`` unigram model of ``train_ids`` on the targets of ``ids``.

    The unigram model ignores context: ``p(w) = (count(w) + alpha) / (n + alpha V)``. It is scored on
    exactly the tokens that :func:`rnnbook.train.evaluate_perplexity` predicts with the same
    ``batch_size`` and ``seq_len``, so the numbers are comparable.
    """
    counts = np.bincount(np.asarray(train_ids), minlength=vocab_size).astype(np.float64)
    logp = np.log((counts + alpha) / (counts.sum() + alpha * vocab_size))
    batches = tbptt_batches(ids, batch_size, seq_len)
    targets = batches.rows_y[:, :len(batches) * seq_len]
    return float(math.exp(-logp[targets].mean()))


def build_model(config, vocab_size: int, name: str, seed: int) -> LanguageModel:
    """The (stateful, float32) model of variant ``name``."""
    config = _check_config(config)
    s = variant_settings(name, config_variants(config))
    return LanguageModel(vocab_size, config["embed_size"], config["hidden_size"], cell=s["cell"],
                         num_layers=s["num_layers"], dropout=config["dropout"] if s["dropout"] else 0.0,
                         tie_weights=s["tie_weights"], stateful=True, rng=seed)


def train_variant(data: dict, config, name: str, seed: int, *, agreement=None, log=None,
                  checkpoint_path=None, checkpoint_every: int | None = None):
    """Train one variant with one seed; evaluate it on validation, test and the agreement items.

    ``checkpoint_path`` and ``checkpoint_every`` are passed to :func:`rnnbook.train.train_lm`: the
    training state is saved there, and a run started again with the same arguments resumes from it.

    Returns ``(model, record)``: the trained model and a JSON-ready dict with the variant's
    settings, ``params``, per-epoch ``val_ppl``, ``train_ppl``, ``lr`` and ``tokens``, the final
    ``val`` and ``test`` perplexity, the ``best_epoch`` and its ``best_val`` perplexity, ``steps``,
    wall-clock ``seconds`` of training and, if
    ``agreement`` (an :class:`~rnnbook.data.agreement.AgreementSet`) is given, its accuracy table.
    """
    config = _check_config(config)
    s = variant_settings(name, config_variants(config))
    model = build_model(config, len(data["vocab"]), name, seed)
    lr, decay, after = config["lr"], config["lr_decay"], config["decay_after"]
    schedule = (lambda epoch: lr * decay ** max(0, epoch - after)) if s["schedule"] else None
    start = time.perf_counter()
    hist = train_lm(model, Adam(lr=lr), data["train"], data["val"], batch_size=config["batch_size"],
                    seq_len=config["seq_len"], epochs=config["epochs"], max_norm=config["max_norm"],
                    lr_schedule=schedule, progress=False, log=log, checkpoint_path=checkpoint_path,
                    checkpoint_every=checkpoint_every)
    seconds = time.perf_counter() - start
    test = evaluate_perplexity(model, data["test"], config["batch_size"], config["seq_len"])
    record = {"variant": name, "seed": seed, "settings": s, "params": model.num_params(),
              "epochs": hist["epoch"], "val_ppl": hist["val_ppl"], "train_ppl": hist["train_ppl"],
              "lr": hist["lr"], "tokens": hist["tokens"], "steps": hist["steps"], "diverged": hist["diverged"],
              "val": hist["val_ppl"][-1] if hist["val_ppl"] else float("nan"), "test": test,
              "seconds": round(seconds, 2)}
    if hist["val_ppl"]:
        record["best_epoch"], record["best_val"] = best_epoch(record)
    if agreement is not None:
        record["agreement"] = accuracy_table(agreement, agreement_scores(model, data["vocab"], agreement))
    return model, record


def _summary(runs: list) -> dict:
    out = {}
    for name, _ in VARIANTS:
        mine = [r for r in runs if r["variant"] == name]
        if not mine:
            continue
        best = np.array([best_epoch(r)[1] for r in mine])
        val, test = np.array([r["val"] for r in mine]), np.array([r["test"] for r in mine])
        out[name] = {"params": mine[0]["params"], "seeds": len(mine), "val_mean": float(val.mean()),
                     "val_min": float(val.min()), "val_max": float(val.max()), "test_mean": float(test.mean()),
                     "test_min": float(test.min()), "test_max": float(test.max()),
                     "best_val_mean": float(best.mean()), "best_val_min": float(best.min()),
                     "best_val_max": float(best.max()),
                     "seconds_mean": float(np.mean([r["seconds"] for r in mine]))}
    return out


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_")


def _samples(model, vocab) -> dict:
    """Greedy and sampled continuations of "return the" by ``model`` (the last variant trained)."""
    from ..generate import generate

    prompt = vocab.encode(["<eos>", "return", "the"])
    return {
        "prompt": "return the",
        "greedy": " ".join(vocab.decode(generate(model, prompt, 25, greedy=True)[0])),
        "temperature_0.8_top_k_40": [" ".join(vocab.decode(row)) for row in
                                     generate(model, prompt, 25, temperature=0.8, top_k=min(40, len(vocab)),
                                              num_samples=3, rng=0)],
    }


def run(config_name: str, out=None, *, resume: bool = False, samples: bool = True, log=print,
        checkpoint_dir=None, checkpoint_every: int = 100) -> dict:
    """Run every variant with every seed of ``CONFIGS[config_name]``; return (and write) the log.

    With ``checkpoint_dir``, every run saves its training state there every ``checkpoint_every``
    steps (``<variant>_seed<k>.npz``), and an interrupted run resumes from its file.
    """
    config = _check_config(config_name)
    say = log or (lambda msg: None)
    started = time.time()
    data = load_data(config)
    V = len(data["vocab"])
    items = make_agreement_set(data["vocab"], per_cell=config["agreement_per_cell"], seed=0)
    bs, T = config["batch_size"], config["seq_len"]
    result = {
        "recipe": RECIPE, "config_name": config_name, "config": config,
        "python": platform.python_version(), "numpy": np.__version__,
        "started": datetime.datetime.now().isoformat(timespec="seconds"), "complete": False,
        "data": {"corpus_tokens": data["corpus_tokens"], "train_tokens": int(data["train"].size),
                 "val_tokens": int(data["val"].size), "test_tokens": int(data["test"].size), "vocab_size": V,
                 "unk_rate": data["unk_rate"]},
        "unigram": {"val": unigram_perplexity(data["train"], data["val"], V, bs, T),
                    "test": unigram_perplexity(data["train"], data["test"], V, bs, T)},
        "agreement_items": len(items), "runs": [],
    }
    done, old_samples = {}, None
    if resume and out is not None and pathlib.Path(out).is_file():
        old = json.loads(pathlib.Path(out).read_text(encoding="utf-8"))
        if old.get("config") == config:
            done = {(r["variant"], r["seed"]): r for r in old.get("runs", [])}
            old_samples = old.get("samples")
            say(f"resuming: {len(done)} run(s) already logged in {out}")
        else:
            say(f"{out} was made with another configuration: starting afresh")
    say(f"config {config_name}: {data['train'].size} training tokens, vocabulary {V}, "
        f"{len(config_variants(config))} variants x {len(config['seeds'])} seed(s)")
    last_model, names = None, config_variants(config)
    for seed in config["seeds"]:
        for name in names:
            if (name, seed) in done:
                result["runs"].append(done[(name, seed)])
                continue
            ckpt = None if checkpoint_dir is None else pathlib.Path(checkpoint_dir) / f"{_slug(name)}_seed{seed}.npz"
            if ckpt is not None:
                ckpt.parent.mkdir(parents=True, exist_ok=True)
            model, record = train_variant(data, config, name, seed, agreement=items, checkpoint_path=ckpt,
                                          checkpoint_every=checkpoint_every if ckpt is not None else None)
            result["runs"].append(record)
            last_model = model if name == names[-1] else last_model
            say(f"{name:15s} seed {seed}: val ppl {record['val']:7.2f} | test ppl {record['test']:7.2f} | "
                f"{record['params']:,} params | {record['seconds']:.0f} s")
            result["summary"] = _summary(result["runs"])
            write_json(out, result)
    result["summary"] = _summary(result["runs"])
    if samples and last_model is not None:
        result["samples"] = _samples(last_model, data["vocab"])
    elif samples and old_samples is not None:
        result["samples"] = old_samples                  # the last variant was trained by the earlier invocation
    result["finished"] = datetime.datetime.now().isoformat(timespec="seconds")
    result["total_seconds"] = round(time.time() - started, 1)
    result["complete"] = True
    write_json(out, result)
    return result


log_path, load_log = _common.log_functions("04_lm", RECIPE, "finish it with --resume")


def main(argv=None) -> int:
    parser = _common.recipe_parser(RECIPE, __doc__, CONFIGS,
                                   "ci: the chapter's RNN/LSTM comparison (about a minute); ladder: the chapter's "
                                   "over-fitting ladder, three seeds (about 3 minutes); long: the hand-run recipe")
    parser.add_argument("--resume", action="store_true", help="skip the runs already in --out")
    parser.add_argument("--checkpoint-dir", type=pathlib.Path, default=None,
                        help="save each run's training state here (every --checkpoint-every steps) and resume "
                             "an interrupted run from it")
    parser.add_argument("--checkpoint-every", type=int, default=100, help="steps between checkpoints")
    args = _common.parse_args(parser, argv)
    result = run(args.config, args.out, resume=args.resume, checkpoint_dir=args.checkpoint_dir,
                 checkpoint_every=args.checkpoint_every)
    print(f"done in {result['total_seconds']:.0f} s" + (f"; log written to {args.out}" if args.out else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

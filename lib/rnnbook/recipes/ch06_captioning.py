"""Chapter 6's experiments: captioners that see the image once (init), at every word (peeky), or attend to it.

Run it::

    python -m rnnbook.recipes.ch06_captioning --config ci   --out ci.json    # what the chapter trains (~1 min)
    python -m rnnbook.recipes.ch06_captioning --config long --out chapters/logs/06_captioning_long.json   # ~12 min

Two tasks (:data:`TASKS`), both generated offline by :mod:`rnnbook.data.captions`:

* ``"digits"``: strips of one to four handwritten digits (:func:`~rnnbook.data.captions.digit_captions`);
  the test strips are made of scans of the test pool, never seen in training;
* ``"shapes"``: scenes of coloured shapes (:func:`~rnnbook.data.captions.shape_captions`), with a test
  split from the training distribution (``"seen"``) and one in which every scene holds a colour-shape
  combination never seen in training (``"held_out"``).

For each task a configuration names the conditionings to compare (``"init"``, ``"peeky"``,
``"attention"``: :class:`rnnbook.models.captioner.Captioner`) and the seeds; every conditioning is
trained with the same budget from every seed (the seed sets the initialisation and the order of the
minibatches). After every epoch the recipe measures greedy exact match on the first test split; at the
end it scores the greedy captions of every test split (:func:`caption_scores`). The JSON log is
rewritten after every run (``"complete": false`` until the end).

The ``ci`` configuration is exactly what ``chapters/06_captioning.ipynb`` trains when the book is built
(the chapter imports the functions of this module); the ``long`` one is too slow for that and is run
by hand; the chapter reads and quotes its committed log.
"""
from __future__ import annotations

import sys
import time

import numpy as np

from ..bleu import bleu_scores, exact_match
from ..data.captions import (END_ID, HELD_OUT, START_ID, attribute_accuracy, caption_vocab, decode_captions,
                             digit_captions, encode_captions, shape_captions)
from ..models.captioner import CONDITIONINGS, Captioner, caption_images
from ..train import fit_captioner
from . import _common
from ._common import check_config, finish_log, new_log, write_json

__all__ = ["CONFIGS", "TASKS", "load_task", "build_model", "predict", "caption_scores", "train_model", "run",
           "summarize", "format_table", "log_path", "load_log", "main"]

#: This recipe's module (``__name__`` is ``"__main__"`` when it runs with ``python -m``).
RECIPE = "rnnbook.recipes.ch06_captioning"

#: The two tasks: name -> (image shape, longest caption in words, test splits; the first one is also
#: scored after every epoch).
TASKS: dict[str, tuple[tuple, int, tuple]] = {
    "digits": ((1, 8, 32), 4, ("test",)),
    "shapes": ((3, 24, 24), 16, ("seen", "held_out")),
}

_DIGITS = dict(n_train=8000, n_test=1000, train_seed=1, test_seed=2,
               channels=[16, 32], embed_size=16, hidden_size=64,
               epochs=6, batch_size=64, lr=3e-3, max_norm=5.0,
               seeds=[0, 1], conditionings=["peeky", "attention"])
_SHAPES = dict(n_train=6000, n_test=1000, train_seed=1, test_seeds={"seen": 2, "held_out": 3},
               channels=[8, 16], embed_size=16, hidden_size=64,
               epochs=10, batch_size=64, lr=3e-3, max_norm=5.0,
               seeds=[0], conditionings=["init", "peeky", "attention"])

#: The configurations, one dict of settings per task. ``ci`` is what the chapter trains; ``long`` is the
#: hand-run recipe whose log the chapter quotes. Both train with Adam and gradient-norm clipping
#: (:func:`rnnbook.train.fit_captioner`).
CONFIGS: dict[str, dict] = {
    "ci": {"digits": _DIGITS, "shapes": _SHAPES},
    "long": {
        "digits": dict(_DIGITS, epochs=20, seeds=[0, 1, 2], conditionings=["init", "peeky", "attention"]),
        "shapes": dict(_SHAPES, n_train=20000, epochs=15, seeds=[0, 1, 2]),
    },
}


def _check_config(config) -> dict:
    config = check_config(config, CONFIGS)
    for task in TASKS:
        if not isinstance(config[task], dict):
            raise TypeError(f"config[{task!r}] must be a dict of settings, got {type(config[task]).__name__}")
        missing = sorted(set(CONFIGS["ci"][task]) - set(config[task]))
        if missing:
            raise ValueError(f"config[{task!r}] lacks the key(s) {missing}")
        for c in config[task]["conditionings"]:
            if c not in CONDITIONINGS:
                raise ValueError(f"unknown conditioning {c!r} in config[{task!r}]; known: {list(CONDITIONINGS)}")
    return config


def _check_task(task) -> None:
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; the tasks are {list(TASKS)}")


def load_task(config, task: str) -> dict:
    """Generate the data of ``task`` with the settings of ``config``.

    Returns
    -------
    dict with ``train`` (a :class:`~rnnbook.data.captions.CaptionSet`), ``ids`` (its encoded captions),
    ``vocab`` (from the training captions), one :class:`CaptionSet` per test split under ``splits``
    (``{"test": ...}`` for digits, ``{"seen": ..., "held_out": ...}`` for shapes), ``image_shape`` and
    ``max_len`` (the decoding length: the longest caption plus ``<end>``).
    """
    config = _check_config(config)
    _check_task(task)
    cfg = config[task]
    image_shape, words, split_names = TASKS[task]
    if task == "digits":
        train = digit_captions(cfg["n_train"], split="train", seed=cfg["train_seed"])
        splits = {"test": digit_captions(cfg["n_test"], split="test", seed=cfg["test_seed"])}
    else:
        train = shape_captions(cfg["n_train"], split="train", seed=cfg["train_seed"])
        splits = {s: shape_captions(cfg["n_test"], split=s, seed=cfg["test_seeds"][s]) for s in split_names}
    vocab = caption_vocab(train.captions)
    return {"task": task, "train": train, "ids": encode_captions(train.captions, vocab, words), "vocab": vocab,
            "splits": splits, "image_shape": image_shape, "max_len": words + 1}


def build_model(data: dict, config, conditioning: str, seed: int) -> Captioner:
    """The (float32) captioner of ``conditioning`` for ``data`` (from :func:`load_task`), initialised from
    ``seed``."""
    cfg = _check_config(config)[data["task"]]
    return Captioner(len(data["vocab"]), data["image_shape"], conditioning=conditioning,
                     channels=tuple(cfg["channels"]), embed_size=cfg["embed_size"], hidden_size=cfg["hidden_size"],
                     rng=seed)


def predict(model: Captioner, data: dict, images: np.ndarray, beam_width: int = 1) -> list[str]:
    """The captions of ``images`` (greedy for ``beam_width=1``, else beam search), as strings."""
    ids = caption_images(model, images, data["max_len"], beam_width=beam_width, start_id=START_ID, end_id=END_ID)
    return decode_captions(ids, data["vocab"])


def caption_scores(predictions, caption_set, task: str) -> dict:
    """Scores of generated captions against the true ones of ``caption_set``.

    Always ``exact match`` and ``BLEU-1`` to ``BLEU-4`` (:mod:`rnnbook.bleu`). For digits also
    ``digit accuracy`` (the fraction of true digits named correctly at their position) and ``exact match,
    1 digit`` to ``exact match, 4 digits`` (on the strips of that many digits). For shapes also the per-attribute
    accuracies of
    :func:`~rnnbook.data.captions.attribute_accuracy` (``count``, ``size``, ``colour``, ``shape``,
    ``colour+shape``, ``object``), and the same restricted to the objects of a held-out combination
    (keys prefixed ``held-out objects:``) when there are any.
    """
    _check_task(task)
    if len(predictions) != len(caption_set):
        raise ValueError(f"predictions and caption_set must have the same length, got {len(predictions)} and "
                         f"{len(caption_set)}")
    refs = [[c.split()] for c in caption_set.captions]
    hyps = [p.split() for p in predictions]
    out = {"exact match": exact_match(refs, hyps), **bleu_scores(refs, hyps)}
    if task == "digits":
        right, per_digit = [], []
        for hyp, (ref,) in zip(hyps, refs):
            right.append(hyp == ref)
            per_digit += [k < len(hyp) and hyp[k] == word for k, word in enumerate(ref)]
        right, lengths = np.array(right), np.array([len(r) for (r,) in refs])
        out["digit accuracy"] = float(np.mean(per_digit))
        for k in range(1, TASKS["digits"][1] + 1):
            if (lengths == k).any():
                out[f"exact match, {k} digit" + "s" * (k > 1)] = float(right[lengths == k].mean())
    else:
        attrs = attribute_accuracy(predictions, caption_set.truth)
        out.update({k: attrs[k] for k in ("count", "size", "colour", "shape", "colour+shape", "object")})
        held = attribute_accuracy(predictions, caption_set.truth, only=HELD_OUT)
        if held["objects"]:
            out.update({f"held-out objects: {k}": held[k] for k in ("size", "colour", "shape", "colour+shape",
                                                                       "object")})
    return out


def train_model(data: dict, config, conditioning: str, seed: int, *, log=None):
    """Train the captioner of ``conditioning`` from ``seed`` on ``data`` (from :func:`load_task`).

    Returns ``(model, history)``: ``history`` is the dict of
    :func:`~rnnbook.train.fit_captioner`, the mean training loss (``"loss"``) and the greedy
    exact match on the first test split (``"score"``) after every epoch.
    """
    cfg = _check_config(config)[data["task"]]
    model = build_model(data, config, conditioning, seed)
    first = data["splits"][TASKS[data["task"]][2][0]]
    answers = first.captions

    def evaluate(m):
        return float(np.mean([p == a for p, a in zip(predict(m, data, first.images), answers)]))

    history = fit_captioner(model, data["train"].images, data["ids"], epochs=cfg["epochs"],
                            batch_size=cfg["batch_size"], lr=cfg["lr"], max_norm=cfg["max_norm"], seed=seed,
                            evaluate=evaluate, log=log)
    return model, history


def summarize(runs: list) -> dict:
    """``{task: {conditioning: {split: {metric: {"mean", "std", "min", "max", "seeds"}}}}}`` over the runs'
    final scores (``std`` with ``ddof=0``)."""
    out: dict = {}
    for r in runs:
        for split, scores in r["final"].items():
            for metric, value in scores.items():
                (out.setdefault(r["task"], {}).setdefault(r["conditioning"], {}).setdefault(split, {})
                 .setdefault(metric, []).append(value))
    for task in out.values():
        for cond in task.values():
            for split in cond.values():
                for metric, values in split.items():
                    v = np.asarray(values, dtype=float)
                    split[metric] = {"mean": float(v.mean()), "std": float(v.std()), "min": float(v.min()),
                                     "max": float(v.max()), "seeds": int(v.size)}
    return out


#: The columns of :func:`format_table`, per task: (split, metric, heading).
TABLE_COLUMNS = {
    "digits": [("test", "exact match", "exact match"), ("test", "BLEU-4", "BLEU-4"),
               ("test", "digit accuracy", "digit accuracy")],
    "shapes": [("seen", "exact match", "seen: exact match"), ("seen", "BLEU-4", "seen: BLEU-4"),
               ("held_out", "exact match", "held-out: exact match"),
               ("held_out", "held-out objects: colour+shape", "held-out objects: colour+shape")],
}


def format_table(summary: dict, task: str) -> str:
    """A text table of the final greedy scores of ``task``: mean ± standard deviation over the seeds
    (``summary`` from :func:`summarize`, or a log's ``"summary"``)."""
    _check_task(task)
    cols = TABLE_COLUMNS[task]
    widths = [max(13, len(head)) for _, _, head in cols]
    lines = [f"{'conditioning':>12} | {'seeds':>5} | " + " | ".join(f"{h:>{w}}" for (_, _, h), w in zip(cols, widths))]
    lines.append("-" * len(lines[0]))
    for cond, splits in summary.get(task, {}).items():
        cells = []
        for (split, metric, _), w in zip(cols, widths):
            s = splits[split][metric]
            cells.append(f"{s['mean']:.3f} ± {s['std']:.3f}".rjust(w))
        seeds = splits[cols[0][0]][cols[0][1]]["seeds"]
        lines.append(f"{cond:>12} | {seeds:>5} | " + " | ".join(cells))
    return "\n".join(lines)


def run(config="ci", out=None, *, tasks=None, conditionings=None, log=print) -> dict:
    """Train every conditioning of every task (or only those of ``tasks`` and ``conditionings``) from every
    seed of ``config``; score them; return (and write to ``out``) the log.

    ``config`` is a name of :data:`CONFIGS` or a dict with the same keys.
    """
    config_name = config if isinstance(config, str) else "custom"
    config = _check_config(config)
    tasks = list(TASKS) if tasks is None else list(tasks)
    for task in tasks:
        _check_task(task)
    if conditionings is not None:
        for c in conditionings:
            if c not in CONDITIONINGS:
                raise ValueError(f"unknown conditioning {c!r}; known: {list(CONDITIONINGS)}")
    say = log or (lambda msg: None)
    result, wall = new_log(RECIPE, config_name, config, CONFIGS), time.perf_counter()
    result.update({
        "data": {}, "std": "standard deviation over the seeds, ddof=0",
        "runs": [], "summary": {},
    })
    for task in tasks:
        cfg = config[task]
        data = load_task(config, task)
        result["data"][task] = {"train": len(data["train"]), "vocab_size": len(data["vocab"]),
                                **{split: len(s) for split, s in data["splits"].items()}}
        conds = [c for c in cfg["conditionings"] if conditionings is None or c in conditionings]
        say(f"{task}: {len(data['train'])} training images, {len(conds)} conditioning(s) x {len(cfg['seeds'])} "
            f"seed(s), {cfg['epochs']} epochs")
        for cond in conds:
            for seed in cfg["seeds"]:
                t0 = time.perf_counter()
                model, hist = train_model(data, config, cond, seed)
                seconds = time.perf_counter() - t0
                final = {split: caption_scores(predict(model, data, s.images), s, task)
                         for split, s in data["splits"].items()}
                result["runs"].append({"task": task, "conditioning": cond, "seed": seed, "loss": hist["loss"],
                                       "exact_match": hist["score"], "final": final,
                                       "seconds": round(seconds, 1)})
                say(f"{task:>6} {cond:>9} seed {seed}: exact match per epoch "
                    f"{' '.join(f'{s:.3f}' for s in hist['score'])} ({seconds:.0f} s)")
                result["summary"] = summarize(result["runs"])
                write_json(out, result)
    return finish_log(result, wall, out)


log_path, load_log = _common.log_functions("06_captioning", RECIPE, "run the recipe again")


def main(argv=None) -> int:
    parser = _common.recipe_parser(
        RECIPE, __doc__, CONFIGS,
        "ci: what the chapter trains (about a minute); long: the hand-run recipe (~12 minutes)")
    parser.add_argument("--task", choices=sorted(TASKS), action="append", default=None,
                        help="train only this task (repeat for several; default: all)")
    args = _common.parse_args(parser, argv)
    result = run(args.config, args.out, tasks=args.task)
    for task in result["summary"]:
        print(f"\n{task} (mean ± std over the seeds, greedy decoding):")
        print(format_table(result["summary"], task))
    print(f"done in {result['total_seconds']:.0f} s" + (f"; log written to {args.out}" if args.out else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Chapter 4's showcase: a two-layer character-level LSTM trained on the standard library's source.

Run it::

    python -m rnnbook.recipes.ch04_char --config ci   --out ci.json        # a tiny smoke run (seconds)
    python -m rnnbook.recipes.ch04_char --config long --out chapters/logs/04_char_long.json \\
        --checkpoint chars.npz --weights chapters/weights/04_char_lstm.npz   # the showcase (see the log)
    python -m rnnbook.recipes.ch04_char --config long --gpu ...           # the same on an NVIDIA GPU (CuPy)
    python -m rnnbook.recipes.ch04_char --config long --init chapters/weights/04_char_lstm.npz ...  # continue
    python -m rnnbook.recipes.ch04_char --config long_25 --out chapters/logs/04_char_long_25.json \\
        --checkpoint chars25.npz --weights chapters/weights/04_char_lstm_25.npz   # 25 modules: over-fits

The showcase reads 60 standard-library modules (2.3 M characters) with dropout 0.3 between its layers;
``long_25``, the same model on the book's 25 modules (0.87 M characters) with dropout 0.2, over-fits: its
validation loss stops improving while its training loss goes on falling.

The corpus is the book's snapshot of Python source files (:func:`rnnbook.data.corpora.stdlib_source_text`,
the modules that the configuration's ``corpus`` names),
split 90 / 5 / 5 % into contiguous training, validation and test text. Why source code and not prose:
a sample of Python can be *checked* (:func:`valid_line_fraction` asks Python's own tokenizer whether
each sampled line is well formed), so the chapter can measure what a model got right.

Training is Adam with global-norm clipping and truncated BPTT, one validation pass per epoch, for
``epochs`` epochs or until ``max_minutes`` of wall-clock time are spent, whichever comes first. The whole
training state is saved to ``--checkpoint`` after every epoch; started again with the same checkpoint,
the recipe **resumes** from it (raise ``--epochs`` to train further). The book commits the showcase's
weights but not its 11 MB training state: ``--init`` continues from the weights with a fresh optimizer.
``--weights`` receives the parameters of the epoch with the best validation
loss (early stopping), stored as float16 (half the size; :func:`load_showcase` restores float32).
"""
from __future__ import annotations

import io
import math
import pathlib
import sys
import time
import tokenize

import numpy as np

from ..checkpoint import load_into, load_model, load_training_state, save_model, save_training_state
from ..data.corpora import STDLIB_MODULES, STDLIB_MORE_MODULES, char_vocab, stdlib_source_text, train_val_test_split
from ..models import LanguageModel
from ..optim import Adam
from ..train import evaluate_perplexity, tbptt_batches, train_step
from . import _common
from ._common import check_config, new_log, write_json

__all__ = ["CONFIGS", "RECIPE", "UNK", "load_data", "build_model", "unigram_bpc", "bits_per_char",
           "valid_line_fraction", "train", "load_showcase", "weights_path", "log_path", "load_log", "main"]

RECIPE = "rnnbook.recipes.ch04_char"
UNK = "\x00"                  # stands for a character of the validation/test text never seen in training

#: ``ci``: a seconds-long smoke run of the recipe; ``small``: the model the chapter trains on the page;
#: ``long``: the showcase whose log and weights the book commits (a time-limited run); ``long_25``: the same
#: model on the 25 modules alone with less dropout, which over-fits (the book commits its log and weights for
#: comparison). ``corpus``: ``"stdlib"`` reads the modules of :data:`~rnnbook.data.corpora.STDLIB_MODULES`
#: (0.87 M characters), ``"stdlib_more"`` those and :data:`~rnnbook.data.corpora.STDLIB_MORE_MODULES`
#: (2.3 M characters).
CONFIGS: dict[str, dict] = {
    "ci": dict(corpus="stdlib", max_chars=30_000, embed_size=16, hidden_size=32, num_layers=2, dropout=0.1,
               batch_size=16, seq_len=32, epochs=1, lr=3e-3, max_norm=1.0, seed=0, max_minutes=None),
    "small": dict(corpus="stdlib_more", max_chars=None, embed_size=32, hidden_size=128, num_layers=1, dropout=0.0,
                  batch_size=64, seq_len=64, epochs=1, lr=3e-3, max_norm=1.0, seed=0, max_minutes=None),
    "long": dict(corpus="stdlib_more", max_chars=None, embed_size=64, hidden_size=256, num_layers=2, dropout=0.3,
                 batch_size=64, seq_len=100, epochs=40, lr=2e-3, max_norm=1.0, seed=0, max_minutes=40),
    "long_25": dict(corpus="stdlib", max_chars=None, embed_size=64, hidden_size=256, num_layers=2, dropout=0.2,
                    batch_size=64, seq_len=100, epochs=40, lr=2e-3, max_norm=1.0, seed=0, max_minutes=55),
}


_CORPORA = {"stdlib": STDLIB_MODULES, "stdlib_more": tuple(sorted(STDLIB_MODULES + STDLIB_MORE_MODULES))}


def load_data(config) -> dict:
    """The corpus split 90/5/5 % and encoded with the character vocabulary of the training text.

    Returns a dict with ``vocab``, ``train``, ``val``, ``test`` (int64 id arrays) and ``val_text``.
    """
    config = check_config(config, CONFIGS)
    if config["corpus"] not in _CORPORA:
        raise ValueError(f"corpus must be one of {sorted(_CORPORA)}, got {config['corpus']!r}")
    text = stdlib_source_text(_CORPORA[config["corpus"]], max_chars=config["max_chars"])
    train, val, test = train_val_test_split(text, (0.9, 0.05, 0.05))
    vocab = char_vocab(train, unk=UNK)
    return {"vocab": vocab, "train": vocab.encode(train), "val": vocab.encode(val), "test": vocab.encode(test),
            "val_text": val}


def build_model(vocab_size: int, config) -> LanguageModel:
    """The stateful character LSTM language model of ``config``."""
    c = check_config(config, CONFIGS)
    return LanguageModel(vocab_size, c["embed_size"], c["hidden_size"], cell="lstm", num_layers=c["num_layers"],
                         dropout=c["dropout"], stateful=True, rng=c["seed"])


def bits_per_char(model, ids, batch_size: int = 16, seq_len: int = 100) -> float:
    """Bits per character of ``model`` on ``ids``: the mean cross-entropy in nats divided by ln 2."""
    return math.log2(evaluate_perplexity(model, ids, batch_size, seq_len))


def unigram_bpc(train_ids, ids, vocab_size: int) -> float:
    """Bits per character of the add-one unigram model of ``train_ids`` (no context at all) on ``ids``."""
    counts = np.bincount(np.asarray(train_ids), minlength=vocab_size).astype(np.float64) + 1.0
    return float(-np.log2(counts / counts.sum())[np.asarray(ids)].mean())


def _line_tokenizes(line: str) -> bool:
    try:
        for _ in tokenize.generate_tokens(io.StringIO(line.strip() + "\n").readline):
            pass
    except (tokenize.TokenError, SyntaxError):
        return False
    return True


def valid_line_fraction(text: str) -> float:
    """The fraction of the non-blank lines of ``text`` that Python's tokenizer accepts on their own.

    A line passes when, stripped of its indentation, it tokenizes without error: every string is
    closed and every bracket opened on it is closed on it. (Real code has lines that continue a
    bracket on the next line, so even real source scores below 1: compare with it.)
    """
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return 0.0
    return sum(_line_tokenizes(ln) for ln in lines) / len(lines)


def _epoch(model, opt, batches, c, deadline) -> tuple[float, bool]:
    """Train one epoch (or until ``deadline``); return the mean loss and whether the epoch was completed."""
    model.reset_state()
    total, n = 0.0, 0
    for batch in batches:
        loss, _ = train_step(model, opt, batch, c["max_norm"])
        if not np.isfinite(loss):
            raise FloatingPointError(f"training diverged (loss {loss})")
        total, n = total + loss, n + 1
        if deadline is not None and time.perf_counter() > deadline:
            return total / n, False
    return total / max(n, 1), True


def train(config="long", *, name=None, out=None, checkpoint=None, weights=None, init=None, say=print) -> dict:
    """Train (or resume) the character model of ``config``; write the log, checkpoint and best weights.

    Returns the log: per epoch the mean training loss and validation bits per character, the best epoch,
    the wall-clock seconds, the device and whether the time budget stopped the run. ``name`` names a
    configuration given as a dict (e.g. ``"long"`` with other epochs) in the log. ``init`` (a weights file
    such as the committed showcase's) starts from those parameters instead of random ones, with a fresh
    optimizer; a ``checkpoint`` that exists takes precedence (it holds the optimizer's state too).
    """
    name = config if isinstance(config, str) else (name or "custom")
    c = check_config(config, CONFIGS)
    data = load_data(c)
    model, opt = build_model(len(data["vocab"]), c), Adam(c["lr"])
    log = new_log(RECIPE, name, c, CONFIGS)
    log.update(epochs=[], device="gpu" if _on_gpu(model) else "cpu", params=model.num_params(),
               vocab_size=len(data["vocab"]), train_chars=int(data["train"].size), stopped_by_budget=False,
               unigram_val_bpc=unigram_bpc(data["train"], data["val"], len(data["vocab"])))
    if init is not None:
        load_into(model, init)
        log["init"] = str(init)
    if checkpoint is not None and pathlib.Path(checkpoint).is_file():
        log = load_training_state(checkpoint, model, opt)["log"]
        say(f"resuming from {checkpoint} after epoch {len(log['epochs'])}")
    start = time.perf_counter()
    deadline = None if c["max_minutes"] is None else start + 60 * c["max_minutes"]
    batches = tbptt_batches(data["train"], c["batch_size"], c["seq_len"])
    while len(log["epochs"]) < c["epochs"]:
        loss, whole = _epoch(model, opt, batches, c, deadline)
        bpc = bits_per_char(model, data["val"], seq_len=c["seq_len"])
        log["epochs"].append({"epoch": len(log["epochs"]) + 1, "train_bpc": loss / math.log(2), "val_bpc": bpc,
                              "complete": whole, "seconds": round(time.perf_counter() - start, 1)})
        say(f"epoch {len(log['epochs']):3d} | train bpc {loss / math.log(2):.3f} | val bpc {bpc:.3f} | "
            f"{time.perf_counter() - start:6.0f} s")
        if bpc <= min(e["val_bpc"] for e in log["epochs"]) and weights is not None:
            save_model(model, weights, half=True, vocab=list(data["vocab"].itos), epoch=len(log["epochs"]))
        if checkpoint is not None:
            save_training_state(checkpoint, model, opt, {"log": log})
        write_json(out, log)
        if not whole:
            log["stopped_by_budget"] = True
            break
    best = min(log["epochs"], key=lambda e: e["val_bpc"])
    log.update(best_epoch=best["epoch"], best_val_bpc=best["val_bpc"], seconds_this_invocation=round(
        time.perf_counter() - start, 1), complete=True)
    write_json(out, log)
    return log


def _on_gpu(model) -> bool:
    return type(model.params[0]).__module__.startswith("cupy")


def weights_path() -> pathlib.Path:
    """Where the book keeps the showcase's weights: ``chapters/weights/04_char_lstm.npz`` (``long_25``'s are
    beside it, ``04_char_lstm_25.npz``)."""
    return pathlib.Path(__file__).resolve().parents[3] / "chapters" / "weights" / "04_char_lstm.npz"


def load_showcase(path=None):
    """The committed showcase model (float32, on the CPU) and its character vocabulary."""
    from ..data.vocab import Vocab
    model, extra = load_model(weights_path() if path is None else path, return_extra=True)
    itos = extra["vocab"]
    vocab = Vocab(itos, unk=UNK)                 # each character once: the saved order is kept
    if vocab.itos != itos:
        raise ValueError(f"{path} holds a vocabulary that does not start with the unknown character {UNK!r}")
    return model, vocab


log_path, load_log = _common.log_functions("04_char", RECIPE,
                                           "finish it by running the recipe again with the same --checkpoint")


def main(argv=None) -> int:
    parser = _common.recipe_parser(RECIPE, __doc__, CONFIGS)
    parser.add_argument("--checkpoint", type=pathlib.Path, default=None,
                        help="save the training state here after every epoch; resume from it if it exists")
    parser.add_argument("--weights", type=pathlib.Path, default=None, help="save the best epoch's weights here")
    parser.add_argument("--init", type=pathlib.Path, default=None,
                        help="start from these weights (e.g. chapters/weights/04_char_lstm.npz) with a fresh optimizer")
    parser.add_argument("--epochs", type=int, default=None, help="override the configuration's epochs")
    parser.add_argument("--max-minutes", type=float, default=None, help="override the time budget")
    parser.add_argument("--gpu", action="store_true", help="train on the GPU with CuPy (rnnbook.use_gpu())")
    args = _common.parse_args(parser, argv)
    config = check_config(args.config, CONFIGS)
    for key, value in (("epochs", args.epochs), ("max_minutes", args.max_minutes)):
        if value is not None:
            config[key] = value
    if args.gpu:
        from ..backend import use_gpu
        use_gpu()
    log = train(config, name=args.config, out=args.out, checkpoint=args.checkpoint, weights=args.weights,
                init=args.init)
    print(f"best val bpc {log['best_val_bpc']:.3f} (epoch {log['best_epoch']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

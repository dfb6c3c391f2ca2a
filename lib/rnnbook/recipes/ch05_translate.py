"""Chapter 5's translation experiment: English -> French with and without attention, on Tatoeba pairs.

Run it::

    python -m rnnbook.recipes.ch05_translate --config ci                  # the small run the chapter trains
    python -m rnnbook.recipes.ch05_translate --config long --jobs 2 --out chapters/logs/05_translate_long.json \\
        --weights chapters/weights                                         # the models the chapter loads

Both configurations train an :class:`~rnnbook.models.seq2seq.AttentionSeq2Seq` and a plain
:class:`~rnnbook.models.seq2seq.Seq2Seq` of the same sizes, with the same data, budget and seed (in ``long``
the attention model's encoder is bidirectional, ``bidirectional=True``; the plain model's is not), on the
training pairs of :func:`rnnbook.data.tatoeba.tatoeba_split` (word tokens; one vocabulary for both
languages, ids 0-3 ``<pad>``, ``<s>``, ``</s>``, ``<unk>``). After every epoch it measures corpus BLEU-4
of greedy translations of the validation sentences (all their French translations as references) and
keeps the parameters of the best epoch. At the end it scores both models on the test sentences, greedy
and with a beam. ``--weights`` stores the two models' best parameters in 8 bits (:func:`save_models`,
:func:`load_models`).
"""
from __future__ import annotations

import io
import json
import pathlib
import sys
import time
import zipfile

import numpy as np

from ..bleu import corpus_bleu
from ..data.pairs import END_ID, START_ID
from ..data.tatoeba import decode_words, encode_word_pairs, references, tatoeba_split, word_pair_vocab
from ..models.seq2seq import AttentionSeq2Seq, Seq2Seq
from ..optim import Adam
from ..train import fit
from . import _common
from ._common import check_config, finish_log, new_log, write_json

__all__ = ["CONFIGS", "MODELS", "load_data", "build_model", "length_batches", "translate", "bleu", "train", "run",
           "weights_path", "quantize", "save_models", "load_model", "load_models", "log_path", "load_log", "main"]

RECIPE = "rnnbook.recipes.ch05_translate"

_SHARED = dict(split_seed=0, n_test=1500, n_val=1000, min_count=3, batch_size=64, lr=3e-3, max_norm=5.0,
               seed=0, beam_width=5, length_alpha=1.0)
#: ``ci``: what the chapter trains on the page (the 3,000 shortest training pairs, a small model, 2 epochs);
#: ``long``: the models whose weights the book commits (all training pairs). ``bidirectional`` gives the
#: attention model a :class:`~rnnbook.bidirectional.BiEncoder` (the plain model keeps its one-way encoder).
CONFIGS: dict[str, dict] = {
    "ci": dict(_SHARED, n_train=3000, embed_size=32, hidden_size=64, epochs=2, bidirectional=False),
    "long": dict(_SHARED, n_train=None, embed_size=128, hidden_size=256, epochs=6, bidirectional=True),
}
#: The two models every configuration trains.
MODELS = {"attention": AttentionSeq2Seq, "plain": Seq2Seq}


def load_data(config) -> dict:
    """The split, the vocabulary (of the training pairs) and the encoded training, validation and test arrays.

    With ``n_train`` set, the training set is its ``n_train`` shortest pairs (by the English side).
    ``src_len`` and ``tgt_len`` are the longest English and French sentences of the whole split."""
    config = check_config(config, CONFIGS)
    split = tatoeba_split(n_test=config["n_test"], n_val=config["n_val"], seed=config["split_seed"])
    train = split["train"]
    if config["n_train"] is not None:
        train = sorted(train, key=lambda p: len(p[0]))[:config["n_train"]]
    vocab = word_pair_vocab(train, config["min_count"])
    every = split["train"] + split["val"] + split["test"]
    src_len, tgt_len = max(len(e) for e, _ in every), max(len(f) for _, f in every)
    data = {"train": train, "val": split["val"], "test": split["test"], "vocab": vocab,
            "src_len": src_len, "tgt_len": tgt_len, "max_len": tgt_len + 1}
    data["train_src"], data["train_tgt"] = encode_word_pairs(train, vocab, src_len=src_len, tgt_len=tgt_len)
    for part in ("val", "test"):
        sources, refs = references(split[part])
        data[part + "_sources"], data[part + "_refs"] = sources, refs
        data[part + "_src"], _ = encode_word_pairs([(s, r[0]) for s, r in zip(sources, refs)], vocab,
                                                   src_len=src_len, tgt_len=tgt_len)
    return data


def build_model(data: dict, config, kind: str, seed: int | None = None):
    """The float32 model ``kind`` (``"attention"`` or ``"plain"``) of ``config``, initialised from ``seed``;
    with ``config["bidirectional"]`` the attention model's encoder reads the sentence both ways."""
    config = check_config(config, CONFIGS)
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; the models are {list(MODELS)}")
    return _new_model(kind, len(data["vocab"]), config["embed_size"], config["hidden_size"],
                      config["seed"] if seed is None else seed, config["bidirectional"])


def _new_model(kind, vocab_size, embed, hidden, seed, bidirectional):
    extra = {"bidirectional": bool(bidirectional)} if kind == "attention" else {}
    return MODELS[kind](vocab_size, embed, hidden, rng=seed, **extra)


def translate(model, src, data: dict, *, beam_width: int = 1, length_alpha: float = 0.0) -> list[list[str]]:
    """French token lists for the source rows ``src``: greedy (``beam_width=1``) or by beam search."""
    if beam_width == 1:
        ids = model.generate(src, START_ID, data["max_len"], END_ID)
    else:
        ids = model.beam_search(src, START_ID, data["max_len"], beam_width, END_ID, length_alpha=length_alpha)[0]
    return decode_words(ids, data["vocab"])


def bleu(hypotheses, refs, n: int = 4) -> float:
    """Corpus BLEU-``n`` (no smoothing) of token lists against their lists of references."""
    return corpus_bleu(refs, hypotheses, weights=(1 / n,) * n)


def length_batches(src: np.ndarray, tgt: np.ndarray, batch_size: int, seed: int):
    """The ``batches`` function of :func:`rnnbook.train.fit` for padded sentence pairs: every epoch shuffles the
    pairs (a generator seeded by ``seed``), sorts each run of 50 batches' worth by target length, cuts it into
    batches, shuffles the batches and trims each batch's targets to its longest sentence. Similar lengths
    share a batch, so little time goes into padding; the loss ignores padding anyway, so the trimming
    changes nothing else. The sources keep their width (the encoder reads the same padding as at test time)."""
    rng = np.random.default_rng(seed)
    lengths = (tgt != 0).sum(axis=1)

    def batches(epoch):
        order = rng.permutation(len(src))
        chunk = 50 * batch_size
        cut = []
        for i in range(0, len(order), chunk):
            part = order[i:i + chunk]
            part = part[np.argsort(lengths[part], kind="stable")]
            cut += [part[j:j + batch_size] for j in range(0, len(part), batch_size)]
        for k in rng.permutation(len(cut)):
            idx = cut[k]
            yield (src[idx], tgt[idx, :lengths[idx].max()]), len(idx)
    return batches


def train(data: dict, config, kind: str, *, seed: int | None = None, say=None):
    """Train model ``kind``; return ``(model, history)``, the model holding the parameters of the epoch with
    the best validation BLEU-4 (``history``: ``loss`` and ``val_bleu`` per epoch, ``best_epoch``, ``seconds``)."""
    config = check_config(config, CONFIGS)
    seed = config["seed"] if seed is None else seed
    model = build_model(data, config, kind, seed)
    best = {"bleu": -1.0, "params": None}

    def evaluate(m):
        score = bleu(translate(m, data["val_src"], data), data["val_refs"])
        if score > best["bleu"]:
            best["bleu"], best["params"] = score, [p.copy() for p in m.params]
        return score

    hist = {"loss": [], "val_bleu": []}

    def epoch_end(state, mean_loss):
        hist["loss"].append(round(float(mean_loss), 4))
        hist["val_bleu"].append(round(evaluate(model), 4))
        if say is not None:
            say(f"epoch {state.epoch}: loss {mean_loss:.3f}, validation BLEU-4 {hist['val_bleu'][-1]:.3f}")

    t0 = time.process_time()
    fit(model, Adam(config["lr"]), length_batches(data["train_src"], data["train_tgt"], config["batch_size"], seed),
        epochs=config["epochs"], max_norm=config["max_norm"], on_epoch_end=epoch_end, on_nonfinite="raise")
    for p, q in zip(model.params, best["params"]):
        p[...] = q
    return model, dict(hist, best_epoch=int(np.argmax(hist["val_bleu"])) + 1,
                       seconds=round(time.process_time() - t0, 1))


def _test_scores(model, data, config) -> dict:
    greedy = translate(model, data["test_src"], data)
    beam = translate(model, data["test_src"], data, beam_width=config["beam_width"],
                     length_alpha=config["length_alpha"])
    return {"bleu4": bleu(greedy, data["test_refs"]), "bleu2": bleu(greedy, data["test_refs"], 2),
            "beam_bleu4": bleu(beam, data["test_refs"]),
            "beam_changed": sum(g != b for g, b in zip(greedy, beam))}


def _train_job(args):
    config, kind = args
    _common.limit_blas_threads(1)
    model, hist = train(load_data(config), config, kind, say=lambda m: print(f"{kind}: {m}", flush=True))
    return kind, [p for p in model.params], hist


def run(config="ci", out=None, weights=None, *, jobs: int = 1, say=print) -> dict:
    """Train both models of ``config`` (``jobs=2``: at once, in two processes), score them on the test
    sentences, write the log (and the weights)."""
    name = config if isinstance(config, str) else "custom"
    config = check_config(config, CONFIGS)
    wall = time.perf_counter()
    data = load_data(config)
    result = new_log(RECIPE, name, config, CONFIGS)
    result.update(train_pairs=len(data["train"]), vocab_size=len(data["vocab"]),
                  test_sentences=len(data["test_sources"]), models={})
    models = {}
    if jobs > 1:
        import multiprocessing
        with multiprocessing.get_context("spawn").Pool(min(jobs, len(MODELS))) as pool:
            done = pool.map(_train_job, [(config, kind) for kind in MODELS])
    else:
        done = []
        for kind in MODELS:
            model, hist = train(data, config, kind, say=(lambda m, k=kind: say(f"{k}: {m}")) if say else None)
            done.append((kind, model.params, hist))
    for kind, params, hist in done:
        model = build_model(data, config, kind)
        for p, q in zip(model.params, params):
            p[...] = q
        models[kind] = model
        result["models"][kind] = dict(hist, test=_test_scores(model, data, config))
        write_json(out, result)
    if weights is not None:
        save_models(models, data, weights)
    return finish_log(result, wall, out)


def weights_path(kind: str = "attention") -> pathlib.Path:
    """Where the book keeps the ``long`` run's model ``kind``: ``chapters/weights/05_translate_<kind>.npz``."""
    if kind not in MODELS:
        raise ValueError(f"unknown model {kind!r}; the models are {list(MODELS)}")
    return pathlib.Path(__file__).resolve().parents[3] / "chapters" / "weights" / f"05_translate_{kind}.npz"


def quantize(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """8-bit storage of a weight array: ``(q, scale)`` with ``q`` int8 and ``w ≈ q * scale``, one float16 scale
    per last-axis column (per row for a vector), so that a column of small weights keeps its precision."""
    w = np.asarray(w, dtype=np.float32)
    scale = np.abs(w).max(axis=0, keepdims=w.ndim > 1) / 127
    scale = np.where(scale > 0, scale, 1).astype(np.float16)
    return np.clip(np.rint(w / scale.astype(np.float32)), -127, 127).astype(np.int8), scale


def save_models(models: dict, data: dict, directory) -> list[pathlib.Path]:
    """Store each model in ``directory/05_translate_<kind>.npz``: its weights as 8 bits with a scale per column
    (:func:`quantize`; about a quarter of float32, in an LZMA-compressed ``.npz``, under 5 MB), its sizes,
    whether its encoder is bidirectional, and the vocabulary."""
    paths = []
    for kind, model in models.items():
        meta = {"kind": kind, "vocab": list(data["vocab"].itos),
                "sizes": [int(model.encoder.embed.params[0].shape[1]), int(model.decoder.lstm.params[1].shape[0])],
                "bidirectional": type(model.encoder).__name__ == "BiEncoder"}
        arrays = {"meta": np.array(json.dumps(meta))}
        for i, p in enumerate(model.params):
            arrays[f"q{i}"], arrays[f"s{i}"] = quantize(p)
        path = pathlib.Path(directory) / f"05_translate_{kind}.npz"
        # an .npz is a zip of .npy files; LZMA packs the 8-bit weights tighter than savez_compressed's deflate,
        # and np.load reads either
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_LZMA) as z:
            for name, a in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, a, allow_pickle=False)
                z.writestr(name + ".npy", buf.getvalue())
        paths.append(path)
    return paths


def load_model(path, vocab_size: int | None = None):
    """One model saved by :func:`save_models` (float32): ``(model, meta)``."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no weights at {path}; produce them with `python -m {RECIPE} --config long "
                                f"--weights {path.parent}`")
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        arrays = {k: z[k] for k in z.files if k != "meta"}
    embed, hidden = meta["sizes"]
    model = _new_model(meta["kind"], len(meta["vocab"]), embed, hidden, 0, meta.get("bidirectional", False))
    for i, p in enumerate(model.params):
        p[...] = arrays[f"q{i}"].astype(np.float32) * arrays[f"s{i}"].astype(np.float32)
    return model, meta


def load_models(directory=None) -> tuple[dict, dict]:
    """The models of the ``long`` run (from ``directory``, by default ``chapters/weights``) and the data of the
    ``long`` configuration: ``({"attention": model, "plain": model}, data)``."""
    data = load_data("long")
    models = {}
    for kind in MODELS:
        path = weights_path(kind) if directory is None else pathlib.Path(directory) / f"05_translate_{kind}.npz"
        models[kind], meta = load_model(path)
        if list(data["vocab"].itos) != meta["vocab"]:
            raise ValueError(f"{path} was trained with another vocabulary than load_data('long') builds")
    return models, data


log_path, load_log = _common.log_functions("05_translate", RECIPE, "run the recipe again")


def main(argv=None) -> int:
    parser = _common.recipe_parser(RECIPE, __doc__, CONFIGS,
                                   "ci: the chapter's small run; long: the models whose weights the book commits")
    parser.add_argument("--weights", type=pathlib.Path, default=None,
                        help="save both models' best weights in this folder (e.g. chapters/weights)")
    parser.add_argument("--jobs", type=int, default=1, help="2: train the two models at once (two processes)")
    args = _common.parse_args(parser, argv)
    result = run(args.config, args.out, args.weights, jobs=args.jobs)
    for kind, m in result["models"].items():
        t = m["test"]
        print(f"{kind}: test BLEU-4 {t['bleu4']:.3f}, BLEU-2 {t['bleu2']:.3f}, beam BLEU-4 {t['beam_bleu4']:.3f} "
              f"({t['beam_changed']} changed), best epoch {m['best_epoch']}, {m['seconds']:.0f} s")
    print(f"done in {result['total_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

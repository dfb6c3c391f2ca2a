"""Chapter 4: the recipe, its saved log, checkpoints of its models, and feedback of its exercises."""
import json
import math

import numpy as np
import pytest

from rnnbook import grading
from rnnbook.checkpoint import load_into, load_model, save_model
from rnnbook.grading.core import run_exercise
from rnnbook.models import LanguageModel
from rnnbook.recipes import ch04_lm
from rnnbook.recipes.ch04_lm import (CONFIGS, VARIANTS, best_epoch, build_model, config_variants, load_log,
                                     log_path, unigram_perplexity, variant_settings)


def test_variant_ladder_adds_one_change_at_a_time():
    names = [n for n, _ in VARIANTS]
    assert names[0] == "RNN" and variant_settings("RNN")["cell"] == "rnn"
    previous = None
    for name in names[1:]:
        s = variant_settings(name)
        assert s["cell"] == "lstm"
        if previous is not None:
            assert sum(s[k] != previous[k] for k in s) == 1, name
        previous = s
    assert variant_settings(names[-1]) == dict(cell="lstm", num_layers=2, dropout=True, tie_weights=True,
                                               schedule=True)
    with pytest.raises(ValueError, match="unknown variant 'GRU'"):
        variant_settings("GRU")
    with pytest.raises(ValueError, match="unknown configuration 'huge'"):
        build_model("huge", 10, "LSTM", 0)


def test_the_ladder_configuration_climbs_only_its_own_rungs():
    names = config_variants("ladder")
    assert names == ["LSTM", "+ dropout", "+ tied weights"] and config_variants("ci") == [n for n, _ in VARIANTS]
    assert variant_settings("+ tied weights", names) == dict(cell="lstm", num_layers=1, dropout=True,
                                                             tie_weights=True, schedule=False)
    config = dict(CONFIGS["ladder"], embed_size=8, hidden_size=8)
    assert build_model(config, 50, "+ dropout", 0).config["num_layers"] == 1
    with pytest.raises(ValueError, match="unknown variant 'RNN'"):
        variant_settings("RNN", names)
    assert CONFIGS["ladder"]["embed_size"] == CONFIGS["ladder"]["hidden_size"]   # tying needs D = H


def test_best_epoch_is_early_stopping():
    assert best_epoch({"epochs": [1, 2, 3, 4], "val_ppl": [90.0, 80.0, 85.0, 99.0]}) == (2, 80.0)
    with pytest.raises(ValueError, match="no validation"):
        best_epoch({"epochs": [], "val_ppl": []})


def test_models_of_the_ladder_and_tying_saves_v_times_d():
    config = dict(CONFIGS["ci"], embed_size=8, hidden_size=8)
    dropout = build_model(config, 50, "+ dropout", 0)
    tied = build_model(config, 50, "+ tied weights", 0)
    assert dropout.num_params() - tied.num_params() == 50 * 8
    assert tied.config["stateful"] and tied.config["num_layers"] == 2 and tied.config["dropout"] == config["dropout"]


def test_unigram_perplexity_is_uniform_for_uniform_counts():
    train = np.repeat(np.arange(4), 10)
    ids = np.random.default_rng(0).integers(0, 4, size=101)
    assert unigram_perplexity(train, ids, 4, batch_size=2, seq_len=5) == pytest.approx(4.0)
    # with smoothing, an unseen word still gets a finite probability
    assert math.isfinite(unigram_perplexity(np.zeros(10, dtype=int), ids, 4, 2, 5))


def test_train_variant_on_a_tiny_corpus(monkeypatch):
    """The recipe's training function end to end, on a fake corpus so that it takes a second."""
    words = ("<eos> the value is set . the values are set . the file has a name . the files have names . "
             * 60).split()
    monkeypatch.setattr(ch04_lm, "_docstring_tokens", lambda: tuple(words))
    config = dict(CONFIGS["ci"], max_vocab=30, train_tokens=None, embed_size=8, hidden_size=8, batch_size=4,
                  seq_len=5, epochs=2)
    data = ch04_lm.load_data(config)
    assert data["unk_rate"]["train"] == 0.0 and data["train"].size == int(round(0.9 * len(words)))
    model, record = ch04_lm.train_variant(data, config, "+ lr schedule", seed=0)
    assert record["lr"] == [config["lr"], config["lr"]]          # decay starts after epoch decay_after = 2
    assert len(record["val_ppl"]) == 2 and record["val"] < len(data["vocab"])
    assert (record["best_epoch"], record["best_val"]) == best_epoch(record)
    assert record["params"] == model.num_params()
    json.dumps(record)                                           # the record is JSON-ready


def test_checkpoint_round_trip_and_clear_errors(tmp_path):
    model = build_model(CONFIGS["ci"], 40, "+ lr schedule", seed=1)
    vocab = [f"w{i}" for i in range(40)]
    path = save_model(model, tmp_path / "lm.npz", vocab=vocab)
    loaded, extra = load_model(path, return_extra=True)
    ids = np.random.default_rng(0).integers(0, 40, (2, 6))
    model.reset_state()
    np.testing.assert_array_equal(loaded.predict(ids), model.predict(ids))
    assert loaded.config == model.config and extra["vocab"] == vocab
    # corrupt: truncated, garbage, not an rnnbook checkpoint
    broken = tmp_path / "broken.npz"
    broken.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="broken.npz is truncated or corrupt"):
        load_model(broken)
    broken.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_model(broken)
    np.savez(tmp_path / "other.npz", W=np.zeros(3))
    with pytest.raises(ValueError, match="is not an rnnbook checkpoint"):
        load_model(tmp_path / "other.npz")
    # mismatched: another configuration, or another class
    other = LanguageModel(40, 64, 32, cell="lstm", num_layers=2, dropout=0.3, tie_weights=False, stateful=True)
    with pytest.raises(ValueError, match="different configuration: .*hidden_size: file 64 vs model 32"):
        load_into(other, path)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_model(tmp_path / "missing.npz")


def test_the_committed_long_run_log_matches_the_recipe():
    log = load_log()
    assert log["config"] == CONFIGS["long"] and log["complete"]
    seeds = CONFIGS["long"]["seeds"]
    assert sorted((r["variant"], r["seed"]) for r in log["runs"]) == sorted((n, s) for n, _ in VARIANTS for s in seeds)
    for r in log["runs"]:
        assert len(r["val_ppl"]) == CONFIGS["long"]["epochs"] and not r["diverged"]
        assert set(r["agreement"]) == {"distance", "attractor", "control"}
    assert set(log["summary"]) == {n for n, _ in VARIANTS}
    assert log_path().name == "04_lm_long.json"


def test_load_log_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="--config long --out"):
        load_log(tmp_path / "nope.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ValueError, match="is not valid JSON"):
        load_log(bad)
    bad.write_text(json.dumps({"recipe": "rnnbook.recipes.ch04_lm", "complete": False, "runs": [1, 2]}))
    with pytest.raises(ValueError, match=r"unfinished run \(2 runs\)"):
        load_log(bad)


# ----- the exercises' feedback points at the usual bugs -----

def _grade(name, fn):
    ex = {e.name: e for e in grading.exercises_for("04_lm")}[name]
    refs = grading.reference_functions("04_lm")
    variants = {key: refs[f"{name}__{key}"] for key in ex.mistakes}
    return run_exercise(ex, fn, refs[name], variants=variants)


def test_buffered_embedding_update_is_named():
    def sparse_embedding_update(W, dout, ids, lr):
        W_new = W.copy()
        W_new[ids] -= lr * dout                                           # bug: a repeated id keeps one update
        return W_new, np.unique(ids)
    r = _grade("sparse_embedding_update", sparse_embedding_update)
    assert r.score == 0 and "known mistake" in r.feedback and "only one occurrence" in r.feedback
    assert "np.add.at" not in r.feedback                                  # the fix is not handed over


def test_mean_of_batch_perplexities_is_caught():
    r = _grade("perplexity_from_losses", lambda losses, counts: float(np.mean(np.exp(losses))))
    assert r.score == 0 and "perplexity is" in r.feedback and "per TOKEN of the whole corpus" in r.feedback


def test_nucleus_without_the_crossing_word_is_caught():
    def top_p_distribution(logits, p):
        probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
        probs /= probs.sum(axis=-1, keepdims=True)
        order = np.argsort(-probs, axis=-1, kind="stable")
        total = np.cumsum(np.take_along_axis(probs, order, axis=-1), axis=-1)
        keep = np.zeros(probs.shape, dtype=bool)
        np.put_along_axis(keep, order, total <= p, axis=-1)               # bug: drops the word that crosses p
        out = np.where(keep, probs, 0.0)
        return out / np.maximum(out.sum(axis=-1, keepdims=True), 1e-300)
    with np.errstate(all="ignore"):
        r = _grade("top_p_distribution", top_p_distribution)
    assert r.score == 0 and "differs first at" in r.feedback and "reaches p" in r.feedback


def test_dropout_mask_not_shared_over_time_is_caught():
    def locked_dropout(x, keep, p):
        return x * keep[:, :, None].repeat(x.shape[2], axis=2)[:, :x.shape[1], :] / (1 - p)   # bug: wrong axis
    r = _grade("locked_dropout", locked_dropout)
    assert r.score == 0 and "every time step" in r.feedback


def test_bits_from_nats_forgotten_is_caught():
    r = _grade("bits_per_char", lambda summed_losses, counts: float(np.sum(summed_losses) / np.sum(counts)))
    assert r.score == 0 and "known mistake" in r.feedback and "nats" in r.feedback


def test_forgetting_one_use_of_tied_weights_is_caught():
    def tied_embedding_grad(ids, d_embedded, hs, dlogits):
        V, D = dlogits.shape[-1], hs.shape[-1]
        return dlogits.reshape(-1, V).T @ hs.reshape(-1, D)               # bug: only the output layer's part
    r = _grade("tied_embedding_grad", tied_embedding_grad)
    assert r.score == 0 and "known mistake" in r.feedback and "embedding's use of E is missing" in r.feedback


def test_run_writes_a_complete_log_and_resumes(monkeypatch, tmp_path):
    words = ("<eos> the value of the files is set . the values in the file are set . the name for the values "
             "was read from the line on the lines with the names . the names were set . the item and the items . "
             * 30).split()
    monkeypatch.setattr(ch04_lm, "_docstring_tokens", lambda: tuple(words))
    monkeypatch.setitem(ch04_lm.CONFIGS, "tiny", dict(CONFIGS["ci"], max_vocab=40, train_tokens=None, embed_size=6,
                                                      hidden_size=6, batch_size=4, seq_len=5, epochs=1, seeds=[0],
                                                      agreement_per_cell=2))
    out = tmp_path / "log.json"
    log = ch04_lm.run("tiny", out, log=None, checkpoint_dir=tmp_path / "ckpt", checkpoint_every=5)
    assert load_log(out) == json.loads(json.dumps(log))
    assert [r["variant"] for r in log["runs"]] == [n for n, _ in VARIANTS]
    assert log["samples"]["greedy"] and len(log["samples"]["temperature_0.8_top_k_40"]) == 3
    assert len(list((tmp_path / "ckpt").glob("*.npz"))) == len(VARIANTS)
    messages = []
    again = ch04_lm.run("tiny", out, resume=True, log=messages.append)
    assert "resuming: 6 run(s) already logged" in messages[0]
    assert again["runs"] == log["runs"] and again["samples"] == log["samples"]

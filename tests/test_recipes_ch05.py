"""The chapter-5 recipe (rnnbook.recipes.ch05_seq2seq): a tiny run end to end, the log's structure, bad input."""
import json

import numpy as np
import pytest

from rnnbook.recipes import ch05_seq2seq as recipe

TINY = dict(recipe.CONFIGS["ci"], n_train=256, n_test=40, epochs=2, seeds=[0, 1], hidden_size=16)


def test_configs_share_keys_and_data():
    assert set(recipe.CONFIGS) == {"ci", "best", "long"}
    ci, best, long = recipe.CONFIGS["ci"], recipe.CONFIGS["best"], recipe.CONFIGS["long"]
    assert set(ci) == set(best) == set(long)
    assert ci["epochs"] == long["epochs"] < best["epochs"]
    # the chapter trains each variant once; the logged long run repeats that comparison and adds seeds
    assert set(ci["seeds"]) < set(long["seeds"]) and len(long["seeds"]) >= 3 and best["seeds"] == ci["seeds"]
    assert set(ci["variants"]) == set(long["variants"]) == set(recipe.VARIANTS) - {"pre-padded + peeky"}
    for key in ("n_train", "n_test", "train_seed", "test_seed", "max_digits", "hidden_size", "lr", "batch_size"):
        assert ci[key] == best[key] == long[key], key        # one data set and one training setup


def test_load_data_matches_the_generators():
    from rnnbook.data.addition import addition_pairs

    data = recipe.load_data(TINY)
    assert data["train"] == addition_pairs(256, seed=1)
    assert data["test"] == addition_pairs(40, seed=2, exclude=data["train"])
    assert not {q for q, _ in data["train"]} & {q for q, _ in data["test"]}
    (tr_src, tr_tgt), (te_src, te_tgt) = recipe.addition_data(data, "baseline")
    assert tr_src.shape == (256, 7) and tr_tgt.shape == (256, 6) and te_src.shape == (40, 7)
    (rev_src, _), _ = recipe.addition_data(data, "reversed")
    assert (rev_src == tr_src[:, ::-1]).all()              # the padded rows, read backwards (padding first)
    (pre_src, _), _ = recipe.addition_data(data, "pre-padded")
    # the control: padding first like the reversed rows, the question in its own order
    assert ((pre_src == 0) == (rev_src == 0)).all()
    for row_pre, row_rev in zip(pre_src, rev_src):
        n = int((row_pre != 0).sum())
        assert (row_pre[-n:] == row_rev[-n:][::-1]).all()


def test_tiny_run_writes_a_complete_log(tmp_path):
    out = tmp_path / "logs" / "tiny.json"
    result = recipe.run(TINY, out, variants=["baseline", "reversed + peeky"], log=None)
    log = json.loads(out.read_text(encoding="utf-8"))
    assert log == json.loads(json.dumps(result))           # the returned dict is what was written
    assert log["complete"] is True and log["recipe"] == "rnnbook.recipes.ch05_seq2seq"
    assert log["config"] == TINY and log["config_name"] == "custom"
    for key in ("python", "numpy", "started", "finished", "date", "total_seconds", "machine"):
        assert key in log
    assert log["machine"]["cpus"] >= 1 and all(r["cpu_seconds"] >= 0 for r in log["runs"])
    assert log["data"] == {"train_questions": 256, "test_questions": 40, "vocab_size": 14}
    assert [(r["variant"], r["seed"]) for r in log["runs"]] == [
        ("baseline", 0), ("baseline", 1), ("reversed + peeky", 0), ("reversed + peeky", 1)]
    for r in log["runs"]:
        assert len(r["exact_match"]) == len(r["loss"]) == 2
        assert r["final"] == r["exact_match"][-1] and 0 <= r["final"] <= 1
    assert set(log["summary"]) == {"baseline", "reversed + peeky"}
    finals = [r["final"] for r in log["runs"] if r["variant"] == "baseline"]
    assert log["summary"]["baseline"]["mean"] == pytest.approx(np.mean(finals))
    assert log["summary"]["baseline"]["std"] == pytest.approx(np.std(finals))
    beam = log["beam"]
    assert (beam["variant"], beam["seed"], beam["beam_width"], beam["questions"]) == ("reversed + peeky", 0, 5, 40)
    assert beam["changed"] == len(beam["changed_indices"])
    assert beam["changed"] == beam["wrong_to_right"] + beam["right_to_wrong"] + beam["wrong_to_wrong"]
    assert beam["beam_exact_match"] - beam["greedy_exact_match"] == pytest.approx(
        (beam["wrong_to_right"] - beam["right_to_wrong"]) / 40)


def test_run_is_deterministic_and_matches_train_variant():
    a = recipe.run(dict(TINY, seeds=[0], epochs=1), variants=["peeky"], log=None)
    data = recipe.load_data(TINY)
    _, hist = recipe.train_variant(data, dict(TINY, epochs=1), "peeky", 0)
    assert a["runs"][0]["exact_match"] == hist["score"] and a["runs"][0]["loss"] == hist["loss"]
    assert a["beam"] is None                                 # its model (reversed + peeky) was not trained


def test_parallel_run_gives_the_same_runs(tmp_path):
    cfg = dict(TINY, seeds=[0], epochs=1)
    one = recipe.run(cfg, variants=["baseline", "reversed + peeky"], log=None)
    two = recipe.run(cfg, tmp_path / "two.json", variants=["baseline", "reversed + peeky"], jobs=2, log=None)
    key = lambda r: (r["variant"], r["seed"])
    strip = lambda runs: sorted(({k: v for k, v in r.items() if k not in ("seconds", "cpu_seconds")} for r in runs),
                                key=key)
    assert strip(one["runs"]) == strip(two["runs"]) and one["beam"] == two["beam"] and two["jobs"] == 2


def test_the_best_run_begins_with_the_ci_run():
    # the chapter takes reversed + peeky's comparison score from the first epochs of its best model
    data = recipe.load_data(TINY)
    _, short = recipe.train_variant(data, dict(TINY, seeds=[0], epochs=1), "reversed + peeky", 0)
    _, longer = recipe.train_variant(data, dict(TINY, seeds=[0], epochs=2), "reversed + peeky", 0)
    assert longer["score"][:1] == short["score"] and longer["loss"][:1] == short["loss"]


def test_scores_at_reads_any_epoch_in_config_order():
    log = {"config": {"epochs": 2, "seeds": [0, 1]},
           "runs": [{"variant": "peeky", "seed": 1, "exact_match": [0.1, 0.4]},
                    {"variant": "baseline", "seed": 0, "exact_match": [0.0, 0.2]},
                    {"variant": "peeky", "seed": 0, "exact_match": [0.2, 0.3]}]}
    assert recipe.scores_at(log) == {"baseline": [0.2], "peeky": [0.3, 0.4]}
    assert recipe.scores_at(log, 1) == {"baseline": [0.0], "peeky": [0.2, 0.1]}
    with pytest.raises(ValueError, match="epoch must be between 1 and 2"):
        recipe.scores_at(log, 3)


def test_load_log(tmp_path):
    with pytest.raises(FileNotFoundError, match="--config long"):
        recipe.load_log(tmp_path / "missing.json")
    (tmp_path / "half.json").write_text(json.dumps({"recipe": "rnnbook.recipes.ch05_seq2seq", "complete": False}))
    with pytest.raises(ValueError, match="unfinished run"):
        recipe.load_log(tmp_path / "half.json")
    assert recipe.log_path().name == "05_seq2seq_long.json"


def test_format_table():
    text = recipe.format_table({"baseline": [0.1, 0.3], "peeky": np.array([0.5])})
    lines = text.splitlines()
    assert "mean ± std" in lines[0] and len(lines) == 4
    assert lines[2].split() == ["baseline", "|", "0.200", "±", "0.100", "|", "0.100", "|", "0.300"]


def test_bad_input():
    with pytest.raises(ValueError, match="unknown configuration 'huge'"):
        recipe.run("huge")
    with pytest.raises(ValueError, match=r"lacks the key\(s\) \['beam_seed'"):
        recipe.load_data({k: v for k, v in TINY.items() if k != "beam_seed"})
    with pytest.raises(ValueError, match="unknown variant 'bidirectional'"):
        recipe.run(TINY, variants=["bidirectional"], log=None)
    with pytest.raises(ValueError, match="unknown variant 'reversed '"):
        recipe.addition_data(recipe.load_data(TINY), "reversed ")
    with pytest.raises(TypeError, match="config must be a dict"):
        recipe.load_data(3)

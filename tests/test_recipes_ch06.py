"""The chapter-6 recipe (rnnbook.recipes.ch06_captioning): a tiny run end to end, scores, the log, bad input."""
import json

import numpy as np
import pytest

from rnnbook.data.captions import CaptionSet, digit_captions, shape_captions
from rnnbook.recipes import ch06_captioning as recipe

TINY = {"digits": dict(recipe.CONFIGS["ci"]["digits"], n_train=200, n_test=30, epochs=2, seeds=[0, 1],
                       channels=[2, 4], embed_size=4, hidden_size=8),
        "shapes": dict(recipe.CONFIGS["ci"]["shapes"], n_train=100, n_test=20, epochs=1, seeds=[0],
                       channels=[2, 4], embed_size=4, hidden_size=8)}


def test_configs_share_keys_and_ci_is_the_chapters_budget():
    assert set(recipe.CONFIGS) == {"ci", "long"}
    for task in recipe.TASKS:
        assert set(recipe.CONFIGS["ci"][task]) == set(recipe.CONFIGS["long"][task])
    ci = recipe.CONFIGS["ci"]
    assert (ci["digits"]["n_train"], ci["digits"]["epochs"], ci["digits"]["channels"]) == (8000, 6, [16, 32])
    assert (ci["shapes"]["n_train"], ci["shapes"]["epochs"], ci["shapes"]["channels"]) == (6000, 10, [8, 16])
    assert ci["digits"]["conditionings"] == ["peeky", "attention"] and ci["digits"]["seeds"] == [0, 1]
    long = recipe.CONFIGS["long"]
    assert set(ci["shapes"]["conditionings"]) <= set(long["shapes"]["conditionings"])
    assert set(ci["digits"]["conditionings"]) <= set(long["digits"]["conditionings"])


def test_load_task_matches_the_generators():
    digits = recipe.load_task(TINY, "digits")
    ref = digit_captions(200, split="train", seed=1)
    assert digits["train"].captions == ref.captions and np.array_equal(digits["train"].images, ref.images)
    assert digits["splits"]["test"].captions == digit_captions(30, split="test", seed=2).captions
    assert digits["ids"].shape == (200, 6) and digits["max_len"] == 5 and digits["image_shape"] == (1, 8, 32)
    shapes = recipe.load_task(TINY, "shapes")
    assert list(shapes["splits"]) == ["seen", "held_out"]
    assert shapes["splits"]["held_out"].captions == shape_captions(20, split="held_out", seed=3).captions
    assert shapes["ids"].shape == (100, 18) and shapes["max_len"] == 17
    model = recipe.build_model(shapes, TINY, "attention", 0)
    assert model.conditioning == "attention" and model.encoder.grid_shape == (4, 6, 6)


def test_caption_scores():
    data = CaptionSet(np.zeros((3, 1, 8, 32), np.float32), ["one", "two three", "four five six seven"],
                      [(1,), (2, 3), (4, 5, 6, 7)])
    scores = recipe.caption_scores(["one", "two four", "four five six"], data, "digits")
    assert scores["exact match"] == pytest.approx(1 / 3)
    assert scores["digit accuracy"] == pytest.approx(5 / 7)     # the missing 4th digit counts as wrong
    assert scores["exact match, 1 digit"] == 1 and scores["exact match, 2 digits"] == 0
    assert "exact match, 3 digits" not in scores and scores["exact match, 4 digits"] == 0
    held = shape_captions(5, split="held_out", seed=0)
    scores = recipe.caption_scores(held.captions, held, "shapes")
    assert scores["exact match"] == 1 and scores["held-out objects: colour+shape"] == 1
    seen = shape_captions(5, split="seen", seed=0)
    scores = recipe.caption_scores(["a small red"] * 5, seen, "shapes")
    assert scores["exact match"] == 0 and scores["count"] == 0
    assert not any(k.startswith("held-out objects") for k in scores)


def test_tiny_run_writes_a_complete_log(tmp_path):
    out = tmp_path / "logs" / "tiny.json"
    result = recipe.run(TINY, out, log=None)
    log = json.loads(out.read_text(encoding="utf-8"))
    assert log == json.loads(json.dumps(result))                # the returned dict is what was written
    assert log["complete"] is True and log["recipe"] == "rnnbook.recipes.ch06_captioning"
    assert log["config"] == TINY and log["config_name"] == "custom" and log["command"] is None
    for key in ("python", "numpy", "started", "finished", "date", "total_seconds"):
        assert key in log
    digits_vocab = recipe.load_task(TINY, "digits")["vocab"]
    assert log["data"]["digits"] == {"train": 200, "test": 30, "vocab_size": len(digits_vocab)}
    assert [(r["task"], r["conditioning"], r["seed"]) for r in log["runs"]] == [
        ("digits", "peeky", 0), ("digits", "peeky", 1), ("digits", "attention", 0), ("digits", "attention", 1),
        ("shapes", "init", 0), ("shapes", "peeky", 0), ("shapes", "attention", 0)]
    for r in log["runs"]:
        epochs = TINY[r["task"]]["epochs"]
        assert len(r["exact_match"]) == len(r["loss"]) == epochs
        first = "test" if r["task"] == "digits" else "seen"
        assert r["final"][first]["exact match"] == pytest.approx(r["exact_match"][-1])
    finals = [r["final"]["test"]["digit accuracy"] for r in log["runs"] if r["conditioning"] == "attention"
              and r["task"] == "digits"]
    s = log["summary"]["digits"]["attention"]["test"]["digit accuracy"]
    assert s["mean"] == pytest.approx(np.mean(finals)) and s["std"] == pytest.approx(np.std(finals))
    assert s["seeds"] == 2
    assert "held-out objects: colour+shape" in log["summary"]["shapes"]["peeky"]["held_out"]
    assert recipe.load_log(out) == log
    table = recipe.format_table(log["summary"], "shapes").splitlines()
    assert len(table) == 5 and "held-out: exact match" in table[0]
    assert table[2].split()[:3] == ["init", "|", "1"]


def test_run_is_deterministic_and_matches_train_model():
    config = {"digits": dict(TINY["digits"], seeds=[0], epochs=1), "shapes": TINY["shapes"]}
    a = recipe.run(config, tasks=["digits"], conditionings=["attention"], log=None)
    assert [(r["task"], r["conditioning"]) for r in a["runs"]] == [("digits", "attention")]
    data = recipe.load_task(config, "digits")
    model, hist = recipe.train_model(data, config, "attention", 0)
    assert a["runs"][0]["exact_match"] == hist["score"] and a["runs"][0]["loss"] == hist["loss"]
    pred = recipe.predict(model, data, data["splits"]["test"].images)
    assert a["runs"][0]["final"]["test"] == recipe.caption_scores(pred, data["splits"]["test"], "digits")


def test_the_committed_long_log_is_complete_and_matches_the_config():
    log = recipe.load_log()
    assert log["config_name"] == "long" and log["config"] == recipe.CONFIGS["long"]
    expected = [(task, c, s) for task in recipe.TASKS for c in recipe.CONFIGS["long"][task]["conditionings"]
                for s in recipe.CONFIGS["long"][task]["seeds"]]
    assert [(r["task"], r["conditioning"], r["seed"]) for r in log["runs"]] == expected


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="unknown configuration 'huge'"):
        recipe.run("huge")
    with pytest.raises(ValueError, match=r"lacks the key\(s\) \['shapes'\]"):
        recipe.load_task({"digits": TINY["digits"]}, "digits")
    with pytest.raises(ValueError, match=r"config\['digits'\] lacks the key\(s\) \['seeds'\]"):
        recipe.load_task({**TINY, "digits": {k: v for k, v in TINY["digits"].items() if k != "seeds"}}, "digits")
    with pytest.raises(ValueError, match="unknown conditioning 'spatial' in config\\['shapes'\\]"):
        recipe.load_task({**TINY, "shapes": dict(TINY["shapes"], conditionings=["spatial"])}, "shapes")
    with pytest.raises(ValueError, match="unknown task 'faces'"):
        recipe.run(TINY, tasks=["faces"], log=None)
    with pytest.raises(ValueError, match="unknown conditioning 'bidirectional'"):
        recipe.run(TINY, conditionings=["bidirectional"], log=None)
    with pytest.raises(TypeError, match="config must be a dict"):
        recipe.load_task(3, "digits")
    with pytest.raises(ValueError, match="predictions and caption_set must have the same length, got 1 and 2"):
        recipe.caption_scores(["one"], digit_captions(2, split="test"), "digits")
    with pytest.raises(FileNotFoundError, match="produce it with `python -m rnnbook.recipes.ch06_captioning"):
        recipe.load_log(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"recipe": "rnnbook.recipes.ch06_captioning", "complete": False, "runs": [1]}))
    with pytest.raises(ValueError, match="unfinished run \\(1 runs\\)"):
        recipe.load_log(bad)
    bad.write_text(json.dumps({"recipe": "rnnbook.recipes.ch05_seq2seq", "complete": True}))
    with pytest.raises(ValueError, match="is not a log of rnnbook.recipes.ch06_captioning"):
        recipe.load_log(bad)

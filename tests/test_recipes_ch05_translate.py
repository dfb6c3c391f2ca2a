"""Chapter 5's translation recipe (rnnbook.recipes.ch05_translate): data, batches, a tiny run, the weights."""
import pytest

from rnnbook.recipes import ch05_translate as recipe

TINY = dict(recipe.CONFIGS["ci"], n_train=300, embed_size=8, hidden_size=8, epochs=1, n_test=60, n_val=40)


def test_configs():
    ci, long = recipe.CONFIGS["ci"], recipe.CONFIGS["long"]
    assert set(ci) == set(long)
    for key in ("split_seed", "n_test", "n_val", "min_count", "seed", "beam_width"):
        assert ci[key] == long[key], key
    assert long["n_train"] is None and ci["n_train"] < 5000
    assert long["bidirectional"] and not ci["bidirectional"]   # the committed attention model reads both ways


def test_load_data():
    data = recipe.load_data(TINY)
    assert len(data["train"]) == 300 and data["train_src"].shape == (300, data["src_len"])
    assert data["train_tgt"].shape == (300, data["tgt_len"] + 2)
    assert len(data["test_sources"]) == len(data["test_refs"]) == data["test_src"].shape[0]
    lengths = [len(en) for en, _ in data["train"]]
    assert lengths == sorted(lengths)                         # the shortest pairs


def test_length_batches_cover_every_pair_once_and_trim():
    data = recipe.load_data(TINY)
    src, tgt = data["train_src"], data["train_tgt"]
    batches = recipe.length_batches(src, tgt, 16, seed=0)
    seen = []
    for (s, t), n in batches(1):
        assert s.shape[1] == src.shape[1] and n == len(s) == len(t)
        assert (t[:, -1] != 0).any()                          # trimmed to the longest target of the batch
        seen += [tuple(row) for row in s]
    assert sorted(seen) == sorted(tuple(row) for row in src)


def test_tiny_run(tmp_path):
    log = recipe.run(TINY, tmp_path / "log.json", say=None)
    assert log["complete"] and log["train_pairs"] == 300
    for kind in recipe.MODELS:
        m = log["models"][kind]
        assert len(m["loss"]) == len(m["val_bleu"]) == 1 and m["best_epoch"] == 1
        assert 0 <= m["test"]["bleu4"] <= m["test"]["bleu2"] <= 1 or m["test"]["bleu2"] == 0


def test_bleu_orders():
    hyp = [["le", "chat", "est", "noir", "."]]
    refs = [[["le", "chat", "est", "noir", "."]]]
    assert recipe.bleu(hyp, refs) == pytest.approx(1.0) and recipe.bleu(hyp, refs, 2) == pytest.approx(1.0)


def test_committed_weights_load():
    if not recipe.weights_path("attention").is_file():
        pytest.skip("the long run's weights are not committed")
    models, data = recipe.load_models()
    assert set(models) == set(recipe.MODELS)
    out = recipe.translate(models["attention"], data["test_src"][:3], data)
    assert len(out) == 3 and all(isinstance(w, str) for row in out for w in row)
    log = recipe.load_log()
    assert log["complete"] and set(log["models"]) == set(recipe.MODELS)
    assert log["config"]["bidirectional"] and type(models["attention"].encoder).__name__ == "BiEncoder"
    assert type(models["plain"].encoder).__name__ == "Encoder"
    assert all(recipe.weights_path(k).stat().st_size <= 5_000_000 for k in recipe.MODELS)
    with pytest.raises(FileNotFoundError, match="--weights"):
        recipe.load_models("/nonexistent")


def test_quantize_and_save_load_round_trip(tmp_path):
    import numpy as np

    w = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32) * np.array([1, 10, 0.01, 0, 3])
    q, scale = recipe.quantize(w)
    assert q.dtype == np.int8 and scale.shape == (1, 5)
    assert (np.abs(q * scale.astype(np.float32) - w) <= scale.astype(np.float32) * 0.51 + 1e-7).all()
    data = recipe.load_data(TINY)
    bi = dict(TINY, bidirectional=True)
    models = {kind: recipe.build_model(data, bi, kind) for kind in recipe.MODELS}
    assert type(models["attention"].encoder).__name__ == "BiEncoder"
    paths = recipe.save_models(models, data, tmp_path)
    assert [p.name for p in paths] == [f"05_translate_{k}.npz" for k in recipe.MODELS]
    for kind, path in zip(recipe.MODELS, paths):
        loaded, meta = recipe.load_model(path)
        assert meta["vocab"] == list(data["vocab"].itos) and type(loaded) is type(models[kind])
        assert type(loaded.encoder) is type(models[kind].encoder)
        for a, b in zip(loaded.params, models[kind].params):
            assert np.abs(a - b).max() <= np.abs(b).max() / 127 + 1e-6


def test_bad_model_name():
    with pytest.raises(ValueError, match="unknown model"):
        recipe.build_model(recipe.load_data(TINY), TINY, "transformer")

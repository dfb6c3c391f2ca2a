"""Tests of rnnbook.checkpoint: models saved and rebuilt from their configuration, clear errors for bad files.
(Training states, which resume an interrupted run, are tested with the training loop in tests/test_resume.py.)"""
import json

import numpy as np
import pytest

from rnnbook.checkpoint import MODEL_CLASSES, load_into, load_model, npz_path, save_model
from rnnbook.models import LanguageModel, LSTMLM, RNNLM

IDS = np.random.default_rng(0).integers(0, 20, (2, 5))


def test_checkpoint_round_trip(tmp_path):
    model = LSTMLM(20, 6, 6, num_layers=2, tie_weights=True, dropout=0.3, rng=3)
    path = save_model(model, tmp_path / "lm", epoch=4, vocab=["a", "b"])
    assert path.name == "lm.npz"
    loaded, extra = load_model(path, return_extra=True)
    ids = np.random.default_rng(0).integers(0, 20, (2, 5))
    np.testing.assert_array_equal(loaded.predict(ids), model.predict(ids))
    assert extra == {"epoch": 4, "vocab": ["a", "b"]}
    other = LSTMLM(20, 6, 6, num_layers=2, tie_weights=True, dropout=0.3, rng=99)
    load_into(other, path)
    np.testing.assert_array_equal(other.predict(ids), model.predict(ids))
    rnn = RNNLM(20, 6, 6, rng=0)
    np.testing.assert_array_equal(load_model(save_model(rnn, tmp_path / "rnn.npz")).predict(ids), rnn.predict(ids))


def test_bad_checkpoints_give_clear_errors(tmp_path):
    model = LSTMLM(20, 6, 6, rng=0)
    path = save_model(model, tmp_path / "lm.npz")
    data = path.read_bytes()
    (tmp_path / "truncated.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_model(tmp_path / "truncated.npz")
    (tmp_path / "garbage.npz").write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="truncated or corrupt"):
        load_model(tmp_path / "garbage.npz")
    np.savez(tmp_path / "plain.npz", W=np.zeros(3))
    with pytest.raises(ValueError, match="not an rnnbook checkpoint"):
        load_model(tmp_path / "plain.npz")
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_model(tmp_path / "missing.npz")
    with pytest.raises(ValueError, match="different configuration: hidden_size: file 6 vs model 7"):
        load_into(LSTMLM(20, 6, 7), path)
    with pytest.raises(ValueError, match="saved from a LSTMLM, not a RNNLM"):
        load_into(RNNLM(20, 6, 6), path)
    assert not list(tmp_path.glob("*.tmp")), "a temporary file was left behind"


def test_half_precision_weights_round_trip(tmp_path):
    model = LanguageModel(20, 8, 8, num_layers=2, rng=0)
    save_model(model, tmp_path / "m.npz", half=True, note="x")
    back, extra = load_model(tmp_path / "m.npz", return_extra=True)
    assert extra == {"note": "x"}
    for p, q in zip(model.params, back.params):
        assert q.dtype == np.float32
        np.testing.assert_allclose(q, p, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("model", [
    LanguageModel(20, 6, 6, cell="gru", num_layers=2, dropout=0.2, stateful=True, rng=1),
    LanguageModel(20, 6, 6, cell="rnn", tie_weights=True, dtype=np.float64, rng=2),
    LSTMLM(20, 6, 6, num_layers=3, rng=3),
    RNNLM(20, 6, 5, stateful=True, rng=4),
], ids=lambda m: f"{type(m).__name__}-{m.config['cell']}")
def test_every_model_is_rebuilt_from_its_own_config(tmp_path, model):
    config = json.loads(json.dumps(model.config))                 # as stored in a file
    rebuilt = type(model).from_config(config)
    assert type(rebuilt) is type(model) and rebuilt.config == model.config
    assert [p.shape for p in rebuilt.params] == [p.shape for p in model.params]
    loaded = load_model(save_model(model, tmp_path / "m"))
    assert type(loaded) is type(model) and loaded.config == model.config
    np.testing.assert_array_equal(loaded.predict(IDS), model.predict(IDS))


def test_load_model_knows_the_model_classes_by_name():
    assert MODEL_CLASSES == {"LanguageModel": LanguageModel, "LSTMLM": LSTMLM, "RNNLM": RNNLM}


def test_npz_path_appends_the_suffix_numpy_writes():
    assert npz_path("run").name == "run.npz"
    assert npz_path("run.npz").name == "run.npz"
    assert npz_path("run.v2").name == "run.v2.npz"

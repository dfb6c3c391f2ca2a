"""Chapter 4's character showcase: its recipe (train, resume), the committed weights and the sample check."""
import json

import numpy as np
import pytest

from rnnbook.recipes import ch04_char


def test_ci_config_trains_and_resumes(tmp_path):
    ck, out, w = tmp_path / "state.npz", tmp_path / "log.json", tmp_path / "w.npz"
    log = ch04_char.train("ci", out=out, checkpoint=ck, weights=w, say=lambda msg: None)
    assert log["complete"] and len(log["epochs"]) == 1 and w.is_file() and ck.is_file()
    config = dict(ch04_char.CONFIGS["ci"], epochs=2)
    log2 = ch04_char.train(config, name="ci", out=out, checkpoint=ck, weights=w, say=lambda msg: None)
    assert [e["epoch"] for e in log2["epochs"]] == [1, 2]            # epoch 1 came from the checkpoint
    assert log2["epochs"][0] == log["epochs"][0]
    assert json.loads(out.read_text())["best_epoch"] in (1, 2)


def test_committed_showcase_loads():
    model, vocab = ch04_char.load_showcase()
    assert model.config["num_layers"] == 2 and model.config["hidden_size"] >= 256
    assert model.params[0].dtype == np.float32 and vocab.itos[0] == ch04_char.UNK
    ids = vocab.encode("def f(x):\n    return x + 1\n")
    loss = model.forward(ids[None, :-1], ids[None, 1:], train=False)
    assert np.isfinite(loss) and loss < np.log(len(vocab))            # better than uniform guessing
    assert ch04_char.weights_path().stat().st_size < 5_000_000


def test_corpus_is_checked_and_long_more_reads_more_text():
    with pytest.raises(ValueError, match="corpus must be one of"):
        ch04_char.load_data(dict(ch04_char.CONFIGS["ci"], corpus="stdlib_all"))
    small = ch04_char.load_data(dict(ch04_char.CONFIGS["ci"], max_chars=None))
    more = ch04_char.load_data(dict(ch04_char.CONFIGS["ci"], max_chars=None, corpus="stdlib_more"))
    assert more["train"].size > 2 * small["train"].size


def test_committed_weights_go_with_their_characters_and_logs():
    for name, path in (("long", ch04_char.weights_path()),
                       ("long_25", ch04_char.weights_path().with_name("04_char_lstm_25.npz"))):
        model, vocab = ch04_char.load_showcase(path)
        assert model.config["dropout"] == ch04_char.CONFIGS[name]["dropout"] and path.stat().st_size < 5_000_000
        assert vocab.itos == ch04_char.load_data(name)["vocab"].itos
        assert ch04_char.load_log(ch04_char.log_path(name))["config_name"] == name


def test_valid_line_fraction():
    assert ch04_char.valid_line_fraction("x = (1,\n\n    y = 'a'\n") == pytest.approx(0.5)
    assert ch04_char.valid_line_fraction("def f(x):\n    return [x]\n") == 1.0
    assert ch04_char.valid_line_fraction("\n  \n") == 0.0


def test_unigram_bpc_of_uniform_text_is_log2_of_the_alphabet():
    ids = np.tile(np.arange(4), 100)
    assert ch04_char.unigram_bpc(ids, ids, 4) == pytest.approx(2.0)

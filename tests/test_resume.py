"""Long runs don't lose work: an interrupted training run resumes from its last checkpoint
and ends exactly where an uninterrupted run ends (same weights, same history)."""
import numpy as np
import pytest

from rnnbook.checkpoint import load_model, save_model
from rnnbook.models import LanguageModel
from rnnbook.optim import SGD, Adam
from rnnbook.train import train_lm


def corpus(n=1200, V=17, seed=0):
    rng = np.random.default_rng(seed)
    # a little structure (a noisy cycle) so that training actually changes the weights
    return ((np.arange(n) + (rng.random(n) < 0.2) * rng.integers(0, V, n)) % V).astype(np.int64)


def make(cell="lstm", dtype=np.float64):
    return LanguageModel(17, 8, 8, cell=cell, num_layers=2, dropout=0.3, stateful=True, rng=3, dtype=dtype)


class Interrupt(Exception):
    pass


def stop_after(model, n):
    """Make ``model`` raise (like Ctrl-C or a killed job) on its n-th training forward call."""
    calls, forward = [0], model.forward

    def interrupted(x, y, train=True):
        if train:
            calls[0] += 1
            if calls[0] == n:
                raise Interrupt(f"interrupted at step {n}")
        return forward(x, y, train=train)
    model.forward = interrupted          # on this instance only
    return model


KW = dict(batch_size=4, seq_len=10, epochs=3, progress=False, log=None)


# 29 batches per epoch: checkpoints mid-epoch (every 3 steps) or exactly at an epoch's end (every 29)
@pytest.mark.parametrize("cell,opt,stop,every", [("lstm", "adam", 8, 3), ("rnn", "sgd", 31, 29),
                                                 ("gru", "adam", 59, 3), ("lstm", "sgd", 60, 29)])
def test_interrupted_run_resumes_to_the_same_result(tmp_path, cell, opt, stop, every):
    ids, val = corpus(), corpus(300, seed=1)
    make_opt = (lambda: Adam(1e-2)) if opt == "adam" else (lambda: SGD(0.5))
    schedule = lambda epoch: 0.01 * 0.5 ** (epoch - 1) if opt == "adam" else 0.5 / epoch  # noqa: E731

    ref = make(cell)
    ref_hist = train_lm(ref, make_opt(), ids, val, lr_schedule=schedule, **KW)

    path = tmp_path / "run.npz"
    model = make(cell)
    with pytest.raises(Interrupt):
        train_lm(stop_after(model, stop), make_opt(), ids, val, lr_schedule=schedule,
                 checkpoint_path=path, checkpoint_every=every, **KW)
    assert path.exists()

    fresh = make(cell)                      # a new process would start from scratch like this
    fresh.params[0][...] = 0.0              # ...and the checkpoint must overwrite everything
    hist = train_lm(fresh, make_opt(), ids, val, lr_schedule=schedule,
                    checkpoint_path=path, checkpoint_every=every, **KW)

    assert hist["steps"] == ref_hist["steps"] == 3 * 29
    for key in ("loss", "grad_norm", "val_ppl", "train_ppl", "lr", "tokens", "epoch"):
        np.testing.assert_array_equal(hist[key], ref_hist[key], err_msg=key)
    for a, b in zip(fresh.params, ref.params):
        np.testing.assert_array_equal(a, b)

    # a finished run started again does no more work and returns the same history
    again = train_lm(make(cell), make_opt(), ids, val, lr_schedule=schedule,
                     checkpoint_path=path, checkpoint_every=3, **KW)
    assert again["loss"] == hist["loss"]
    # the training checkpoint is also an ordinary model checkpoint
    loaded = load_model(path)
    for a, b in zip(loaded.params, ref.params):
        np.testing.assert_array_equal(a, b)


def test_resume_refuses_a_different_setup(tmp_path):
    ids = corpus()
    path = tmp_path / "run.npz"
    train_lm(make(), Adam(1e-2), ids, checkpoint_path=path, checkpoint_every=5, **KW)
    with pytest.raises(ValueError, match="different setup"):
        train_lm(make(), Adam(1e-2), ids, checkpoint_path=path, **{**KW, "seq_len": 5})
    with pytest.raises(ValueError, match="saved with a Adam optimizer, not a SGD"):
        train_lm(make(), SGD(0.1), ids, checkpoint_path=path, **KW)
    with pytest.raises(ValueError, match="different configuration"):
        train_lm(LanguageModel(17, 8, 8, cell="lstm", stateful=True), Adam(1e-2), ids,
                 checkpoint_path=path, **KW)


def test_resume_from_a_plain_model_checkpoint_is_refused(tmp_path):
    path = save_model(make(), tmp_path / "weights.npz")
    with pytest.raises(ValueError, match="without a training state"):
        train_lm(make(), Adam(1e-2), corpus(), checkpoint_path=path, **KW)


def test_checkpoint_every_needs_a_path():
    with pytest.raises(ValueError, match="checkpoint_every needs a checkpoint_path"):
        train_lm(make(), Adam(1e-2), corpus(), checkpoint_every=5, **KW)
    with pytest.raises(ValueError, match="checkpoint_every must be a positive integer"):
        train_lm(make(), Adam(1e-2), corpus(), checkpoint_path="x.npz", checkpoint_every=0, **KW)

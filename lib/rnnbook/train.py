"""Training recurrent language models with truncated backpropagation through time (chapter 2).

A long corpus is cut into ``batch_size`` contiguous *rows*, each read from left
to right in chunks of ``seq_len`` tokens (:func:`tbptt_batches`). A stateful
model carries its hidden state from one chunk to the next, so information can
flow forward across chunk borders, while the backward pass stops at every
border: that is truncated BPTT.

:func:`train_lm` runs the loop (forward, backward, global-norm clipping,
optimizer step), evaluates the validation perplexity after every epoch
(:func:`evaluate_perplexity`) and returns a history of the run.
:func:`sample` draws text from a trained model.
"""
from __future__ import annotations

import inspect
import math
from typing import Callable

import numpy as np

from ._checks import check_array
from .optim import clip_grad_norm

__all__ = ["TBPTTBatches", "tbptt_batches", "evaluate_perplexity", "train_lm", "sample"]


def _positive_int(name: str, value) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class TBPTTBatches:
    """The truncated-BPTT batches of a corpus; iterate to get ``(x, y)`` pairs.

    Created by :func:`tbptt_batches`, which documents the layout. ``len()`` is
    the number of batches, so progress bars know their total.

    Attributes
    ----------
    rows_x, rows_y: ``(batch_size, row_len)`` views of the corpus (inputs and
        targets, shifted by one token).
    """

    def __init__(self, ids, batch_size: int, seq_len: int):
        ids = check_array("ids", ids, ndim=1, kind="int")
        B = _positive_int("batch_size", batch_size)
        L = _positive_int("seq_len", seq_len)
        row_len = (ids.size - 1) // B          # -1: every input needs a next token as its target
        if row_len < L:
            raise ValueError(
                f"the corpus is too short for batch_size={B} and seq_len={L}: {ids.size} tokens give "
                f"{B} rows of {max(row_len, 0)} input tokens, fewer than seq_len; it needs at least "
                f"{B * L + 1} tokens (use a smaller batch_size or seq_len)")
        n = B * row_len
        self.batch_size, self.seq_len, self.row_len = B, L, row_len
        self.rows_x = ids[:n].reshape(B, row_len)
        self.rows_y = ids[1:n + 1].reshape(B, row_len)

    def __len__(self) -> int:
        return self.row_len // self.seq_len

    def __iter__(self):
        L = self.seq_len
        for k in range(len(self)):
            yield self.rows_x[:, k * L:(k + 1) * L], self.rows_y[:, k * L:(k + 1) * L]

    @property
    def tokens_per_epoch(self) -> int:
        """The number of target tokens one pass over all batches processes."""
        return len(self) * self.batch_size * self.seq_len


def tbptt_batches(ids, batch_size: int, seq_len: int) -> TBPTTBatches:
    """Batches for truncated BPTT over one long sequence of token ids.

    The corpus ``ids`` (length ``n``) is cut into ``batch_size`` contiguous rows
    of ``row_len = (n - 1) // batch_size`` tokens: row ``r`` starts at token
    ``r * row_len``. Batch ``k`` holds columns ``k*seq_len ... (k+1)*seq_len - 1``
    of every row, so row ``r`` of batch ``k + 1`` continues the text exactly
    where row ``r`` of batch ``k`` stopped and a stateful model may carry its
    hidden state from one batch to the next. The targets are the inputs shifted
    by one token. A last partial chunk shorter than ``seq_len`` is dropped.

    Parameters
    ----------
    ids: 1-D integer array, the whole corpus as token ids.
    batch_size: ``N``, the number of rows read in parallel.
    seq_len: ``T``, the truncation length (time steps per batch).

    Returns
    -------
    TBPTTBatches
        An iterable of ``(x, y)`` pairs of ``(batch_size, seq_len)`` integer
        arrays (views into ``ids``), with ``len()``.

    Examples
    --------
    >>> [(x.tolist(), y.tolist()) for x, y in tbptt_batches(np.arange(9), 2, 2)]
    [([[0, 1], [4, 5]], [[1, 2], [5, 6]]), ([[2, 3], [6, 7]], [[3, 4], [7, 8]])]
    """
    return TBPTTBatches(ids, batch_size, seq_len)


def _accepts_train(fn) -> bool:
    """Whether ``fn`` takes a ``train`` flag (models with dropout evaluate with ``train=False``)."""
    try:
        return "train" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def evaluate_perplexity(model, ids, batch_size: int, seq_len: int) -> float:
    """Perplexity of ``model`` on the corpus ``ids``, read in truncated-BPTT batches.

    The model's state is reset before and after, and carried between chunks
    (for a stateful model), so every prediction after the first chunk sees the
    text before it. Models whose ``forward`` takes a ``train`` flag are run with
    ``train=False`` (no dropout). Returns ``exp(mean cross-entropy)`` over the
    ``len(batches) * batch_size * seq_len`` predicted tokens.
    """
    batches = tbptt_batches(ids, batch_size, seq_len)
    eval_kwargs = {"train": False} if _accepts_train(model.forward) else {}
    model.reset_state()
    total = 0.0
    for x, y in batches:
        total += model.forward(x, y, **eval_kwargs)     # every batch has the same number of tokens
    model.reset_state()
    return float(math.exp(total / len(batches)))


def _default_log(msg: str) -> None:
    print(msg, flush=True)


def train_lm(model, optimizer, train_ids, val_ids=None, *, batch_size: int = 32, seq_len: int = 32,
             epochs: int = 1, max_norm: float | None = 5.0, max_steps: int | None = None,
             eval_batch_size: int | None = None, progress: bool = True,
             log: Callable[[str], None] | None = _default_log, stop_on_nan: bool = True,
             lr_schedule: Callable[[int], float] | None = None,
             checkpoint_path=None, checkpoint_every: int | None = None) -> dict:
    """Train a language model with truncated BPTT and record its history.

    The model follows the interface of :class:`rnnbook.models.RNNLM`:
    ``params``, ``grads``, ``forward(x, y) -> mean loss``, ``backward()`` and
    ``reset_state()``; it should be *stateful* so the hidden state is carried
    across chunks. Every step: forward, backward, clip the gradients to global
    norm ``max_norm`` (skip with ``None``), ``optimizer.update(params, grads)``.

    Parameters
    ----------
    model, optimizer: see above; ``optimizer`` has ``update(params, grads)``.
    train_ids, val_ids: 1-D integer token-id arrays (``val_ids`` optional).
    batch_size, seq_len: the truncated-BPTT layout (see :func:`tbptt_batches`).
    epochs: passes over the training corpus.
    max_norm: global-norm clipping threshold, or ``None`` for no clipping.
    max_steps: stop after this many updates in total (for budgets in steps).
    eval_batch_size: batch size for validation (default ``batch_size``).
    progress: show a ``tqdm.auto`` progress bar (notebook-aware).
    log: called with one compact line per epoch (``None`` for silence).
    stop_on_nan: end training (instead of raising) when the loss or gradient
        becomes non-finite, recording ``history["diverged"] = True``.
    lr_schedule: optional function ``epoch -> learning rate`` (epochs count
        from 1), applied to ``optimizer.lr`` at the start of every epoch, e.g.
        ``lambda e: 1.0 * 0.5 ** max(0, e - 4)`` halves it after epoch 4.
    checkpoint_path, checkpoint_every: save the whole training state (model,
        optimizer, carried recurrent state, dropout generator, counters and
        history) to ``checkpoint_path`` every ``checkpoint_every`` steps and
        when training ends. If the file already exists, training *resumes*
        from it, so an interrupted run started again with the same arguments
        ends exactly as an uninterrupted one would (see
        :func:`rnnbook.checkpoint.save_training_state`).

    Returns
    -------
    history: dict with per-step lists ``"loss"`` and ``"grad_norm"`` (norm
    before clipping), per-epoch lists ``"epoch"``, ``"train_ppl"``,
    ``"val_ppl"``, ``"lr"`` and ``"tokens"`` (target tokens processed so far), plus
    ``"steps"`` and ``"diverged"``.
    """
    batches = tbptt_batches(train_ids, batch_size, seq_len)
    _positive_int("epochs", epochs)
    if max_steps is not None:
        _positive_int("max_steps", max_steps)
    if max_norm is not None and not max_norm > 0:
        raise ValueError(f"max_norm must be positive or None, got {max_norm}")
    eval_bs = batch_size if eval_batch_size is None else eval_batch_size
    if val_ids is not None:
        tbptt_batches(val_ids, eval_bs, seq_len)       # validate early, not after an epoch of training

    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a function epoch -> learning rate, got {type(lr_schedule).__name__}")
    history = {"loss": [], "grad_norm": [], "epoch": [], "train_ppl": [], "val_ppl": [], "lr": [], "tokens": [],
               "steps": 0, "diverged": False}
    total_steps = epochs * len(batches)
    if max_steps is not None:
        total_steps = min(total_steps, max_steps)
    if checkpoint_every is not None:
        _positive_int("checkpoint_every", checkpoint_every)
        if checkpoint_path is None:
            raise ValueError("checkpoint_every needs a checkpoint_path to save to")
    # the counters that say where the loop is; saved with every checkpoint
    pos = {"epoch": 1, "batch": 0, "tokens": 0, "epoch_loss": 0.0, "epoch_steps": 0, "finished": False}
    layout = {"batch_size": batches.batch_size, "seq_len": batches.seq_len, "n_batches": len(batches),
              "epochs": int(epochs), "max_steps": max_steps}
    resumed = False
    if checkpoint_path is not None:
        from .checkpoint import _npz_path, load_training_state, save_training_state
        checkpoint_path = _npz_path(checkpoint_path)
        if checkpoint_path.exists():
            saved = load_training_state(checkpoint_path, model, optimizer)
            if saved.get("layout") != layout:
                raise ValueError(f"{checkpoint_path} was saved by a run with a different setup "
                                 f"({saved.get('layout')}) than this one ({layout}); "
                                 f"delete it or pass another checkpoint_path")
            history, pos, resumed = saved["history"], saved["pos"], True
            if log is not None:
                log(f"resuming from {checkpoint_path.name}: step {history['steps']}, epoch {pos['epoch']}")

    def save_checkpoint():
        save_training_state(checkpoint_path, model, optimizer, {"history": history, "pos": pos, "layout": layout})

    bar = None
    if progress and not pos["finished"]:
        from tqdm.auto import tqdm
        bar = tqdm(total=total_steps, initial=history["steps"], desc="training", unit="step", leave=False)
    try:
        while not pos["finished"] and pos["epoch"] <= epochs:
            epoch = pos["epoch"]
            if not (resumed and pos["batch"] > 0):
                model.reset_state()         # a resumed run got the carried state from the checkpoint
            resumed = False
            if lr_schedule is not None:
                lr = float(lr_schedule(epoch))
                if not (np.isfinite(lr) and lr > 0):
                    raise ValueError(f"lr_schedule({epoch}) returned {lr}: a learning rate must be positive")
                optimizer.lr = lr
            for k, (x, y) in enumerate(batches):
                if k < pos["batch"]:
                    continue                # already trained on before the checkpoint
                if history["steps"] >= total_steps:
                    break
                with np.errstate(over="ignore", invalid="ignore"):
                    loss = model.forward(x, y)
                    model.backward()
                if not np.isfinite(loss):
                    norm = float("nan")
                else:
                    try:
                        norm = (clip_grad_norm(model.grads, max_norm) if max_norm is not None
                                else float(np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64)))
                                                       for g in model.grads))))
                    except FloatingPointError:
                        norm = float("nan")
                history["loss"].append(float(loss))
                history["grad_norm"].append(float(norm))
                if not (np.isfinite(loss) and np.isfinite(norm)):
                    if not stop_on_nan:
                        raise FloatingPointError(f"training diverged at step {history['steps'] + 1}: "
                                                 f"loss {loss}, gradient norm {norm}")
                    history["diverged"] = True
                    break
                optimizer.update(model.params, model.grads)
                history["steps"] += 1
                pos["batch"] = k + 1
                pos["tokens"] += int(x.size)
                pos["epoch_loss"] += float(loss)
                pos["epoch_steps"] += 1
                if bar is not None:
                    bar.update(1)
                    if history["steps"] % 10 == 0:
                        bar.set_postfix(loss=f"{loss:.3f}")
                if checkpoint_every is not None and history["steps"] % checkpoint_every == 0:
                    save_checkpoint()
            if pos["epoch_steps"] == 0:
                break
            history["epoch"].append(epoch)
            history["lr"].append(float(getattr(optimizer, "lr", float("nan"))))
            history["tokens"].append(pos["tokens"])
            history["train_ppl"].append(float(math.exp(pos["epoch_loss"] / pos["epoch_steps"])))
            val = evaluate_perplexity(model, val_ids, eval_bs, seq_len) if val_ids is not None else float("nan")
            history["val_ppl"].append(val)
            if log is not None:
                log(f"epoch {epoch:2d} | steps {history['steps']:5d} | train ppl {history['train_ppl'][-1]:7.3f}"
                    f" | val ppl {val:7.3f}")
            pos.update(epoch=epoch + 1, batch=0, epoch_loss=0.0, epoch_steps=0)
            if history["diverged"] or history["steps"] >= total_steps:
                break
        pos["finished"] = True
        if checkpoint_path is not None:
            save_checkpoint()
    finally:
        if bar is not None:
            bar.close()
        model.reset_state()
    if history["diverged"] and log is not None:
        log(f"diverged at step {history['steps'] + 1}: the loss or the gradient became inf/NaN")
    return history


def sample(model, prompt_ids, length: int, *, rng=None, temperature: float = 1.0) -> np.ndarray:
    """Generate ``length`` token ids after ``prompt_ids`` by sampling from the model.

    Needs a *stateful* model (such as ``RNNLM(..., stateful=True)``) so that
    feeding one token at a time continues from the carried hidden state. The
    state is reset before and after. ``temperature < 1`` sharpens the
    distribution, ``> 1`` flattens it.

    Returns
    -------
    ids: 1-D ``int64`` array of the ``length`` generated ids (prompt excluded).
    """
    from .functions import softmax
    from .layers import init_rng
    prompt_ids = check_array("prompt_ids", prompt_ids, ndim=1, kind="int")
    if prompt_ids.size == 0:
        raise ValueError("prompt_ids is empty: give at least one token to start from")
    length = _positive_int("length", length)
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    rng = init_rng(rng)
    model.reset_state()
    logits = model.predict(prompt_ids[None])[0, -1]
    out = np.empty(length, dtype=np.int64)
    for i in range(length):
        p = softmax(logits.astype(np.float64) / temperature)
        out[i] = rng.choice(p.size, p=p)
        logits = model.predict(out[i:i + 1][None])[0, -1]
    model.reset_state()
    return out

"""Training: one step, one loop, and its configuration for language models (chapter 2).

:func:`train_step` is one update (forward, backward, global-norm clipping, optimizer step) and
:func:`fit` the one loop of the library: epochs of minibatches with hooks for what differs between
models (resetting a carried state, a learning-rate schedule, progress, evaluation, logging) and a
:class:`TrainState` that holds the counters and history and saves and restores itself, so that an
interrupted run resumes exactly. The language model (:func:`train_lm`), seq2seq
(:func:`fit_seq2seq`), captioning (:func:`fit_captioner`)
and the chapter 3 experiments (:func:`rnnbook.experiments.train_memory_task`) are configurations of it.

A language model is trained with truncated BPTT: a long corpus is cut into ``batch_size`` contiguous
*rows*, each read from left to right in chunks of ``seq_len`` tokens (:func:`tbptt_batches`). A
stateful model carries its hidden state from one chunk to the next, so information can flow forward
across chunk borders, while the backward pass stops at every border. :func:`evaluate_perplexity`
measures a model on held-out text; :func:`sample` draws text from it.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ._checks import check_array, check_positive_int
from .checkpoint import load_training_state, npz_path, save_training_state
from .generate import _check_temperature, continue_prompt, sampling_distribution
from .optim import Adam, clip_grad_norm, global_norm
from .seeds import init_rng

__all__ = ["train_step", "TrainState", "fit", "shuffled_batches", "fit_minibatches", "TBPTTBatches",
           "tbptt_batches", "evaluate_perplexity", "train_lm", "sample", "fit_seq2seq", "fit_captioner"]


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
        B = check_positive_int("batch_size", batch_size)
        L = check_positive_int("seq_len", seq_len)
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


def evaluate_perplexity(model, ids, batch_size: int, seq_len: int) -> float:
    """Perplexity of ``model`` on the corpus ``ids``, read in truncated-BPTT batches.

    The model's state is reset before and after, and carried between chunks
    (for a stateful model), so every prediction after the first chunk sees the
    text before it. A model that declares ``has_train_mode`` (see the layer contract in
    :mod:`rnnbook.layers`) runs with ``train=False`` (no dropout). Returns ``exp(mean cross-entropy)`` over the
    ``len(batches) * batch_size * seq_len`` predicted tokens.
    """
    batches = tbptt_batches(ids, batch_size, seq_len)
    eval_kwargs = {"train": False} if getattr(model, "has_train_mode", False) else {}
    model.reset_state()
    total = 0.0
    for x, y in batches:
        total += model.forward(x, y, **eval_kwargs)     # every batch has the same number of tokens
    model.reset_state()
    return float(math.exp(total / len(batches)))


def _default_log(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------------------------------------- the training core
def train_step(model, optimizer, batch, max_norm: float | None = None) -> tuple[float, float]:
    """One update: ``loss = model.forward(*batch)``, ``model.backward()``, clip, ``optimizer.update``.

    The gradients are clipped to global norm ``max_norm`` (:func:`rnnbook.optim.clip_grad_norm`; ``None``
    measures the norm without clipping). Returns ``(loss, norm)``, the norm taken before clipping. When
    the loss or the norm is not finite, the parameters are left unchanged and the non-finite values are
    returned: the caller decides whether to stop or to raise (see :func:`fit`).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        loss = model.forward(*batch)
        model.backward()
    if not np.isfinite(loss):
        return float(loss), float("nan")
    try:
        norm = clip_grad_norm(model.grads, max_norm) if max_norm is not None else global_norm(model.grads)
    except FloatingPointError:
        norm = float("nan")
    if np.isfinite(norm):
        optimizer.update(model.params, model.grads)
    return float(loss), float(norm)


class TrainState:
    """Where a training run is: its counters and its history; it saves and restores itself.

    ``history`` holds the per-step lists ``"loss"`` and ``"grad_norm"``, ``"steps"`` (updates done) and
    ``"diverged"``, plus whatever the epoch hooks add. ``epoch`` counts from 1; ``batch`` is the number of
    batches of the current epoch already trained on; ``epoch_loss`` and ``epoch_weight`` accumulate the
    weighted loss of the current epoch. ``layout`` describes the run (batch sizes, epochs): a checkpoint
    saved by a run with another layout is refused.

    With a ``path``, :meth:`save` writes the whole training state (model, optimizer, the model's carried
    recurrent state and random generator, and this object) to it (see
    :func:`rnnbook.checkpoint.save_training_state`), every ``every`` steps and when training ends, and
    :meth:`restore` reads it back, so a run started again resumes where it stopped.
    """

    def __init__(self, layout: dict | None = None, history: dict | None = None, *, path=None,
                 every: int | None = None):
        if every is not None:
            check_positive_int("checkpoint_every", every)
            if path is None:
                raise ValueError("checkpoint_every needs a checkpoint_path to save to")
        self.layout = dict(layout or {})
        self.history = history if history is not None else {"loss": [], "grad_norm": []}
        self.history.setdefault("steps", 0)
        self.history.setdefault("diverged", False)
        self.epoch, self.batch, self.epoch_loss, self.epoch_weight, self.finished = 1, 0, 0.0, 0, False
        self.resumed = False
        self.path, self.every = path, every
        if path is not None:
            self.path = npz_path(path)

    @property
    def steps(self) -> int:
        return self.history["steps"]

    def _counters(self) -> dict:
        return {"epoch": self.epoch, "batch": self.batch, "epoch_loss": self.epoch_loss,
                "epoch_weight": self.epoch_weight, "finished": self.finished}

    def save(self, model, optimizer) -> None:
        """Write the training state to ``path`` (atomically: an interrupted save keeps the previous file)."""
        save_training_state(self.path, model, optimizer,
                            {"history": self.history, "pos": self._counters(), "layout": self.layout})

    def restore(self, model, optimizer) -> bool:
        """Load ``path`` into the model, the optimizer and this state if the file exists; say whether it did."""
        if self.path is None or not self.path.exists():
            return False
        saved = load_training_state(self.path, model, optimizer)
        if saved.get("layout") != self.layout:
            raise ValueError(f"{self.path} was saved by a run with a different setup ({saved.get('layout')}) "
                             f"than this one ({self.layout}); delete it or pass another checkpoint_path")
        self.history = saved["history"]
        for key, value in saved["pos"].items():
            setattr(self, key, value)
        self.resumed = True
        return True

    def save_due(self) -> bool:
        return self.every is not None and self.steps % self.every == 0

    def next_epoch(self) -> None:
        self.epoch, self.batch, self.epoch_loss, self.epoch_weight = self.epoch + 1, 0, 0.0, 0


def _record_step(state: TrainState, loss: float, norm: float, weight, on_nonfinite: str) -> bool:
    """Add one step to the history; return False (after marking divergence) when it was not finite."""
    history = state.history
    history["loss"].append(loss)
    history["grad_norm"].append(norm)
    if not (np.isfinite(loss) and np.isfinite(norm)):
        if on_nonfinite == "raise":
            raise FloatingPointError(f"training diverged at step {history['steps'] + 1}: "
                                     f"loss {loss}, gradient norm {norm}")
        history["diverged"] = True
        return False
    history["steps"] += 1
    state.batch += 1
    state.epoch_loss += loss * weight
    state.epoch_weight += weight
    return True


def _run_epoch(model, optimizer, batches, state: TrainState, max_norm, max_steps, on_step, on_nonfinite):
    """Train on the batches of one epoch that the state has not seen yet; stop early at ``max_steps``."""
    for k, (batch, weight) in enumerate(batches):
        if k < state.batch:
            continue                        # trained on before the checkpoint this run resumed from
        if max_steps is not None and state.steps >= max_steps:
            break
        loss, norm = train_step(model, optimizer, batch, max_norm)
        if not _record_step(state, loss, norm, weight, on_nonfinite):
            break
        if on_step is not None:
            on_step(state, loss)
        if state.save_due():
            state.save(model, optimizer)


def fit(model, optimizer, batches: Callable, *, epochs: int, max_norm: float | None = None,
        max_steps: int | None = None, state: TrainState | None = None, on_epoch_start: Callable | None = None,
        on_step: Callable | None = None, on_epoch_end: Callable | None = None,
        on_nonfinite: str = "stop") -> TrainState:
    """The one training loop of the library: epochs of minibatches, each trained by :func:`train_step`.

    Parameters
    ----------
    model, optimizer:
        A model with ``params``, ``grads``, ``forward(*batch) -> mean loss`` and ``backward()``; an
        optimizer with ``update(params, grads)``.
    batches:
        ``batches(epoch) -> iterable of (batch, weight)``: ``batch`` is the tuple of ``forward``'s
        arguments, ``weight`` what the batch's loss counts for in the epoch's mean loss (its number of
        examples, or 1 for equal batches).
    epochs, max_norm, max_steps:
        Passes over the data; global-norm clipping threshold (``None``: no clipping); a budget of updates.
    state:
        A :class:`TrainState` (a fresh one by default), which also saves checkpoints; pass one that was
        restored to resume a run.
    on_epoch_start, on_step, on_epoch_end:
        Hooks: ``on_epoch_start(state)`` before an epoch (e.g. reset a carried state, set a learning
        rate), ``on_step(state, loss)`` after every update (progress), ``on_epoch_end(state, mean_loss)``
        after every epoch that trained at least once (evaluate, log; it may append to ``state.history``).
    on_nonfinite:
        ``"stop"``: a non-finite loss or gradient norm ends training with ``history["diverged"] = True``
        (the parameters keep their last finite values); ``"raise"``: raise ``FloatingPointError``.

    Returns
    -------
    The final :class:`TrainState` (``state.history`` is the run's history).
    """
    check_positive_int("epochs", epochs)
    if max_steps is not None:
        check_positive_int("max_steps", max_steps)
    if on_nonfinite not in ("stop", "raise"):
        raise ValueError(f"on_nonfinite must be 'stop' or 'raise', got {on_nonfinite!r}")
    state = TrainState() if state is None else state
    while not state.finished and state.epoch <= epochs:
        if on_epoch_start is not None:
            on_epoch_start(state)
        state.resumed = False
        _run_epoch(model, optimizer, batches(state.epoch), state, max_norm, max_steps, on_step, on_nonfinite)
        if state.epoch_weight == 0:
            break
        if on_epoch_end is not None:
            on_epoch_end(state, state.epoch_loss / state.epoch_weight)
        state.next_epoch()
        if state.history["diverged"] or (max_steps is not None and state.steps >= max_steps):
            break
    state.finished = True
    if state.path is not None:
        state.save(model, optimizer)
    return state


def shuffled_batches(arrays, batch_size: int, seed: int = 0, dtypes=None) -> Callable:
    """Minibatches of the rows of ``arrays`` (all with the same first axis) in a new random order every epoch.

    Returns the ``batches`` function of :func:`fit`: every call draws a permutation from one generator
    seeded by ``seed`` and yields ``(tuple of array slices, number of rows)``. ``dtypes`` (one entry per
    array, ``None`` to keep) converts each slice, e.g. images stored as float64 for a float32 model.
    """
    batch_size = check_positive_int("batch_size", batch_size)
    N = arrays[0].shape[0]
    dtypes = dtypes or (None,) * len(arrays)
    rng = np.random.default_rng(seed)

    def batches(epoch):
        order = rng.permutation(N)
        for i in range(0, N, batch_size):
            idx = order[i:i + batch_size]
            yield tuple(a[idx] if d is None else a[idx].astype(d, copy=False)
                        for a, d in zip(arrays, dtypes)), len(idx)
    return batches


def fit_minibatches(model, arrays: dict, *, epochs: int, batch_size: int, lr: float, max_norm: float, seed: int,
                    evaluate=None, log=None, dtypes=None) -> dict:
    """Train with Adam on shuffled minibatches of ``arrays`` (the arguments of ``model.forward``, by name).

    The configuration of :func:`fit` shared by :func:`fit_seq2seq` and :func:`fit_captioner` (see them for
    the parameters). A non-finite gradient
    raises ``FloatingPointError``. Returns ``{"loss": [mean training loss per epoch],
    "score": [evaluate(model) per epoch]}``.
    """
    epochs = check_positive_int("epochs", epochs)
    (first, a), *others = arrays.items()
    for name, b in others:
        if b.shape[0] != a.shape[0]:
            raise ValueError(f"{first} and {name} must have the same number of rows, got {a.shape[0]} and "
                             f"{b.shape[0]}")
    result = {"loss": [], "score": []}

    def epoch_end(state, mean_loss):
        result["loss"].append(mean_loss)
        if evaluate is not None:
            result["score"].append(float(evaluate(model)))
        if log is not None:
            extra = f", score {result['score'][-1]:.3f}" if evaluate is not None else ""
            log(f"epoch {state.epoch}: loss {mean_loss:.3f}{extra}")

    fit(model, Adam(lr), shuffled_batches(tuple(arrays.values()), batch_size, seed, dtypes), epochs=epochs,
        max_norm=max_norm, on_epoch_end=epoch_end, on_nonfinite="raise")
    return result


# ------------------------------------------------------------------------------ seq2seq and captioning (ch. 5-6)
def fit_seq2seq(model, src: np.ndarray, tgt: np.ndarray, *, epochs: int, batch_size: int = 128,
                lr: float = 1e-2, max_norm: float = 5.0, seed: int = 0, evaluate=None, log=None) -> dict:
    """Train ``model`` with Adam on shuffled minibatches (:func:`fit_minibatches`).

    Parameters
    ----------
    model:
        A :class:`~rnnbook.models.seq2seq.Seq2Seq` (or anything with ``params``, ``grads``,
        ``forward(src, tgt)``, ``backward()``).
    src, tgt:
        Training arrays ``(N, S)`` and ``(N, L)``.
    epochs, batch_size, lr, max_norm:
        Passes over the data, minibatch size, Adam learning rate, gradient clipping norm.
    seed:
        Seed of the shuffling.
    evaluate:
        Optional ``evaluate(model) -> float`` called after every epoch (e.g. held-out exact match).
    log:
        Optional ``log(str)`` called with a one-line summary per epoch.

    Returns
    -------
    ``{"loss": [mean training loss per epoch], "score": [evaluate(model) per epoch]}``
    """
    src = check_array("src", src, ndim=2, kind="int")
    tgt = check_array("tgt", tgt, ndim=2, kind="int")
    return fit_minibatches(model, {"src": src, "tgt": tgt}, epochs=epochs, batch_size=batch_size, lr=lr,
                           max_norm=max_norm, seed=seed, evaluate=evaluate, log=log)


def fit_captioner(model, images: np.ndarray, captions: np.ndarray, *, epochs: int, batch_size: int = 64,
                  lr: float = 3e-3, max_norm: float = 5.0, seed: int = 0, evaluate=None, log=None) -> dict:
    """Train ``model`` with Adam on shuffled minibatches (:func:`fit_minibatches`).

    Parameters
    ----------
    model : :class:`~rnnbook.models.captioner.Captioner`
        (or anything with ``params``, ``grads``, ``forward(images, captions)``, ``backward()``).
    images : float array ``(N, C, H, W)``, converted to the model's dtype batch by batch.
    captions : int array ``(N, L)`` from :func:`~rnnbook.data.captions.encode_captions`.
    epochs, batch_size, lr, max_norm :
        Passes over the data, minibatch size, Adam learning rate, gradient-clipping norm.
    seed : int
        Seed of the shuffling.
    evaluate : optional ``evaluate(model) -> float``, called after every epoch.
    log : optional ``log(str)``, called with a one-line summary per epoch.

    Returns
    -------
    ``{"loss": [mean training loss per epoch], "score": [evaluate(model) per epoch]}``
    """
    images = check_array("images", images, ndim=4, kind="float")
    captions = check_array("captions", captions, ndim=2, kind="int")
    return fit_minibatches(model, {"images": images, "captions": captions}, epochs=epochs, batch_size=batch_size, lr=lr,
                           max_norm=max_norm, seed=seed, evaluate=evaluate, log=log,
                           dtypes=(model.params[0].dtype, None))


# ------------------------------------------------------------------------------ the language model's training
def _lm_hooks(model, optimizer, *, val_ids, eval_bs, seq_len, tokens_per_step, lr_schedule, log, bar):
    """The hooks of :func:`fit` that make it :func:`train_lm`: carried state, schedule, progress, validation."""
    def epoch_start(state):
        if not (state.resumed and state.batch > 0):
            model.reset_state()             # a resumed run got the carried state from the checkpoint
        if lr_schedule is not None:
            lr = float(lr_schedule(state.epoch))
            if not (np.isfinite(lr) and lr > 0):
                raise ValueError(f"lr_schedule({state.epoch}) returned {lr}: a learning rate must be positive")
            optimizer.lr = lr

    def step(state, loss):
        if bar is not None:
            bar.update(1)
            if state.steps % 10 == 0:
                bar.set_postfix(loss=f"{loss:.3f}")

    def epoch_end(state, mean_loss):
        history = state.history
        history["epoch"].append(state.epoch)
        history["lr"].append(float(getattr(optimizer, "lr", float("nan"))))
        history["tokens"].append(state.steps * tokens_per_step)
        history["train_ppl"].append(float(math.exp(mean_loss)))
        val = evaluate_perplexity(model, val_ids, eval_bs, seq_len) if val_ids is not None else float("nan")
        history["val_ppl"].append(val)
        if log is not None:
            log(f"epoch {state.epoch:2d} | steps {history['steps']:5d} | train ppl {history['train_ppl'][-1]:7.3f}"
                f" | val ppl {val:7.3f}")
    return {"on_epoch_start": epoch_start, "on_step": step, "on_epoch_end": epoch_end}


def _check_lm_options(epochs, max_steps, max_norm, lr_schedule) -> None:
    check_positive_int("epochs", epochs)
    if max_steps is not None:
        check_positive_int("max_steps", max_steps)
    if max_norm is not None and not max_norm > 0:
        raise ValueError(f"max_norm must be positive or None, got {max_norm}")
    if lr_schedule is not None and not callable(lr_schedule):
        raise TypeError(f"lr_schedule must be a function epoch -> learning rate, got {type(lr_schedule).__name__}")


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
    across chunks. Every step is :func:`train_step`: forward, backward, clip the
    gradients to global norm ``max_norm`` (skip with ``None``),
    ``optimizer.update(params, grads)``; the loop is :func:`fit`, configured by
    hooks that reset the carried state, apply the schedule, show progress and
    evaluate.

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
        ends exactly as an uninterrupted one would (see :class:`TrainState`).

    Returns
    -------
    history: dict with per-step lists ``"loss"`` and ``"grad_norm"`` (norm
    before clipping), per-epoch lists ``"epoch"``, ``"train_ppl"``,
    ``"val_ppl"``, ``"lr"`` and ``"tokens"`` (target tokens processed so far), plus
    ``"steps"`` and ``"diverged"``.
    """
    batches = tbptt_batches(train_ids, batch_size, seq_len)
    _check_lm_options(epochs, max_steps, max_norm, lr_schedule)
    eval_bs = batch_size if eval_batch_size is None else eval_batch_size
    if val_ids is not None:
        tbptt_batches(val_ids, eval_bs, seq_len)       # validate early, not after an epoch of training
    history = {"loss": [], "grad_norm": [], "epoch": [], "train_ppl": [], "val_ppl": [], "lr": [], "tokens": [],
               "steps": 0, "diverged": False}
    layout = {"batch_size": batches.batch_size, "seq_len": batches.seq_len, "n_batches": len(batches),
              "epochs": int(epochs), "max_steps": max_steps}
    state = TrainState(layout, history, path=checkpoint_path, every=checkpoint_every)
    if state.restore(model, optimizer) and log is not None:
        log(f"resuming from {state.path.name}: step {state.steps}, epoch {state.epoch}")
    total_steps = epochs * len(batches) if max_steps is None else min(epochs * len(batches), max_steps)
    bar = None
    if progress and not state.finished:
        from tqdm.auto import tqdm
        bar = tqdm(total=total_steps, initial=state.steps, desc="training", unit="step", leave=False)
    hooks = _lm_hooks(model, optimizer, val_ids=val_ids, eval_bs=eval_bs, seq_len=seq_len,
                      tokens_per_step=batches.batch_size * batches.seq_len, lr_schedule=lr_schedule, log=log, bar=bar)
    try:
        state = fit(model, optimizer, lambda epoch: ((xy, 1) for xy in batches), epochs=epochs, max_norm=max_norm,
                    max_steps=max_steps, state=state, on_nonfinite="stop" if stop_on_nan else "raise", **hooks)
    finally:
        if bar is not None:
            bar.close()
        model.reset_state()
    history = state.history
    if history["diverged"] and log is not None:
        log(f"diverged at step {history['steps'] + 1}: the loss or the gradient became inf/NaN")
    return history


def sample(model, prompt_ids, length: int, *, rng=None, temperature: float = 1.0) -> np.ndarray:
    """Generate ``length`` token ids after ``prompt_ids`` by sampling from the model (chapter 2).

    The loop of :func:`rnnbook.generate.generate` (:func:`rnnbook.generate.continue_prompt`; the model's
    state is reset before and after) and its distribution ``softmax(logits / temperature)``, with
    chapter 2's draw: ``rng.choice`` (``generate`` inverts the cumulative distribution itself, so the
    same seed draws other tokens). ``temperature < 1`` sharpens the distribution, ``> 1`` flattens it.

    Returns
    -------
    ids: 1-D ``int64`` array of the ``length`` generated ids (prompt excluded).
    """
    temperature = _check_temperature(temperature)
    rng = init_rng(rng)

    def pick(logits):                                   # logits (1, V)
        p = sampling_distribution(logits, temperature)[0]
        return np.array([rng.choice(p.size, p=p)])
    return continue_prompt(model, prompt_ids, length, pick)[0]

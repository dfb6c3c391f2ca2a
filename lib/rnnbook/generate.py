"""Making a language model write: greedy decoding, sampling, temperature and top-k (chapter 4).

A language model gives, after every prefix, a score (logit) for each of the ``V`` words of its
vocabulary. Generation turns those scores into one chosen word, feeds it back in and repeats:

* **greedy**: always take the highest-scoring word (deterministic, and prone to loops);
* **sampling**: draw the word from ``softmax(logits / temperature)``; a temperature below 1
  sharpens the distribution (towards greedy), above 1 flattens it (towards uniform);
* **top-k**: before sampling, keep only the ``k`` highest-scoring words and renormalise, so
  that the long tail of unlikely words can never be drawn.

:func:`sampling_distribution` is the distribution itself, as a plain function of the logits;
:func:`generate` runs the loop with a model such as :class:`rnnbook.models.lm.LanguageModel`.
"""
from __future__ import annotations

import contextlib

import numpy as np

from ._checks import check_array, check_positive_int, is_integer
from .seeds import init_rng

__all__ = ["sampling_distribution", "generate", "continue_prompt"]


def _check_temperature(temperature) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float, np.integer, np.floating)):
        raise TypeError(f"temperature must be a positive number, got {type(temperature).__name__}")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"temperature must be a positive finite number, got {temperature}")
    return float(temperature)


def _check_top_k(top_k, V: int) -> int | None:
    if top_k is None:
        return None
    if not is_integer(top_k) or not 1 <= top_k <= V:
        raise ValueError(f"top_k must be None or an integer from 1 to the vocabulary size {V}, got {top_k!r}")
    return int(top_k)


def sampling_distribution(logits, temperature: float = 1.0, top_k: int | None = None) -> np.ndarray:
    """The distribution that sampling draws the next token from.

    ``p = softmax(logits / temperature)`` restricted to the ``top_k`` largest
    logits (all others get probability 0) and renormalised.

    Parameters
    ----------
    logits:
        Float array ``(..., V)``: unnormalised scores over the vocabulary.
    temperature:
        Positive number. ``1`` leaves the model's distribution unchanged,
        ``< 1`` sharpens it, ``> 1`` flattens it.
    top_k:
        ``None`` (keep every token) or an integer ``1 <= top_k <= V``. Ties at
        the cut are broken in favour of the lower token id, so exactly
        ``top_k`` tokens keep a non-zero probability.

    Returns
    -------
    probs: float64 array ``(..., V)``, non-negative, summing to 1 over the last axis.
    """
    logits = check_array("logits", logits, kind="float")
    if logits.ndim < 1 or logits.shape[-1] == 0:
        raise ValueError(f"logits must have shape (..., V) with V >= 1, got {logits.shape}")
    if not np.isfinite(logits).all():
        raise ValueError("logits contains NaN or inf")
    temperature = _check_temperature(temperature)
    V = logits.shape[-1]
    top_k = _check_top_k(top_k, V)
    z = logits.astype(np.float64) / temperature
    if top_k is not None and top_k < V:
        order = np.argsort(-z, axis=-1, kind="stable")          # best first; ties: lower id first
        keep = np.zeros(z.shape, dtype=bool)
        np.put_along_axis(keep, order[..., :top_k], True, axis=-1)
        z = np.where(keep, z, -np.inf)
    z -= z.max(axis=-1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=-1, keepdims=True)
    return p


@contextlib.contextmanager
def _carrying_state(model):
    """Make the model's recurrent layers carry their state between calls, and reset it around."""
    layers = list(getattr(model, "recurrent", []))
    before = [getattr(layer, "stateful", None) for layer in layers]
    for layer in layers:
        layer.stateful = True
    model.reset_state()
    try:
        yield
    finally:
        model.reset_state()
        for layer, flag in zip(layers, before):
            layer.stateful = flag


def generate(model, prompt_ids, length: int, *, greedy: bool = False, temperature: float = 1.0,
             top_k: int | None = None, num_samples: int = 1, rng=None) -> np.ndarray:
    """Continue ``prompt_ids`` by ``length`` tokens, one token at a time.

    The prompt is read in one call of ``model.predict``; then every new token
    is fed back in alone, the recurrent state carrying the context (a
    non-stateful :class:`~rnnbook.models.lm.LanguageModel` is made to carry it
    for the duration of the call). The model's state is reset before and after.

    Parameters
    ----------
    model:
        A language model with ``predict(ids (N, T)) -> logits (N, T, V)`` and
        ``reset_state()``, run in evaluation mode (no dropout).
    prompt_ids:
        1-D integer array (at least one token), e.g. ``vocab.encode(["<eos>", "the"])``.
    length:
        Number of tokens to generate.
    greedy:
        Take the most probable token at every step (``temperature`` and
        ``top_k`` are then irrelevant: the most probable token survives both).
    temperature, top_k:
        See :func:`sampling_distribution`.
    num_samples:
        Number of independent continuations, generated side by side as a batch.
    rng:
        Seed or ``numpy.random.Generator`` for sampling.

    Returns
    -------
    ids: int64 array ``(num_samples, length)``, without the prompt.
    """
    S = check_positive_int("num_samples", num_samples)
    temperature = _check_temperature(temperature)
    rng = init_rng(rng)

    def pick(logits):                                           # (S, V) -> (S,)
        if greedy:
            return logits.argmax(axis=-1)
        p = sampling_distribution(logits, temperature, _check_top_k(top_k, logits.shape[-1]))
        cdf = np.cumsum(p, axis=-1)
        u = (1.0 - rng.random(S))[:, None] * cdf[:, -1:]                              # in (0, total]
        return np.minimum((cdf < u).sum(axis=-1), p.shape[-1] - 1)
    return continue_prompt(model, prompt_ids, length, pick, num_samples=S)


def continue_prompt(model, prompt_ids, length: int, pick, *, num_samples: int = 1) -> np.ndarray:
    """The generation loop: read the prompt, then ``length`` times choose ``pick(logits (S, V)) -> ids (S,)``
    and feed the choice back in. Shared by :func:`generate` and :func:`rnnbook.train.sample`, which differ
    only in how they choose. Returns int64 ids ``(num_samples, length)``."""
    prompt_ids = check_array("prompt_ids", prompt_ids, ndim=1, kind="int")
    if prompt_ids.size == 0:
        raise ValueError("prompt_ids is empty: give at least one token to start from (e.g. '<eos>')")
    length = check_positive_int("length", length)
    S = check_positive_int("num_samples", num_samples)
    out = np.empty((S, length), dtype=np.int64)
    with _carrying_state(model):
        logits = model.predict(np.repeat(prompt_ids[None], S, axis=0))[:, -1]          # (S, V)
        for t in range(length):
            tokens = pick(logits)
            out[:, t] = tokens
            if t + 1 < length:
                logits = model.predict(tokens[:, None].astype(np.int64))[:, -1]
    return out

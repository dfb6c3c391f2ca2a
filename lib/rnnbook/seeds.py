"""The book's seeds, and one switch that shifts them all.

Training is chaotic: a change in the last bits of a matrix product (another BLAS kernel, another CPU)
acts on a trained model like a change of seed. A claim the book makes about a trained model must
therefore hold for *any* seed, not just for the one the committed page happens to use.

Every seed a chapter uses to train, sample or generate data goes through :func:`book_seed` (or
:func:`book_rng`, which wraps it). The environment variable ``RNNBOOK_SEED_OFFSET=k`` adds ``k`` to all
of them at once; unset (or 0), every seed is the one written in the chapter, and the committed outputs
are reproduced. ``tests/spread.py`` re-executes chapters with offsets 1-4 to measure the spread that
tolerances and claim margins must cover. A seed that names a committed log's run or committed weights
is a label, not a source of randomness, and is never shifted.
"""
from __future__ import annotations

import os

import numpy as np

__all__ = ["book_seed", "book_rng", "init_rng", "seed_offset", "SEED_OFFSET_VARIABLE"]

SEED_OFFSET_VARIABLE = "RNNBOOK_SEED_OFFSET"


def seed_offset() -> int:
    """The shift ``RNNBOOK_SEED_OFFSET`` asks for: a non-negative integer, 0 when the variable is unset or empty."""
    text = os.environ.get(SEED_OFFSET_VARIABLE, "").strip()
    if not text:
        return 0
    try:
        offset = int(text)
    except ValueError:
        raise ValueError(f"{SEED_OFFSET_VARIABLE} must be a non-negative integer, got {text!r}") from None
    if offset < 0:
        raise ValueError(f"{SEED_OFFSET_VARIABLE} must be a non-negative integer, got {offset}")
    return offset


def book_seed(k: int) -> int:
    """The book's seed number ``k``, shifted by ``RNNBOOK_SEED_OFFSET`` (``k`` itself when it is unset).

    Offsets shift every seed by the same amount, so seeds that differ in a chapter (``book_seed(0)``
    for the model, ``book_seed(1)`` for the data) still differ under any offset.
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
        raise ValueError(f"a seed must be a non-negative integer, got {k!r}")
    return int(k) + seed_offset()


def book_rng(k: int) -> np.random.Generator:
    """``numpy.random.default_rng(book_seed(k))``: a generator for the book's seed number ``k``."""
    return np.random.default_rng(book_seed(k))


def init_rng(rng) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` from a seed, a generator, or ``None`` (seed 0)."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(0)
    if isinstance(rng, (int, np.integer)):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be a numpy Generator, an int seed or None, got {type(rng).__name__}")

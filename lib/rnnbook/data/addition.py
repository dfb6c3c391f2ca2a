"""Integer addition written as text, a toy sequence-to-sequence task (chapter 5).

``"16+75"`` -> ``"91"``: the model reads the question one character at a time
and must write the answer one character at a time. Nothing is easy about it
for a network that sees characters: it has to align digits of equal place
value and carry.
"""
from __future__ import annotations

import random

__all__ = ["addition_pairs", "ADDITION_CHARS"]

#: Every character that can appear in a question or an answer.
ADDITION_CHARS = "0123456789+"


def addition_pairs(n: int, *, max_digits: int = 3, seed: int = 0, exclude=()) -> list[tuple[str, str]]:
    """Generate ``n`` distinct questions ``"a+b"`` with their answers ``str(a + b)``.

    Each operand first draws its number of digits uniformly from
    ``1..max_digits`` and then a value with that many digits, so short and long
    operands are equally common (drawing the value uniformly would make 90%
    of 3-digit operands).

    Parameters
    ----------
    n:
        Number of pairs (all questions distinct).
    max_digits:
        Largest number of digits of an operand (1 to 9).
    seed:
        Seed of the ``random.Random`` generator: the same seed gives the same list.
    exclude:
        Questions (strings, or pairs whose first element is the question) that
        must not be generated, e.g. a training set when drawing a test set.

    Returns
    -------
    list of ``(question, answer)`` strings, e.g. ``("16+75", "91")``. Padding is
    added by :func:`rnnbook.data.pairs.encode_pairs`.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not isinstance(max_digits, int) or isinstance(max_digits, bool) or not 1 <= max_digits <= 9:
        raise ValueError(f"max_digits must be an integer from 1 to 9, got {max_digits!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    seen = {e[0] if isinstance(e, (tuple, list)) else e for e in exclude}
    possible = (10 ** max_digits) ** 2
    if n > (possible - len(seen)) // 2:
        raise ValueError(f"n={n} is too many distinct questions for max_digits={max_digits} "
                         f"(at most {(possible - len(seen)) // 2} are allowed)")
    rng = random.Random(seed)

    def operand() -> int:
        d = rng.randint(1, max_digits)
        return rng.randint(0 if d == 1 else 10 ** (d - 1), 10 ** d - 1)

    out = []
    while len(out) < n:
        a, b = operand(), operand()
        q = f"{a}+{b}"
        if q in seen:
            continue
        seen.add(q)
        out.append((q, str(a + b)))
    return out

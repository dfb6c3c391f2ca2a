"""Compare notebook outputs with a tolerance on printed floating-point numbers.

nbval compares a re-executed notebook's outputs with the committed ones as text. The book's notebooks
are seeded and give the same bits on the same machine, but a float32 result can change in its last digits
with another BLAS library or another CPU, and a number printed with three decimals can then round the
other way (``0.4125`` printed as ``0.412`` or ``0.413``). :func:`outputs_match` accepts such a difference:

* the text around the numbers must be identical, and so must the number of numbers;
* integers (no decimal point, no exponent) must be identical: counts, shapes and ids are exact;
* a number printed with a decimal point or an exponent may differ by at most one unit in its last
  printed place (``0.412`` vs ``0.413``, ``9.18e+08`` vs ``9.19e+08``), no more.

:class:`TolerantText` is a ``str`` whose ``==`` uses :func:`outputs_match`; ``tests/conftest.py`` makes
nbval's sanitizer return it, so nbval's own comparison becomes tolerant in exactly this way.
"""
from __future__ import annotations

import re

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")


def last_place(token: str) -> float:
    """One unit in the last printed place of a float token; 0 for an integer token."""
    mantissa, _, exponent = token.lower().partition("e")
    if "." not in mantissa and not exponent:
        return 0.0
    decimals = len(mantissa.partition(".")[2])
    return 10.0 ** (int(exponent or 0) - decimals)


def numbers_close(a: str, b: str) -> bool:
    """True if two number tokens are equal, or floats within one unit of the last printed place."""
    if a == b:
        return True
    unit = max(last_place(a), last_place(b))
    return unit > 0 and abs(float(a) - float(b)) <= unit * (1 + 1e-9)


def outputs_match(ref: str, test: str) -> bool:
    """True if ``test`` equals ``ref`` up to the tolerance described in the module docstring."""
    if ref == test:
        return True
    if NUMBER.sub("#", ref) != NUMBER.sub("#", test):
        return False
    ref_numbers, test_numbers = NUMBER.findall(ref), NUMBER.findall(test)
    return len(ref_numbers) == len(test_numbers) and all(map(numbers_close, ref_numbers, test_numbers))


class TolerantText(str):
    """A string whose equality is :func:`outputs_match` (used for nbval's output comparison)."""

    def __eq__(self, other):
        return isinstance(other, str) and outputs_match(str(self), str(other))

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__

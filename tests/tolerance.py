"""Compare notebook outputs with a tolerance on printed numbers.

nbval re-executes the book's notebooks and compares their outputs with the committed ones as text. The
notebooks are seeded and give the same bits on the same machine, but float32 results change with the
BLAS kernels (AVX2 or AVX-512, an ARM laptop's library, the thread count): the products sum in another
order. A number computed once moves in its last digits; a number trained for hundreds of steps moves by
up to a few percent. :func:`outputs_match` therefore compares the text around the numbers exactly and
the numbers with a tolerance:

* the text around the numbers must be identical, and so must the number of numbers;
* by default (no declared tolerance), integers must be identical (counts, shapes and ids are exact) and
  a number printed with a decimal point or an exponent may differ by at most one unit in its last
  printed place (``0.412`` vs ``0.413``, ``9.18e+08`` vs ``9.19e+08``);
* a cell whose results depend on the kernels declares its own tolerance in its metadata, measured with
  ``tests/spread.py`` (not widened until green)::

      "metadata": {"tolerance": {"rtol": 0.05, "atol": 0.01}}

  Then *every* number of that cell's output, integers included (say, a count of wrong answers), may
  differ by ``max(atol, rtol * max(|a|, |b|))``, or by the default rule, whichever is larger.

A claim the prose makes about such a result ("dropout beats the plain model") is not left to the
tolerance: a cell asserts it with a margin (see the README's contributor section).

:class:`TolerantText` is a ``str`` whose ``==`` uses :func:`outputs_match`. This module is also a pytest
plugin (``pyproject.toml`` loads it with ``-p tolerance`` for every pytest run in the repository, so that
``pytest --nbval chapters/`` alone is tolerant too): it makes nbval's sanitizer return a ``TolerantText``
carrying the cell's tolerance, so nbval's own comparison becomes tolerant in exactly this way.
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


def cell_tolerance(metadata) -> dict:
    """The tolerance a notebook cell declares: ``{"rtol": r, "atol": a}`` (either may be missing), or ``{}``.

    Raises ``ValueError`` for a malformed declaration, so a typo cannot silently mean "exact".
    """
    tol = dict((metadata or {}).get("tolerance") or {})
    unknown = set(tol) - {"rtol", "atol"}
    if unknown:
        raise ValueError(f"unknown tolerance key(s) {sorted(unknown)}: use 'rtol' and/or 'atol'")
    for key, value in tol.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < float("inf"):
            raise ValueError(f"tolerance {key} must be a non-negative number, got {value!r}")
    return tol


def numbers_close(a: str, b: str, rtol: float = 0.0, atol: float = 0.0) -> bool:
    """True if two number tokens are equal, or within the default rule or the declared tolerance."""
    if a == b:
        return True
    x, y = float(a), float(b)
    allowed = max(last_place(a), last_place(b), atol, rtol * max(abs(x), abs(y)))
    return allowed > 0 and abs(x - y) <= allowed * (1 + 1e-9)


def outputs_match(ref: str, test: str, rtol: float = 0.0, atol: float = 0.0) -> bool:
    """True if ``test`` equals ``ref`` up to the tolerance described in the module docstring."""
    if ref == test:
        return True
    if NUMBER.sub("#", ref) != NUMBER.sub("#", test):
        return False
    ref_numbers, test_numbers = NUMBER.findall(ref), NUMBER.findall(test)
    return len(ref_numbers) == len(test_numbers) and all(
        numbers_close(a, b, rtol, atol) for a, b in zip(ref_numbers, test_numbers))


class TolerantText(str):
    """A string whose equality is :func:`outputs_match`, with an optional declared tolerance."""

    def __new__(cls, value, rtol: float = 0.0, atol: float = 0.0):
        self = super().__new__(cls, value)
        self.rtol, self.atol = rtol, atol
        return self

    def __eq__(self, other):
        if not isinstance(other, str):
            return False
        rtol = max(self.rtol, getattr(other, "rtol", 0.0))
        atol = max(self.atol, getattr(other, "atol", 0.0))
        return outputs_match(str(self), str(other), rtol, atol)

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = str.__hash__


def install_nbval_comparison() -> None:
    """Make nbval compare printed numbers with the rule above: one unit in the last printed place by
    default, or the tolerance the cell declares in its metadata (``{"tolerance": {"rtol": ..., "atol": ...}}``).

    nbval has no option for this, so its sanitizer (which it applies to the committed and to the new output
    alike, just before comparing them, as a method of the cell being tested) is wrapped to return
    :class:`TolerantText` carrying that cell's tolerance.
    """
    try:
        from nbval.plugin import IPyNbCell
    except ImportError:                 # nbval not installed: nothing to do
        return
    original = IPyNbCell.sanitize
    if getattr(original, "tolerant", False):
        return

    def sanitize(self, s):
        s = original(self, s)
        if not isinstance(s, str):
            return s
        cell = getattr(self, "cell", None)          # the notebook cell under test (IPyNbCell.cell)
        return TolerantText(s, **cell_tolerance(getattr(cell, "metadata", None)))

    sanitize.tolerant = True
    IPyNbCell.sanitize = sanitize


def pytest_configure(config):
    install_nbval_comparison()

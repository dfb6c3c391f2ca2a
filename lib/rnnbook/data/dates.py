"""Dates written in many human formats, to be converted to ISO 8601 (chapter 5).

``"Tuesday, September 27, 1994"`` -> ``"1994-09-27"``. The month and day names
are hard-coded English (``strftime("%B")`` depends on the locale), and no two
formats share a separator with different day/month orders: ``/`` is always
month/day/year (US), ``.`` always day.month.year (European), so every source
string has exactly one correct answer.
"""
from __future__ import annotations

import datetime
import random

from .._checks import is_integer

__all__ = ["date_pairs", "DATE_FORMATS", "MONTHS", "WEEKDAYS", "format_date"]

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _ordinal(d: int) -> str:
    suffix = "th" if 11 <= d % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")
    return f"{d}{suffix}"


#: Format name -> template, filled in by :func:`format_date` (fields: year, month, day, nth, Month, Mon, MON,
#: month_lower, Weekday, Wkd).
DATE_FORMATS = {
    "month_day_year": "{Month} {day}, {year}",
    "weekday_month_day_year": "{Weekday}, {Month} {day}, {year}",
    "mon_day_year": "{Mon} {day}, {year}",
    "day_month_year": "{day} {Month} {year}",
    "day_mon_year": "{day} {Mon} {year}",
    "wkd_day_mon_year": "{Wkd} {day} {Mon} {year}",
    "ordinal": "the {nth} of {Month}, {year}",
    "lower_month_day_year": "{month_lower} {day} {year}",
    "upper_day_mon_year": "{day:02d} {MON} {year}",
    "us_slash": "{month}/{day}/{year}",
    "us_slash_padded": "{month:02d}/{day:02d}/{year}",
    "eu_dots": "{day:02d}.{month:02d}.{year}",
}


def _fields(t: datetime.date) -> dict:
    """The named pieces a template of :data:`DATE_FORMATS` can use."""
    month, weekday = MONTHS[t.month - 1], WEEKDAYS[t.weekday()]
    return {"year": t.year, "month": t.month, "day": t.day, "nth": _ordinal(t.day), "Month": month,
            "Mon": month[:3], "MON": month[:3].upper(), "month_lower": month.lower(), "Weekday": weekday,
            "Wkd": weekday[:3]}


def format_date(date: datetime.date, fmt: str) -> str:
    """Write ``date`` in the human format named ``fmt`` (a key of :data:`DATE_FORMATS`)."""
    if fmt not in DATE_FORMATS:
        raise ValueError(f"unknown date format {fmt!r}; the formats are: {', '.join(DATE_FORMATS)}")
    if not isinstance(date, datetime.date):
        raise TypeError(f"date must be a datetime.date, got {type(date).__name__}")
    return DATE_FORMATS[fmt].format(**_fields(date))


def date_pairs(n: int, *, seed: int = 0, first_year: int = 1950, last_year: int = 2049,
               formats=None, exclude=()) -> list[tuple[str, str]]:
    """Generate ``n`` distinct ``(human date, ISO date)`` pairs.

    Parameters
    ----------
    n:
        Number of pairs; all human strings are distinct.
    seed:
        Seed of the ``random.Random`` generator.
    first_year, last_year:
        The dates are drawn uniformly from 1 January ``first_year`` to
        31 December ``last_year``.
    formats:
        Names of the formats to use (keys of :data:`DATE_FORMATS`); all by default.
        Each pair draws its format uniformly.
    exclude:
        Source strings (or pairs) that must not be generated, e.g. a training set.

    Returns
    -------
    list of ``(source, target)`` strings, e.g. ``("27.09.1994", "1994-09-27")``.
    """
    if not is_integer(n) or n <= 0:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if not is_integer(seed):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    for name, y in (("first_year", first_year), ("last_year", last_year)):
        if not is_integer(y) or not 1000 <= y <= 9999:
            raise ValueError(f"{name} must be a four-digit year, got {y!r}")
    n, seed, first_year, last_year = int(n), int(seed), int(first_year), int(last_year)
    if last_year < first_year:
        raise ValueError(f"last_year ({last_year}) is before first_year ({first_year})")
    formats = list(DATE_FORMATS) if formats is None else list(formats)
    if not formats:
        raise ValueError("formats is empty: give at least one format name")
    for f in formats:
        if f not in DATE_FORMATS:
            raise ValueError(f"unknown date format {f!r}; the formats are: {', '.join(DATE_FORMATS)}")
    start = datetime.date(first_year, 1, 1).toordinal()
    days = datetime.date(last_year, 12, 31).toordinal() - start + 1
    seen = {e[0] if isinstance(e, (tuple, list)) else e for e in exclude}
    if n > (days * len(formats) - len(seen)) // 2:
        raise ValueError(f"n={n} is too many distinct dates for {days} days and {len(formats)} formats")
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        date = datetime.date.fromordinal(start + rng.randrange(days))
        src = format_date(date, rng.choice(formats))
        if src in seen:
            continue
        seen.add(src)
        out.append((src, date.isoformat()))
    return out

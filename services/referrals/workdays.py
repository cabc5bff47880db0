"""Finnish working days: Monday to Friday, not a public holiday (the `holidays` library's Finland)."""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays


@lru_cache(maxsize=16)
def _finnish_holidays(year: int):
    return holidays.Finland(years=year)


def is_working_day(d: date) -> bool:
    return d.weekday() < 5 and d not in _finnish_holidays(d.year)


def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end`."""
    n, d = 0, start
    while d < end:
        d += timedelta(days=1)
        n += is_working_day(d)
    return n

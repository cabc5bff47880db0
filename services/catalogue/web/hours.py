"""Opening hours in human form: "ma 13–17", "mån–fre 9–16", "Mon 13–17" (whether a
service is open now is decided in SQL, by search.open_at).

Pure functions of a service document (the publisher's weekly hours and
exceptions, wall-clock times in Europe/Helsinki) and a language; the texts
(weekday names) come from the pages' message catalogue.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from ..profile import DAYS
from .messages import CATALOGUE

HELSINKI = ZoneInfo("Europe/Helsinki")


def clock(value: str, lang: str) -> str:
    """ "13:00" → "13", "09:30" → "9.30" (Finnish and Swedish) or "9:30" (English)."""
    h, m = value.split(":")
    if m == "00":
        return str(int(h))
    return f"{int(h)}{':' if lang == 'en' else '.'}{m}"


def span(opens_at: str, closes_at: str, lang: str) -> str:
    return f"{clock(opens_at, lang)}–{clock(closes_at, lang)}"


def day_name(day: str, lang: str, *, short: bool = True) -> str:
    return CATALOGUE.text(f"day.{'short' if short else 'long'}.{day}", lang)


def days_text(days, lang: str) -> str:
    """Weekdays as runs: MO,TU,WE,TH,FR → "ma–pe"; MO,WE → "ma, ke"; MO,TU → "ma, ti"."""
    idx = sorted({DAYS.index(d) for d in days})
    runs, start = [], None
    for i, d in enumerate(idx):
        if start is None:
            start = d
        if i + 1 == len(idx) or idx[i + 1] != d + 1:
            runs.append((start, d))
            start = None
    parts = []
    for a, b in runs:
        if b - a >= 2:
            parts.append(f"{day_name(DAYS[a], lang)}–{day_name(DAYS[b], lang)}")
        else:
            parts.extend(day_name(DAYS[d], lang) for d in range(a, b + 1))
    return ", ".join(parts)


def _as_date(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def valid_on(entry: dict, day: date) -> bool:
    start, end = _as_date(entry.get("valid_from")), _as_date(entry.get("valid_to"))
    return (start is None or start <= day) and (end is None or day <= end)


def week(entries: list[dict]) -> dict[str, list[tuple[str, str]]]:
    """Each weekday's opening spans, in time order (a day without hours is absent)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for e in entries:
        for d in e["days"]:
            out.setdefault(d, []).append((e["opens_at"], e["closes_at"]))
    return {d: sorted(out[d]) for d in DAYS if d in out}


def summary(entries: list[dict], lang: str) -> str:
    """A week of hours in one line: days with the same hours together, "ma–pe 9–16, la 10–14"."""
    by_hours: dict[tuple, list[str]] = {}
    for d, spans in week(entries).items():
        by_hours.setdefault(tuple(spans), []).append(d)
    return ", ".join(f"{days_text(days, lang)} {' & '.join(span(o, c, lang) for o, c in spans)}"
                     for spans, days in by_hours.items())


@dataclass
class HoursGroup:
    """The hours of one place (location_id None: the service's hours wherever it is given)."""
    location_id: str | None
    current: list[dict]            # valid today
    later: list[dict]              # valid from a later day


def groups(document: dict, today: date) -> list[HoursGroup]:
    out: dict[str | None, HoursGroup] = {}
    for e in document.get("opening_hours", []):
        g = out.setdefault(e.get("location_id"), HoursGroup(e.get("location_id"), [], []))
        if valid_on(e, today):
            g.current.append(e)
        elif _as_date(e.get("valid_from")) and _as_date(e["valid_from"]) > today:
            g.later.append(e)
    return [g for g in out.values() if g.current or g.later]


def upcoming_exceptions(document: dict, today: date) -> list[dict]:
    """Closed days and special hours that have not yet ended, soonest first."""
    return sorted((e for e in document.get("exceptions", []) if _as_date(e["ends_on"]) >= today),
                  key=lambda e: (_as_date(e["starts_on"]), _as_date(e["ends_on"])))


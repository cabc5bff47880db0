"""From the search form's GET parameters to a SearchQuery, with a readable message for each bad field.

    q            free text                       category   service-category code(s)
    area         area code(s)                    age        the young person's age, 0–120
    mode         delivery-mode code(s)           language   service-language code(s)
    free         "1": free of charge only        no_referral "1": no referral needed
    open_now     "1": open at this moment        day        today | tomorrow | MO…SU (the next such day)
    date         a day, 2026-12-24 or 24.12.2026 page       1, 2, …

A bad value is never silently dropped: the page shows what was wrong next to the field and does not
search until it is fixed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from werkzeug.datastructures import MultiDict

from ..profile import DAYS, profile
from ..directory.search import SearchQuery

PER_PAGE = 10
MAX_TEXT = 200
MAX_PAGE = 1000
DAY_CHOICES = ("today", "tomorrow", *DAYS)
TRUE = ("1", "on", "true", "yes")
FINNISH_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$")
FIELDS = ("q", "category", "area", "age", "mode", "language", "free", "no_referral", "open_now", "day", "date")
FLAGS = ("free", "no_referral", "open_now")
CODES = {"category": "service-category", "area": "area", "mode": "delivery-mode", "language": "language"}


@dataclass
class Filters:
    form: MultiDict                              # what the user sent, to fill the form again
    errors: dict[str, str] = field(default_factory=dict)   # field -> message id
    query: SearchQuery | None = None             # None while there are errors

    @property
    def narrowing(self) -> int:
        """How many filters (besides the text) are in use."""
        return sum(1 for name in FIELDS[1:] if (flag(self.form, name) if name in FLAGS
                                                 else any(v.strip() for v in self.form.getlist(name))))


def parse(args: MultiDict, today: date) -> Filters:
    form = MultiDict([(k, v) for k, v in args.items(multi=True) if k in FIELDS])
    f = Filters(form)
    text = args.get("q", "").strip()
    if len(text) > MAX_TEXT:
        f.errors["q"] = "field-error.q"
    codes = {name: _codes(args, name, f.errors) for name in CODES}
    age = _age(args.get("age", "").strip(), f.errors)
    open_on = _open_on(args.get("day", "").strip(), args.get("date", "").strip(), today, f.errors)
    if f.errors:
        return f
    f.query = SearchQuery(
        text=text or None, categories=codes["category"], areas=codes["area"], delivery_modes=codes["mode"],
        languages=codes["language"], age=age, free=True if flag(args, "free") else None,
        no_referral=flag(args, "no_referral"), open_now=flag(args, "open_now"), open_on=open_on,
        page=page_number(args), per_page=PER_PAGE)
    return f


def page_number(args) -> int:
    try:
        return min(max(int(args.get("page", 1)), 1), MAX_PAGE)
    except ValueError:
        return 1


def flag(args, name: str) -> bool:
    return args.get(name, "").strip().lower() in TRUE


def _codes(args, name: str, errors: dict) -> tuple[str, ...]:
    values = [v.strip() for v in args.getlist(name) if v.strip()]
    known = profile().codes(CODES[name])
    if any(v not in known for v in values):
        errors[name] = f"field-error.{name}"
    return tuple(dict.fromkeys(v for v in values if v in known))


def _age(text: str, errors: dict) -> int | None:
    if not text:
        return None
    if not text.isdecimal() or not 0 <= int(text) <= 120:
        errors["age"] = "field-error.age"
        return None
    return int(text)


def _open_on(choice: str, text: str, today: date, errors: dict) -> date | None:
    """A weekday choice ("today", "MO": the next Monday, today if it is one) or a typed day, not both."""
    if choice and choice not in DAY_CHOICES:
        errors["day"] = "field-error.day"
    if text:
        day = parse_day(text)
        if day is None:
            errors["date"] = "field-error.date"
        elif choice:
            errors["date"] = "field-error.day-and-date"
        return day
    if not choice or choice not in DAY_CHOICES:
        return None
    if choice == "today":
        return today
    if choice == "tomorrow":
        return today + timedelta(days=1)
    return today + timedelta(days=(DAYS.index(choice) - today.weekday()) % 7)


def parse_day(text: str) -> date | None:
    """2026-12-24 (a date field) or 24.12.2026 (typed the Finnish way where there is no date picker)."""
    m = FINNISH_DATE.match(text)
    try:
        day = date(int(m[3]), int(m[2]), int(m[1])) if m else datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None

"""The code lists of attendance (codes.json): matters, channels, modes, bands, marks, reasons, with their
labels in fi/sv/en. Data, not code: a list grows by editing the file."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from services.kernel.errors import Invalid

CODES_FILE = Path(__file__).with_name("codes.json")


@lru_cache(maxsize=1)
def lists() -> dict[str, dict[str, dict]]:
    raw = json.loads(CODES_FILE.read_text(encoding="utf-8"))
    return {k: v for k, v in raw.items() if not k.startswith("_")}


def codes(name: str) -> tuple[str, ...]:
    return tuple(lists()[name])


def label(name: str, code: str, lang: str = "fi") -> str:
    entry = lists()[name].get(code)
    return entry.get(lang) or entry["fi"] if entry else code


def check(name: str, value, field: str, *, required: bool = True):
    """`value` if it is a code of list `name`; Invalid naming the field and the allowed codes otherwise."""
    if value is None and not required:
        return None
    allowed = codes(name)
    if value not in allowed:
        raise Invalid(f"{field} must be one of {', '.join(allowed)}.", code=f"unknown-{field.replace('_', '-')}",
                      field=field)
    return value

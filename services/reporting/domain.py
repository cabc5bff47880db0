"""Reporting's domain is the indicator maths: counts, and suppression of small counts."""
from __future__ import annotations

SUPPRESSION_THRESHOLD = 5  # counts 1..4 of people-related facts are shown as "<5"
PEOPLE_EVENTS = {"referral.requested", "attendance.encounter-recorded"}


def suppress(count: int, threshold: int = SUPPRESSION_THRESHOLD) -> int | str:
    """Small counts could identify a young person in a small organisation."""
    return f"<{threshold}" if 0 < count < threshold else count


def event_name(event_type: str) -> str:
    """fi.yhdistamo.referral.requested.v1 -> referral.requested"""
    return event_type.removeprefix("fi.yhdistamo.").rsplit(".v", 1)[0]


def count_table(rows: list[dict]) -> dict:
    """{org: {event name: shown count}} with people-related counts suppressed."""
    table: dict[str, dict[str, int | str]] = {}
    for r in rows:
        name = event_name(r["event_type"])
        n = r["count"]
        table.setdefault(r["org_id"], {})[name] = suppress(n) if name in PEOPLE_EVENTS else n
    return table

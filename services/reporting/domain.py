"""Reporting's domain is the indicator maths: counts, suppression of small counts, and the second
pseudonym under which reporting alone recognises a young person across organisations."""
from __future__ import annotations

import hashlib
import hmac
import re

from services.kernel.errors import Rejected

SUPPRESSION_THRESHOLD = 5  # counts 1..4 of people-related facts are shown as "<5"
PEOPLE_EVENTS = {"referral.requested", "attendance.encounter-recorded"}


def suppress(count: int, threshold: int = SUPPRESSION_THRESHOLD) -> int | str:
    """Small counts could identify a young person in a small organisation."""
    return f"<{threshold}" if 0 < count < threshold else count


def event_name(event_type: str) -> str:
    """fi.yhdistamo.referral.requested.v2 -> referral.requested"""
    return event_type.removeprefix("fi.yhdistamo.").rsplit(".v", 1)[0]


def count_table(rows: list[dict]) -> dict:
    """{org: {event name: shown count}} with people-related counts suppressed."""
    table: dict[str, dict[str, int | str]] = {}
    for r in rows:
        name = event_name(r["event_type"])
        n = r["count"]
        table.setdefault(r["org_id"], {})[name] = suppress(n) if name in PEOPLE_EVENTS else n
    return table


PATHWAY_KEY = re.compile(r"^pk1-[0-9a-f]{40}$")


def person_key(opened, *, referral_id: str, signer: str, to_org: str) -> str:
    """The pathway key in the box a member sealed for reporting, if the box is bound to this event (its
    referral, signed by its sender, to its receiver); otherwise Rejected: a box copied from another event
    would count a person where they never were."""
    expected = {"referral_id": referral_id, "from_org": signer, "to_org": to_org}
    bound = opened.get("bound") if isinstance(opened, dict) else None
    if bound != expected:
        got = {k: bound.get(k) for k in expected} if isinstance(bound, dict) else None
        raise Rejected(f"the person sealed for reporting in referral {referral_id} is bound to {got}, "
                       f"not to {expected}")
    key = opened.get("pathway_key")
    if not isinstance(key, str) or not PATHWAY_KEY.match(key):
        raise Rejected(f"the person sealed for reporting in referral {referral_id} holds no pathway key")
    return key


def pseudonym(pathway_key: str, secret: bytes) -> str:
    """Reporting's own pseudonym of a person key (HMAC-SHA-256 under a secret only reporting holds): what
    is stored, never the pathway key, so that a member who can compute pathway keys from identity codes
    still cannot find a person in reporting's database."""
    return "rp1-" + hmac.new(secret, pathway_key.encode(), hashlib.sha256).hexdigest()[:40]


def people_table(rows: list[dict]) -> dict:
    """Young people referred, each counted once across organisations, and per referring organisation;
    1–4 shown as "<5"."""
    total = len({r["pseudonym"] for r in rows})
    per_org: dict[str, int] = {}
    for r in rows:
        per_org[r["org_id"]] = per_org.get(r["org_id"], 0) + 1
    return {"people": suppress(total), "by_org": {org: suppress(n) for org, n in sorted(per_org.items())}}

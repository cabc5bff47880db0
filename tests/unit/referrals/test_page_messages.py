"""The pages' translation catalogue: every text the pages use exists in Finnish and in English (no browser)."""
from __future__ import annotations

import re
from pathlib import Path

from services.referrals.domain import (ACTIONS, AGE_BANDS, CATEGORIES, GENDERS, LANGUAGES, METHODS, NOTIFICATIONS,
                                       OUTCOME_POINTS, OUTCOMES, PURPOSES, REASONS, State)
from services.kernel.auth import Role
from services.referrals import web
from services.referrals.web.common import CATALOGUE

WEB = Path(web.__file__).parent
SERVICES = WEB.parents[1]


def test_every_message_has_finnish_and_english():
    assert CATALOGUE.missing() == []


def test_every_literal_message_id_in_the_pages_is_in_the_catalogue():
    used = set()
    for path in list(WEB.rglob("*.html")) + list(WEB.glob("*.py")):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.-]+)["']""", path.read_text(encoding="utf-8")))
    assert used, "no t('…') calls found"
    literal = {k for k in used if not k.endswith(".")}   # "state." ~ value: the domain values' test below
    assert sorted(k for k in literal if k not in CATALOGUE) == []


def test_every_domain_value_shown_on_the_pages_has_its_text():
    values = {"state": [s.value for s in State], "reason": {r for rs in REASONS.values() for r in rs},
              "outcome-value": OUTCOMES, "point": OUTCOME_POINTS, "category": CATEGORIES, "purpose": PURPOSES,
              "method": METHODS, "gender": GENDERS, "language": LANGUAGES, "age": AGE_BANDS, "action": ACTIONS,
              "action.done": ACTIONS, "box": ("incoming", "outgoing"), "decision": ("granted", "denied"),
              "consent-status": ("valid", "not-yet-valid", "expired", "withdrawn", "denied"),
              "role": [r.value for r in Role], "notification": NOTIFICATIONS}
    missing = [f"{kind}.{v}" for kind, vs in values.items() for v in vs if f"{kind}.{v}" not in CATALOGUE]
    assert missing == []


def test_every_refusal_the_services_can_give_has_a_readable_message():
    codes = set()
    for path in [*(SERVICES / "referrals").glob("*.py"), *(SERVICES / "referrals" / "domain").glob("*.py"),
                 *(SERVICES / "kernel").glob("*.py")]:
        codes |= set(re.findall(r'code="([a-z-]+)"', path.read_text(encoding="utf-8")))
    codes |= {f"consent-{s}" for s in ("not-yet-valid", "expired", "withdrawn", "denied")}
    assert sorted(c for c in codes if f"error.{c}" not in CATALOGUE) == []


def test_every_notification_the_service_leaves_is_a_known_kind():
    """The inbox shows each kind in words: a kind added in code but not to NOTIFICATIONS would show its id
    (the domain's, from Referral.note_arrival, are checked in test_arrival)."""
    left = set()
    for path in (SERVICES / "referrals").glob("*.py"):
        left |= set(re.findall(r"""notifications\.add\(\s*["'][a-z]+["'],\s*["']([a-z-]+)["']""",
                               path.read_text(encoding="utf-8")))
    assert left and sorted(left - set(NOTIFICATIONS)) == []

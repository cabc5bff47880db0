"""The attendance pages' translation catalogue: every text the pages use exists in Finnish, Swedish and English,
every code the pages show has a label, and every refusal the use cases can give has a readable message."""
from __future__ import annotations

import re
from pathlib import Path

from services.attendance import web
from services.attendance.domain import KINDS, codes
from services.attendance.web.common import CATALOGUE
from services.kernel.auth import Role

WEB = Path(web.__file__).parent
SERVICE = WEB.parent


def test_every_message_has_finnish_swedish_and_english():
    assert CATALOGUE.languages == ("fi", "sv", "en")
    assert CATALOGUE.missing() == []


def test_every_literal_message_id_in_the_pages_is_in_the_catalogue():
    used = set()
    for path in list(WEB.rglob("*.html")) + list(WEB.glob("*.py")):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.-]+)["']""", path.read_text(encoding="utf-8")))
    assert len(used) > 100
    assert sorted(k for k in used if not k.endswith(".") and k not in CATALOGUE) == []


def test_every_value_shown_by_its_kind_has_its_text():
    values = {"kind": KINDS, "kind-hint": KINDS, "status": ("attended", "missed", "excused"),
              "session-status": ("planned", "held", "cancelled"), "arrival": ("arrived", "not-arrived", "waiting"),
              "role": [r.value for r in Role], "nav": ("home", "tally", "encounters", "groups", "clients", "no-contact")}
    assert [f"{k}.{v}" for k, vs in values.items() for v in vs if f"{k}.{v}" not in CATALOGUE] == []


def test_every_code_list_has_its_labels_in_three_languages():
    assert [(name, c) for name, entries in codes.lists().items() for c, label in entries.items()
            if not all(label.get(lang) for lang in ("fi", "sv", "en"))] == []


def test_every_refusal_the_use_cases_can_give_has_a_readable_message():
    found = set()
    for path in [*SERVICE.glob("*.py"), *(SERVICE / "domain").glob("*.py"), *(SERVICE / "service").glob("*.py"),
                 *(SERVICE / "instruments").glob("*.py")]:
        found |= set(re.findall(r'code="([a-z-]+)"', path.read_text(encoding="utf-8")))
    assert sorted(c for c in found if f"error.{c}" not in CATALOGUE) == []

"""Synthetic clients (identity codes with individual numbers 900–999) and their consents."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

from services.referrals.domain.identity import synthetic_identity_code

FIRST = ["Aino", "Eetu", "Helmi", "Juho", "Lumi", "Onni", "Sisu", "Veera", "Niilo", "Ilona"]
LAST = ["Testinen", "Esimerkki", "Kokeilu", "Malli", "Demonen"]


def synthetic_client(seed: int | None = None, age: int = 22) -> dict:
    rnd = random.Random(seed)
    born = date.today().replace(year=date.today().year - age) - timedelta(days=rnd.randrange(1, 300))
    return {"name": f"{rnd.choice(FIRST)} {rnd.choice(LAST)}",
            "identity_code": synthetic_identity_code(born, rnd.randrange(900, 1000)),
            "municipality": "Oulu", "phone": "+358 40 000 0000", "gender": rnd.choice(["woman", "man", "other"]),
            "language": "fi"}


def consent_to(org: str, categories=("identity", "contact", "background", "referral-details"), days: int = 180,
               method: str = "in-person") -> dict:
    now = datetime.now(timezone.utc)
    return {"recipient_org": org, "categories": list(categories), "purpose": "referral",
            "valid_from": (now - timedelta(minutes=1)).isoformat(), "valid_until": (now + timedelta(days=days)).isoformat(),
            "method": method}

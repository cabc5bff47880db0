"""Synthetic clients (identity codes with individual numbers 900–999) and their consents."""
from __future__ import annotations

import random
from datetime import date, timedelta

from devstack.client import consent_to  # noqa: F401  (the consent the referrals API takes, valid from a minute ago)
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

"""Finnish personal identity codes (henkilötunnus) and the pathway key.

The pathway key is a keyed hash (HMAC-SHA-256) of the identity code with the
federation's secret: organisations and regional reporting can recognise the
same young person across referrals without exchanging the identity code.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from datetime import date

from services.kernel.errors import Invalid

CHECK_CHARS = "0123456789ABCDEFHJKLMNPRSTUVWXY"
CENTURY = {"+": 1800, "-": 1900, "Y": 1900, "X": 1900, "W": 1900, "V": 1900, "U": 1900,
           "A": 2000, "B": 2000, "C": 2000, "D": 2000, "E": 2000, "F": 2000}
HETU_RE = re.compile(r"^(\d{2})(\d{2})(\d{2})([-+YXWVUABCDEF])(\d{3})([0-9A-Y])$")


def parse_identity_code(code: str) -> date:
    """Validate a henkilötunnus (date, century sign, individual number, check character); return the birth date."""
    code = (code or "").strip().upper()
    m = HETU_RE.match(code)
    if not m:
        raise Invalid("The identity code must look like DDMMYYCZZZQ, e.g. 010199-9034.", code="invalid-identity-code")
    dd, mm, yy, sign, individual, check = m.groups()
    if int(individual) < 2:
        raise Invalid("The identity code's individual number must be 002–999.", code="invalid-identity-code")
    if CHECK_CHARS[int(dd + mm + yy + individual) % 31] != check:
        raise Invalid("The identity code's check character does not match.", code="invalid-identity-code")
    try:
        return date(CENTURY[sign] + int(yy), int(mm), int(dd))
    except ValueError:
        raise Invalid("The identity code contains an impossible date.", code="invalid-identity-code") from None


def normalise_identity_code(code: str) -> str:
    parse_identity_code(code)
    return code.strip().upper()


def is_synthetic(code: str) -> bool:
    """Individual numbers 900–999 are never given to real people: demo and test data use them."""
    return int(normalise_identity_code(code)[7:10]) >= 900


def pathway_key(identity_code: str, secret: bytes) -> str:
    digest = hmac.new(secret, normalise_identity_code(identity_code).encode(), hashlib.sha256).hexdigest()
    return f"pk1-{digest[:40]}"


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def age_band(born: date | None, day: date) -> str:
    if born is None:
        return "unknown"
    age = age_on(born, day)
    if age < 15:
        return "under-15"
    for low, high in ((15, 17), (18, 24), (25, 29), (30, 35)):
        if low <= age <= high:
            return f"{low}-{high}"
    return "over-35"


def synthetic_identity_code(born: date, individual: int) -> str:
    """A valid identity code with an individual number 900–999 (for demo data and tests)."""
    if not 900 <= individual <= 999:
        raise ValueError("synthetic identity codes use individual numbers 900–999")
    sign = {1800: "+", 1900: "-", 2000: "A"}[born.year // 100 * 100]
    base = f"{born:%d%m%y}{individual:03d}"
    return f"{base[:6]}{sign}{base[6:]}{CHECK_CHARS[int(base) % 31]}"

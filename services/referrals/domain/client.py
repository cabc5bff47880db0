"""Clients: kept only in the organisation that serves them."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from services.kernel.errors import Invalid

from .identity import age_band, normalise_identity_code, parse_identity_code, pathway_key

GENDERS = ("woman", "man", "other", "unknown")
LANGUAGES = ("fi", "sv", "en", "se", "ru", "so", "ar", "other")


@dataclass
class Client:
    id: uuid.UUID
    name: str
    identity_code: str
    date_of_birth: date
    pathway_key: str
    municipality: str | None = None
    phone: str | None = None
    email: str | None = None
    gender: str = "unknown"
    language: str = "fi"
    created_by: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @classmethod
    def register(cls, *, name: str, identity_code: str, secret: bytes, by: str, date_of_birth: date | None = None,
                 municipality=None, phone=None, email=None, gender="unknown", language="fi") -> "Client":
        born = parse_identity_code(identity_code)
        if date_of_birth is not None and date_of_birth != born:
            raise Invalid("The date of birth does not match the identity code.", code="birth-date-mismatch")
        if gender not in GENDERS:
            raise Invalid(f"gender must be one of {', '.join(GENDERS)}.")
        if language not in LANGUAGES:
            raise Invalid(f"language must be one of {', '.join(LANGUAGES)}.")
        if not name.strip():
            raise Invalid("The client needs a name.")
        code = normalise_identity_code(identity_code)
        return cls(uuid.uuid4(), name.strip(), code, born, pathway_key(code, secret), municipality, phone, email,
                   gender, language, by)

    def age_band(self, on: date | None = None) -> str:
        return age_band(self.date_of_birth, on or date.today())

    def personal_data(self) -> dict:
        return {"name": self.name, "identity_code": self.identity_code, "date_of_birth": self.date_of_birth.isoformat(),
                "municipality": self.municipality, "phone": self.phone, "email": self.email,
                "gender": self.gender, "language": self.language}

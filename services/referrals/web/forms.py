"""From HTML forms to the use cases' input (checked by the API's own schemas), with errors by field."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from services.kernel.errors import DomainError

from .common import CATALOGUE, HELSINKI, error_message, t

CLIENT_FIELDS = ("name", "identity_code", "municipality", "phone", "email", "gender", "language")
CONSENT_FIELDS = ("recipient_org", "purpose", "decision", "method")
CONSENT_DAYS = 180

# The form field a refusal is about, to show the message next to it.
FIELD_OF = {"invalid-identity-code": "identity_code", "birth-date-mismatch": "identity_code",
            "client-exists": "identity_code", "invalid-period": "valid_until", "unknown-organisation": "recipient_org",
            "unknown-category": "categories", "unknown-service": "service_id", "disputed-service": "service_id",
            "own-service": "service_id",
            "note-not-consented": "note", "consent-category-missing": "categories", "reason-required": "reason_code",
            "reason-text-required": "reason_text", "detail-required": "detail"}


def filled(form, names) -> dict:
    """The named fields the user filled in (an empty field is no value)."""
    return {n: form.get(n, "").strip() for n in names if form.get(n, "").strip()}


def field_message(field: str) -> str:
    key = f"field-error.{field}"
    return t(key) if key in CATALOGUE else t("field-error.generic")


def validate(schema: Schema, data: dict) -> tuple[dict | None, dict[str, str]]:
    try:
        return schema.load(data), {}
    except ValidationError as e:
        return None, {field: field_message(field) for field in e.messages}


def field_errors(e: DomainError) -> dict[str, str]:
    field = FIELD_OF.get(e.code)
    return {field: error_message(e)} if field else {}


def _day_start(text: str, field: str, errors: dict, *, next_day: bool = False) -> str | None:
    """A day of the form as the instant it begins in Finland (the day after, for an inclusive end)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        errors[field] = field_message(field)
        return None
    if next_day:
        day += timedelta(days=1)
    return datetime.combine(day, time(), HELSINKI).isoformat()


def consent_input(form) -> tuple[dict, dict[str, str]]:
    data, errors = filled(form, CONSENT_FIELDS), {}
    data["categories"] = form.getlist("categories")
    for field, next_day in (("valid_from", False), ("valid_until", True)):
        value = _day_start(form.get(field, "").strip(), field, errors, next_day=next_day)
        if value:
            data[field] = value
    return data, errors


def default_consent_form() -> MultiDict:
    today = datetime.now(HELSINKI).date()
    return MultiDict({"purpose": "referral", "decision": "granted", "method": "in-person",
                      "valid_from": today.isoformat(),
                      "valid_until": (today + timedelta(days=CONSENT_DAYS)).isoformat()})


def referral_input(form, client_id) -> dict:
    data = {"client_id": str(client_id), **filled(form, ("service_id", "note"))}
    if form.getlist("categories"):
        data["categories"] = form.getlist("categories")
    return data

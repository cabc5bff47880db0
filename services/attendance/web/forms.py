"""From HTML forms to the use cases' input (checked by the API's own schemas), with errors by field."""
from __future__ import annotations

import uuid
from datetime import date, datetime, time

from marshmallow import Schema, ValidationError
from werkzeug.datastructures import MultiDict

from services.kernel.errors import Invalid, NotFound

from .common import CATALOGUE, t
from ..service.common import LOCAL

KEY_LENGTH = (8, 100)      # an idempotency key, as the API takes it


def new_key() -> str:
    """A fresh idempotency key for one rendered form: the same form sent twice is recorded once."""
    return str(uuid.uuid4())


def form_key(form) -> str | None:
    key = form.get("key", "").strip()
    if key and not KEY_LENGTH[0] <= len(key) <= KEY_LENGTH[1]:
        raise Invalid("The form's key is not one this page gave.", code="bad-idempotency-key")
    return key or None


def uuid_of(text: str | None) -> uuid.UUID:
    """An id from a form or an address; NotFound (like any unknown id) when it is not one."""
    try:
        return uuid.UUID((text or "").strip())
    except ValueError:
        raise NotFound("No such entry.") from None


def over(defaults, form) -> MultiDict:
    """What was sent, over a page's defaults (a page with several forms keeps the others' defaults)."""
    merged = MultiDict(defaults)
    for name in form or ():
        merged.setlist(name, form.getlist(name))
    return merged


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


def now_local() -> datetime:
    return datetime.now(LOCAL)


def today() -> date:
    return now_local().date()


def now_fields(day_field: str = "on", time_field: str = "at") -> dict:
    """A form's date and time fields filled with now (Finnish time)."""
    n = now_local()
    return {day_field: n.date().isoformat(), time_field: f"{n:%H:%M}"}


def local_time(form, errors: dict, day_field: str = "on", time_field: str = "at") -> str | None:
    """The instant a form's date and time fields name in Finnish time (ISO), or None with the error set."""
    try:
        day = date.fromisoformat(form.get(day_field, "").strip())
    except ValueError:
        errors[day_field] = field_message(day_field)
        return None
    text = form.get(time_field, "").strip()
    try:
        at = time.fromisoformat(text) if text else time(12)
    except ValueError:
        errors[time_field] = field_message(time_field)
        return None
    return datetime.combine(day, at.replace(second=0, microsecond=0), LOCAL).isoformat()


def day_of(form, field: str, errors: dict, *, required: bool = False) -> str | None:
    text = form.get(field, "").strip()
    if not text:
        if required:
            errors[field] = field_message(field)
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        errors[field] = field_message(field)
        return None


def place(form, all_places: list[dict], errors: dict, field: str = "place") -> dict:
    """service_id and location_id of the chosen place (nothing when none was chosen)."""
    value = form.get(field, "").strip()
    if not value:
        return {}
    chosen = next((p for p in all_places if p["value"] == value), None)
    if chosen is None:
        errors[field] = field_message(field)
        return {}
    out = {"service_id": str(chosen["service_id"])}
    if chosen["location_id"]:
        out["location_id"] = str(chosen["location_id"])
    return out

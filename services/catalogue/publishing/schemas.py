"""Catalogue API schemas: what an organisation publishes, in the Finnish profile of HSDS.

A service is described once, in this shape; the catalogue event carries it
to every instance, and each instance renders the HSDS 3.0 form from it
(hsds/objects.py). Validation here is the one place that rejects impossible
schedules and unknown taxonomy codes.
"""
import re
from datetime import time

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.kernel.schemas import Day, LocalizedText, StrictSchema

from ..profile import DAYS, profile

# whole-string patterns of ASCII digits (\d would take any script's digits, $ a final newline)
CLOCK = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]|24:00")
PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,24}\Z")
POSTAL_CODE = re.compile(r"[0-9]{5}\Z")
STATUSES = ("draft", "active", "temporarily-closed", "withdrawn")


def _clock(clock: str) -> tuple[int, int]:
    """"HH:MM" exactly (an event from another instance is checked again: it may be anything the contract lets by)."""
    if not isinstance(clock, str) or not CLOCK.fullmatch(clock):
        raise ValueError(f"not a time of day HH:MM: {clock!r}")
    h, m = clock.split(":")
    return int(h), int(m)


def minutes(clock: str) -> int:
    h, m = _clock(clock)
    return h * 60 + m


def as_time(clock: str) -> time:
    h, m = _clock(clock)
    return time(23, 59, 59, 999999) if h == 24 else time(h, m)


class Clock(fields.String):
    """A wall-clock time "HH:MM" in Europe/Helsinki; "24:00" closes at midnight."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if not CLOCK.fullmatch(value):
            raise ValidationError('Give a time of day as "HH:MM", from 00:00 to 24:00.')
        return value


def Codes(taxonomy: str, *, min_items: int = 0, **kw):
    """A list of term codes of one profile taxonomy, without repeats."""
    choices = profile().codes(taxonomy)

    def unique(values):
        if len(set(values)) != len(values):
            raise ValidationError("Each value may appear only once.")
    return fields.List(fields.String(validate=validate.OneOf(choices)),
                       validate=[validate.Length(min=min_items, max=len(choices)), unique], **kw)


class OpeningHours(StrictSchema):
    """Regular weekly hours, e.g. Mondays 13–17: days, opens_at, closes_at, an optional validity period."""
    days = fields.List(fields.String(validate=validate.OneOf(DAYS)), required=True,
                       validate=validate.Length(min=1, max=7))
    opens_at = Clock(required=True)
    closes_at = Clock(required=True)
    valid_from = Day()
    valid_to = Day()
    location_id = fields.UUID()
    notes = fields.Nested(LocalizedText)

    @validates_schema
    def _possible(self, data, **kwargs):
        if len(set(data["days"])) != len(data["days"]):
            raise ValidationError("Each weekday may appear only once.", "days")
        if data["opens_at"] == "24:00":
            raise ValidationError("Opening time must be before midnight.", "opens_at")
        if minutes(data["closes_at"]) <= minutes(data["opens_at"]):
            raise ValidationError("Closing time must be after opening time on the same day "
                                  "(split hours past midnight into two days).", "closes_at")
        if data.get("valid_from") and data.get("valid_to") and data["valid_to"] < data["valid_from"]:
            raise ValidationError("The validity period ends before it starts.", "valid_to")


class ScheduleException(StrictSchema):
    """A deviation from the weekly hours for a date range: closed (holiday, closed this week) or special hours."""
    starts_on = Day(required=True)
    ends_on = Day(required=True)
    closed = fields.Boolean(required=True)
    opens_at = Clock()
    closes_at = Clock()
    reason = fields.Nested(LocalizedText)

    @validates_schema
    def _possible(self, data, **kwargs):
        if data["ends_on"] < data["starts_on"]:
            raise ValidationError("The exception ends before it starts.", "ends_on")
        if (data["ends_on"] - data["starts_on"]).days > 366:
            raise ValidationError("An exception may last at most a year; change the weekly hours instead.",
                                  "ends_on")
        hours = ("opens_at" in data, "closes_at" in data)
        if data["closed"] and any(hours):
            raise ValidationError("A closed day has no opening hours.", "opens_at")
        if not data["closed"]:
            if not all(hours):
                raise ValidationError("Special hours need both opens_at and closes_at.", "opens_at")
            if data["opens_at"] == "24:00" or minutes(data["closes_at"]) <= minutes(data["opens_at"]):
                raise ValidationError("Closing time must be after opening time.", "closes_at")


class Capacity(StrictSchema):
    """HSDS 3.1 service_capacity: places available now, the maximum, and how many wait."""
    available = fields.Integer(required=True, validate=validate.Range(min=0, max=100_000))
    maximum = fields.Integer(validate=validate.Range(min=0, max=100_000))
    waitlist = fields.Integer(validate=validate.Range(min=0, max=100_000))

    @validates_schema
    def _fits(self, data, **kwargs):
        if "maximum" in data and data["available"] > data["maximum"]:
            raise ValidationError("More places available than the maximum.", "available")


class Phone(StrictSchema):
    number = fields.String(required=True, validate=validate.Regexp(PHONE, error="Give a phone number, e.g. +358 40 123 4567."))
    description = fields.Nested(LocalizedText)


class Contact(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    title = fields.Nested(LocalizedText)
    email = fields.Email()
    phone = fields.String(validate=validate.Regexp(PHONE, error="Give a phone number, e.g. +358 40 123 4567."))


class ServiceIn(StrictSchema):
    """A service as its organisation describes it (create, or replace on update)."""
    name = fields.Nested(LocalizedText, required=True)
    description = fields.Nested(LocalizedText)
    categories = Codes("service-category", min_items=1, required=True)
    delivery_modes = Codes("delivery-mode", min_items=1, load_default=lambda: ["in-person"])
    languages = Codes("language", min_items=1, load_default=lambda: ["fi"])
    areas = Codes("area", min_items=1, required=True)
    min_age = fields.Integer(validate=validate.Range(min=0, max=120))
    max_age = fields.Integer(validate=validate.Range(min=0, max=120))
    referral_required = fields.Boolean(load_default=False)
    free = fields.Boolean(load_default=True)
    fees = fields.Nested(LocalizedText)
    application_process = fields.Nested(LocalizedText)
    eligibility = fields.Nested(LocalizedText)
    url = fields.Url(schemes={"http", "https"}, validate=validate.Length(max=500))
    email = fields.Email()
    phones = fields.List(fields.Nested(Phone), validate=validate.Length(max=10), load_default=list)
    contacts = fields.List(fields.Nested(Contact), validate=validate.Length(max=20), load_default=list)
    location_ids = fields.List(fields.UUID(), validate=validate.Length(max=50), load_default=list)
    opening_hours = fields.List(fields.Nested(OpeningHours), validate=validate.Length(max=50), load_default=list)
    exceptions = fields.List(fields.Nested(ScheduleException), validate=validate.Length(max=100),
                             load_default=list)
    capacity = fields.Nested(Capacity)

    @validates_schema
    def _consistent(self, data, **kwargs):
        if "min_age" in data and "max_age" in data and data["max_age"] < data["min_age"]:
            raise ValidationError("The maximum age is below the minimum age.", "max_age")
        if not data.get("free", True) and not data.get("fees"):
            raise ValidationError("Say what the service costs when it is not free.", "fees")
        if len(set(data.get("location_ids", []))) != len(data.get("location_ids", [])):
            raise ValidationError("Each location may be linked only once.", "location_ids")
        linked = set(data.get("location_ids", []))
        seen: dict[tuple, list] = {}
        for i, h in enumerate(data.get("opening_hours", [])):
            if h.get("location_id") and h["location_id"] not in linked:
                raise ValidationError({i: {"location_id": ["Link the location to the service first "
                                                           "(location_ids)."]}}, "opening_hours")
            for day in h["days"]:
                for other in seen.get((h.get("location_id"), day), []):
                    if _overlap(h, other):
                        raise ValidationError({i: {"days": [f"Overlaps other opening hours on {day}."]}},
                                              "opening_hours")
                seen.setdefault((h.get("location_id"), day), []).append(h)


def _overlap(a: dict, b: dict) -> bool:
    if minutes(a["closes_at"]) <= minutes(b["opens_at"]) or minutes(b["closes_at"]) <= minutes(a["opens_at"]):
        return False
    a_from, a_to = a.get("valid_from"), a.get("valid_to")
    b_from, b_to = b.get("valid_from"), b.get("valid_to")
    if a_to and b_from and a_to < b_from or b_to and a_from and b_to < a_from:
        return False
    return True


class ServiceCreate(ServiceIn):
    status = fields.String(validate=validate.OneOf(("draft", "active")), load_default="active",
                           metadata={"description": "draft keeps it unpublished; active publishes it at once"})


class Address(StrictSchema):
    street = fields.String(required=True, validate=validate.Length(min=1, max=200))
    postal_code = fields.String(required=True, validate=validate.Regexp(POSTAL_CODE, error="Five digits, e.g. 90100."))
    city = fields.String(required=True, validate=validate.Length(min=1, max=100))


class LocationIn(StrictSchema):
    """A place where services are given: the HELMI café at Isokatu 47, a youth centre, an office."""
    name = fields.Nested(LocalizedText, required=True)
    description = fields.Nested(LocalizedText)
    address = fields.Nested(Address, required=True)
    area = fields.String(required=True, validate=validate.OneOf(profile().codes("area")))
    latitude = fields.Float(validate=validate.Range(min=59.0, max=70.5), metadata={"description": "WGS84, Finland"})
    longitude = fields.Float(validate=validate.Range(min=19.0, max=32.0))
    accessibility = fields.Nested(LocalizedText)
    transportation = fields.Nested(LocalizedText)

    @validates_schema
    def _both(self, data, **kwargs):
        if ("latitude" in data) != ("longitude" in data):
            raise ValidationError("Give both latitude and longitude, or neither.", "latitude")


class LocationOut(Schema):
    id = fields.UUID()
    organization_id = fields.String()
    version = fields.Integer()
    updated_at = fields.DateTime()
    document = fields.Dict(data_key="location")


class ServiceOut(Schema):
    id = fields.UUID()
    organization_id = fields.String()
    status = fields.String()
    version = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    document = fields.Dict(data_key="service")


class StatusChange(StrictSchema):
    reason = fields.Nested(LocalizedText, metadata={"description": "shown to the public while closed"})


class DirectoryEntryOut(Schema):
    service_id = fields.UUID()
    organization_id = fields.String()
    status = fields.String()
    version = fields.Integer()
    published_at = fields.DateTime()
    received_at = fields.DateTime()
    document = fields.Dict(data_key="service")

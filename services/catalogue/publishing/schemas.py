"""Catalogue API schemas: what an organisation publishes, in the Finnish profile of HSDS.

A service is described once, in this shape; the catalogue event carries it
to every instance, and each instance renders the HSDS 3.0 form from it
(hsds/objects.py). The shapes and formats are checked here, unknown taxonomy
codes against the profile; what makes a description possible (schedules,
ages, links) is the domain's (domain.py), which each schema asks.
"""
import re

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.kernel.schemas import Day, LocalizedText, StrictSchema

from ..profile import DAYS, profile
from .domain import (CLOCK, NEW, STATUSES, Problem, capacity_problem, exception_problem, location_problem,
                     opening_hours_problem, service_problem)

# whole-string patterns of ASCII digits (\d would take any script's digits, $ a final newline)
PHONE = re.compile(r"\+?[0-9][0-9 ()-]{4,24}\Z")
POSTAL_CODE = re.compile(r"[0-9]{5}\Z")


def _refuse(problem: Problem | None) -> None:
    """The domain's answer as marshmallow's error on the field it is about."""
    if problem is not None:
        message = problem.message
        for key in reversed(problem.at):
            message = {key: message if isinstance(message, dict) else [message]}
        raise ValidationError(message, problem.field)


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
        _refuse(opening_hours_problem(data))


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
        _refuse(exception_problem(data))


class Capacity(StrictSchema):
    """HSDS 3.1 service_capacity: places available now, the maximum, and how many wait."""
    available = fields.Integer(required=True, validate=validate.Range(min=0, max=100_000))
    maximum = fields.Integer(validate=validate.Range(min=0, max=100_000))
    waitlist = fields.Integer(validate=validate.Range(min=0, max=100_000))

    @validates_schema
    def _fits(self, data, **kwargs):
        _refuse(capacity_problem(data))


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
        _refuse(service_problem(data))


class ServiceCreate(ServiceIn):
    status = fields.String(validate=validate.OneOf(NEW), load_default="active",
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
        _refuse(location_problem(data))


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

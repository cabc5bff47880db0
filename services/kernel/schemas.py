"""Marshmallow building blocks shared by the services' API schemas."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema


class StrictSchema(Schema):
    """Input schemas reject unknown (and thus server-owned) fields."""

    class Meta:
        unknown = RAISE


def _plausible(value):
    # far-off years make time-zone arithmetic overflow and are never real case data
    if not 1900 <= value.year <= 2200:
        raise ValidationError("Give a date between the years 1900 and 2200.")


def Timestamp(**kw) -> fields.AwareDateTime:
    """An aware date-time (with a time zone) in a plausible range."""
    return fields.AwareDateTime(validate=_plausible, **kw)


def Day(**kw) -> fields.Date:
    return fields.Date(validate=_plausible, **kw)


class LocalizedText(StrictSchema):
    fi = fields.String(required=True, validate=validate.Length(min=1, max=500))
    sv = fields.String(validate=validate.Length(min=1, max=500))
    en = fields.String(validate=validate.Length(min=1, max=500))



class ProblemSchema(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict()


__all__ = ["StrictSchema", "LocalizedText", "Timestamp", "Day", "ProblemSchema", "ValidationError",
           "validates_schema", "fields", "validate"]

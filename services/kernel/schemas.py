"""Marshmallow building blocks shared by the services' API schemas."""
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate, validates_schema


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_has_nul(v) for v in value)
    return False


class StrictSchema(Schema):
    """Input schemas reject unknown (and thus server-owned) fields, and NUL characters
    (which no text field can store)."""

    class Meta:
        unknown = RAISE

    @pre_load(pass_collection=True)
    def _no_nul(self, data, **kwargs):
        if _has_nul(data if not hasattr(data, "to_dict") else data.to_dict(flat=False)):
            raise ValidationError("Text must not contain NUL characters.", field_name="_schema")
        return data


def _plausible(value):
    # far-off years make time-zone arithmetic overflow and are never real case data
    if not 1900 <= value.year <= 2200:
        raise ValidationError("Give a date between the years 1900 and 2200.")


def Timestamp(**kw) -> fields.AwareDateTime:
    """An aware date-time (with a time zone) in a plausible range."""
    return fields.AwareDateTime(validate=_plausible, **kw)


def Day(**kw) -> fields.Date:
    return fields.Date(validate=_plausible, **kw)


class Page(StrictSchema):
    """?page=&per_page= of a list (a service subclasses it for other bounds)."""
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


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


__all__ = ["StrictSchema", "Page", "LocalizedText", "Timestamp", "Day", "ProblemSchema", "ValidationError",
           "validates_schema", "fields", "validate"]

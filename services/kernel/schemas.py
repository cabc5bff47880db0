"""Marshmallow building blocks shared by the services' API schemas."""
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema


class StrictSchema(Schema):
    """Input schemas reject unknown (and thus server-owned) fields."""

    class Meta:
        unknown = RAISE


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


__all__ = ["StrictSchema", "LocalizedText", "ProblemSchema", "ValidationError",
           "validates_schema", "fields", "validate"]

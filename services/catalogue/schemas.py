from marshmallow import Schema, fields, validate

from services.kernel.schemas import LocalizedText, StrictSchema


class ServiceIn(StrictSchema):
    name = fields.Nested(LocalizedText, required=True)
    description = fields.Nested(LocalizedText)
    category = fields.String(validate=validate.Length(min=1, max=100))


class ServiceOut(Schema):
    id = fields.UUID()
    organization_id = fields.String()
    name = fields.Dict()
    description = fields.Dict()
    category = fields.String(allow_none=True)
    status = fields.String()
    version = fields.Integer()
    updated_at = fields.DateTime()


class DirectoryEntryOut(Schema):
    service_id = fields.UUID()
    organization_id = fields.String()
    name = fields.Dict()
    description = fields.Dict()
    category = fields.String(allow_none=True)
    status = fields.String()
    version = fields.Integer()
    published_at = fields.DateTime()
    received_at = fields.DateTime()

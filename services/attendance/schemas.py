from marshmallow import Schema, fields, validate

from services.kernel.schemas import StrictSchema, Timestamp

from .domain import KINDS


class EncounterIn(StrictSchema):
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    anonymous = fields.Boolean(load_default=True)
    participants = fields.Integer(load_default=1, validate=validate.Range(min=1, max=500))
    occurred_at = Timestamp(required=True)
    service_id = fields.UUID()


class EncounterOut(Schema):
    id = fields.UUID()
    organization_id = fields.String()
    kind = fields.String()
    anonymous = fields.Boolean()
    participants = fields.Integer()
    occurred_at = fields.DateTime()
    service_id = fields.UUID(allow_none=True)
    recorded_by = fields.String(allow_none=True)
    recorded_at = fields.DateTime()

from marshmallow import Schema, fields, validate

from services.kernel.schemas import StrictSchema

from .domain import AGE_BANDS


class ReferralIn(StrictSchema):
    service_id = fields.UUID(required=True)
    age_band = fields.String(required=True, validate=validate.OneOf(AGE_BANDS))
    note = fields.String(validate=validate.Length(max=2000))


class ReferralListArgs(StrictSchema):
    direction = fields.String(validate=validate.OneOf(["incoming", "outgoing"]))


class ReferralOut(Schema):
    id = fields.UUID()
    direction = fields.Function(lambda r: r.direction.value)
    from_org = fields.String()
    to_org = fields.String()
    service_id = fields.UUID()
    status = fields.Function(lambda r: r.status.value)
    age_band = fields.String()
    note = fields.String(allow_none=True)
    requested_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    created_by = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class TargetOut(Schema):
    service_id = fields.UUID()
    organization_id = fields.String()
    name_fi = fields.String()
    category = fields.String(allow_none=True)
    status = fields.String()
    version = fields.Integer()

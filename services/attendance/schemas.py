"""Attendance API schemas. Code lists come from the domain's codes.json, so the OpenAPI document names them."""
from marshmallow import Schema, fields, validate

from services.kernel.schemas import Day, Page as KernelPage, StrictSchema, Timestamp

from .domain import KINDS, POINTS, codes
from .domain.encounters import MAX_COUNT, MAX_DURATION_MINUTES

one_of = lambda name: validate.OneOf(codes.codes(name))  # noqa: E731
Code = lambda name, **kw: fields.String(validate=one_of(name), **kw)  # noqa: E731
Count = lambda **kw: fields.Integer(validate=validate.Range(min=1, max=MAX_COUNT), **kw)  # noqa: E731
Duration = lambda: fields.Integer(validate=validate.Range(min=1, max=MAX_DURATION_MINUTES))  # noqa: E731
CHANNELS = sorted(set(codes.codes("contact_channels")) | set(codes.codes("guidance_modes")))


class Page(KernelPage):
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class EncounterIn(StrictSchema):
    """Which fields a kind takes: README, "Attendance". A field a kind does not take is refused (422)."""
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    occurred_at = Timestamp(required=True)
    duration_minutes = Duration()
    service_id = fields.UUID()
    location_id = fields.UUID()
    worker = fields.String(validate=validate.Length(min=1, max=100))
    client_id = fields.UUID(metadata={"description": "the client's id in this organisation's referrals service"})
    count = Count(metadata={"description": "drop-in visitors, aid recipients (count_unit) or event participants"})
    age_band = Code("age_bands")
    gender = Code("genders")
    channel = fields.String(validate=validate.OneOf(CHANNELS),
                            metadata={"description": "contact: contact_channels; guidance, home visit: guidance_modes"})
    matters = fields.List(Code("matters"), validate=validate.Length(max=8))
    new_matter = fields.Boolean()
    status = fields.String(validate=validate.OneOf(("attended", "missed", "excused")))
    excuse_reason = Code("excuse_reasons")
    aid_kind = Code("aid_kinds")
    count_unit = Code("aid_units")
    format = Code("professional_formats")
    partner_orgs = fields.List(fields.String(validate=validate.Length(min=2, max=63)), validate=validate.Length(max=20))


class EncounterOut(Schema):
    id = fields.UUID()
    organization_id = fields.String()
    kind = fields.String()
    occurred_at = fields.DateTime()
    count = fields.Integer()
    anonymous = fields.Boolean()
    client_id = fields.UUID(allow_none=True)
    referral_id = fields.UUID(allow_none=True)
    service_id = fields.UUID(allow_none=True)
    location_id = fields.UUID(allow_none=True)
    duration_minutes = fields.Integer(allow_none=True)
    worker = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    matters = fields.List(fields.String())
    new_matter = fields.Boolean()
    status = fields.String(allow_none=True)
    excuse_reason = fields.String(allow_none=True)
    age_band = fields.String()
    gender = fields.String()
    aid_kind = fields.String(allow_none=True)
    count_unit = fields.String(allow_none=True)
    format = fields.String(allow_none=True)
    partner_orgs = fields.List(fields.String())
    recorded_by = fields.String(allow_none=True)
    recorded_at = fields.DateTime()
    voided_at = fields.DateTime(allow_none=True)


class EncounterListArgs(Page):
    kind = fields.String(validate=validate.OneOf(KINDS))
    client_id = fields.UUID()
    service_id = fields.UUID()
    location_id = fields.UUID()
    since = Timestamp()
    until = Timestamp()
    include_voided = fields.Boolean(load_default=False)


class EncounterPage(Schema):
    items = fields.List(fields.Nested(EncounterOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class PlaceOut(Schema):
    id = fields.String()
    name = fields.Dict(keys=fields.String(), values=fields.String())


class ServiceOut(Schema):
    service_id = fields.UUID()
    name = fields.Dict(keys=fields.String(), values=fields.String())
    locations = fields.List(fields.Nested(PlaceOut))
    status = fields.String()


class TallyArgs(StrictSchema):
    service_id = fields.UUID()


class TallyOut(Schema):
    day = fields.Date()
    total = fields.Integer()
    by_age_band = fields.Dict(keys=fields.String(), values=fields.Integer())
    by_gender = fields.Dict(keys=fields.String(), values=fields.Integer())
    last = fields.Nested(EncounterOut, allow_none=True, metadata={"description": "this worker's latest tap today"})


class GroupIn(StrictSchema):
    service_id = fields.UUID(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    starts_on = Day(required=True)
    ends_on = Day()
    location_id = fields.UUID()
    capacity = Count()


class GroupOut(Schema):
    id = fields.UUID()
    organization_id = fields.String()
    service_id = fields.UUID()
    name = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    location_id = fields.UUID(allow_none=True)
    capacity = fields.Integer(allow_none=True)
    created_by = fields.String(allow_none=True)
    created_at = fields.DateTime()


class GroupListArgs(StrictSchema):
    service_id = fields.UUID()
    active_on = Day()


class ParticipantIn(StrictSchema):
    client_id = fields.UUID(required=True)
    enrolled_on = Day()
    referral_id = fields.UUID(metadata={"description": "the referral to this organisation the client came by"})


class ParticipantOut(Schema):
    group_id = fields.UUID()
    client_id = fields.UUID()
    enrolled_on = fields.Date()
    left_on = fields.Date(allow_none=True)


class LeaveIn(StrictSchema):
    left_on = Day()


class SessionIn(StrictSchema):
    starts_at = Timestamp(required=True)
    duration_minutes = Duration()
    location_id = fields.UUID()
    worker = fields.String(validate=validate.Length(min=1, max=100))


class SessionOut(Schema):
    id = fields.UUID()
    group_id = fields.UUID()
    starts_at = fields.DateTime()
    duration_minutes = fields.Integer(allow_none=True)
    location_id = fields.UUID(allow_none=True)
    worker = fields.String(allow_none=True)
    status = fields.String()
    guests = fields.Integer()
    version = fields.Integer()


class GroupDetailOut(GroupOut):
    participants = fields.List(fields.Nested(ParticipantOut))
    sessions = fields.List(fields.Nested(SessionOut))


class MarkIn(StrictSchema):
    client_id = fields.UUID(required=True)
    mark = Code("marks", required=True)
    excuse_reason = Code("excuse_reasons")


class AttendanceIn(StrictSchema):
    marks = fields.List(fields.Nested(MarkIn), required=True, validate=validate.Length(max=MAX_COUNT))
    guests = fields.Integer(validate=validate.Range(min=0, max=MAX_COUNT))


class MarkOut(Schema):
    client_id = fields.UUID()
    mark = fields.String(allow_none=True)
    excuse_reason = fields.String(allow_none=True)


class AttendanceOut(Schema):
    session = fields.Nested(SessionOut)
    marks = fields.List(fields.Nested(MarkOut))


class LinkIn(StrictSchema):
    referral_id = fields.UUID(required=True)


class LinkOut(Schema):
    referral_id = fields.UUID()
    client_id = fields.UUID()
    from_org = fields.String()
    service_id = fields.UUID()
    linked_at = fields.DateTime()
    arrival = fields.String(allow_none=True)
    arrival_at = fields.DateTime(allow_none=True)
    missed = fields.Integer()


class IncomingOut(Schema):
    referral_id = fields.UUID()
    from_org = fields.String()
    service_id = fields.UUID()
    age_band = fields.String()
    requested_at = fields.DateTime()
    status = fields.String()
    linked_client_id = fields.UUID(allow_none=True)
    arrival = fields.String(allow_none=True)


class GuidanceIn(StrictSchema):
    since = Day()


class GuidanceEndIn(StrictSchema):
    ended_on = Day()


class GuidanceOut(Schema):
    client_id = fields.UUID()
    since = fields.Date()
    worker = fields.String(allow_none=True)
    ended_on = fields.Date(allow_none=True)


class NoContactArgs(StrictSchema):
    days = fields.Integer(validate=validate.Range(min=1, max=365))


class NoContactItem(Schema):
    client_id = fields.UUID()
    since = fields.Date()
    worker = fields.String(allow_none=True)
    last_contact = fields.DateTime(allow_none=True)
    days_without = fields.Integer()
    missed_since = fields.Integer()


class NoContactOut(Schema):
    days = fields.Integer()
    items = fields.List(fields.Nested(NoContactItem))


class MeasurementIn(StrictSchema):
    instrument = fields.String(required=True, validate=validate.Length(min=1, max=80),
                               metadata={"description": "id.vN of one of /api/v1/instruments"})
    point = fields.String(required=True, validate=validate.OneOf(POINTS))
    measured_at = Timestamp(required=True)
    scores = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=63)), values=fields.Raw(),
                         required=True, metadata={"description": "item id -> whole number on the scale"})


class MeasurementOut(Schema):
    id = fields.UUID()
    client_id = fields.UUID()
    series_id = fields.UUID()
    instrument = fields.String()
    instrument_id = fields.String()
    instrument_version = fields.Integer()
    scale_min = fields.Integer()
    scale_max = fields.Integer()
    point = fields.String()
    measured_at = fields.DateTime()
    scores = fields.Dict(keys=fields.String(), values=fields.Integer())
    recorded_by = fields.String(allow_none=True)
    recorded_at = fields.DateTime()


class ItemChange(Schema):
    baseline = fields.Integer()
    later = fields.Integer()
    change = fields.Integer()
    band_from = fields.String()
    band_to = fields.String()


class MeasurementsOut(Schema):
    measurements = fields.List(fields.Nested(MeasurementOut))
    changes = fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.Nested(ItemChange)),
                          metadata={"description": "per instrument (id.vN), per item: baseline to latest"})


class InstrumentOut(Schema):
    key = fields.String()
    id = fields.String()
    version = fields.Integer()
    name = fields.Dict(keys=fields.String(), values=fields.String())
    licence = fields.String()
    scale_min = fields.Integer()
    scale_max = fields.Integer()
    total_allowed = fields.Boolean()
    anchors = fields.Method("dump_anchors")
    bands = fields.Method("dump_bands")
    items = fields.Method("dump_items")

    def dump_anchors(self, i):
        return {str(k): v for k, v in i.anchors.items()}

    def dump_bands(self, i):
        return [{"id": b.id, "min": b.min, "max": b.max, "label": b.label} for b in i.bands]

    def dump_items(self, i):
        return [{"id": item, "text": text} for item, text in i.items]


class TimelineOut(Schema):
    client_id = fields.UUID()
    guidance = fields.Nested(GuidanceOut, allow_none=True)
    referrals = fields.List(fields.Nested(LinkOut))
    encounters = fields.List(fields.Nested(EncounterOut))
    sessions = fields.List(fields.Dict())
    measurements = fields.List(fields.Nested(MeasurementOut))

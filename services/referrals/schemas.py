from marshmallow import EXCLUDE, Schema, fields, validate

from services.kernel.auth import ACTING_FOR
from services.kernel.schemas import Day, Page, StrictSchema, Timestamp

from .domain import (AGE_BANDS, ARRIVALS, CATEGORIES, GENDERS, LANGUAGES, METHODS, OUTCOME_POINTS, OUTCOMES, PURPOSES,
                     REASONS, Decision, Direction, State)

CONSENT_STATUSES = ["valid", "not-yet-valid", "expired", "withdrawn", "denied"]

ALL_REASONS = sorted({r for rs in REASONS.values() for r in rs})


class ClientIn(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    identity_code = fields.String(required=True, validate=validate.Length(equal=11))
    date_of_birth = Day()
    municipality = fields.String(validate=validate.Length(max=100))
    phone = fields.String(validate=validate.Regexp(r"^\+?[0-9 ()-]{5,20}$"))
    email = fields.Email(validate=validate.Length(max=254))  # RFC 5321; it travels sealed, in a bounded field
    gender = fields.String(load_default="unknown", validate=validate.OneOf(GENDERS))
    language = fields.String(load_default="fi", validate=validate.OneOf(LANGUAGES))


MAX_IDS = 200   # a sibling service's page of named clients; 200 UUIDs, comma-separated, fit one request line


class UUIDList(fields.List):
    """UUIDs in a query: repeated (`ids=a&ids=b`), comma-separated (`ids=a,b`) or both."""

    def __init__(self, **kw):
        super().__init__(fields.UUID(), **kw)

    def _deserialize(self, value, attr, data, **kw):
        values = value if isinstance(value, (list, tuple)) else [value]
        parts = [p.strip() for v in values for p in (v.split(",") if isinstance(v, str) else [v])]
        return super()._deserialize([p for p in parts if p != ""], attr, data, **kw)


class ClientListArgs(Page):
    search = fields.String(validate=validate.Length(min=1, max=100))
    ids = UUIDList(validate=validate.Length(min=1, max=MAX_IDS, error=f"Give 1 to {MAX_IDS} client ids."),
                   metadata={"description": f"Only these clients (at most {MAX_IDS}; repeated or comma-separated). "
                                            "The answer then holds every one of them that exists, in one page: "
                                            "page and per_page apply to searches without ids."})


class ActingForHeaders(Schema):
    """A sibling service's call names the user it acts for (services.kernel.auth, Role.SERVICE)."""
    class Meta:
        unknown = EXCLUDE   # every other header

    acting_for = fields.String(data_key=ACTING_FOR, validate=validate.Length(min=1, max=100), metadata={
        "description": "With a service token (role service), required: the caseworker or manager of this "
                       "organisation the call is made for; the reads are logged as theirs, via the service"})


class ClientBase(Schema):
    """What every view of a client shows."""
    id = fields.UUID()
    name = fields.String()
    date_of_birth = fields.Date()
    municipality = fields.String(allow_none=True)
    gender = fields.String(metadata={"enum": list(GENDERS)})


class ClientListItemOut(ClientBase):
    """A client in a search result: enough to tell two namesakes apart, no identity code or contact. Also the
    client's card in a sibling service of the organisation (attendance shows the name, age band and gender)."""
    age_band = fields.Function(lambda c: c.age_band(), metadata={"type": "string", "enum": list(AGE_BANDS)})


class ClientOut(ClientBase):
    """The client's own record, for casework (never the pathway key: no role needs it)."""
    identity_code = fields.String()
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    language = fields.String()
    created_at = fields.DateTime()


class ConsentIn(StrictSchema):
    recipient_org = fields.String(required=True, validate=validate.Length(min=2, max=63))
    categories = fields.List(fields.String(validate=validate.OneOf(list(CATEGORIES))), required=True,
                             validate=validate.Length(min=1))
    purpose = fields.String(load_default="referral", validate=validate.OneOf(PURPOSES))
    decision = fields.String(load_default="granted", validate=validate.OneOf([d.value for d in Decision]))
    valid_from = Timestamp(required=True)
    valid_until = Timestamp(required=True)
    method = fields.String(required=True, validate=validate.OneOf(METHODS))


class ConsentOut(Schema):
    id = fields.UUID()
    client_id = fields.UUID()
    recipient_org = fields.String()
    categories = fields.List(fields.String())
    purpose = fields.String()
    decision = fields.Enum(Decision, by_value=True)
    valid_from = fields.DateTime()
    valid_until = fields.DateTime()
    method = fields.String()
    recorded_by = fields.String()
    recorded_at = fields.DateTime()
    withdrawn_at = fields.DateTime(allow_none=True)
    withdrawn_by = fields.String(allow_none=True)
    status = fields.Function(lambda c: c.status(), metadata={"type": "string", "enum": CONSENT_STATUSES})


class ClientDetailOut(ClientOut):
    consents = fields.List(fields.Nested(ConsentOut))


class ReferralIn(StrictSchema):
    client_id = fields.UUID(required=True)
    service_id = fields.UUID(required=True)
    categories = fields.List(fields.String(validate=validate.OneOf(list(CATEGORIES))),
                             metadata={"description": "Categories to disclose; default: all the consent covers"})
    note = fields.String(validate=validate.Length(max=2000))


class ReferralListArgs(Page):
    box = fields.String(validate=validate.OneOf(["incoming", "outgoing"]))
    state = fields.String(validate=validate.OneOf([s.value for s in State]))
    service_id = fields.UUID()
    since = Timestamp()
    until = Timestamp()


class ActionIn(StrictSchema):
    reason_code = fields.String(validate=validate.OneOf(ALL_REASONS))
    reason_text = fields.String(validate=validate.Length(max=1000))


class OutcomeIn(StrictSchema):
    point = fields.String(required=True, validate=validate.OneOf(OUTCOME_POINTS))
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    detail = fields.String(validate=validate.Length(max=1000))


class ReferralOut(Schema):
    id = fields.UUID()
    box = fields.Enum(Direction, by_value=True, attribute="direction")
    from_org = fields.String()
    to_org = fields.String()
    service_id = fields.UUID()
    state = fields.Enum(State, by_value=True, attribute="status")
    age_band = fields.String()
    gender = fields.String()
    categories = fields.List(fields.String())
    reason_code = fields.String(allow_none=True)
    requested_at = fields.DateTime(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    escalated_at = fields.DateTime(allow_none=True)
    arrival = fields.String(allow_none=True, validate=validate.OneOf(ARRIVALS), metadata={
        "description": "Whether the client came, as the receiver's attendance told: null until it tells"})
    arrived_at = fields.DateTime(allow_none=True, metadata={"description": "arrived: the first attended encounter"})
    missed_sessions = fields.Integer(allow_none=True, metadata={
        "description": "Invited sessions the client missed before arriving, or before not-arrived was told"})
    created_by = fields.String(allow_none=True)
    updated_at = fields.DateTime()


class ReferralPage(Schema):
    items = fields.List(fields.Nested(ReferralOut))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class HistoryOut(Schema):
    from_state = fields.String(allow_none=True)
    to_state = fields.String()
    reason_code = fields.String(allow_none=True)
    reason_text = fields.String(allow_none=True)
    by_org = fields.String()
    by_user = fields.String(allow_none=True)
    at = fields.DateTime()


class ArrivalOut(Schema):
    """One thing the receiver's attendance told of the client's arrival (a later arrival follows a not-arrived)."""
    arrival = fields.String(validate=validate.OneOf(ARRIVALS))
    at = fields.DateTime(metadata={"description": "arrived: the first attended encounter began; not-arrived: the "
                                                  "last missed session began"})
    missed = fields.Integer(allow_none=True)
    by_org = fields.String()


class OutcomeOut(Schema):
    id = fields.UUID()
    point = fields.String()
    outcome = fields.String()
    detail = fields.String(allow_none=True)
    by_org = fields.String()
    recorded_by = fields.String(allow_none=True)
    recorded_at = fields.DateTime()


class PersonalOut(Schema):
    """What the sender disclosed under the consent (each field only if its category was consented)."""
    name = fields.String()
    identity_code = fields.String()
    date_of_birth = fields.String()
    municipality = fields.String()
    phone = fields.String()
    email = fields.String()
    gender = fields.String()
    language = fields.String()
    note = fields.String()


class ClientRefOut(Schema):
    """The sender's own client of a referral: who it is, to open their record."""
    id = fields.UUID()
    name = fields.String()


class ReferralDetailOut(Schema):
    referral = fields.Nested(ReferralOut)
    personal = fields.Nested(PersonalOut, attribute="referral.personal", allow_none=True,
                             metadata={"description": "Receiver: the consented data (null once restricted)"})
    restricted_at = fields.DateTime(attribute="referral.restricted_at", allow_none=True)
    reason_text = fields.String(attribute="referral.reason_text", allow_none=True)
    client = fields.Nested(ClientRefOut, allow_none=True, metadata={"description": "Sender: the local client"})
    service_name = fields.String(allow_none=True)
    history = fields.List(fields.Nested(HistoryOut))
    arrivals = fields.List(fields.Nested(ArrivalOut), metadata={"description": "In the order they were told"})
    outcomes = fields.List(fields.Nested(OutcomeOut))


class CapacityOut(Schema):
    available = fields.Integer(allow_none=True)
    maximum = fields.Integer(allow_none=True)
    waitlist = fields.Integer(allow_none=True)


class TargetOut(Schema):
    service_id = fields.UUID()
    organization_id = fields.String()
    name_fi = fields.String()
    categories = fields.List(fields.String())
    areas = fields.List(fields.String())
    referral_required = fields.Boolean(allow_none=True)
    capacity = fields.Nested(CapacityOut, allow_none=True)
    status = fields.String()
    version = fields.Integer()


class AccessRow(Schema):
    at = fields.DateTime()
    username = fields.String()
    org_id = fields.String()
    role = fields.String()
    subject = fields.String()
    action = fields.String()
    purpose = fields.String(allow_none=True)
    result = fields.String()


class DisclosureRow(Schema):
    at = fields.DateTime()
    referral_id = fields.UUID(allow_none=True)
    recipient_org = fields.String()
    categories = fields.List(fields.String())
    consent_id = fields.UUID()
    username = fields.String()


class ReportClientOut(Schema):
    """Whom the registrar's report is about: the client's name and identity code, as on the printout."""
    id = fields.UUID()
    name = fields.String()
    identity_code = fields.String()


class DataReportOut(Schema):
    client = fields.Nested(ReportClientOut)
    organisation = fields.String()
    generated_at = fields.DateTime()
    accesses = fields.List(fields.Nested(AccessRow))
    disclosures = fields.List(fields.Nested(DisclosureRow))


NEWEST = "The newest of them; `totals` counts all."


class InboxTotals(Schema):
    incoming = fields.Integer(metadata={"description": "Incoming referrals awaiting an answer, all of them."})
    awaiting_answer = fields.Integer(metadata={"description": "Sent referrals awaiting an answer, all of them."})
    notifications = fields.Integer(metadata={"description": "Unread notifications, all of them."})


class FollowUpOut(Schema):
    referral = fields.Nested(ReferralOut)
    point = fields.String(metadata={"description": "The outcome point that is due"})


class NotificationOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    referral_id = fields.UUID()
    created_at = fields.DateTime()


class InboxOut(Schema):
    """Referrals as in lists (no personal data: the referral's own page shows it, and logs it)."""
    incoming = fields.List(fields.Nested(ReferralOut), metadata={"description": NEWEST})
    awaiting_answer = fields.List(fields.Nested(ReferralOut), metadata={"description": NEWEST})
    escalated = fields.List(fields.Nested(ReferralOut))
    followups_due = fields.List(fields.Nested(FollowUpOut))
    notifications = fields.List(fields.Nested(NotificationOut),
                                metadata={"description": "The newest unread; `totals` counts all."})
    totals = fields.Nested(InboxTotals, metadata={"description": "How many of each list there are in all."})


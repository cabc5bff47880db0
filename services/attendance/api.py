"""Attendance HTTP API: thin handlers that parse, call one use case, serialise."""
from flask import current_app, request
from flask_smorest import Blueprint

from services.kernel.auth import Role, current_actor, requires
from services.kernel.errors import Invalid
from services.kernel.http_app import new_uow, request_purpose as purpose

from . import service
from .schemas import (AttendanceIn, AttendanceOut, EncounterIn, EncounterListArgs, EncounterOut, EncounterPage,
                      GroupDetailOut, GroupIn, GroupListArgs, GroupOut, GuidanceEndIn, GuidanceIn, GuidanceOut,
                      IncomingOut, InstrumentOut, LeaveIn, LinkIn, LinkOut, MeasurementIn, MeasurementOut,
                      MeasurementsOut, NoContactArgs, NoContactOut, ParticipantIn, ParticipantOut, ServiceOut,
                      SessionIn, SessionOut, TallyArgs, TallyOut, TimelineOut)

bp = Blueprint("attendance", __name__, url_prefix="/api/v1",
               description="Encounters, groups and sessions, guidance, life-situation measures")
SECURITY = [{"bearer": []}]
CASEWORK = (Role.CASEWORKER, Role.MANAGER)
DIRECTORY, CONFIG = "yhd.directory", "yhd.attendance"


def directory():
    return current_app.extensions.get(DIRECTORY)


def config() -> service.AttendanceConfig:
    return current_app.extensions[CONFIG]


def idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 8 <= len(key.strip()) <= 100:
        raise Invalid("Idempotency-Key is 8 to 100 characters (a UUID will do).", code="bad-idempotency-key")
    return key.strip() if key else None


# -- encounters --------------------------------------------------------------------------------------------
@bp.post("/encounters")
@requires(*CASEWORK)
@bp.arguments(EncounterIn)
@bp.response(201, EncounterOut)
@bp.alt_response(200, schema=EncounterOut, description="The same Idempotency-Key again: the encounter stored then")
@bp.doc(security=SECURITY, parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"},
                                        "description": "a tap repeated after a dropped connection counts once"}])
def record(body):
    e, created = service.record_encounter(new_uow, current_actor(), body, directory=directory(), config=config(),
                                          idempotency_key=idempotency_key(), purpose=purpose())
    return e, 201 if created else 200


@bp.get("/encounters")
@requires(*CASEWORK)
@bp.arguments(EncounterListArgs, location="query")
@bp.response(200, EncounterPage)
@bp.doc(security=SECURITY)
def list_encounters(args):
    page, per_page = args.pop("page"), args.pop("per_page")
    items, total = service.list_encounters(new_uow, current_actor(), limit=per_page, offset=(page - 1) * per_page,
                                           purpose=purpose(), **args)
    return {"items": items, "total": total, "page": page, "per_page": per_page}


@bp.post("/encounters/<uuid:encounter_id>/void")
@requires(*CASEWORK)
@bp.response(200, EncounterOut)
@bp.doc(security=SECURITY)
def void(encounter_id):
    """Undo an entry (the recorder, or a manager, within 12 hours)."""
    return service.void_encounter(new_uow, current_actor(), encounter_id, purpose=purpose())


@bp.get("/services")
@requires(*CASEWORK)
@bp.response(200, ServiceOut(many=True))
@bp.doc(security=SECURITY)
def services():
    """This organisation's catalogue services and their places: where an encounter can be recorded."""
    return service.own_services(new_uow)


@bp.get("/tally")
@requires(*CASEWORK)
@bp.arguments(TallyArgs, location="query")
@bp.response(200, TallyOut)
@bp.doc(security=SECURITY)
def tally(args):
    """Today's drop-in visitors (Finnish day)."""
    return service.tally(new_uow, current_actor(), args.get("service_id"))


# -- groups and sessions -----------------------------------------------------------------------------------
@bp.post("/groups")
@requires(*CASEWORK)
@bp.arguments(GroupIn)
@bp.response(201, GroupOut)
@bp.doc(security=SECURITY)
def create_group(body):
    return service.create_group(new_uow, current_actor(), body)


@bp.get("/groups")
@requires(*CASEWORK)
@bp.arguments(GroupListArgs, location="query")
@bp.response(200, GroupOut(many=True))
@bp.doc(security=SECURITY)
def list_groups(args):
    return service.list_groups(new_uow, **args)


@bp.get("/groups/<uuid:group_id>")
@requires(*CASEWORK)
@bp.response(200, GroupDetailOut)
@bp.doc(security=SECURITY)
def get_group(group_id):
    view = service.get_group(new_uow, current_actor(), group_id, purpose=purpose())
    return {**view["group"].__dict__, "participants": view["participants"], "sessions": view["sessions"]}


@bp.post("/groups/<uuid:group_id>/participants")
@requires(*CASEWORK)
@bp.arguments(ParticipantIn)
@bp.response(201, ParticipantOut)
@bp.doc(security=SECURITY)
def enrol(body, group_id):
    return service.enrol_client(new_uow, current_actor(), group_id, body["client_id"], on=body.get("enrolled_on"),
                                referral_id=body.get("referral_id"), directory=directory(), purpose=purpose())


@bp.post("/groups/<uuid:group_id>/participants/<uuid:client_id>/leave")
@requires(*CASEWORK)
@bp.arguments(LeaveIn)
@bp.response(200, ParticipantOut)
@bp.doc(security=SECURITY)
def leave(body, group_id, client_id):
    return service.remove_participant(new_uow, current_actor(), group_id, client_id, on=body.get("left_on"),
                                      purpose=purpose())


@bp.post("/groups/<uuid:group_id>/sessions")
@requires(*CASEWORK)
@bp.arguments(SessionIn)
@bp.response(201, SessionOut)
@bp.doc(security=SECURITY)
def plan_session(body, group_id):
    return service.plan_session(new_uow, current_actor(), group_id, body)


@bp.get("/groups/<uuid:group_id>/sessions")
@requires(*CASEWORK)
@bp.response(200, SessionOut(many=True))
@bp.doc(security=SECURITY)
def list_sessions(group_id):
    return service.list_sessions(new_uow, group_id)


@bp.get("/sessions/<uuid:session_id>/attendance")
@requires(*CASEWORK)
@bp.response(200, AttendanceOut)
@bp.doc(security=SECURITY)
def get_attendance(session_id):
    """Everyone enrolled on the session's day, with their mark (none yet: null)."""
    view = service.get_session(new_uow, current_actor(), session_id, purpose=purpose())
    return _attendance(view["session"], view["marks"], [p.client_id for p in view["enrolled"]])


@bp.put("/sessions/<uuid:session_id>/attendance")
@requires(*CASEWORK)
@bp.arguments(AttendanceIn)
@bp.response(200, AttendanceOut)
@bp.doc(security=SECURITY)
def take_attendance(body, session_id):
    """A mark for every participant enrolled on the session's day (attended / excused with a reason / absent)
    and the count of unregistered guests; the session is then held. Saving again corrects it."""
    view = service.take_attendance(new_uow, current_actor(), session_id, service.parse_marks(body["marks"]),
                                   guests=body.get("guests"), config=config(), purpose=purpose())
    return _attendance(view["session"], view["marks"], list(view["marks"]))


@bp.post("/sessions/<uuid:session_id>/cancel")
@requires(*CASEWORK)
@bp.response(200, SessionOut)
@bp.doc(security=SECURITY)
def cancel_session(session_id):
    return service.cancel_session(new_uow, current_actor(), session_id)


def _attendance(session, marks: dict, clients: list) -> dict:
    rows = [{"client_id": c, "mark": marks[c].mark if c in marks else None,
             "excuse_reason": marks[c].excuse_reason if c in marks else None} for c in clients]
    return {"session": session, "marks": rows}


# -- clients: referrals they came by, guidance, measures, timeline ------------------------------------------
@bp.get("/referrals/incoming")
@requires(*CASEWORK)
@bp.response(200, IncomingOut(many=True))
@bp.doc(security=SECURITY)
def incoming():
    """Open referrals to this organisation (no personal data: that is in the referrals service), with the
    client each is linked to here."""
    return [{**r.__dict__, "linked_client_id": link.client_id if link else None,
             "arrival": link.arrival if link else None} for r, link in service.incoming_referrals(new_uow)]


@bp.post("/clients/<uuid:client_id>/referrals")
@requires(*CASEWORK)
@bp.arguments(LinkIn)
@bp.response(201, LinkOut)
@bp.doc(security=SECURITY)
def link_referral(body, client_id):
    """The client came by this referral: their first attended encounter here tells its sender "arrived"."""
    return service.link_referral(new_uow, current_actor(), client_id, body["referral_id"], directory=directory(),
                                 purpose=purpose())


@bp.post("/clients/<uuid:client_id>/guidance")
@requires(*CASEWORK)
@bp.arguments(GuidanceIn)
@bp.response(201, GuidanceOut)
@bp.doc(security=SECURITY)
def begin_guidance(body, client_id):
    return service.begin_guidance(new_uow, current_actor(), client_id, since=body.get("since"),
                                  directory=directory(), purpose=purpose())


@bp.post("/clients/<uuid:client_id>/guidance/end")
@requires(*CASEWORK)
@bp.arguments(GuidanceEndIn)
@bp.response(200, GuidanceOut)
@bp.doc(security=SECURITY)
def end_guidance(body, client_id):
    return service.end_guidance(new_uow, current_actor(), client_id, on=body.get("ended_on"), purpose=purpose())


@bp.get("/guidance/no-contact")
@requires(*CASEWORK)
@bp.arguments(NoContactArgs, location="query")
@bp.response(200, NoContactOut)
@bp.doc(security=SECURITY)
def no_contact(args):
    """Clients in individual guidance with no contact for more than `days` days (default GUIDANCE_CONTACT_DAYS)."""
    found, days = service.no_contact(new_uow, current_actor(), days=args.get("days"), config=config(),
                                     purpose=purpose())
    return {"days": days, "items": [{**o.client.__dict__, "days_without": o.days_without} for o in found]}


@bp.get("/clients/<uuid:client_id>/measurements")
@requires(*CASEWORK)
@bp.response(200, MeasurementsOut)
@bp.doc(security=SECURITY)
def list_measurements(client_id):
    return service.client_measurements(new_uow, current_actor(), client_id, config=config(), purpose=purpose())


@bp.post("/clients/<uuid:client_id>/measurements")
@requires(*CASEWORK)
@bp.arguments(MeasurementIn)
@bp.response(201, MeasurementOut)
@bp.doc(security=SECURITY)
def record_measurement(body, client_id):
    return service.record_measurement(new_uow, current_actor(), client_id, body, config=config(),
                                      directory=directory(), purpose=purpose())


@bp.get("/clients/<uuid:client_id>/timeline")
@requires(*CASEWORK)
@bp.response(200, TimelineOut)
@bp.doc(security=SECURITY)
def timeline(client_id):
    view = service.timeline(new_uow, current_actor(), client_id, config=config(), purpose=purpose())
    sessions = [{"session_id": str(x["session"].id), "group_name": x["group_name"],
                 "starts_at": x["session"].starts_at.isoformat(), "mark": x["mark"].mark,
                 "excuse_reason": x["mark"].excuse_reason} for x in view["entries"] if x["type"] == "session"]
    encounters = [x["encounter"] for x in view["entries"] if x["type"] == "encounter"]
    return {**view, "encounters": encounters, "sessions": sessions}


@bp.get("/instruments")
@requires()
@bp.response(200, InstrumentOut(many=True))
@bp.doc(security=SECURITY)
def instruments():
    """Life-situation instruments: the project's own and the organisation's licensed ones (INSTRUMENTS_DIR)."""
    return list(service.instruments(config()).values())

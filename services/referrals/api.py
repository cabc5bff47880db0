"""Referrals HTTP API: thin handlers that parse, call one use case, serialise."""
from flask_smorest import Blueprint

from services.kernel.auth import Role, current_actor, requires
from services.kernel.http_app import new_uow, request_purpose as purpose

from . import service
from .schemas import (ActingForHeaders, ActionIn, ClientDetailOut, ClientIn, ClientListArgs, ClientListItemOut, ClientOut, ConsentIn,
                      ConsentOut, DataReportOut, HistoryOut, InboxOut, OutcomeIn, OutcomeOut, ReferralDetailOut, ReferralIn,
                      ReferralListArgs, ReferralOut, ReferralPage, TargetOut)

bp = Blueprint("referrals", __name__, url_prefix="/api/v1", description="Clients, consents and referrals")
SECURITY = [{"bearer": []}]
CASEWORK = (Role.CASEWORKER, Role.MANAGER)   # never Role.SERVICE: a route lets a sibling service in by naming it


@bp.post("/clients")
@requires(*CASEWORK)
@bp.arguments(ClientIn)
@bp.response(201, ClientOut)
@bp.doc(security=SECURITY)
def register_client(body):
    return service.register_client(new_uow, current_actor(), body, purpose=purpose())


@bp.get("/clients")
@requires(*CASEWORK, Role.SERVICE)   # the organisation's attendance, for a caseworker (X-Acting-For)
@bp.arguments(ClientListArgs, location="query")
@bp.arguments(ActingForHeaders, location="headers")   # documents the header; `requires` has checked it
@bp.response(200, ClientListItemOut(many=True))
@bp.doc(security=SECURITY)
def list_clients(args, _headers):
    """Search clients, or fetch named ones (`ids`). A sibling service of the organisation may call this with
    its own token, acting for a caseworker or manager it names in X-Acting-For; the reads are logged as theirs."""
    return service.list_clients(new_uow, current_actor(), args.get("search"), args["per_page"],
                                (args["page"] - 1) * args["per_page"], ids=args.get("ids"), purpose=purpose())[0]


@bp.get("/clients/<uuid:client_id>")
@requires(*CASEWORK)
@bp.response(200, ClientDetailOut)
@bp.doc(security=SECURITY)
def get_client(client_id):
    client, consents = service.get_client(new_uow, current_actor(), client_id, purpose=purpose())
    return {**client.__dict__, "consents": consents}


@bp.get("/clients/<uuid:client_id>/consents")
@requires(*CASEWORK)
@bp.response(200, ConsentOut(many=True))
@bp.doc(security=SECURITY)
def list_consents(client_id):
    return service.get_client(new_uow, current_actor(), client_id, purpose=purpose(), logged_as="consent.list")[1]


@bp.post("/clients/<uuid:client_id>/consents")
@requires(*CASEWORK)
@bp.arguments(ConsentIn)
@bp.response(201, ConsentOut)
@bp.doc(security=SECURITY)
def record_consent(body, client_id):
    return service.record_consent(new_uow, current_actor(), client_id, body, purpose=purpose())


@bp.post("/clients/<uuid:client_id>/consents/<uuid:consent_id>/withdraw")
@requires(*CASEWORK)
@bp.response(200, ConsentOut)
@bp.doc(security=SECURITY)
def withdraw_consent(client_id, consent_id):
    return service.withdraw_consent(new_uow, current_actor(), client_id, consent_id, purpose=purpose())


@bp.get("/clients/<uuid:client_id>/data-report")
@requires(Role.REGISTRAR)
@bp.response(200, DataReportOut)
@bp.doc(security=SECURITY)
def data_report(client_id):
    """Who used and who received the client's data (registrar)."""
    return service.data_report(new_uow, current_actor(), client_id, purpose=purpose())


@bp.post("/referrals")
@requires(*CASEWORK)
@bp.arguments(ReferralIn)
@bp.response(201, ReferralOut)
@bp.doc(security=SECURITY)
def send(body):
    return service.send_referral(new_uow, current_actor(), body["client_id"], body["service_id"],
                                 body.get("categories"), body.get("note"), purpose=purpose())


@bp.get("/referrals")
@requires(*CASEWORK)
@bp.arguments(ReferralListArgs, location="query")
@bp.response(200, ReferralPage)
@bp.doc(security=SECURITY)
def list_referrals(args):
    page, per_page = args.pop("page"), args.pop("per_page")
    items, total = service.list_referrals(new_uow, current_actor(), box=args.get("box"), status=args.get("state"),
                                          service_id=args.get("service_id"), since=args.get("since"),
                                          until=args.get("until"), limit=per_page, offset=(page - 1) * per_page,
                                          purpose=purpose())
    return {"items": items, "total": total, "page": page, "per_page": per_page}


@bp.get("/referrals/<uuid:referral_id>")
@requires(*CASEWORK)
@bp.response(200, ReferralDetailOut)
@bp.doc(security=SECURITY)
def get_referral(referral_id):
    return service.get_referral(new_uow, current_actor(), referral_id, purpose=purpose())


@bp.get("/referrals/<uuid:referral_id>/history")
@requires(*CASEWORK)
@bp.response(200, HistoryOut(many=True))
@bp.doc(security=SECURITY)
def referral_history(referral_id):
    return service.history(new_uow, current_actor(), referral_id, purpose=purpose())


@bp.post("/referrals/<uuid:referral_id>/<any(accept,reject,start,hold,complete,fail,cancel):action>")
@requires(*CASEWORK)
@bp.arguments(ActionIn)
@bp.response(200, ReferralOut)
@bp.doc(security=SECURITY)
def act(body, referral_id, action):
    """accept | reject | start | hold | complete | fail | cancel; reject, cancel, hold and fail need a reason_code."""
    return service.act_on_referral(new_uow, current_actor(), referral_id, action, body.get("reason_code"),
                                   body.get("reason_text"), purpose=purpose())


@bp.post("/referrals/<uuid:referral_id>/outcomes")
@requires(*CASEWORK)
@bp.arguments(OutcomeIn)
@bp.response(201, OutcomeOut)
@bp.doc(security=SECURITY)
def record_outcome(body, referral_id):
    return service.record_outcome(new_uow, current_actor(), referral_id, body["point"], body["outcome"],
                                  body.get("detail"), purpose=purpose())


@bp.get("/targets")
@requires()
@bp.response(200, TargetOut(many=True))
@bp.doc(security=SECURITY)
def targets():
    """Services of the federation a referral can be sent to (from the catalogue events)."""
    return service.list_targets(new_uow)


@bp.get("/inbox")
@requires(*CASEWORK)
@bp.response(200, InboxOut)
@bp.doc(security=SECURITY)
def inbox():
    """What needs action: new incoming, awaiting answer, escalated, follow-ups due."""
    return service.inbox(new_uow, current_actor(), purpose=purpose())

"""Referrals HTTP API: thin handlers that parse, call one use case, serialise."""
from flask_smorest import Blueprint

from services.kernel.auth import Role, current_actor, requires
from services.kernel.web import request_uow as _uow

from . import service
from .schemas import ReferralIn, ReferralListArgs, ReferralOut, TargetOut

bp = Blueprint("referrals", __name__, url_prefix="/api/v1", description="Send and receive referrals")
SECURITY = [{"bearer": []}]


@bp.post("/referrals")
@requires(Role.CASEWORKER, Role.MANAGER)
@bp.arguments(ReferralIn)
@bp.response(201, ReferralOut)
@bp.doc(security=SECURITY)
def send(body):
    return service.send_referral(_uow, current_actor(), body["service_id"], body["age_band"], body.get("note"))


@bp.get("/referrals")
@requires(Role.CASEWORKER, Role.MANAGER)
@bp.arguments(ReferralListArgs, location="query")
@bp.response(200, ReferralOut(many=True))
@bp.doc(security=SECURITY)
def list_referrals(args):
    return service.list_referrals(_uow, current_actor(), args.get("direction"))


@bp.get("/referrals/<uuid:referral_id>")
@requires(Role.CASEWORKER, Role.MANAGER)
@bp.response(200, ReferralOut)
@bp.doc(security=SECURITY)
def get_referral(referral_id):
    return service.get_referral(_uow, current_actor(), referral_id)


@bp.get("/targets")
@requires()
@bp.response(200, TargetOut(many=True))
@bp.doc(security=SECURITY)
def targets():
    """Services of the federation a referral can be sent to (from the catalogue events)."""
    return service.list_targets(_uow)

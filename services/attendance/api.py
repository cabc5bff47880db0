"""Attendance HTTP API."""
from flask_smorest import Blueprint

from services.kernel.auth import Role, current_actor, requires
from services.kernel.http_app import new_uow

from . import service
from .schemas import EncounterIn, EncounterOut

bp = Blueprint("attendance", __name__, url_prefix="/api/v1", description="Record encounters")
SECURITY = [{"bearer": []}]


@bp.post("/encounters")
@requires(Role.CASEWORKER, Role.MANAGER)
@bp.arguments(EncounterIn)
@bp.response(201, EncounterOut)
@bp.doc(security=SECURITY)
def record(body):
    return service.record_encounter(new_uow, current_actor(), **body)


@bp.get("/encounters")
@requires(Role.CASEWORKER, Role.MANAGER)
@bp.response(200, EncounterOut(many=True))
@bp.doc(security=SECURITY)
def list_encounters():
    return service.list_encounters(new_uow)

"""Attendance HTTP API."""
from flask import current_app
from flask_smorest import Blueprint

from services.kernel.auth import Role, current_actor, requires

from . import service
from .schemas import EncounterIn, EncounterOut

bp = Blueprint("attendance", __name__, url_prefix="/api/v1", description="Record encounters")
SECURITY = [{"bearer": []}]


def _uow():
    return current_app.extensions["yhd"].uow()


@bp.post("/encounters")
@requires(Role.CASEWORKER, Role.MANAGER)
@bp.arguments(EncounterIn)
@bp.response(201, EncounterOut)
@bp.doc(security=SECURITY)
def record(body):
    return service.record_encounter(_uow, current_actor(), **body)


@bp.get("/encounters")
@requires(Role.CASEWORKER, Role.MANAGER)
@bp.response(200, EncounterOut(many=True))
@bp.doc(security=SECURITY)
def list_encounters():
    return service.list_encounters(_uow)

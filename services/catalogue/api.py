"""Catalogue HTTP API: thin handlers that parse, call one use case, serialise."""
from flask_smorest import Blueprint

from services.kernel.auth import Role, current_actor, requires
from services.kernel.web import request_uow as _uow

from . import service
from .schemas import DirectoryEntryOut, ServiceIn, ServiceOut

bp = Blueprint("catalogue", __name__, url_prefix="/api/v1", description="Publish services and read the federation's")
EDITORS = (Role.MANAGER, Role.CASEWORKER)


@bp.post("/services")
@requires(*EDITORS)
@bp.arguments(ServiceIn)
@bp.response(201, ServiceOut)
@bp.doc(security=[{"bearer": []}])
def publish(body):
    return service.publish_service(_uow, current_actor(), body["name"], body.get("description"), body.get("category"))


@bp.get("/services")
@requires()
@bp.response(200, ServiceOut(many=True))
@bp.doc(security=[{"bearer": []}])
def list_own():
    return service.own_services(_uow)


@bp.get("/services/<uuid:service_id>")
@requires()
@bp.response(200, ServiceOut)
@bp.doc(security=[{"bearer": []}])
def get_own(service_id):
    return service.get_service(_uow, service_id)


@bp.post("/services/<uuid:service_id>/withdraw")
@requires(*EDITORS)
@bp.response(200, ServiceOut)
@bp.doc(security=[{"bearer": []}])
def withdraw(service_id):
    return service.withdraw_service(_uow, current_actor(), service_id)


@bp.get("/directory")
@bp.response(200, DirectoryEntryOut(many=True))
def federation_directory():
    """Every organisation's published services, as this instance has learnt them from events (public)."""
    return service.directory(_uow)

"""Catalogue publishing API: thin handlers that parse, call one use case, serialise.

Everything here is the caller's own organisation's catalogue: another
organisation's service or location id is not found (404), never editable.
"""
from flask_smorest import Blueprint
from marshmallow import fields, validate

from services.kernel.auth import Role, current_actor, requires
from services.kernel.schemas import StrictSchema
from services.kernel.http_app import new_uow

from . import service
from .domain import DRAFT, STATUSES, WITHDRAWN
from .schemas import LocationIn, LocationOut, ServiceCreate, ServiceIn, ServiceOut, StatusChange

bp = Blueprint("catalogue", __name__, url_prefix="/api/v1",
               description="Publish the organisation's services, locations and opening hours")
EDITORS = (Role.MANAGER, Role.CASEWORKER)
SECURED = {"security": [{"bearer": []}]}


class StatusFilter(StrictSchema):
    status = fields.String(validate=validate.OneOf(STATUSES))


@bp.post("/services")
@requires(*EDITORS)
@bp.arguments(ServiceCreate)
@bp.response(201, ServiceOut)
@bp.doc(**SECURED)
def create_service(body):
    """Create a service: published at once (status active) or kept as a draft."""
    status = body.pop("status")
    return service.create_service(new_uow, current_actor(), body, status)


@bp.get("/services")
@requires()
@bp.arguments(StatusFilter, location="query")
@bp.response(200, ServiceOut(many=True))
@bp.doc(**SECURED)
def list_services(args):
    return service.own_services(new_uow, args.get("status"))


@bp.get("/services/<uuid:service_id>")
@requires()
@bp.response(200, ServiceOut)
@bp.doc(**SECURED)
def get_service(service_id):
    return service.get_service(new_uow, service_id)


@bp.put("/services/<uuid:service_id>")
@requires(*EDITORS)
@bp.arguments(ServiceIn)
@bp.response(200, ServiceOut)
@bp.doc(**SECURED)
def update_service(body, service_id):
    """Replace the description; a public service is announced again with a new version."""
    return service.update_service(new_uow, current_actor(), service_id, body)


def _status_route(action: str, doc: str):
    def view(body, service_id):
        return service.change_status(new_uow, current_actor(), service_id, action, body.get("reason"))
    view.__name__ = f"{action}_service"
    view.__doc__ = doc
    view = bp.doc(**SECURED)(bp.response(200, ServiceOut)(bp.arguments(StatusChange, required=False)(view)))
    bp.post(f"/services/<uuid:service_id>/{action}")(requires(*EDITORS)(view))


_status_route("publish", f"Publish a {DRAFT}.")
_status_route("close", "Close temporarily (still listed, shown as closed, with the reason).")
_status_route("reopen", "Reopen a temporarily closed service.")
_status_route("withdraw", f"Withdraw: {WITHDRAWN} services disappear from every instance's directory.")


@bp.post("/locations")
@requires(*EDITORS)
@bp.arguments(LocationIn)
@bp.response(201, LocationOut)
@bp.doc(**SECURED)
def create_location(body):
    return service.create_location(new_uow, current_actor(), body)


@bp.get("/locations")
@requires()
@bp.response(200, LocationOut(many=True))
@bp.doc(**SECURED)
def list_locations():
    return service.own_locations(new_uow)


@bp.get("/locations/<uuid:location_id>")
@requires()
@bp.response(200, LocationOut)
@bp.doc(**SECURED)
def get_location(location_id):
    return service.get_location(new_uow, location_id)


@bp.put("/locations/<uuid:location_id>")
@requires(*EDITORS)
@bp.arguments(LocationIn)
@bp.response(200, LocationOut)
@bp.doc(**SECURED)
def update_location(body, location_id):
    """Change a location; every public service given there is announced again."""
    return service.update_location(new_uow, current_actor(), location_id, body)


@bp.delete("/locations/<uuid:location_id>")
@requires(*EDITORS)
@bp.response(204)
@bp.doc(**SECURED)
def remove_location(location_id):
    """Remove a location no service (other than withdrawn ones) is given at; 409 location-in-use otherwise."""
    service.remove_location(new_uow, current_actor(), location_id)

"""Reporting: counts per organisation and event type, as JSON and as a dashboard page."""
from flask import current_app, render_template
from flask_smorest import Blueprint

from services.kernel.http_app import new_uow

from . import service

bp = Blueprint("reporting", __name__, url_prefix="/api/v1", description="Regional indicators")
pages = Blueprint("reporting_pages", __name__, template_folder="templates")


@bp.get("/counts")
@bp.response(200)
def counts():
    """Events per organisation and type; people-related counts under 5 are shown as "<5"."""
    return service.counts(new_uow)


@pages.get("/")
def dashboard():
    ctx = current_app.extensions["yhd"]
    names = {o.id: o.display_name("fi") for o in ctx.federation.organisations.values()}
    return render_template("dashboard.html", table=service.counts(new_uow), names=names)

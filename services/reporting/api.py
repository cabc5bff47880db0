"""Reporting: counts per organisation and event type, as JSON and as a dashboard page."""
from flask import current_app
from flask_smorest import Blueprint

from services.kernel.http_app import new_uow
from services.kernel.pages import Pages, texts

from . import service

bp = Blueprint("reporting", __name__, url_prefix="/api/v1", description="Regional indicators")
# The dashboard: Finnish (English in parentheses), on the page kit's layout, headers and error pages.
PAGES = Pages("reporting_pages", __name__, texts(languages=("fi",)), home="reporting_pages.dashboard",
              layout="kit/base.html", static_folder=None)
pages = PAGES.bp


@bp.get("/counts")
@bp.response(200)
def counts():
    """Events per organisation and type; people-related counts under 5 are shown as "<5"."""
    return service.counts(new_uow)


@bp.get("/people")
@bp.response(200)
def people():
    """Young people referred, counted once across organisations and per referring organisation; 1–4 as "<5"."""
    return service.people(new_uow)


@pages.get("/")
def dashboard():
    ctx = current_app.extensions["yhd"]
    names = {o.id: o.display_name("fi") for o in ctx.federation.organisations.values()}
    return PAGES.render("dashboard.html", table=service.counts(new_uow), names=names)

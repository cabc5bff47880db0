"""Reporting: counts per organisation and event type, as JSON and as a dashboard page, for the region's
coordinator (every organisation) and an organisation's manager (its own rows); the region's suppressed
totals are public (/public, /api/v1/public/counts)."""
from flask import current_app, redirect, request, url_for
from flask_smorest import Blueprint

from services.kernel.auth import Role, current_actor, requires
from services.kernel.errors import Unauthorized
from services.kernel.http_app import new_uow
from services.kernel.pages import Pages, texts
from services.kernel.pages.login import add_login, safe_next

from . import service
from .domain import viewer_scope

bp = Blueprint("reporting", __name__, url_prefix="/api/v1", description="Regional indicators")
SECURITY = [{"bearer": []}]
READERS = (Role.COORDINATOR, Role.MANAGER)   # admin too (requires always lets admin in)
SHOWN = {"oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "enum": ["<5"]}],
         "description": "a count; a people-related count of 1 to 4 is shown as \"<5\""}
COUNTS = {"type": "object", "description": "organisation id → event name → count",
          "additionalProperties": {"type": "object", "additionalProperties": SHOWN}}
PUBLIC_COUNTS = {"type": "object", "description": "event name → the region's count", "additionalProperties": SHOWN}


PROBLEM = {"application/problem+json": {"schema": {"type": "object"}}}


def ok(schema: dict, *, login: bool = False) -> dict:
    """The answers in the OpenAPI document: 200 with its JSON Schema (a plain mapping: nothing to
    serialise), and with a login 401 (no or a wrong token) and 403 (a role that does not see reporting)."""
    answers = {"200": {"description": "OK", "content": {"application/json": {"schema": schema}}}}
    if login:
        answers["401"] = {"description": "No valid API token", "content": PROBLEM}
        answers["403"] = {"description": "Neither a coordinator nor an organisation's manager", "content": PROBLEM}
    return answers


# The dashboard: Finnish (English in parentheses), on the page kit's layout, headers and error pages.
PAGES = Pages("reporting_pages", __name__, texts(languages=("fi",)), home="reporting_pages.dashboard",
              folder="reporting", static_folder=None)
pages = PAGES.bp
add_login(PAGES, home="reporting_pages.dashboard")


def scope() -> str | None:
    """The organisation whose rows the caller sees (None: the whole region); 401/403 otherwise."""
    actor = current_actor()
    return viewer_scope(actor.role.value, actor.member_org)


@bp.get("/counts")
@requires(*READERS)
@bp.doc(security=SECURITY, responses=ok(COUNTS, login=True))
def counts():
    """Events per organisation and type (a manager: their organisation's only); people-related counts
    under 5 are shown as "<5"."""
    return service.counts(new_uow, scope())


@bp.get("/public/counts")
@bp.doc(responses=ok(PUBLIC_COUNTS))
def public_counts():
    """The region's events per type, over every organisation; people-related counts under 5 are shown as "<5".
    No login."""
    return service.public_counts(new_uow)


def names() -> dict:
    return {o.id: o.display_name("fi") for o in current_app.extensions["yhd"].federation.organisations.values()}


PEOPLE = {"type": "object", "required": ["people", "by_org"], "properties": {
    "people": {**SHOWN, "description": "young people referred, each counted once across organisations"},
    "by_org": {"type": "object", "description": "referring organisation id → young people it referred",
               "additionalProperties": SHOWN}}}


@bp.get("/people")
@requires(*READERS)
@bp.doc(security=SECURITY, responses=ok(PEOPLE, login=True))
def people():
    """Young people referred, counted once across organisations and per referring organisation (a manager:
    their organisation's only); 1–4 shown as "<5"."""
    return service.people(new_uow, scope())


@pages.get("/")
@requires(*READERS)
def dashboard():
    org = scope()
    return PAGES.render("dashboard.html", table=service.counts(new_uow, org), names=names(), scope=org,
                        actor=current_actor())


@pages.get("/public")
def public():
    return PAGES.render("public.html", totals=service.public_counts(new_uow))


@pages.errorhandler(Unauthorized)
def _log_in_first(e: Unauthorized):
    path = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("reporting_pages.login", next=safe_next(path)))

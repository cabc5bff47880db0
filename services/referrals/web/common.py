"""What every page shares: the blueprint, the language and texts, rendering and errors."""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from services.kernel.auth import Role
from services.kernel.db import is_transient
from services.kernel.errors import DomainError, Unauthorized
from services.kernel.i18n import Catalogue, request_language
from services.kernel.http_app import csrf_token

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")
CATALOGUE = Catalogue.load(Path(__file__).parent / "messages.json")
CASEWORK = (Role.CASEWORKER, Role.MANAGER)
PURPOSE = "casework"          # the access log's purpose for what these pages read and change
PER_PAGE = 25
HELSINKI = ZoneInfo("Europe/Helsinki")
log = logging.getLogger(__name__)
CSP = "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"


def lang() -> str:
    if "lang" not in g:
        g.lang = request_language()
    return g.lang


def t(key: str, **params) -> str:
    return CATALOGUE.text(key, lang(), **params)


def ctx():
    return current_app.extensions["yhd"]


def org_name(org_id: str | None) -> str:
    org = ctx().federation.get(org_id) if org_id else None
    return org.display_name(lang()) if org else (org_id or "–")


def when(value) -> str:
    """A time or a day the Finnish way (or ISO-like in English), in Finnish local time."""
    if value is None:
        return "–"
    if isinstance(value, str):   # a day in disclosed personal data
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        local = value.astimezone(HELSINKI)
        return f"{local.day}.{local.month}.{local.year} klo {local:%H.%M}" if lang() == "fi" \
            else f"{local:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return f"{value.day}.{value.month}.{value.year}" if lang() == "fi" else value.isoformat()
    return str(value)


def day(value: datetime, *, last: bool = False) -> str:
    """The Finnish day of an instant; `last`: the last day of a period that ends at that instant."""
    local = value.astimezone(HELSINKI)
    if last and local.time() == time():
        local -= timedelta(days=1)
    return when(local.date())


def showing(url: str) -> None:
    """The address of what this response shows, when it answers a form post to another address."""
    g.here = url


def lang_url(code: str) -> str:
    """This page in another language (a form post's answer: the page it shows)."""
    if g.get("here"):
        return g.here + ("&" if "?" in g.here else "?") + urlencode({"lang": code})
    args = request.args.to_dict(flat=False)
    args["lang"] = [code]
    return request.path + "?" + urlencode(args, doseq=True)


def page_url(**changes) -> str:
    """This page with some query parameters changed (pagination, filters)."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    args.update(changes)
    return request.path + "?" + urlencode({k: v for k, v in args.items() if v not in (None, "")})


def options(kind: str, values) -> list[tuple[str, str]]:
    """(value, text) pairs for a select or checkboxes, each value's text from the catalogue."""
    return [(v, t(f"{kind}.{v}")) for v in values]


def safe_next(target: str | None) -> str | None:
    """Only a path of this site may be a place to return to after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def render(template: str, status: int = 200, **values):
    return render_template(f"pages/{template}", **values), status


def error_message(e: DomainError) -> str:
    """The refusal in the user's language: by its code, else by its status."""
    params = {"state": t(f"state.{e.extra['state']}") if e.extra.get("state") else "",
              "missing": ", ".join(t(f"category.{c}") for c in e.extra.get("missing", []))}
    for key in (f"error.{e.code}", f"error.status.{e.status}"):
        if key in CATALOGUE:
            return t(key, **params)
    return t("error.status.400")


@bp.before_request
def _language():
    lang()


@bp.context_processor
def _page_globals():
    return dict(t=t, lang=lang(), org_name=org_name, when=when, day=day, lang_url=lang_url, page_url=page_url,
                csrf_token=csrf_token, options=options, actor=g.get("actor"), own_org=ctx().settings.org_id, Role=Role)


@bp.after_request
def _page_headers(resp):
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    if resp.mimetype == "text/html":
        resp.headers["Cache-Control"] = "no-store"   # pages show personal data
    return resp


@bp.errorhandler(Unauthorized)
def _log_in_first(e: Unauthorized):
    if e.code == "session-ended":
        flash(t("error.session-ended"))
    path = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("pages.login", next=safe_next(path)))


@bp.errorhandler(DomainError)
def _refused(e: DomainError):
    return render("error.html", e.status, message=error_message(e))


@bp.errorhandler(HTTPException)
def _http_error(e: HTTPException):
    key = f"error.status.{e.code}"
    return render("error.html", e.code or 500, message=t(key) if key in CATALOGUE else e.name)


@bp.errorhandler(DBAPIError)
def _database_error(e: DBAPIError):
    if is_transient(e):
        log.warning("database unavailable: %s", e)
        return render("error.html", 503, message=t("error.database-unavailable"))
    return _unexpected(e)


@bp.errorhandler(Exception)
def _unexpected(e: Exception):
    log.exception("unhandled error on a page", exc_info=e)
    return render("error.html", 500, message=t("error.status.500"))

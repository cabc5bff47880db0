"""What the public pages share: the blueprint, the language and texts, links, headers and error pages."""
from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlencode

from flask import Blueprint, current_app, g, render_template, request, url_for
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from services.kernel.db import is_transient
from services.kernel.errors import DomainError
from services.kernel.i18n import request_language

from .filters import FIELDS
from .hours import HELSINKI
from .messages import CATALOGUE
from .present import localized

bp = Blueprint("public", __name__, template_folder="templates", static_folder="static",
               static_url_path="/assets")
log = logging.getLogger(__name__)
CSP = ("default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")
SEARCH_FIELDS = (*FIELDS, "page", "lang")
MAX_AGE = 60          # seconds: a published change shows within a minute, and a busy page is cheap
LANGUAGE_NAMES = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}


def lang() -> str:
    if "lang" not in g:
        g.lang = request_language(CATALOGUE.languages, remember=False)
    return g.lang


def t(key: str, **params) -> str:
    return CATALOGUE.text(key, lang(), **params)


def now() -> datetime:
    return datetime.now(HELSINKI)


def ctx():
    return current_app.extensions["yhd"]


def org_name(org_id: str):
    """The publishing organisation's name from the federation registry, in the page's language if it has one."""
    org = ctx().federation.get(org_id)
    return localized(org.name, lang()) if org else org_id


def _query(args: dict) -> str:
    pairs = [(k, v) for k, vs in args.items() for v in (vs if isinstance(vs, list) else [vs]) if v not in (None, "")]
    return "?" + urlencode(pairs) if pairs else ""


def here_args() -> dict:
    return request.args.to_dict(flat=False)


def lang_url(code: str) -> str:
    """This page, with the same search, in another language."""
    args = here_args()
    args["lang"] = [] if code == "fi" else [code]
    return request.path + _query(args)


def with_lang(endpoint: str, **values) -> str:
    """A link to another page, in this page's language."""
    if lang() != "fi":
        values["lang"] = lang()
    return url_for(endpoint, **values)


def page_url(page: int) -> str:
    args = here_args()
    args["page"] = [] if page == 1 else [str(page)]
    return url_for("public.search") + _query(args)


def search_args() -> dict:
    """This request's search (and language): carried to a service's page and back to the results."""
    return {k: v for k, v in here_args().items() if k in SEARCH_FIELDS}


def detail_url(service_id: str) -> str:
    return url_for("public.service", service_id=service_id) + _query(search_args())


def back_url() -> str:
    return url_for("public.search") + _query(search_args())


def render(template: str, status: int = 200, **values):
    return render_template(f"public/{template}", **values), status


@bp.context_processor
def _page_globals():
    return dict(t=t, lang=lang(), languages=CATALOGUE.languages, language_names=LANGUAGE_NAMES, lang_url=lang_url,
                with_lang=with_lang, page_url=page_url, detail_url=detail_url, back_url=back_url,
                own_org=org_name(ctx().settings.org_id))


@bp.after_request
def _page_headers(resp):
    resp.headers.setdefault("Content-Security-Policy", CSP)
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"   # a search says something about the searcher
    if resp.mimetype == "text/html":
        # public and the same for everyone (the language is in the address); errors are not kept
        resp.headers["Cache-Control"] = f"public, max-age={MAX_AGE}" if resp.status_code < 500 else "no-store"
    return resp


def error_page(status: int, key: str):
    return render("error.html", status, message=t(key))


@bp.errorhandler(DomainError)
def _refused(e: DomainError):
    key = "error.not-found" if e.code == "unknown-service" else f"error.status.{e.status}"
    return error_page(e.status, key if key in CATALOGUE else "error.status.400")


@bp.errorhandler(HTTPException)
def _http_error(e: HTTPException):
    key = f"error.status.{e.code}"
    return error_page(e.code or 500, key if key in CATALOGUE else "error.status.500")


@bp.errorhandler(DBAPIError)
def _database_error(e: DBAPIError):
    if is_transient(e):
        log.warning("database unavailable: %s", e)
        return error_page(503, "error.status.503")
    return _unexpected(e)


@bp.errorhandler(Exception)
def _unexpected(e: Exception):
    log.exception("unhandled error on a public page", exc_info=e)
    return error_page(500, "error.status.500")

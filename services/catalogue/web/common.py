"""What the public pages share on top of the kernel's page kit: the search's links and the publishers' names."""
from __future__ import annotations

from datetime import datetime

from flask import current_app, request, url_for

from services.kernel.pages import Pages, query

from .filters import FIELDS
from .hours import HELSINKI
from .messages import CATALOGUE
from .present import localized

CSP = ("default-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "object-src 'none'")
# Public pages, the same for everyone who asks: no cookies (the language travels in the address), cached
# for a minute (a published change shows within a minute, and a busy page is cheap).
PAGES = Pages("public", __name__, CATALOGUE, home="public.search", folder="public", css="public.css",
              remember_language=False, csp=CSP, max_age=60)
bp, lang, t, render, page_url = PAGES.bp, PAGES.lang, PAGES.t, PAGES.render, PAGES.page_url
SEARCH_FIELDS = (*FIELDS, "page", "lang")


def now() -> datetime:
    return datetime.now(HELSINKI)


def ctx():
    return current_app.extensions["yhd"]


def org_name(org_id: str):
    """The publishing organisation's name from the federation registry, in the page's language if it has one."""
    org = ctx().federation.get(org_id)
    return localized(org.name, lang()) if org else org_id


def results_page_url(page: int) -> str:
    """A page of this search's results (the first one without a page number)."""
    return page_url(page=page if page > 1 else None)


def search_args() -> dict:
    """This request's search (and language): carried to a service's page and back to the results."""
    return {k: v for k, v in request.args.to_dict(flat=False).items() if k in SEARCH_FIELDS}


def detail_url(service_id: str) -> str:
    return url_for("public.service", service_id=service_id) + query(search_args())


def back_url() -> str:
    return url_for("public.search") + query(search_args())


@bp.context_processor
def _page_globals():
    return dict(results_page_url=results_page_url, detail_url=detail_url, back_url=back_url,
                own_org=org_name(ctx().settings.org_id))

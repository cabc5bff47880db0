"""What the caseworker pages share on top of the kernel's page kit: the texts, dates, login and refusals."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import current_app, flash, g, redirect, request, url_for

from services.kernel.auth import Role
from services.kernel.errors import DomainError, Unauthorized
from services.kernel.pages import Pages, showing, texts  # noqa: F401  (showing: for the views)
from services.kernel.pages.login import safe_next

CATALOGUE = texts(Path(__file__).parent / "messages.json")
CASEWORK = (Role.CASEWORKER, Role.MANAGER)
PURPOSE = "casework"          # the access log's purpose for what these pages read and change
PER_PAGE = 25
HELSINKI = ZoneInfo("Europe/Helsinki")


def _refusal_params(e: DomainError) -> dict:
    """What a refusal's text names: the state a referral is in, the categories a consent lacks."""
    return {"state": t(f"state.{e.extra['state']}") if e.extra.get("state") else "",
            "missing": ", ".join(t(f"category.{c}") for c in e.extra.get("missing", []))}


# Pages that show personal data: a login and a session (which remembers the language), never cached.
PAGES = Pages("pages", __name__, CATALOGUE, home="pages.home", folder="pages", css="yhd.css",
              refusal_params=_refusal_params)
bp, lang, t, render, error_message = PAGES.bp, PAGES.lang, PAGES.t, PAGES.render, PAGES.refusal


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


def options(kind: str, values) -> list[tuple[str, str]]:
    """(value, text) pairs for a select or checkboxes, each value's text from the catalogue."""
    return [(v, t(f"{kind}.{v}")) for v in values]


def label(kind: str, value: str) -> str:
    """A logged value's text (an access-log action, a role), or the value itself when it has none."""
    return t(f"{kind}.{value}") if f"{kind}.{value}" in CATALOGUE else value


@bp.context_processor
def _page_globals():
    return dict(org_name=org_name, when=when, day=day, options=options, label=label, actor=g.get("actor"),
                own_org=ctx().settings.org_id, Role=Role)


@bp.errorhandler(Unauthorized)
def _log_in_first(e: Unauthorized):
    if e.code == "session-ended":
        flash(t("error.session-ended"))
    path = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("pages.login", next=safe_next(path)))

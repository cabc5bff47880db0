"""What the attendance pages share on top of the kernel's page kit: the texts (fi, sv, en), code labels, dates,
the organisation's places, and the client directory (names are fetched when a page shows them, never stored)."""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from pathlib import Path

from flask import current_app, flash, g, redirect, request, url_for

from services.kernel.auth import Role, current_actor
from services.kernel.errors import DomainError, Unauthorized, Unavailable
from services.kernel.http_app import new_uow
from services.kernel.i18n import ALL_LANGUAGES, Catalogue
from services.kernel.pages import KIT_TEXTS, Pages, showing  # noqa: F401  (showing: for the views)
from services.kernel.pages.login import safe_next

from .. import service
from ..api import CONFIG, DIRECTORY
from ..directory import MESSAGES as DIRECTORY_MESSAGES
from ..domain import codes
from ..service.common import LOCAL

OWN_TEXTS = json.loads((Path(__file__).parent / "messages.json").read_text(encoding="utf-8"))
CATALOGUE = Catalogue({**KIT_TEXTS, **DIRECTORY_MESSAGES, **OWN_TEXTS}, ALL_LANGUAGES)
CASEWORK = (Role.CASEWORKER, Role.MANAGER)
PURPOSE = "casework"          # the access log's purpose for what these pages read and change

PAGES = Pages("pages", __name__, CATALOGUE, home="pages.home", folder="attendance", css="attendance.css")
bp, lang, t, render, error_message = PAGES.bp, PAGES.lang, PAGES.t, PAGES.render, PAGES.refusal


def ctx():
    return current_app.extensions["yhd"]


def directory():
    return current_app.extensions.get(DIRECTORY)


def config() -> service.AttendanceConfig:
    return current_app.extensions[CONFIG]


# -- the client directory ------------------------------------------------------------------------------
def names(ids) -> dict:
    """The cards of these clients, for showing their names. When the directory cannot answer the page
    still shows what attendance holds, with a warning (`names_missing`) instead of the names."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    try:
        return _directory().cards(ids, acting_for=current_actor().username, purpose=PURPOSE)
    except Unavailable as e:
        g.names_missing = error_message(e)
        return {}


def find_clients(text: str) -> tuple[list, str | None]:
    """(cards, None) of the clients whose name contains `text`, or ([], why not) as a readable message."""
    text = text.strip()
    if not text:
        return [], None
    try:
        return _directory().search(text, acting_for=current_actor().username, purpose=PURPOSE, limit=20), None
    except Unavailable as e:
        return [], error_message(e)


def _directory():
    found = directory()
    if found is None:
        raise Unavailable("Attendance has no client directory (REFERRALS_URL).", code="directory-unconfigured")
    return found


def client_uuid(text: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID((text or "").strip())
    except ValueError:
        return None


# -- texts ---------------------------------------------------------------------------------------------
def code(name: str, value: str | None) -> str:
    """A code's label in the page's language (codes.json)."""
    return codes.label(name, value, lang()) if value else "–"


def code_options(name: str, leave_out=()) -> list[tuple[str, str]]:
    return [(c, code(name, c)) for c in codes.codes(name) if c not in leave_out]


def text_of(localised: dict | None) -> str:
    """A text given in several languages (a service's name, an instrument's item) in the page's language."""
    if not localised:
        return "–"
    return localised.get(lang()) or localised.get("fi") or next(iter(localised.values()))


def when(value) -> str:
    """A time or a day the Finnish way (ISO-like in Swedish and English), in Finnish local time."""
    if value is None:
        return "–"
    if isinstance(value, datetime):
        local = value.astimezone(LOCAL)
        return f"{local.day}.{local.month}.{local.year} klo {local:%H.%M}" if lang() == "fi" \
            else f"{local:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return f"{value.day}.{value.month}.{value.year}" if lang() == "fi" else value.isoformat()
    return str(value)


def org_name(org_id: str | None) -> str:
    org = ctx().federation.get(org_id) if org_id else None
    return org.display_name(lang()) if org else (org_id or "–")


# -- the organisation's places ---------------------------------------------------------------------------
def places() -> list[dict]:
    """Where an encounter can be recorded: each of the organisation's services at each of its locations
    (value `service` or `service:location`), named in the page's language."""
    out = []
    for s in service.own_services(new_uow):
        name = text_of(s["name"])
        out.append({"value": str(s["service_id"]), "service_id": s["service_id"], "location_id": None, "text": name})
        for loc in s["locations"]:
            out.append({"value": f"{s['service_id']}:{loc['id']}", "service_id": s["service_id"],
                        "location_id": uuid.UUID(loc["id"]), "text": f"{name} – {text_of(loc['name'])}"})
    return out


def place_options(all_places: list[dict]) -> list[tuple[str, str]]:
    return [(p["value"], p["text"]) for p in all_places]


def service_names(all_places: list[dict]) -> dict:
    return {p["service_id"]: p["text"] for p in all_places if p["location_id"] is None}


@bp.context_processor
def _page_globals():
    return dict(code=code, code_options=code_options, text_of=text_of, place_options=place_options, when=when, org_name=org_name,
                actor=g.get("actor"), own_org=ctx().settings.org_id, Role=Role,
                names_missing=g.get("names_missing"))


@bp.errorhandler(Unauthorized)
def _log_in_first(e: Unauthorized):
    if e.code == "session-ended":
        flash(t("error.session-ended"))
    path = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("pages.login", next=safe_next(path)))


def field_errors(e: DomainError, fields_shown) -> dict[str, str]:
    """A refusal that names a field of the form: its message next to that field."""
    field = e.extra.get("field")
    return {field: error_message(e)} if field in fields_shown else {}

"""Recording the other kinds of encounter: the kind first, then its form (the fields that kind takes), the client
picked by a search in the organisation's client directory, errors by field with the values kept."""
from flask import flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from services.kernel.auth import current_actor, requires
from services.kernel.errors import DomainError
from services.kernel.http_app import new_uow

from .. import service
from ..schemas import EncounterIn
from . import forms
from .common import (CASEWORK, PURPOSE, bp, client_uuid, config, ctx, directory, error_message, field_errors,
                     find_clients, lang, names, places, render, t)

# What each kind's form asks (the domain refuses a field a kind does not take, so the form never sends one).
ASKS = {
    "contact": ("client_id", "channel", "matters", "new_matter", "age_band", "gender"),
    "guidance": ("client_id", "channel", "status", "excuse_reason"),
    "home-visit": ("client_id", "channel", "status", "excuse_reason"),
    "network-meeting": ("client_id", "partner_orgs", "status", "excuse_reason"),
    "aid": ("aid_kind", "count", "count_unit"),
    "professional-event": ("format", "count"),
}
DEFAULTS = {"guidance": {"status": "attended"}, "network-meeting": {"status": "attended"},
            "home-visit": {"status": "attended", "channel": "outreach-home"}, "aid": {"count_unit": "people"}}
KIND_PATH = "<any(" + ",".join(f"'{k}'" for k in ASKS) + "):kind>"
FIELD_OF = {"unknown-client": "client_id"}     # refusals that name no field but are about one
ON_FORM = {"occurred_at": "on", "service_id": "place", "location_id": "place"}   # API field -> the form's


def on_form(errors: dict) -> dict:
    return {ON_FORM.get(k, k): v for k, v in errors.items()}


def encounter_input(kind: str, form, all_places: list[dict]) -> tuple[dict, dict]:
    """The API's shape of what the form says, and the errors found on the way."""
    errors, asks = {}, ASKS[kind]
    data = {"kind": kind, **forms.place(form, all_places, errors),
            **forms.filled(form, [f for f in asks + ("duration_minutes",) if f not in ("matters", "partner_orgs")])}
    occurred = forms.local_time(form, errors)
    if occurred:
        data["occurred_at"] = occurred
    for many in ("matters", "partner_orgs"):
        if many in asks and form.getlist(many):
            data[many] = form.getlist(many)
    if "new_matter" in data:
        data["new_matter"] = True
    if data.get("client_id"):            # a registered client's age band and gender come from the directory
        data.pop("age_band", None), data.pop("gender", None)
    if data.get("status") != "excused":  # the reason select keeps a value when the mark changes
        data.pop("excuse_reason", None)
    return data, errors


def partners() -> list[tuple[str, str]]:
    own = ctx().settings.org_id
    return [(o.id, o.display_name(lang())) for o in ctx().federation.organisations.values() if o.id != own]


def encounter_page(kind: str, status: int = 200, form=None, errors=None, error=None, all_places=None):
    form = form if form is not None else MultiDict({**forms.now_fields(), **DEFAULTS.get(kind, {}),
                                                    "client_id": request.args.get("client", "")})
    results, search_error = [], None
    if form.get("action") == "search":
        results, search_error = find_clients(form.get("client_search", ""))
    chosen = client_uuid(form.get("client_id"))
    cards = names([chosen]) if chosen else {}
    return render("encounter_new.html", status, active="encounters", kind=kind, asks=ASKS[kind], form=form,
                  errors=errors or {}, error=error, places=all_places if all_places is not None else places(),
                  results=results, search_error=search_error, chosen=cards.get(chosen), partners=partners(),
                  key=forms.new_key())


@bp.get("/encounters/new")
@requires(*CASEWORK)
def encounter_kinds():
    return render("encounter_kinds.html", active="encounters", kinds=list(ASKS), client=request.args.get("client", ""))


@bp.get(f"/encounters/new/{KIND_PATH}")
@requires(*CASEWORK)
def new_encounter(kind):
    return encounter_page(kind)


@bp.post(f"/encounters/new/{KIND_PATH}")
@requires(*CASEWORK)
def record_encounter(kind):
    if request.form.get("action") == "search":
        return encounter_page(kind, form=request.form)
    all_places = places()
    data, errors = encounter_input(kind, request.form, all_places)
    fields, schema_errors = forms.validate(EncounterIn(), data)
    if errors or schema_errors:
        return encounter_page(kind, 422, request.form, {**on_form(schema_errors), **errors}, t("form.check"),
                              all_places)
    try:
        e, created = service.record_encounter(new_uow, current_actor(), fields, directory=directory(),
                                              config=config(), idempotency_key=forms.form_key(request.form),
                                              purpose=PURPOSE)
    except DomainError as err:
        wrong = on_form(field_errors(err, set(ASKS[kind]) | set(ON_FORM)))
        if err.code in FIELD_OF:
            wrong = {FIELD_OF[err.code]: error_message(err)}
        return encounter_page(kind, err.status, request.form, wrong, error_message(err), all_places)
    flash(t("encounter.recorded", kind=t(f"kind.{kind}")) if created else t("encounter.recorded-already"))
    if e.client_id:
        return redirect(url_for("pages.client", client_id=e.client_id))
    return redirect(url_for("pages.new_encounter", kind=kind))


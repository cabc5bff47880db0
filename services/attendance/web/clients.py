"""A client's side: finding them in the directory, their timeline (encounters, sessions with the mark,
measurements, the referrals they came by, guidance), recording a measurement with the change per item as a
chart and a table, starting and ending guidance, and the list of those without contact for too long."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from services.kernel.auth import current_actor, requires
from services.kernel.errors import DomainError, NotFound
from services.kernel.http_app import new_uow

from .. import service
from ..schemas import MeasurementIn, NoContactArgs
from . import chart, forms
from .common import (CASEWORK, PURPOSE, bp, config, directory, error_message, find_clients, names, places, render,
                     service_names, showing, t, text_of)


@bp.get("/clients")
@requires(*CASEWORK)
def clients():
    search = request.args.get("search", "").strip()[:100]
    found, search_error = find_clients(search)
    return render("clients.html", active="clients", search=search, found=found, search_error=search_error)


# -- the timeline --------------------------------------------------------------------------------------------
def timeline_of(client_id) -> dict:
    """The client's timeline; one attendance has not met yet but the directory knows has an empty one."""
    try:
        return service.timeline(new_uow, current_actor(), client_id, config=config(), purpose=PURPOSE,
                                logged_as="page.client.timeline")
    except NotFound as e:
        if e.code != "unknown-client" or client_id not in names([client_id]):
            raise
    return {"client_id": client_id, "guidance": None, "referrals": [], "groups": [], "measurements": [],
            "changes": {}, "entries": []}


def client_page(client_id, status=200, form=None, errors=None, error=None):
    view = timeline_of(client_id)
    showing(url_for("pages.client", client_id=client_id))
    known = service.instruments(config())
    chosen = request.values.get("instrument") if request.values.get("instrument") in known else next(iter(known), None)
    charts = [chart.change_chart(known[k], change, text_of) for k, change in view["changes"].items() if change]
    return render("client.html", status, active="clients", view=view, card=names([client_id]).get(client_id),
                  services=service_names(places()), instruments=known, instrument=known.get(chosen), charts=charts,
                  instrument_options=[(k, text_of(i.name)) for k, i in known.items()],
                  form=form or MultiDict({"measured_on": forms.today().isoformat()}), errors=errors or {},
                  error=error)


@bp.get("/clients/<uuid:client_id>")
@requires(*CASEWORK)
def client(client_id):
    return client_page(client_id)


def measurement_input(form, instrument) -> tuple[dict, dict]:
    errors, scores = {}, {}
    for item in instrument.item_ids if instrument else ():
        text = form.get(f"score-{item}", "").strip()
        if not text:
            continue                      # a young person may skip an item
        if text.lstrip("-").isdigit() and instrument.scale_min <= int(text) <= instrument.scale_max:
            scores[item] = int(text)
        else:
            errors[f"score-{item}"] = t("field-error.score", min=instrument.scale_min, max=instrument.scale_max)
    data = {"instrument": form.get("instrument", ""), "point": form.get("point", ""), "scores": scores}
    day = forms.day_of(form, "measured_on", errors, required=True)
    if day:
        data["measured_at"] = forms.local_time({"on": day, "at": "12:00"}, errors)
    if not scores and not errors:
        errors["scores"] = forms.field_message("scores")
    return data, errors


@bp.post("/clients/<uuid:client_id>/measurements")
@requires(*CASEWORK)
def record_measurement(client_id):
    instrument = service.instruments(config()).get(request.form.get("instrument", ""))
    data, errors = measurement_input(request.form, instrument)
    fields, schema_errors = forms.validate(MeasurementIn(), data)
    if errors or schema_errors:
        schema_errors.pop("scores", None), schema_errors.pop("measured_at", None)
        return client_page(client_id, 422, request.form, {**schema_errors, **errors}, t("form.check"))
    try:
        service.record_measurement(new_uow, current_actor(), client_id, fields, config=config(),
                                   directory=directory(), purpose=PURPOSE)
    except DomainError as e:
        wrong = {"measured_on" if e.extra.get("field") == "measured_at" else "point": error_message(e)}
        if e.extra.get("item"):
            wrong = {f"score-{e.extra['item']}": error_message(e)}
        return client_page(client_id, e.status, request.form, wrong, error_message(e))
    flash(t("measurement.recorded"))
    return redirect(url_for("pages.client", client_id=client_id, _anchor="measures"))


@bp.post("/clients/<uuid:client_id>/guidance")
@requires(*CASEWORK)
def begin_guidance(client_id):
    try:
        service.begin_guidance(new_uow, current_actor(), client_id, directory=directory(), purpose=PURPOSE)
    except DomainError as e:
        return client_page(client_id, e.status, error=error_message(e))
    flash(t("guidance.begun"))
    return redirect(url_for("pages.client", client_id=client_id, _anchor="guidance"))


@bp.post("/clients/<uuid:client_id>/guidance/end")
@requires(*CASEWORK)
def end_guidance(client_id):
    try:
        service.end_guidance(new_uow, current_actor(), client_id, purpose=PURPOSE)
    except DomainError as e:
        return client_page(client_id, e.status, error=error_message(e))
    flash(t("guidance.ended"))
    return redirect(url_for("pages.client", client_id=client_id, _anchor="guidance"))


# -- no contact for N days ---------------------------------------------------------------------------------------
@bp.get("/guidance/no-contact")
@requires(*CASEWORK)
def no_contact():
    args, errors = forms.validate(NoContactArgs(), forms.filled(request.args, ("days",)))
    if errors:
        args = {}
    found, days = service.no_contact(new_uow, current_actor(), days=args.get("days"), config=config(),
                                     purpose=PURPOSE, logged_as="page.guidance.no-contact")
    shown = request.args.get("days", "") if errors else str(days)
    return render("no_contact.html", 422 if errors else 200, active="no-contact", found=found, days=days,
                  form={"days": shown}, errors=errors, error=t("form.check") if errors else None,
                  cards=names([o.client.client_id for o in found]))

"""The drop-in tally, phone first: one big button per visitor, optional age band and gender, today's total.

Every rendered tap form carries a fresh idempotency key, so the same form sent again (a browser retry after a
dropped connection, back and resubmit, a double click) is counted once; after a tap the page is shown again
with a new key (post, redirect, get)."""
from flask import flash, redirect, request, url_for

from services.kernel.auth import current_actor, requires
from services.kernel.errors import DomainError
from services.kernel.http_app import new_uow

from .. import service
from ..domain import now
from ..schemas import EncounterIn
from . import forms
from .common import CASEWORK, PURPOSE, bp, error_message, places, render, t


def chosen_place(all_places: list[dict], value: str) -> dict | None:
    return next((p for p in all_places if p["value"] == value), None)


def tally_page(value: str, status: int = 200, error: str | None = None):
    all_places = places()
    place = chosen_place(all_places, value)
    ready = place is not None or not all_places      # an organisation without catalogue services still counts
    counted = service.tally(new_uow, current_actor(), place["service_id"] if place else None) if ready else None
    return render("tally.html", status, active="tally", places=all_places, place=place, value=value if place else "",
                  ready=ready, counted=counted, key=forms.new_key(), error=error)


@bp.get("/tally")
@requires(*CASEWORK)
def tally():
    return tally_page(request.args.get("place", ""))


@bp.post("/tally")
@requires(*CASEWORK)
def tap():
    value, errors = request.form.get("place", ""), {}
    data = {"kind": "drop-in", "occurred_at": now().isoformat(), **forms.place(request.form, places(), errors),
            **forms.filled(request.form, ("age_band", "gender"))}
    fields, schema_errors = forms.validate(EncounterIn(), data)
    if errors or schema_errors:
        return tally_page(value, 422, t("form.check"))
    try:
        _, created = service.record_encounter(new_uow, current_actor(), fields, idempotency_key=forms.form_key(request.form),
                                              purpose=PURPOSE)
    except DomainError as e:
        return tally_page(value, e.status, error_message(e))
    flash(t("tally.counted") if created else t("tally.counted-already"))
    return redirect(url_for("pages.tally", place=value or None))


@bp.post("/tally/undo")
@requires(*CASEWORK)
def undo():
    value = request.form.get("place", "")
    try:
        service.void_encounter(new_uow, current_actor(), forms.uuid_of(request.form.get("encounter")), purpose=PURPOSE)
    except DomainError as e:
        return tally_page(value, e.status, error_message(e))
    flash(t("tally.undone"))
    return redirect(url_for("pages.tally", place=value or None))

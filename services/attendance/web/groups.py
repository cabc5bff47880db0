"""Groups: the list and a new group, a group's page (participants by name, enrolling a client found in the
directory, perhaps by the referral they came by, planning a session) and a session's attendance list, made to
be done quickly with the keyboard: a row per participant, one Save, and saving again corrects it."""
from flask import flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from services.kernel.auth import current_actor, requires
from services.kernel.errors import DomainError
from services.kernel.http_app import new_uow

from .. import service
from ..domain import codes
from ..schemas import GroupIn, ParticipantIn, SessionIn
from ..service.common import local_day
from . import forms
from .common import (CASEWORK, PURPOSE, bp, client_uuid, code, config, directory, error_message, field_errors,
                     find_clients, names, org_name, places, render, service_names, showing, t, when)

GROUP_FIELDS = ("name", "capacity")
SESSION_DAY, SESSION_TIME = "session_on", "session_at"


# -- the list and a new group ------------------------------------------------------------------------------
def groups_page(status=200, form=None, errors=None, error=None):
    all_places = places()
    return render("groups.html", status, active="groups", groups=service.list_groups(new_uow),
                  services=service_names(all_places), places=all_places,
                  form=form or MultiDict({"starts_on": forms.today().isoformat()}), errors=errors or {}, error=error)


@bp.get("/groups")
@requires(*CASEWORK)
def groups():
    return groups_page()


@bp.post("/groups")
@requires(*CASEWORK)
def create_group():
    errors = {}
    data = {**forms.filled(request.form, GROUP_FIELDS), **forms.place(request.form, places(), errors)}
    for field, required in (("starts_on", True), ("ends_on", False)):
        day = forms.day_of(request.form, field, errors, required=required)
        if day:
            data[field] = day
    if "service_id" not in data and "place" not in errors:
        errors["place"] = forms.field_message("place")
    fields, schema_errors = forms.validate(GroupIn(), data)
    if errors or schema_errors:
        schema_errors.pop("service_id", None)
        return groups_page(422, request.form, {**schema_errors, **errors}, t("form.check"))
    try:
        g = service.create_group(new_uow, current_actor(), fields)
    except DomainError as e:
        return groups_page(e.status, request.form, field_errors(e, GROUP_FIELDS + ("starts_on", "ends_on")),
                           error_message(e))
    flash(t("group.created", name=g.name))
    return redirect(url_for("pages.group", group_id=g.id))


# -- a group -------------------------------------------------------------------------------------------------
def open_referrals() -> list[tuple[str, str]]:
    """Referrals to this organisation not yet linked to a client (a new participant may have come by one), as
    options naming the sender, the day and the age band: nothing personal."""
    return [(str(r.referral_id), t("group.referral-option", org=org_name(r.from_org), day=when(local_day(r.requested_at)),
                                   age=code("age_bands", r.age_band)))
            for r, link in service.incoming_referrals(new_uow, current_actor(), purpose=PURPOSE,
                                                      logged_as="page.group.referrals") if link is None]


def group_page(group_id, status=200, form=None, errors=None, error=None, section=None):
    view = service.get_group(new_uow, current_actor(), group_id, purpose=PURPOSE, logged_as="page.group.view")
    showing(url_for("pages.group", group_id=group_id))
    form = forms.over(MultiDict({"enrolled_on": forms.today().isoformat(), **forms.now_fields(SESSION_DAY, SESSION_TIME)}),
                      form)
    results, search_error = [], None
    if form.get("action") == "search":
        results, search_error = find_clients(form.get("client_search", ""))
    chosen = client_uuid(form.get("client_id"))
    cards = names([p.client_id for p in view["participants"]] + ([chosen] if chosen else []))
    all_places = places()
    return render("group.html", status, active="groups", **view, cards=cards, services=service_names(all_places),
                  referrals=open_referrals(), form=form, errors=errors or {}, error=error, section=section,
                  results=results, search_error=search_error, chosen=cards.get(chosen))


@bp.get("/groups/<uuid:group_id>")
@requires(*CASEWORK)
def group(group_id):
    return group_page(group_id)


@bp.post("/groups/<uuid:group_id>/participants")
@requires(*CASEWORK)
def enrol(group_id):
    if request.form.get("action") == "search":
        return group_page(group_id, form=request.form, section="enrol")
    errors = {}
    data = forms.filled(request.form, ("client_id", "referral_id"))
    if "client_id" not in data:
        errors["client_id"] = forms.field_message("client_id")
    day = forms.day_of(request.form, "enrolled_on", errors)
    if day:
        data["enrolled_on"] = day
    fields, schema_errors = forms.validate(ParticipantIn(), data)
    if errors or schema_errors:
        return group_page(group_id, 422, request.form, {**schema_errors, **errors}, t("form.check"), "enrol")
    try:
        service.enrol_client(new_uow, current_actor(), group_id, fields["client_id"], on=fields.get("enrolled_on"),
                             referral_id=fields.get("referral_id"), directory=directory(), purpose=PURPOSE)
    except DomainError as e:
        wrong = field_errors(e, ("enrolled_on",)) or ({"referral_id": error_message(e)} if "referral" in e.code
                                                      else {"client_id": error_message(e)})
        return group_page(group_id, e.status, request.form, wrong, error_message(e), "enrol")
    flash(t("group.enrolled"))
    return redirect(url_for("pages.group", group_id=group_id, _anchor="participants"))


@bp.post("/groups/<uuid:group_id>/participants/<uuid:client_id>/leave")
@requires(*CASEWORK)
def leave(group_id, client_id):
    try:
        service.remove_participant(new_uow, current_actor(), group_id, client_id, purpose=PURPOSE)
    except DomainError as e:
        return group_page(group_id, e.status, error=error_message(e))
    flash(t("group.left"))
    return redirect(url_for("pages.group", group_id=group_id, _anchor="participants"))


@bp.post("/groups/<uuid:group_id>/sessions")
@requires(*CASEWORK)
def plan_session(group_id):
    errors = {}
    data = forms.filled(request.form, ("duration_minutes",))
    starts = forms.local_time(request.form, errors, SESSION_DAY, SESSION_TIME)
    if starts:
        data["starts_at"] = starts
    fields, schema_errors = forms.validate(SessionIn(), data)
    schema_errors = {SESSION_DAY if k == "starts_at" else k: v for k, v in schema_errors.items()}
    if errors or schema_errors:
        return group_page(group_id, 422, request.form, {**schema_errors, **errors}, t("form.check"), "session")
    try:
        s = service.plan_session(new_uow, current_actor(), group_id, fields)
    except DomainError as e:
        wrong = {SESSION_DAY if k == "starts_at" else k: v
                 for k, v in field_errors(e, ("starts_at", "duration_minutes")).items()}
        return group_page(group_id, e.status, request.form, wrong, error_message(e), "session")
    flash(t("session.planned", at=when(s.starts_at)))
    return redirect(url_for("pages.group", group_id=group_id, _anchor="sessions"))


# -- a session's attendance list -------------------------------------------------------------------------------
def session_page(session_id, status=200, form=None, errors=None, error=None):
    view = service.get_session(new_uow, current_actor(), session_id, purpose=PURPOSE, logged_as="page.session.view")
    showing(url_for("pages.session", session_id=session_id))
    if form is None:
        form = MultiDict({"guests": str(view["session"].guests)})
        for client_id, m in view["marks"].items():
            form[f"mark-{client_id}"] = m.mark
            if m.excuse_reason:
                form[f"reason-{client_id}"] = m.excuse_reason
    cards = names([p.client_id for p in view["enrolled"]])
    by_name = sorted(view.pop("enrolled"), key=lambda p: (cards[p.client_id].name.casefold() if p.client_id in cards
                                                         else "", str(p.client_id)))
    return render("session.html", status, active="groups", **view, enrolled=by_name, cards=cards, form=form,
                  errors=errors or {}, error=error)


def marks_input(form) -> tuple[dict, dict]:
    """{client_id: (mark, reason)} from the rows (`mark-<client id>`, `reason-<client id>`), and an error for a
    row that lacks what it needs; a row left without a mark the use case names (every participant needs one)."""
    marks, errors = {}, {}
    for name in form:
        client_id = client_uuid(name.removeprefix("mark-")) if name.startswith("mark-") else None
        if client_id is None:
            continue
        mark, reason = form.get(name, ""), form.get(f"reason-{client_id}", "") or None
        if mark not in codes.codes("marks"):
            errors[name] = forms.field_message("mark")
        elif mark == "excused" and reason not in codes.codes("excuse_reasons"):
            errors[f"reason-{client_id}"] = forms.field_message("excuse_reason")
        else:
            marks[client_id] = (mark, reason if mark == "excused" else None)
    return marks, errors


@bp.get("/sessions/<uuid:session_id>")
@requires(*CASEWORK)
def session(session_id):
    return session_page(session_id)


@bp.post("/sessions/<uuid:session_id>")
@requires(*CASEWORK)
def take_attendance(session_id):
    marks, errors = marks_input(request.form)
    guests = request.form.get("guests", "").strip() or "0"
    if not guests.isdigit():
        errors["guests"] = forms.field_message("guests")
    if errors:
        return session_page(session_id, 422, request.form, errors, t("form.check"))
    try:
        service.take_attendance(new_uow, current_actor(), session_id, marks, guests=int(guests), config=config(),
                                purpose=PURPOSE)
    except DomainError as e:
        wrong = {f"mark-{c}": error_message(e) for c in e.extra.get("clients", [])} or field_errors(e, ("guests",))
        return session_page(session_id, e.status, request.form, wrong, error_message(e))
    flash(t("session.saved"))
    return redirect(url_for("pages.session", session_id=session_id))


@bp.post("/sessions/<uuid:session_id>/cancel")
@requires(*CASEWORK)
def cancel_session(session_id):
    try:
        s = service.cancel_session(new_uow, current_actor(), session_id)
    except DomainError as e:
        return session_page(session_id, e.status, error=error_message(e))
    flash(t("session.cancelled"))
    return redirect(url_for("pages.group", group_id=s.group_id, _anchor="sessions"))

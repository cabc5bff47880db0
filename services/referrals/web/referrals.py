"""Referrals: send one, list them, and follow one through its lifecycle."""
import copy
import math
import uuid
from itertools import groupby

from flask import flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from services.kernel.auth import current_actor, requires
from services.kernel.errors import DomainError, NotFound
from services.kernel.http_app import new_uow

from .. import service
from ..domain import ACTIONS, CATEGORIES, OUTCOME_POINTS, OUTCOMES, REASONS, Outcome, Referral, State
from ..schemas import ActionIn, OutcomeIn, ReferralIn
from . import forms
from .clients import page_number
from .common import CASEWORK, PER_PAGE, PURPOSE, bp, ctx, error_message, org_name, render, showing, t, when
from .home import service_names


# -- sending -----------------------------------------------------------------------
def target_groups() -> list[dict]:
    """Other organisations' active services, grouped by organisation (for the select)."""
    own = ctx().settings.org_id
    targets = [s for s in service.list_targets(new_uow) if s["status"] == "active" and s["organization_id"] != own]
    return [{"group": org_name(org), "options": [(str(s["service_id"]), target_label(s)) for s in items]}
            for org, items in groupby(targets, key=lambda s: s["organization_id"])]


def target_label(s: dict) -> str:
    """The service's name with what the caseworker weighs when choosing: free places and the waitlist."""
    notes = []
    cap = s.get("capacity")
    if cap:
        notes.append(t("target.places-free", n=cap["available"]) if cap["available"] else t("target.full"))
        if cap.get("waitlist"):
            notes.append(t("target.waitlist", n=cap["waitlist"]))
    return s["name_fi"] + (f" ({', '.join(notes)})" if notes else "")


def new_referral_page(client_id, status=200, form=None, errors=None, error=None):
    client, consents = service.get_client(new_uow, current_actor(), client_id, purpose=PURPOSE,
                                          logged_as="page.referral.new")
    showing(url_for("pages.new_referral", client=client_id))
    return render("referral_new.html", status, active="referrals", client=client, consents=consents,
                  groups=target_groups(), categories=list(CATEGORIES), form=form or MultiDict(),
                  errors=errors or {}, error=error)


@bp.route("/referrals/new", methods=["GET", "POST"])
@requires(*CASEWORK)
def new_referral():
    try:
        client_id = uuid.UUID(request.values.get("client", ""))
    except ValueError:
        raise NotFound("No such client.") from None
    if request.method == "GET":
        return new_referral_page(client_id)
    fields, errors = forms.validate(ReferralIn(), forms.referral_input(request.form, client_id))
    if errors:
        return new_referral_page(client_id, 422, request.form, errors, t("form.check"))
    try:
        referral = service.send_referral(new_uow, current_actor(), fields["client_id"], fields["service_id"],
                                         fields.get("categories"), fields.get("note"), purpose=PURPOSE)
    except DomainError as e:
        return new_referral_page(client_id, e.status, request.form, forms.field_errors(e), error_message(e))
    flash(t("referral.sent"))
    return redirect(url_for("pages.referral", referral_id=referral.id))


# -- the list ------------------------------------------------------------------------
@bp.get("/referrals")
@requires(*CASEWORK)
def referrals():
    box = request.args.get("box") if request.args.get("box") in ("incoming", "outgoing") else None
    state = request.args.get("state") if request.args.get("state") in {s.value for s in State} else None
    page = page_number()
    items, total = service.list_referrals(new_uow, current_actor(), box=box, status=state, limit=PER_PAGE,
                                          offset=(page - 1) * PER_PAGE, purpose=PURPOSE,
                                          logged_as="page.referrals.list")
    return render("referrals.html", active="referrals", items=items, total=total, page=page,
                  pages=max(1, math.ceil(total / PER_PAGE)), box=box or "", state=state or "",
                  states=[s.value for s in State if s != State.DRAFT], names=service_names())


# -- one referral --------------------------------------------------------------------
REASONS_OF_ACTION = {action: REASONS.get(target, ()) for action, (target, _) in ACTIONS.items()}

def allowed_actions(r: Referral, org_id: str) -> list[str]:
    """Ask the domain, on a copy, which actions this side may take now: the rules live there only."""
    allowed = []
    for action, (target, _) in ACTIONS.items():
        reason = (REASONS.get(target) or (None,))[0]
        try:
            copy.copy(r).act(action, org_id=org_id, by="-", reason_code=reason, reason_text="-")
        except DomainError:
            continue
        allowed.append(action)
    return allowed


def open_outcome_points(r: Referral, org_id: str, recorded: list[dict]) -> list[str]:
    """Outcome points the domain would take now and nobody has recorded yet."""
    done = {o["point"] for o in recorded}
    points = []
    for point in OUTCOME_POINTS:
        try:
            Outcome.record(r, point=point, outcome=OUTCOMES[0], detail=None, org_id=org_id, by="-")
        except DomainError:
            continue
        if point not in done:
            points.append(point)
    return points


def arrival_text(arrival: str, missed: int | None, at=None) -> str:
    """What the receiver's attendance told, in words: "Saapui" (with `at`: "Saapui 3.12.2026 klo 10.00"), or
    "Ei saapunut (3 poissaoloa)"."""
    if arrival == "arrived":
        return t("arrival.arrived-on", at=when(at)) if at else t("arrival.arrived")
    if missed is None:
        return t("arrival.not-arrived")
    return t("arrival.not-arrived-one") if missed == 1 else t("arrival.not-arrived-missed", n=missed)


def timeline(view: dict) -> list[dict]:
    """The referral's steps and what the receiver's attendance told of the client's arrival, in time order."""
    steps = [{"at": h["at"], "state": h} for h in view["history"]]
    steps += [{"at": a["at"], "arrival": a, "text": arrival_text(a["arrival"], a["missed"]), "by_org": a["by_org"]}
              for a in view["arrivals"]]
    return sorted(steps, key=lambda step: step["at"])


def referral_page(referral_id, status=200, form=None, errors=None, error=None, failed=None):
    actor = current_actor()
    view = service.get_referral(new_uow, actor, referral_id, purpose=PURPOSE, logged_as="page.referral.view",
                                accesses=service.ACCESSES_SHOWN)
    showing(url_for("pages.referral", referral_id=referral_id))
    r = view["referral"]
    arrival = arrival_text(r.arrival, r.missed_sessions, r.arrived_at) if r.arrival else None
    return render("referral.html", status, active="referrals", view=view, r=r, side=r.side_of(actor.org_id),
                  timeline=timeline(view), arrival=arrival,
                  actions=allowed_actions(r, actor.org_id), reasons=REASONS_OF_ACTION,
                  points=open_outcome_points(r, actor.org_id, view["outcomes"]), outcomes=OUTCOMES,
                  categories=list(CATEGORIES), form=form or MultiDict(), errors=errors or {}, error=error,
                  failed=failed)


@bp.get("/referrals/<uuid:referral_id>")
@requires(*CASEWORK)
def referral(referral_id):
    return referral_page(referral_id)


@bp.post("/referrals/<uuid:referral_id>/<any(accept,reject,start,hold,complete,fail,cancel):action>")
@requires(*CASEWORK)
def act(referral_id, action):
    fields, errors = forms.validate(ActionIn(), forms.filled(request.form, ("reason_code", "reason_text")))
    if errors:
        return referral_page(referral_id, 422, request.form, errors, t("form.check"), failed=action)
    try:
        service.act_on_referral(new_uow, current_actor(), referral_id, action, fields.get("reason_code"),
                                fields.get("reason_text"), purpose=PURPOSE)
    except DomainError as e:
        return referral_page(referral_id, e.status, request.form, forms.field_errors(e), error_message(e), action)
    flash(t(f"action.done.{action}"))
    return redirect(url_for("pages.referral", referral_id=referral_id))


@bp.post("/referrals/<uuid:referral_id>/outcomes")
@requires(*CASEWORK)
def record_outcome(referral_id):
    fields, errors = forms.validate(OutcomeIn(), forms.filled(request.form, ("point", "outcome", "detail")))
    if errors:
        return referral_page(referral_id, 422, request.form, errors, t("form.check"), failed="outcome")
    try:
        service.record_outcome(new_uow, current_actor(), referral_id, fields["point"], fields["outcome"],
                               fields.get("detail"), purpose=PURPOSE)
    except DomainError as e:
        return referral_page(referral_id, e.status, request.form, forms.field_errors(e), error_message(e),
                             "outcome")
    flash(t("outcome.recorded"))
    return redirect(url_for("pages.referral", referral_id=referral_id, _anchor="outcomes"))

"""Clients: search, register, details with consents, and the registrar's data report."""
from flask import flash, redirect, request, url_for
from werkzeug.datastructures import MultiDict

from services.kernel.auth import Role, current_actor, requires
from services.kernel.errors import DomainError
from services.kernel.http_app import new_uow

from .. import service
from ..domain import CATEGORIES, GENDERS, LANGUAGES, METHODS, PURPOSES
from ..schemas import ClientIn, ConsentIn
from . import forms
from .common import CASEWORK, PER_PAGE, PURPOSE, bp, ctx, error_message, lang, render, showing, t
from .home import service_names


def page_number() -> int:
    try:
        return min(max(int(request.args.get("page", 1)), 1), 10_000)
    except ValueError:
        return 1


@bp.get("/clients")
@requires(*CASEWORK)
def clients():
    search = request.args.get("search", "").strip()[:100]
    page = page_number()
    found, more = service.list_clients(new_uow, current_actor(), search or None, PER_PAGE, (page - 1) * PER_PAGE,
                                       purpose=PURPOSE, logged_as="page.clients.list")
    return render("clients.html", active="clients", clients=found, more=more,
                  page=page, search=search)


def new_client_page(status=200, form=None, errors=None, error=None, existing=None):
    return render("client_new.html", status, active="clients", form=form or MultiDict({"language": "fi"}),
                  errors=errors or {}, error=error, existing=existing, genders=GENDERS, languages=LANGUAGES)


@bp.route("/clients/new", methods=["GET", "POST"])
@requires(*CASEWORK)
def new_client():
    if request.method == "GET":
        return new_client_page()
    fields, errors = forms.validate(ClientIn(), forms.filled(request.form, forms.CLIENT_FIELDS))
    if errors:
        return new_client_page(422, request.form, errors, t("form.check"))
    try:
        client = service.register_client(new_uow, current_actor(), fields, purpose=PURPOSE)
    except DomainError as e:
        return new_client_page(e.status, request.form, forms.field_errors(e), error_message(e),
                               existing=e.extra.get("client_id"))
    flash(t("client.registered", name=client.name))
    return redirect(url_for("pages.client", client_id=client.id))


def recipients() -> list[tuple[str, str]]:
    """Organisations of the federation a consent can name (not this one)."""
    own = ctx().settings.org_id
    return [(o.id, o.display_name(lang())) for o in ctx().federation.organisations.values() if o.id != own]


def client_page(client_id, status=200, form=None, errors=None, error=None):
    view = service.client_overview(new_uow, current_actor(), client_id, purpose=PURPOSE)
    showing(url_for("pages.client", client_id=client_id))
    return render("client.html", status, active="clients", **view, names=service_names(),
                  recipients=recipients(), categories=list(CATEGORIES), purposes=PURPOSES,
                  methods=METHODS, form=form or forms.default_consent_form(), errors=errors or {}, error=error)


@bp.get("/clients/<uuid:client_id>")
@requires(*CASEWORK)
def client(client_id):
    return client_page(client_id)


@bp.post("/clients/<uuid:client_id>/consents")
@requires(*CASEWORK)
def record_consent(client_id):
    data, errors = forms.consent_input(request.form)
    fields, schema_errors = forms.validate(ConsentIn(), data)
    if errors or schema_errors:
        return client_page(client_id, 422, request.form, {**schema_errors, **errors}, t("form.check"))
    try:
        service.record_consent(new_uow, current_actor(), client_id, fields, purpose=PURPOSE)
    except DomainError as e:
        return client_page(client_id, e.status, request.form, forms.field_errors(e), error_message(e))
    flash(t("consent.recorded"))
    return redirect(url_for("pages.client", client_id=client_id, _anchor="consents"))


@bp.post("/clients/<uuid:client_id>/consents/<uuid:consent_id>/withdraw")
@requires(*CASEWORK)
def withdraw_consent(client_id, consent_id):
    try:
        service.withdraw_consent(new_uow, current_actor(), client_id, consent_id, purpose=PURPOSE)
    except DomainError as e:
        return client_page(client_id, e.status, error=error_message(e))
    flash(t("consent.withdrawn"))
    return redirect(url_for("pages.client", client_id=client_id, _anchor="consents"))


@bp.get("/clients/<uuid:client_id>/report")
@requires(Role.REGISTRAR)
def client_report(client_id):
    report = service.data_report(new_uow, current_actor(), client_id, purpose=PURPOSE, logged_as="page.client.report")
    return render("report.html", active="home", report=report)

"""The front page: a caseworker's inbox; the registrar's way to a client's data report."""
import uuid

from flask import redirect, request, url_for

from services.kernel.auth import Role, current_actor, requires
from services.kernel.http_app import new_uow

from .. import service
from .common import CASEWORK, PURPOSE, bp, render, t


def service_names() -> dict:
    return {s["service_id"]: s["name_fi"] for s in service.list_targets(new_uow)}


@bp.get("/")
@requires()
def home():
    actor = current_actor()
    if actor.role == Role.REGISTRAR:
        return render("registrar.html", active="home", client="", errors={})
    return inbox_page()


@requires(*CASEWORK)  # the inbox is casework: any other role (e.g. a coordinator made here) is refused, and logged
def inbox_page():
    inbox = service.inbox(new_uow, current_actor(), purpose=PURPOSE, logged_as="page.inbox.view")
    return render("inbox.html", active="home", inbox=inbox, names=service_names())


@bp.get("/report")
@requires(Role.REGISTRAR)
def find_report():
    """The registrar names the client (by id) whose data report to produce."""
    text = request.args.get("client", "").strip()
    try:
        return redirect(url_for("pages.client_report", client_id=uuid.UUID(text)))
    except ValueError:
        return render("registrar.html", 422, active="home", client=text, errors={"client": t("field-error.client")},
                      error=t("form.check"))

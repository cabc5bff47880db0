"""Logging in to the pages (username and password of this instance's own users) and out."""
from flask import flash, redirect, request, url_for

from services.kernel.auth import log_in, log_out

from .common import bp, render, safe_next, t


@bp.route("/login", methods=["GET", "POST"])
def login():
    back = safe_next(request.values.get("next"))
    if request.method == "GET":
        return render("login.html", next=back, username="")
    username = request.form.get("username", "")[:100]
    if log_in(username, request.form.get("password", "")) is None:
        return render("login.html", 401, next=back, username=username, error=t("login.failed"))
    return redirect(back or url_for("pages.home"))


@bp.post("/logout")
def logout():
    log_out()
    flash(t("login.logged-out"))
    return redirect(url_for("pages.login"))

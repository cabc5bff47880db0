"""The login and logout pages every service with sessions shares: `add_login(pages, home=...)`.

A wrong password answers 401 on the login page, a locked account (too many recent failures, see
kernel/logins.py) 429 with how long to wait, and too many failures from one address 429 from the
address limit; logout ends the session on the server (every copy of its cookie stops working).
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, request, url_for

from ..auth import log_in, log_out
from ..logins import TooManyAttempts
from . import Pages


def safe_next(target: str | None) -> str | None:
    """Only a path of this site may be a place to return to after login: no scheme, no host, no backslash
    and no control character or space (browsers drop a tab or newline, so "/\t/evil.example" would become
    "//evil.example", another site)."""
    if not target or not target.startswith("/") or "\\" in target:
        return None
    if any(ord(ch) < 0x21 or ord(ch) == 0x7f for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return None
    return target


def add_login(pages: Pages, *, home: str, template: str = "login.html") -> None:
    """/login (GET: the form; POST: check and start a session) and /logout (POST) on `pages.bp`."""
    bp = pages.bp

    @bp.route("/login", methods=["GET", "POST"])
    def login():
        back = safe_next(request.values.get("next"))
        if request.method == "GET":
            return pages.render(template, next=back, username="")
        username = request.form.get("username", "")[:100]
        try:
            actor = log_in(username, request.form.get("password", ""))
        except TooManyAttempts as e:
            page, status = pages.render(template, 429, next=back, username=username, error=pages.refusal(e))
            return page, status, {"Retry-After": str(e.extra["retry_after"])}
        if actor is None:
            return pages.render(template, 401, next=back, username=username, error=pages.t("login.failed"))
        return redirect(back or url_for(home))

    @bp.post("/logout")
    def logout():
        log_out()
        flash(pages.t("login.logged-out"))
        return redirect(url_for(f"{bp.name}.login"))

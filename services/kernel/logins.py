"""Limits on guessing: the per-account lockout (in the instance's database) and the per-address limit
(Flask-Limiter), and the log of login attempts.

Per account: after LOGIN_MAX_FAILURES failed page logins of one username within LOGIN_LOCKOUT_SECONDS
(since its last successful login), further attempts are refused unchecked (no password hash is computed)
until the oldest of those failures is that old. The failures are rows of `login_attempt`, so every
gunicorn worker and every process of the instance counts the same ones.

Per client address: Flask-Limiter counts the failed authentications (401: a wrong password or API token)
of an address and refuses its requests with 429 while LOGIN_ADDRESS_LIMIT ("20 per 15 minutes") is
exceeded. Flask-Limiter has no PostgreSQL storage: with the default `memory://` each gunicorn worker
counts on its own (the effective limit is the limit times WEB_CONCURRENCY); RATELIMIT_STORAGE_URI
(e.g. `redis://…`) shares the count.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import Flask, request
from flask_limiter import Limiter
from sqlalchemy import insert, select

from .errors import DomainError
from .tables import login_attempt

OK, FAILED, LOCKED = "ok", "failed", "locked"


class TooManyAttempts(DomainError):
    status, title, code = 429, "Too many attempts", "login-locked"


@dataclass(frozen=True)
class Lockout:
    max_failures: int = 5
    seconds: float = 900.0

    @classmethod
    def from_env(cls) -> "Lockout":
        return cls(int(os.environ.get("LOGIN_MAX_FAILURES", 5)), float(os.environ.get("LOGIN_LOCKOUT_SECONDS", 900)))

    def locked_until(self, conn, username: str, now: datetime) -> datetime | None:
        """When the account's lockout ends; None when it is not locked."""
        since = now - timedelta(seconds=self.seconds)
        last_ok = conn.execute(select(login_attempt.c.at).where(
            login_attempt.c.username == username, login_attempt.c.result == OK, login_attempt.c.at > since)
            .order_by(login_attempt.c.at.desc()).limit(1)).scalar()
        rows = conn.execute(select(login_attempt.c.at).where(
            login_attempt.c.username == username, login_attempt.c.result == FAILED,
            login_attempt.c.at > (last_ok or since)).order_by(login_attempt.c.at.desc())
            .limit(self.max_failures)).scalars().all()
        if len(rows) < self.max_failures:
            return None
        return rows[-1] + timedelta(seconds=self.seconds)

    def refusal(self, until: datetime, now: datetime) -> TooManyAttempts:
        wait = max(1, math.ceil((until - now).total_seconds()))
        return TooManyAttempts(f"Too many failed logins for this account; try again in {wait} s.",
                               retry_after=wait, minutes=math.ceil(wait / 60))


def record(conn, username: str, address: str, result: str) -> None:
    conn.execute(insert(login_attempt).values(username=username[:100], address=address[:64], result=result))


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def client_address() -> str:
    """The TCP peer (a reverse proxy in front must pass the client's address on, e.g. with ProxyFix)."""
    return request.remote_addr or "unknown"


def _failed_authentication(resp) -> bool:
    return resp.status_code == 401


def enable_address_limit(app: Flask) -> Limiter:
    """Failed authentications (401) counted per client address; 429 for the address past the limit.
    The 429 is problem+json on the API and the page kit's error page on the pages."""
    app.config.setdefault("RATELIMIT_STORAGE_URI", os.environ.get("RATELIMIT_STORAGE_URI", "memory://"))
    limit = os.environ.get("LOGIN_ADDRESS_LIMIT", "20 per 15 minutes")
    limiter = Limiter(client_address, app=app, application_limits=[limit],
                      application_limits_deduct_when=_failed_authentication,
                      application_limits_exempt_when=lambda: request.path in ("/healthz", "/metrics"),
                      key_prefix=f"{app.name}:")
    app.extensions["yhd_limiter"] = limiter

    @app.after_request
    def _retry_after(resp):
        """Retry-After on the address limit's 429 (a locked account's 429 sets its own)."""
        if resp.status_code == 429 and "Retry-After" not in resp.headers and limiter.current_limit:
            resp.headers["Retry-After"] = str(max(1, math.ceil(limiter.current_limit.reset_at - time.time())))
        return resp
    return limiter

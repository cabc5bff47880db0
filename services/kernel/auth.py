"""Per-organisation users, roles, API tokens (stored as SHA-256 hashes) and page logins.

An API call authenticates with `Authorization: Bearer <token>`; a browser logs in
with a username and password (werkzeug's salted hash) and then carries a signed
Flask session cookie. Either way `current_actor()` answers who is asking.

A sibling service of the same organisation (role `service`, e.g. attendance reading its organisation's
client directory from referrals) calls with its own token *on behalf of* a user of this instance, named by
`X-Acting-For`; only routes that list `Role.SERVICE` accept it, and the request then acts as that user
(`Actor.via` names the service, so the access log says through whom the user read).

Every page login attempt is logged (`login_attempt`: username tried, address, time, result); an account
with too many recent failures is locked for a while (logins.Lockout). The session cookie names the
user's session generation, which logout raises: the cookie, and every copy of it, then stops working.
"""
from __future__ import annotations

import enum
import hashlib
import os
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache, wraps

from flask import current_app, g, request, session
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from werkzeug.security import check_password_hash, generate_password_hash

from . import logins
from .errors import Forbidden, Unauthorized
from .tables import api_user


class Role(str, enum.Enum):
    CASEWORKER = "caseworker"
    MANAGER = "manager"
    REGISTRAR = "registrar"
    ADMIN = "admin"
    COORDINATOR = "coordinator"   # regional reporting: the whole region's figures
    SERVICE = "service"           # a sibling service of the organisation, acting for a user (X-Acting-For)


ACTING_FOR = "X-Acting-For"   # the header naming the user a Role.SERVICE caller acts for


@dataclass(frozen=True)
class Actor:
    username: str
    display_name: str
    role: Role
    org_id: str
    member_org: str | None = None   # at a regional instance: the one organisation this user speaks for
    via: str | None = None          # the service user through which this user acts (Role.SERVICE)


def system_actor(org_id: str) -> Actor:
    """The service itself, acting on an event (e.g. restricting data after a consent withdrawal)."""
    return Actor(f"system@{org_id}", "system", "system", org_id)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "yhd_" + secrets.token_urlsafe(32)


def upsert_user(conn, username: str, role: str, token: str, display_name: str | None = None,
                password: str | None = None, member_org: str | None = None) -> None:
    """Create or update a user; a password (if given) lets the user log in to the pages; `member_org`: at a
    regional instance, the organisation the user speaks for (e.g. its manager at reporting)."""
    Role(role)  # reject unknown roles
    values = dict(username=username, role=role, token_hash=hash_token(token), display_name=display_name or username,
                  member_org=member_org)
    if password is not None:
        if not password:
            raise ValueError("an empty password is not a password")
        values["password_hash"] = _hash_password(password)
    conn.execute(pg_insert(api_user).values(**values).on_conflict_do_update(
        index_elements=["username"], set_={k: v for k, v in values.items() if k != "username"}))


@lru_cache(maxsize=64)
def _hash_password(password: str) -> str:
    # once per password and process: the launcher seeds each user into every service database of
    # its organisation, and one scrypt hash takes a noticeable part of a second
    return generate_password_hash(password)


@lru_cache(maxsize=1)
def _unknown_user_hash() -> str:
    return generate_password_hash(secrets.token_urlsafe(16))


def _actor(row, org_id: str) -> Actor:
    return Actor(row.username, row.display_name, Role(row.role), org_id, row.member_org)


def actor_for_token(conn, org_id: str, token: str) -> Actor | None:
    row = conn.execute(select(api_user).where(api_user.c.token_hash == hash_token(token))).first()
    if row is None:
        return None
    return _actor(row, org_id)


def _stamp(row) -> str:
    """Sessions remember this: a new password (or a re-seeded user) and every logout (a new session
    generation) end the older sessions."""
    return hashlib.sha256(f"{row.password_hash}:{row.session_generation}".encode()).hexdigest()[:16]


def actor_for_password(conn, org_id: str, username: str, password: str) -> tuple[Actor, str] | None:
    """(actor, session stamp) if the password is the user's; None otherwise, taking about as long."""
    row = conn.execute(select(api_user).where(api_user.c.username == username)).first()
    if row is None or not row.password_hash:
        check_password_hash(_unknown_user_hash(), password)
        return None
    if not check_password_hash(row.password_hash, password):
        return None
    return _actor(row, org_id), _stamp(row)


def actor_for_session(conn, org_id: str, username: str, stamp: str) -> Actor | None:
    row = conn.execute(select(api_user).where(api_user.c.username == username)).first()
    if row is None or not row.password_hash or not secrets.compare_digest(_stamp(row), stamp):
        return None
    return _actor(row, org_id)


def end_sessions(conn, username: str) -> None:
    """Every page session of the user signed so far ends (logout: a copied cookie stops working too)."""
    conn.execute(api_user.update().where(api_user.c.username == username)
                 .values(session_generation=api_user.c.session_generation + 1))


def check_login(conn, org_id: str, username: str, password: str, address: str,
                lockout: logins.Lockout | None = None) -> tuple[Actor, str] | None:
    """actor_for_password behind the per-account lockout, the attempt logged (never the password).
    Raises TooManyAttempts while the account is locked, without checking the password."""
    lockout = lockout or logins.Lockout.from_env()
    now = logins.now_utc()
    until = lockout.locked_until(conn, username, now)
    if until is not None:
        logins.record(conn, username, address, logins.LOCKED)
        conn.commit()
        raise lockout.refusal(until, now)
    found = actor_for_password(conn, org_id, username, password)
    logins.record(conn, username, address, logins.OK if found else logins.FAILED)
    conn.commit()
    return found


def log_in(username: str, password: str) -> Actor | None:
    """Check the password against this instance's own database and start a session (TooManyAttempts
    while the account is locked)."""
    ctx = current_app.extensions["yhd"]
    with ctx.engine.connect() as conn:
        found = check_login(conn, ctx.settings.org_id, username.strip()[:100], password, logins.client_address())
    if found is None:
        return None
    actor, stamp = found
    lang = session.get("lang")
    session.clear()  # a fresh session (and CSRF token) for the logged-in user
    session.update(user=actor.username, org=actor.org_id, auth=stamp)
    if lang:
        session["lang"] = lang
    session.permanent = True
    g.actor = actor
    return actor


def log_out() -> None:
    """End the session here and on the server: the user's session generation moves on."""
    username, org = session.get("user"), session.get("org")
    ctx = current_app.extensions["yhd"]
    if username and org == ctx.settings.org_id:
        with ctx.engine.begin() as conn:
            end_sessions(conn, username)
    _forget_session()


def _forget_session() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    g.pop("actor", None)


def current_actor() -> Actor:
    """Who is asking: the bearer token's user (API) or the logged-in session's user (pages)."""
    actor = getattr(g, "actor", None)
    if actor is None:
        header = request.headers.get("Authorization", "")
        actor = _actor_from_bearer(header) if header else _actor_from_session()
        g.actor = actor
    return actor


# Valid tokens are remembered briefly per process (AUTH_CACHE_SECONDS, default 10; 0 turns it off):
# one database round trip less per API call, at the price of a replaced or removed token
# working for up to that long in a process that has just seen it. Invalid tokens are never cached.
_TOKEN_CACHE: dict[str, tuple[Actor, float]] = {}
_TOKEN_TTL = float(os.environ.get("AUTH_CACHE_SECONDS", "10"))


def _actor_from_bearer(header: str) -> Actor:
    if not header.startswith("Bearer "):
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'.")
    ctx = current_app.extensions["yhd"]
    key = f"{ctx.settings.org_id}:{hash_token(header[7:].strip())}"
    hit = _TOKEN_CACHE.get(key)
    if hit is not None and hit[1] > time.monotonic():
        return hit[0]
    with ctx.engine.connect() as conn:
        actor = actor_for_token(conn, ctx.settings.org_id, header[7:].strip())
    if actor is None:
        raise Unauthorized("The API token is not valid for this organisation.")
    if _TOKEN_TTL > 0:
        if len(_TOKEN_CACHE) > 10_000:
            _TOKEN_CACHE.clear()
        _TOKEN_CACHE[key] = (actor, time.monotonic() + _TOKEN_TTL)
    return actor


def _actor_from_session() -> Actor:
    ctx = current_app.extensions["yhd"]
    username, org, stamp = session.get("user"), session.get("org"), session.get("auth")
    if not username or org != ctx.settings.org_id or not stamp:
        raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'.")
    with ctx.engine.connect() as conn:
        actor = actor_for_session(conn, ctx.settings.org_id, username, stamp)
    if actor is None:
        _forget_session()
        raise Unauthorized("The session has ended; log in again.", code="session-ended")
    return actor


ON_REFUSAL = "yhd.on_refusal"   # app.extensions[ON_REFUSAL]: called (actor, refusal) before a role refusal


def requires(*roles: Role):
    """Allow the listed roles (admin is always allowed). A refusal is first reported to the app's
    `ON_REFUSAL` hook, if it has one (the referrals service writes it to the access log).

    `Role.SERVICE` is never implied (not by admin, not by an empty list): a route that lists it lets a
    sibling service in, acting for the user its `X-Acting-For` names, who must hold one of the other
    listed roles (or admin); the route then sees that user as `current_actor()`."""
    def deco(fn):
        @wraps(fn)
        def wrapper(*a, **kw):
            actor = current_actor()
            if actor.role == Role.SERVICE:
                g.actor = _acting_for(actor, roles)
            elif roles and actor.role not in roles and actor.role != Role.ADMIN:
                _refuse(actor, Forbidden(f"Role '{actor.role.value}' may not do this."))
            return fn(*a, **kw)
        return wrapper
    return deco


def _refuse(actor: Actor, refusal: Forbidden):
    if ON_REFUSAL in current_app.extensions:
        current_app.extensions[ON_REFUSAL](actor, refusal)
    raise refusal


def _acting_for(service: Actor, roles) -> Actor:
    """The user a service caller acts for: a user of this instance allowed the route themselves."""
    if Role.SERVICE not in roles:
        _refuse(service, Forbidden("Role 'service' may not do this."))
    username = request.headers.get(ACTING_FOR, "").strip()[:100]
    if not username:
        _refuse(service, Forbidden(f"A service acts for a user of this organisation: send {ACTING_FOR}: "
                                   "<username>.", code="acting-for-refused"))
    allowed = {r for r in roles if r != Role.SERVICE} | {Role.ADMIN}
    ctx = current_app.extensions["yhd"]
    with ctx.engine.connect() as conn:
        row = conn.execute(select(api_user).where(api_user.c.username == username)).first()
    if row is None or row.role not in {r.value for r in allowed}:
        # one answer for an unknown user and a user without the role: the refusal tells no usernames
        _refuse(service, Forbidden(f"A service may act here only for a user of this organisation with the role "
                                   f"{' or '.join(sorted(r.value for r in allowed))}.", code="acting-for-refused"))
    return Actor(row.username, row.display_name, Role(row.role), ctx.settings.org_id, row.member_org,
                 via=service.username)

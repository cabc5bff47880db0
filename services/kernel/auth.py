"""Per-organisation users, roles and API tokens (stored as SHA-256 hashes)."""
from __future__ import annotations

import enum
import hashlib
import secrets
from dataclasses import dataclass
from functools import wraps

from flask import current_app, g, request
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from .errors import Forbidden, Unauthorized
from .tables import api_user


class Role(str, enum.Enum):
    CASEWORKER = "caseworker"
    MANAGER = "manager"
    REGISTRAR = "registrar"
    ADMIN = "admin"


@dataclass(frozen=True)
class Actor:
    username: str
    display_name: str
    role: Role
    org_id: str


def system_actor(org_id: str) -> Actor:
    """The service itself, acting on an event (e.g. restricting data after a consent withdrawal)."""
    return Actor(f"system@{org_id}", "system", "system", org_id)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "yhd_" + secrets.token_urlsafe(32)


def upsert_user(conn, username: str, role: str, token: str, display_name: str | None = None) -> None:
    Role(role)  # reject unknown roles
    values = dict(username=username, role=role, token_hash=hash_token(token), display_name=display_name or username)
    conn.execute(pg_insert(api_user).values(**values).on_conflict_do_update(
        index_elements=["username"], set_={k: values[k] for k in ("role", "token_hash", "display_name")}))


def actor_for_token(conn, org_id: str, token: str) -> Actor | None:
    row = conn.execute(select(api_user).where(api_user.c.token_hash == hash_token(token))).first()
    if row is None:
        return None
    return Actor(row.username, row.display_name, Role(row.role), org_id)


def current_actor() -> Actor:
    actor = getattr(g, "actor", None)
    if actor is None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise Unauthorized("Send an API token as 'Authorization: Bearer <token>'.")
        ctx = current_app.extensions["yhd"]
        with ctx.engine.connect() as conn:
            actor = actor_for_token(conn, ctx.settings.org_id, header[7:].strip())
        if actor is None:
            raise Unauthorized("The API token is not valid for this organisation.")
        g.actor = actor
    return actor


def requires(*roles: Role):
    """Allow the listed roles (admin is always allowed)."""
    def deco(fn):
        @wraps(fn)
        def wrapper(*a, **kw):
            actor = current_actor()
            if roles and actor.role not in roles and actor.role != Role.ADMIN:
                raise Forbidden(f"Role '{actor.role.value}' may not do this.")
            return fn(*a, **kw)
        return wrapper
    return deco

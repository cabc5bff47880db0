"""The Flask application base every service builds on.

OpenAPI 3 at /openapi.json with Swagger UI at /docs (served locally),
/healthz (database, broker, outbox, and whether the consumer advances), /metrics (Prometheus), RFC 9457
problem+json for every error, and request latency metrics. A service with
pages adds browser sessions and CSRF protection (`enable_browser_sessions`).
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from datetime import timedelta
from pathlib import Path

import swagger_ui_bundle
from flask import Flask, Response, current_app, g, jsonify, request, send_from_directory, session
from flask_smorest import Api
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from . import broker, metrics
from .context import ServiceContext
from .db import is_transient, ping
from .demo import SettingRefused, demo_mode, refuse_derived_session_secret
from .logins import enable_address_limit
from .errors import DomainError, Forbidden, problem
from .progress import ConsumerProgress
from .outbox import outbox_check

log = logging.getLogger(__name__)
SWAGGER_DIR = Path(swagger_ui_bundle.swagger_ui_path)


class _BrokerCheck:
    """Cache the broker check briefly so /healthz stays cheap under scraping."""

    def __init__(self, bootstrap: str, ttl: float = 5.0):
        self.bootstrap, self.ttl = bootstrap, ttl
        self._at, self._ok = 0.0, False
        self._lock = threading.Lock()

    def ok(self) -> bool:
        with self._lock:
            if time.monotonic() - self._at > self.ttl:
                self._ok = broker.broker_reachable(self.bootstrap)
                self._at = time.monotonic()
            return self._ok


def new_uow():
    """A new unit of work of the service instance handling this request (a factory: one per `with`)."""
    return current_app.extensions["yhd"].uow()


def problem_response(status: int, title: str, detail: str, code: str, **extra) -> Response:
    resp = jsonify(problem(status, title, detail, code, instance=request.path, **extra))
    resp.status_code = status
    resp.mimetype = "application/problem+json"
    return resp


def create_base_app(ctx: ServiceContext, *, title: str, description: str = "",
                    consumer_topics: list[str] = ()) -> tuple[Flask, Api]:
    """`consumer_topics`: what the instance's consumer reads; /healthz turns 503 when it stops advancing."""
    app = Flask(ctx.settings.service)
    app.json.ensure_ascii = False
    app.config.update(
        API_TITLE=title, API_VERSION="v1", OPENAPI_VERSION="3.1.0",
        API_SPEC_OPTIONS={"info": {"description": description}},
        OPENAPI_URL_PREFIX="/", OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs", OPENAPI_SWAGGER_UI_URL="/docs/static/",
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    app.extensions["yhd"] = ctx
    api = Api(app)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    broker_check = _BrokerCheck(ctx.settings.kafka_bootstrap_servers)
    progress = ConsumerProgress(ctx.engine, ctx.settings.kafka_bootstrap_servers, list(consumer_topics),
                                stall_seconds=ctx.settings.consumer_stall_seconds)

    @app.get("/docs/static/<path:filename>")
    def swagger_static(filename):
        return send_from_directory(SWAGGER_DIR, filename)

    @app.get("/healthz")
    def healthz():
        checks = {}
        try:
            ping(ctx.engine)
            checks["database"] = "ok"
        except Exception as e:
            checks["database"] = f"down: {type(e).__name__}"
        checks["broker"] = "ok" if broker_check.ok() else "unreachable"
        checks["outbox"] = (outbox_check(ctx.engine, ctx.settings.outbox_stall_seconds)  # stalled, quarantined
                            if checks["database"] == "ok" else "unknown")
        if progress.topics and checks["database"] == "ok" and checks["broker"] == "ok":
            stalls = progress.stalls()
            checks["consumer"] = "stalled: " + "; ".join(stalls) if stalls else "ok"
        ok = all(v == "ok" for v in checks.values())
        body = {"status": "ok" if ok else "degraded", "org": ctx.settings.org_id,
                "service": ctx.settings.service, "checks": checks}
        if ok:
            return body, 200
        return problem_response(503, "Service unavailable", f"health checks failed: {checks}", "unhealthy",
                                checks=checks)

    metrics_token = metrics.metrics_token()

    @app.get("/metrics")
    def metrics_endpoint():
        refused = metrics.refusal(request.headers.get("Authorization", ""), metrics_token)
        if refused:
            status, code, detail = refused
            resp = problem_response(status, "Forbidden" if status == 403 else "Authentication required", detail, code)
            resp.headers["WWW-Authenticate"] = "Bearer"
            return resp
        body, content_type = metrics.render()
        return Response(body, content_type=content_type)

    @app.before_request
    def _start_timer():
        g._t0 = time.perf_counter()

    @app.after_request
    def _observe(resp):
        rule = request.url_rule.rule if request.url_rule else "unmatched"
        if rule not in ("/metrics",):
            metrics.REQUEST_LATENCY.labels(request.method, rule, str(resp.status_code)).observe(
                time.perf_counter() - getattr(g, "_t0", time.perf_counter()))
        return resp

    @app.errorhandler(DomainError)
    def _domain_error(e: DomainError):
        return problem_response(e.status, e.title, e.detail, e.code, **e.extra)

    @app.errorhandler(HTTPException)
    def _http_error(e: HTTPException):
        extra = {}
        data = getattr(e, "data", None)
        if data and "messages" in data:  # marshmallow validation errors from flask-smorest
            extra["errors"] = data["messages"]
            detail = "The request did not pass validation; see 'errors' for each field."
            return problem_response(e.code, "Invalid input", detail, "invalid", **extra)
        if e.code == 429:   # the address limit of logins.enable_address_limit
            return problem_response(429, "Too many attempts", "Too many failed authentications from this "
                                    "address; wait and try again (see Retry-After).", "too-many-attempts")
        return problem_response(e.code or 500, e.name, e.description or e.name,
                                e.name.lower().replace(" ", "-"))

    @app.errorhandler(DBAPIError)
    def _db_error(e: DBAPIError):
        if is_transient(e):
            log.warning("database unavailable: %s", e)
            return problem_response(503, "Service unavailable",
                                    "The database is not reachable right now; nothing was saved. Try again shortly.",
                                    "database-unavailable")
        return _unexpected(e)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        if isinstance(e, HTTPException):
            return _http_error(e)
        log.exception("unhandled error")
        return problem_response(500, "Internal server error", "An unexpected error occurred; it has been logged.",
                                "internal")

    enable_address_limit(app)
    return app, api


def create_service_app(defn, blueprints, *, title: str, description: str, settings=None) -> Flask:
    """Application factory for a service: context, base app, the service's blueprints."""
    from .worker import context_for, setup_logging  # worker imports nothing of Flask
    setup_logging()
    ctx = context_for(defn, settings)
    topics = sorted(defn.handlers.topics(ctx.contracts)) if defn.handlers.types() else []
    app, api = create_base_app(ctx, title=title, description=description, consumer_topics=topics)
    for bp in blueprints:
        api.register_blueprint(bp)
    return app


# -- browser sessions and CSRF (services with pages) ---------------------------------
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
FORM_MIMETYPES = {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}


def session_secret(ctx: ServiceContext) -> bytes:
    """SECRET_KEY from the environment; in demo mode only, else derived from the organisation's signing key
    file, so that every worker process of the instance (and every restart) signs sessions alike."""
    refuse_derived_session_secret()
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"].encode()
    key_file = ctx.settings.signing_key_file
    if key_file is None:
        org = ctx.federation.get(ctx.settings.org_id)
        # regional reporting has no key of its own in the federation file: the demo pathway secret then
        key_file = org.demo_signing_key_file if org else ctx.federation.demo_pathway_secret_file
    if key_file is None or not Path(key_file).exists():
        log.warning("neither SECRET_KEY nor a signing key file: page sessions last only as long as this process")
        return secrets.token_bytes(32)
    label = f"yhdistamo session secret {ctx.settings.org_id}/{ctx.settings.service}".encode()
    return hmac.new(Path(key_file).read_bytes(), label, hashlib.sha256).digest()


def csrf_token() -> str:
    """The session's token that every form posting to this instance carries (field `csrf_token`)."""
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    """A state-changing request that a browser could send on its own (a form post, or any request riding
    on the session cookie) must carry the session's token; bearer-token API calls need none."""
    if request.method not in UNSAFE_METHODS or request.headers.get("Authorization"):
        return
    if not session and request.mimetype not in FORM_MIMETYPES:
        return
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("The form's security token is missing or out of date; reload the page and try again.",
                        code="csrf-failed")


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    return default if not value else value in ("1", "true", "yes", "on")


def enable_browser_sessions(app: Flask) -> None:
    """Signed cookie sessions (a cookie name per organisation and service: browsers share cookies across
    ports) and the CSRF check before every request. The cookie is `Secure` (sent over TLS only) unless
    demo mode is on or SESSION_COOKIE_SECURE=false; SameSite is SESSION_COOKIE_SAMESITE (default Lax)."""
    ctx = app.extensions["yhd"]
    samesite = os.environ.get("SESSION_COOKIE_SAMESITE", "Lax").strip().capitalize()
    if samesite not in ("Lax", "Strict", "None"):
        raise SettingRefused(f"SESSION_COOKIE_SAMESITE={samesite!r} is not a SameSite value; set it to Lax, Strict "
                             "or None")
    app.config.update(
        SECRET_KEY=session_secret(ctx),
        SESSION_COOKIE_NAME=f"yhd-{ctx.settings.org_id}-{ctx.settings.service}",
        SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE=samesite,
        SESSION_COOKIE_SECURE=_flag("SESSION_COOKIE_SECURE", not demo_mode()),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=float(os.environ.get("SESSION_HOURS", 10))),
    )
    app.before_request(check_csrf)


def request_purpose(default: str = "casework") -> str:
    """Why the caller reads client data (its X-Purpose header), for the access log."""
    return request.headers.get("X-Purpose", default)[:200]

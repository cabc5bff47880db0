"""One exception hierarchy, mapped once to RFC 9457 problem+json."""
from __future__ import annotations


class Rejected(Exception):
    """A well-formed, signed event that must not be applied (e.g. one organisation claiming another's
    aggregate): the consumer runner dead-letters it at once with this reason, without retries."""


class DomainError(Exception):
    status = 400
    title = "Bad request"
    code = "bad-request"

    def __init__(self, detail: str, *, code: str | None = None, **extra):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.extra = extra


class Invalid(DomainError):
    status, title, code = 422, "Invalid input", "invalid"


class Unauthorized(DomainError):
    status, title, code = 401, "Authentication required", "unauthorized"


class Forbidden(DomainError):
    status, title, code = 403, "Forbidden", "forbidden"


class NotFound(DomainError):
    status, title, code = 404, "Not found", "not-found"


class Conflict(DomainError):
    status, title, code = 409, "Conflict", "conflict"


class Unavailable(DomainError):
    status, title, code = 503, "Service unavailable", "unavailable"


PROBLEM_TYPE_BASE = "https://yhdistamo.fi/problems/"


def problem(status: int, title: str, detail: str, code: str, instance: str | None = None, **extra) -> dict:
    body = {"type": PROBLEM_TYPE_BASE + code, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body.update(extra)
    return body

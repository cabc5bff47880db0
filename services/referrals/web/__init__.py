"""Caseworker pages of the referrals service: server-rendered, Finnish first (English on request),
usable with a keyboard, a screen reader and a phone, without JavaScript.

Like the API, every view parses its input, calls one use case of `service` and renders the answer;
a refused use case (DomainError) is shown on the page in the user's language.
"""
from . import clients, home, login, referrals  # noqa: F401  (their views register on `bp`)
from .common import bp

__all__ = ["bp"]

"""Caseworker pages of the attendance service: server-rendered, Finnish first (Swedish and English on request),
usable with a keyboard, a screen reader and a phone, without JavaScript.

Like the API, every view parses its input, calls one use case of `service` and renders the answer; a refused
use case (DomainError) is shown on the page in the user's language. Clients' names come from the
organisation's client directory (its referrals service) when a page shows them, and are never stored here.
"""
from . import clients, encounters, groups, home, login, tally  # noqa: F401  (their views register on `bp`)
from .common import bp

__all__ = ["bp"]

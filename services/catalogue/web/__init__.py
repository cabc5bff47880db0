"""The public pages of a catalogue instance: "Löydä oma palvelusi" — find a service among every
organisation's public services in the region, without logging in.

Server-rendered and usable without JavaScript (a GET form), with a keyboard, a screen reader and a
phone; Finnish first, Swedish and English on request (`?lang=sv`). Like the API, each view parses its
input, reads through the unit of work, and renders; bad filter values are shown next to their field.
"""
from . import pages  # noqa: F401  (its views register on `bp`)
from .common import bp

__all__ = ["bp"]

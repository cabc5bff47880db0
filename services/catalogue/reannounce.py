"""Announce the organisation's public services again, signed with the instance's present key:

    python -m services.catalogue.reannounce

(the catalogue instance's environment: ORG_ID, DATABASE_URL, SIGNING_KEY_FILE, …). Step 5 of a signing key
rotation (README, "Signing keys and rotation"); the relay publishes the events.
"""
from services.kernel.worker import context_for

from . import DEFINITION
from .publishing.service import reannounce

if __name__ == "__main__":
    ctx = context_for(DEFINITION)
    try:
        print(f"announced {reannounce(ctx.uow)} public service(s) again")
    finally:
        ctx.dispose()

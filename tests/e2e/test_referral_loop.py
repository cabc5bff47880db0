"""The referral loop closes by itself, with real processes: Nuorten Polku refers a young person to ODL, ODL
accepts, and the young person's first attended session at ODL is all it takes for Nuorten Polku to see them
arrive and the referral in progress; the no-show path tells the sender how many sessions were missed."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from devstack.client import consent_to, eventually
from tests.support.people import synthetic_client

pytestmark = pytest.mark.e2e
SENDER, RECEIVER = "nuorten-polku", "odl"


def ago(**kw) -> str:
    return (datetime.now(timezone.utc) - timedelta(**kw)).isoformat()


def referred_and_accepted(stack, seed: int) -> tuple[dict, str, dict]:
    """(the person, the referral id, ODL's attendance view of the service) once ODL has accepted the referral
    and its attendance knows of it."""
    person = synthetic_client(seed)
    service = eventually(lambda: next((s for s in stack.ok(RECEIVER, "attendance", "GET", "/api/v1/services")
                                       if s["name"]["fi"] == "Voimavararyhmä"), None), 90,
                         what="ODL's group service at its attendance")
    client = stack.client_with_consent(SENDER, RECEIVER, person, **consent_to(RECEIVER))
    target = stack.target(SENDER, RECEIVER, service_id=service["service_id"])
    referral = stack.refer(SENDER, client, target["service_id"], "e2e: toivoo ryhmää")["id"]
    eventually(lambda: stack.call(RECEIVER, "referrals", "GET", f"/api/v1/referrals/{referral}").ok, 60,
               what="the referral at ODL")
    stack.ok(RECEIVER, "referrals", "POST", f"/api/v1/referrals/{referral}/accept", json={})
    eventually(lambda: next((r for r in stack.ok(RECEIVER, "attendance", "GET", "/api/v1/referrals/incoming")
                             if r["referral_id"] == referral and r["status"] == "accepted"), None), 60,
               what="the accepted referral at ODL's attendance")
    return person, referral, service


def group_of(stack, service: dict, client: str, referral: str, sessions: int) -> list[str]:
    """A group at ODL with the client enrolled by referral three weeks ago, and its weekly sessions since."""
    g = stack.ok(RECEIVER, "attendance", "POST", "/api/v1/groups", json={
        "service_id": service["service_id"], "name": "e2e-ryhmä", "starts_on": ago(days=30)[:10]})
    stack.ok(RECEIVER, "attendance", "POST", f"/api/v1/groups/{g['id']}/participants", json={
        "client_id": client, "referral_id": referral, "enrolled_on": ago(days=22)[:10]})
    return [stack.ok(RECEIVER, "attendance", "POST", f"/api/v1/groups/{g['id']}/sessions",
                     json={"starts_at": ago(days=7 * (sessions - i))})["id"] for i in range(sessions)]


def mark(stack, session: str, client: str, how: str) -> None:
    stack.ok(RECEIVER, "attendance", "PUT", f"/api/v1/sessions/{session}/attendance",
             json={"marks": [{"client_id": client, "mark": how}]})


def at_sender(stack, referral: str) -> dict:
    return stack.ok(SENDER, "referrals", "GET", f"/api/v1/referrals/{referral}")["referral"]


def test_the_first_attended_session_shows_the_sender_arrived_and_in_progress(stack):
    person, referral, service = referred_and_accepted(stack, 1401)
    here = stack.register_client(RECEIVER, person)["id"]   # ODL's own client record of the young person
    first, second = group_of(stack, service, here, referral, 2)
    mark(stack, first, here, "attended")
    mark(stack, second, here, "attended")
    seen = eventually(lambda: (lambda r: r if r["state"] == "in-progress" and r.get("arrival") == "arrived"
                               else None)(at_sender(stack, referral)), 90, what="the sender seeing the arrival")
    assert seen["arrival"] == "arrived"
    at_receiver = eventually(lambda: (lambda r: r if r["state"] == "in-progress" else None)(
        stack.ok(RECEIVER, "referrals", "GET", f"/api/v1/referrals/{referral}")["referral"]), 30,
        what="the receiver's copy in progress")
    assert at_receiver["state"] == "in-progress" and at_receiver.get("arrival") == "arrived"


def test_missing_the_first_sessions_tells_the_sender_not_arrived_with_the_count(stack):
    person, referral, service = referred_and_accepted(stack, 1402)
    here = stack.register_client(RECEIVER, person)["id"]
    first, second, third = group_of(stack, service, here, referral, 3)
    mark(stack, first, here, "absent")
    mark(stack, second, here, "absent")
    seen = eventually(lambda: (lambda r: r if r.get("arrival") == "not-arrived" else None)(at_sender(stack, referral)),
                      90, what="the sender told of the no-show")
    assert seen["missed_sessions"] == 2 and seen["state"] == "accepted"
    mark(stack, third, here, "attended")   # they came after all
    eventually(lambda: at_sender(stack, referral).get("arrival") == "arrived", 90, what="the late arrival")

"""A caseworker's inbox is bounded for the page, never silently: the newest of each list, with the count of all."""
from __future__ import annotations

import uuid

import pytest
from marshmallow import EXCLUDE
from sqlalchemy import insert, text

from services import referrals
from services.kernel.auth import Actor, Role
from services.referrals import service as rs
from services.referrals.schemas import ConsentIn
from services.referrals.tables import notification
from tests.support.people import consent_to, synthetic_client

pytestmark = pytest.mark.integration
ODL = Actor("caseworker@odl", "Demo", Role.CASEWORKER, "odl")
CITY = Actor("caseworker@oulu-social", "Demo", Role.CASEWORKER, "oulu-social")
CITY_MANAGER = Actor("manager@oulu-social", "M", Role.MANAGER, "oulu-social")


def new_client(inst):
    """A client of ODL's who consented to a referral to the city."""
    c = rs.register_client(inst.ctx.uow, ODL, synthetic_client())
    rs.record_consent(inst.ctx.uow, ODL, c.id, ConsentIn(unknown=EXCLUDE).load(consent_to("oulu-social")))
    return c.id


def add_notifications(inst, role: str, n: int, *, read: bool = False) -> list[int]:
    """`n` notifications for `role`, one a minute older than the next; their ids, oldest first."""
    with inst.ctx.engine.begin() as c:
        return [c.execute(insert(notification).values(
            role=role, kind="escalated", referral_id=uuid.uuid4(),
            created_at=text(f"now() - interval '{n - i} minutes'"),
            read_at=text("now()") if read else None).returning(notification.c.id)).scalar_one()
            for i in range(n)]


def test_the_inbox_shows_the_newest_unread_notifications_and_counts_them_all(instance):
    city = instance(referrals.DEFINITION, "oulu-social")
    unread = add_notifications(city, "manager", rs.NOTIFICATIONS_SHOWN + 7)
    add_notifications(city, "manager", 5, read=True)
    add_notifications(city, "caseworker", 3)
    box = rs.inbox(city.ctx.uow, CITY_MANAGER)
    assert [n["id"] for n in box["notifications"]] == unread[::-1][:rs.NOTIFICATIONS_SHOWN]
    assert box["totals"]["notifications"] == rs.NOTIFICATIONS_SHOWN + 7


def test_a_long_incoming_queue_shows_the_newest_and_says_how_many_wait(pair):
    odl, city, target_id = pair
    sent = [rs.send_referral(odl.ctx.uow, ODL, new_client(odl), target_id, None, None) for _ in range(3)]
    odl.publish()
    city.consume_until(lambda: rs.inbox(city.ctx.uow, CITY)["totals"]["incoming"] == 3)
    box = rs.inbox(city.ctx.uow, CITY, shown=2)
    assert len(box["incoming"]) == 2 and box["totals"]["incoming"] == 3
    assert {r.id for r in box["incoming"]} <= {s.id for s in sent}
    outgoing = rs.inbox(odl.ctx.uow, ODL, shown=2)
    assert len(outgoing["awaiting_answer"]) == 2 and outgoing["totals"]["awaiting_answer"] == 3
    assert "Näytetään uusimmat 2 / 3." in inbox_page(city, box)


def inbox_page(inst, box: dict) -> str:
    """The inbox page as the front page renders it, for this inbox."""
    from services.referrals.app import create_app
    from services.referrals.web.common import render
    app = create_app(inst.ctx.settings)
    try:
        with app.test_request_context("/"):
            html, _ = render("inbox.html", active="home", inbox=box, names={})
            return html
    finally:
        app.extensions["yhd"].dispose()

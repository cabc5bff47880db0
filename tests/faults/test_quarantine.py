"""A poisoned outbox does not stop the bus: real processes, an unpublishable event among valid referrals."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import create_engine

from devstack.client import eventually
from services.kernel import admin
from services.kernel.config import sqlalchemy_url
from services.kernel.outbox import Outbox
from tests.faults.harness import SENDER

pytestmark = pytest.mark.faults
DRAIN = 60.0


def stage_unpublishable(database_url: str) -> int:
    """A row of 2 MiB (more than the producer sends) in the sender's outbox, as a buggy producer would leave it."""
    engine = create_engine(sqlalchemy_url(database_url))
    try:
        with engine.begin() as conn:
            Outbox(conn, None).add_record(event_id=str(uuid.uuid4()), event_type="fi.yhdistamo.referral.requested.v2",
                                          topic="yhd.referrals", key=str(uuid.uuid4()),
                                          headers=[("ce_id", b"poison")], value=b"x" * (2 << 20))
            return conn.exec_driver_sql("SELECT max(seq) FROM outbox").scalar()
    finally:
        engine.dispose()


def health(fed):
    return fed.call(SENDER, "referrals", "GET", "/healthz", None)


def test_an_unpublishable_event_among_valid_referrals_is_quarantined_and_every_referral_arrives_once(
        federation, monkeypatch, capsys):
    fed = federation()
    fed.publish_target()
    fed.send(5)
    seq = stage_unpublishable(fed.urls[(SENDER, "referrals")])
    fed.send(10)
    drain = fed.wait_exactly_once(DRAIN)
    error = fed.q(SENDER, "referrals", "SELECT quarantine_error FROM outbox WHERE seq = :s "
                                       "AND quarantined_at IS NOT NULL AND published_at IS NULL", s=seq)
    assert error and "MessageSizeTooLargeError" in error
    h = eventually(lambda: (r := health(fed)).status_code == 503 and r, 30)
    assert h.headers["Content-Type"].startswith("application/problem+json")
    assert f"row {seq}" in h.json()["checks"]["outbox"] and h.json()["checks"]["database"] == "ok"

    monkeypatch.setenv("DATABASE_URL", fed.urls[(SENDER, "referrals")])
    assert admin.main(["outbox-drop", str(seq)]) == 0
    assert f"dropped row {seq}" in capsys.readouterr().out
    eventually(lambda: health(fed).status_code == 200, 30)
    fed.send(3)
    fed.wait_exactly_once(DRAIN)
    print(f"\n[fault] unpublishable outbox row among 15 referrals: drained {drain:.1f}s, quarantined, dropped")

"""What an instance's database keeps of the bus, and for how long (README, "Retention plan").

The inbox exists to keep a re-delivered event from being applied twice. An event
comes back only from a re-published outbox (a producer's relay, or its recovery
after the broker lost its data), and a producer keeps published rows for the
outbox window; so an inbox row older than that window, plus a margin for a row
marked published late (the relay crashed between publishing and marking) and for
the clocks of other organisations' databases, guards against nothing. The relay's
periodic cleanup prunes it (a bounded batch each minute).
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

INBOX_MARGIN_HOURS = 24.0


def inbox_window_hours(outbox_window_hours: float) -> float:
    """How long an inbox row is kept, given the outbox's re-publish window."""
    return outbox_window_hours + INBOX_MARGIN_HOURS


def prune_inbox(conn: Connection, older_than_hours: float, limit: int = 10_000) -> int:
    """Delete up to `limit` inbox rows processed more than `older_than_hours` ago, oldest first (index
    inbox_processed_at), so that one call stays a short transaction; return how many went."""
    return conn.execute(text(
        "DELETE FROM inbox WHERE (event_id, source) IN (SELECT event_id, source FROM inbox"
        " WHERE processed_at < now() - make_interval(secs => :s) ORDER BY processed_at LIMIT :n)"),
        {"s": older_than_hours * 3600, "n": limit}).rowcount

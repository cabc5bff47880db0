"""What the attendance use cases share: configuration, the catalogue and client checks, the person box for
reporting, and the one place that decides which loop event leaves."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from services.kernel import sealed
from services.kernel.auth import Actor
from services.kernel.errors import Invalid, NotFound, Unavailable

from ..domain import ReferralLink
from ..domain.intensity import DEFAULT_DAYS
from ..domain.loop import DEFAULT_NO_SHOW_AFTER

LOCAL = ZoneInfo("Europe/Helsinki")   # the day a tally counts and a group's dates are Finnish days


@dataclass(frozen=True)
class AttendanceConfig:
    no_show_after: int = DEFAULT_NO_SHOW_AFTER     # ATTENDANCE_NO_SHOW_SESSIONS
    contact_days: int = DEFAULT_DAYS               # GUIDANCE_CONTACT_DAYS
    instruments_dir: Path | None = None            # INSTRUMENTS_DIR: the organisation's licensed instruments

    @classmethod
    def from_env(cls, env=None) -> "AttendanceConfig":
        env = os.environ if env is None else env
        try:
            no_show = int(env.get("ATTENDANCE_NO_SHOW_SESSIONS", DEFAULT_NO_SHOW_AFTER))
            days = int(env.get("GUIDANCE_CONTACT_DAYS", DEFAULT_DAYS))
        except ValueError as e:
            raise RuntimeError(f"ATTENDANCE_NO_SHOW_SESSIONS and GUIDANCE_CONTACT_DAYS are whole numbers: {e}")
        if not 1 <= no_show <= 50 or not 1 <= days <= 365:
            raise RuntimeError("ATTENDANCE_NO_SHOW_SESSIONS is 1..50 and GUIDANCE_CONTACT_DAYS 1..365")
        extra = env.get("INSTRUMENTS_DIR")
        return cls(no_show, days, Path(extra) if extra else None)


def local_day(t: datetime) -> date:
    return t.astimezone(LOCAL).date()


def start_of_local_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL)


def check_place(uow, service_id, location_id) -> None:
    """A service must be one of this organisation's own active catalogue services, a location one of the
    locations its services are offered at (of that service, when one is named)."""
    if service_id is None and location_id is None:
        return
    services = uow.services.all()
    if service_id is not None:
        chosen = next((s for s in services if s["service_id"] == service_id), None)
        if chosen is None:
            raise Invalid("The service is not one of this organisation's services in the catalogue.",
                          code="unknown-service", field="service_id")
        services = [chosen]
    if location_id is not None and not any(str(location_id) == loc["id"] for s in services for loc in s["locations"]):
        raise Invalid("The location is not one where the service is offered.", code="unknown-location",
                      field="location_id")


def check_partners(uow, partners: list[str]) -> None:
    unknown = sorted(set(partners) - set(uow.ctx.federation.organisations))
    if unknown:
        raise Invalid(f"Unknown organisation {', '.join(unknown)}.", code="unknown-organisation",
                      field="partner_orgs")


def know_client(uow, directory, actor: Actor, client_id, purpose: str) -> dict:
    """The client's reference here (age band and gender for the events). A client attendance has not met
    yet is looked up in the organisation's referrals service: NotFound if it has no such client."""
    held = uow.client_refs.get(client_id)
    if held is not None:
        return held
    if directory is None:
        raise Unavailable("Attendance cannot reach the organisation's client register (REFERRALS_URL).",
                          code="directory-unconfigured")
    card = directory.cards([client_id], acting_for=actor.username, purpose=purpose).get(client_id)
    if card is None:
        raise NotFound(f"No client {client_id}.", code="unknown-client")
    uow.client_refs.remember(client_id, card.age_band, card.gender)
    return {"client_id": client_id, "age_band": card.age_band, "gender": card.gender}


def require_known(uow, client_id) -> None:
    """Reads of a client attendance has never met are 404, like any other id not here."""
    if not uow.client_refs.known(client_id):
        raise NotFound(f"No client {client_id} here.", code="unknown-client")


def person_box(uow, bound: dict, **facts) -> str | None:
    """The client, sealed for regional reporting only (bound to the event's subject), or None when the
    federation names no reporting key."""
    key = uow.ctx.federation.reporting_encryption_public_key
    if not key:
        return None
    return sealed.seal({"bound": bound, **{k: str(v) for k, v in facts.items()}}, key)


def observe_links(uow, config: AttendanceConfig, client_id, *, attended: bool, at: datetime, kind: str,
                  missed: bool = True) -> uuid.UUID | None:
    """An invited encounter of `client_id` (`attended`, or `missed`: an excused absence is neither) for each
    referral the client came by that is still open and was sent before the encounter: what its sender must
    be told leaves now. Returns the referral whose loop this encounter closed (its first attended one), the
    only encounter that names its referral on the bus; later encounters name none, so that the referral id
    never links a person's further contacts."""
    closed = None
    for link in uow.referrals.links_of(client_id, for_update=True):
        incoming = uow.referrals.incoming(link.referral_id)
        if incoming is None or incoming.status in ("rejected", "cancelled") or at < incoming.requested_at:
            continue
        if not attended and not missed:
            continue
        told = link.observe(attended=attended, at=at, kind=kind, no_show_after=config.no_show_after)
        uow.referrals.save_link(link)
        if told is not None:
            announce_arrival(uow, link, told)
            if told["arrival"] == "arrived":
                closed = closed or link.referral_id
    return closed


def announce_arrival(uow, link: ReferralLink, data: dict) -> None:
    uow.outbox.add("attendance.referral-arrival.v1", str(link.referral_id), data,
                   extensions={"recipient": link.from_org})

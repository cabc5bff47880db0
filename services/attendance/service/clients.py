"""A registered client's side of attendance: the referrals they came by, guidance and its intensity, life-situation
measures, and their timeline. The client's personal data stays in the referrals service; names are fetched for
the pages (directory) and never stored here."""
from __future__ import annotations

from datetime import date, datetime, timezone

from services.kernel.auth import Actor
from services.kernel.errors import Conflict, NotFound

from .. import instruments as instrument_files
from ..domain import Measurement, ReferralLink, change, current_series, overdue
from .common import AttendanceConfig, know_client, local_day, person_box, require_known


# -- the referral loop -----------------------------------------------------------------------------------
def incoming_referrals(uow_factory, actor: Actor, *, purpose: str = "casework",
                       logged_as="referral.incoming.list") -> list[tuple]:
    """Referrals to this organisation that are open, with the client each is linked to (if any): which client
    came by whose referral is client data, a read of each linked one."""
    with uow_factory() as uow:
        found = uow.referrals.open_incoming()
        uow.access_log.record_each(actor, [f"client:{link.client_id}" for _, link in found if link], logged_as,
                                   purpose)
        uow.commit()
    return found


def link_referral_in(uow, actor: Actor, client_id, referral_id) -> ReferralLink:
    incoming = uow.referrals.incoming(referral_id)
    if incoming is None:
        raise NotFound("No referral to this organisation with that id.", code="unknown-referral")
    link = ReferralLink.link(incoming, client_id, org_id=actor.org_id, by=actor.username,
                             existing=uow.referrals.link(referral_id, for_update=True))
    uow.referrals.save_link(link)
    return link


def link_referral(uow_factory, actor: Actor, client_id, referral_id, *, directory=None,
                  purpose: str = "casework") -> ReferralLink:
    """The client came by this referral: their first attended encounter here tells the sender "arrived"."""
    with uow_factory() as uow:
        know_client(uow, directory, actor, client_id, purpose)
        link = link_referral_in(uow, actor, client_id, referral_id)
        uow.access_log.record(actor, f"client:{client_id}", "referral.link", purpose)
        uow.commit()
    return link


# -- guidance and its intensity ----------------------------------------------------------------------------
def begin_guidance(uow_factory, actor: Actor, client_id, *, since: date | None = None, directory=None,
                   purpose: str = "casework") -> dict:
    with uow_factory() as uow:
        know_client(uow, directory, actor, client_id, purpose)
        if not uow.guidance.begin(client_id, since or local_day(datetime.now(timezone.utc)), actor.username):
            raise Conflict("The client is in individual guidance already.", code="already-in-guidance")
        uow.access_log.record(actor, f"client:{client_id}", "guidance.begin", purpose)
        row = uow.guidance.get(client_id)
        uow.commit()
    return row


def end_guidance(uow_factory, actor: Actor, client_id, *, on: date | None = None, purpose: str = "casework") -> dict:
    with uow_factory() as uow:
        require_known(uow, client_id)
        if not uow.guidance.end(client_id, on or local_day(datetime.now(timezone.utc)), actor.username):
            raise Conflict("The client is not in individual guidance.", code="not-in-guidance")
        uow.access_log.record(actor, f"client:{client_id}", "guidance.end", purpose)
        row = uow.guidance.get(client_id)
        uow.commit()
    return row


def no_contact(uow_factory, actor: Actor, *, days: int | None, config: AttendanceConfig,
               purpose: str = "casework", logged_as="guidance.overdue") -> tuple[list, int]:
    """Clients in individual guidance with no contact for more than `days` days (default: the configured
    GUIDANCE_CONTACT_DAYS), the longest wait first, with the sessions missed since; a read of each."""
    days = days or config.contact_days
    with uow_factory() as uow:
        found = overdue(uow.guidance.followed(), today=local_day(datetime.now(timezone.utc)), days=days)
        uow.access_log.record_each(actor, [f"client:{o.client.client_id}" for o in found], logged_as, purpose)
        uow.commit()
    return found, days


# -- life-situation measures -----------------------------------------------------------------------------
def instruments(config: AttendanceConfig) -> dict:
    return instrument_files.available(config.instruments_dir)


def record_measurement(uow_factory, actor: Actor, client_id, fields: dict, *, config: AttendanceConfig,
                       directory=None, purpose: str = "casework") -> Measurement:
    known = instruments(config)
    instrument = known.get(fields["instrument"])
    if instrument is None:
        raise NotFound(f"No instrument {fields['instrument']!r} here; see /api/v1/instruments.",
                       code="unknown-instrument")
    with uow_factory() as uow:
        know_client(uow, directory, actor, client_id, purpose)
        earlier = uow.measurements.of_client(client_id, instrument.key, lock=True)
        m = Measurement.record(instrument, earlier, organization_id=actor.org_id, client_id=client_id,
                               point=fields["point"], measured_at=fields["measured_at"], scores=fields["scores"],
                               by=actor.username)
        uow.measurements.add(m)
        data = m.recorded_event()
        data["person"] = person_box(uow, {"organization_id": m.organization_id, "measurement_id": str(m.id)},
                                    client=client_id, series=m.series_id)
        if data["person"] is None:
            del data["person"]
        uow.access_log.record(actor, f"client:{client_id}", "measurement.record", purpose)
        uow.outbox.add("attendance.measurement-recorded.v1", str(m.id), data)
        uow.commit()
    return m


def client_measurements(uow_factory, actor: Actor, client_id, *, config: AttendanceConfig,
                        purpose: str = "casework", logged_as="measurement.list") -> dict:
    """The client's measurements and, per instrument, the change per item from the current (or latest)
    series' baseline to its latest measurement."""
    known = instruments(config)
    with uow_factory() as uow:
        require_known(uow, client_id)
        items = uow.measurements.of_client(client_id)
        uow.access_log.record(actor, f"client:{client_id}", logged_as, purpose)
        uow.commit()
    return {"measurements": items, "changes": changes_by_instrument(known, items)}


def changes_by_instrument(known: dict, items: list[Measurement]) -> dict:
    out = {}
    for key in dict.fromkeys(m.instrument for m in items):
        of_it = [m for m in items if m.instrument == key]
        series = current_series(of_it) or _latest_series(of_it)
        if key in known:
            out[key] = change(known[key], series)
    return out


def _latest_series(items: list[Measurement]) -> list[Measurement]:
    latest = max(items, key=lambda m: m.measured_at).series_id
    return [m for m in items if m.series_id == latest]


# -- the timeline ----------------------------------------------------------------------------------------
def timeline(uow_factory, actor: Actor, client_id, *, config: AttendanceConfig, purpose: str = "casework",
             logged_as="client.timeline") -> dict:
    """Everything attendance holds of the client, newest first: encounters, group sessions with the mark,
    measurements; with the referrals they came by, the guidance and the groups."""
    known = instruments(config)
    with uow_factory() as uow:
        require_known(uow, client_id)
        encounters, _ = uow.encounters.list(client_id=client_id, limit=500)
        sessions = uow.sessions.of_client(client_id)
        measurements = uow.measurements.of_client(client_id)
        view = {"client_id": client_id, "guidance": uow.guidance.get(client_id),
                "referrals": uow.referrals.links_of(client_id), "groups": uow.groups.groups_of(client_id),
                "measurements": measurements, "changes": changes_by_instrument(known, measurements)}
        uow.access_log.record(actor, f"client:{client_id}", logged_as, purpose)
        uow.commit()
    entries = [{"at": e.occurred_at, "type": "encounter", "encounter": e} for e in encounters]
    entries += [{"at": s.starts_at, "type": "session", "session": s, "mark": m, "group_name": name}
                for s, m, name, _ in sessions]
    entries += [{"at": m.measured_at, "type": "measurement", "measurement": m} for m in measurements]
    view["entries"] = sorted(entries, key=lambda x: x["at"], reverse=True)
    return view

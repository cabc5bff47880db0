"""Referral use cases: one function per user action, each one transaction.

Every read or change of client data writes its access-log row in the same
transaction; a refused request writes one with the reason as its result.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import wraps

from services.kernel.auth import Actor, Role
from services.kernel.db import log_refusal
from services.kernel.errors import Conflict, DomainError, Forbidden, Invalid, Unavailable
from services.kernel import sealed

from .domain import Client, Consent, Outcome, Referral, choose_consent, disclose, shared_categories
from .workdays import working_days_between

ACCESSES_SHOWN = 20       # of the access log on a client's or a referral's page: the newest
INBOX_SHOWN = 100         # of each of the inbox's referral lists: the newest, with the count of all
NOTIFICATIONS_SHOWN = 50


def audited(action: str, subject_of):
    """Log refusals of a client-data use case; successes log inside its own transaction.
    A read use case takes `logged_as`: the action its rows are written under (a page names itself)."""
    def deco(fn):
        @wraps(fn)
        def wrapper(uow_factory, actor: Actor, *args, purpose: str | None = None, **kw):
            try:
                return fn(uow_factory, actor, *args, purpose=purpose, **kw)
            except DomainError as e:
                subject = subject_of(*args, **kw)
                if subject is not None:
                    log_refusal(uow_factory, actor, subject, kw.get("logged_as") or action, purpose, e.code)
                raise
        return wrapper
    return deco


def _client_subject(client_id, *a, **kw):
    return f"client:{client_id}"


def _referral_subject(referral_id, *a, **kw):
    return f"referral:{referral_id}"


# -- clients -------------------------------------------------------------------
def register_client(uow_factory, actor: Actor, fields: dict, *, purpose=None) -> Client:
    try:
        with uow_factory() as uow:
            if uow.ctx.pathway_secret is None:
                raise Unavailable("This instance has no pathway-key secret configured.")
            client = Client.register(secret=uow.ctx.pathway_secret, by=actor.username, **fields)
            uow.clients.add(client)
            uow.access_log.record(actor, f"client:{client.id}", "client.create", purpose)
            uow.commit()
    except Conflict as e:
        if e.code == "client-exists":  # the answer tells that this person is a client here, and which: a read
            log_refusal(uow_factory, actor, f"client:{e.extra['client_id']}", "client.create", purpose, e.code)
        raise
    return client


@audited("client.read", _client_subject)
def get_client(uow_factory, actor: Actor, client_id, *, purpose=None,
               logged_as="client.read") -> tuple[Client, list[Consent]]:
    with uow_factory() as uow:
        client = uow.clients.get(client_id)
        consents = uow.consents.for_client(client_id)
        uow.access_log.record(actor, f"client:{client_id}", logged_as, purpose)
        uow.commit()
    return client, consents


@audited("page.client.view", _client_subject)
def client_overview(uow_factory, actor: Actor, client_id, *, purpose=None, logged_as="page.client.view") -> dict:
    """A client's page: details, consents, referrals and who read their data lately; one read, one row."""
    with uow_factory() as uow:
        client = uow.clients.get(client_id)
        referrals, _ = uow.referrals.list(client_id=client_id, limit=50)
        uow.access_log.record(actor, f"client:{client_id}", logged_as, purpose)
        subjects = [f"client:{client_id}"] + [f"referral:{r.id}" for r in referrals]
        view = {"client": client, "consents": uow.consents.for_client(client_id), "referrals": referrals,
                "accesses": uow.access_log.for_subjects(subjects, newest=ACCESSES_SHOWN)}
        uow.commit()
    return view


def list_clients(uow_factory, actor: Actor, search: str | None, limit: int, offset: int, *, ids=None, purpose=None,
                 logged_as="client.list") -> tuple[list[Client], bool]:
    """A page of clients, and whether there are more; each listed client is a read (names are client data).
    With `ids`, every one of those clients that exists (in one page: a sibling service asks for the ones it
    shows)."""
    if ids is not None:
        ids = list(dict.fromkeys(ids))
        limit, offset = len(ids), 0
    with uow_factory() as uow:
        clients = uow.clients.list(search, limit + 1, offset, ids=ids)
        shown = clients[:limit]
        uow.access_log.record_each(actor, [f"client:{c.id}" for c in shown], logged_as, purpose)
        uow.commit()
    return shown, len(clients) > limit


# -- consent -------------------------------------------------------------------
@audited("consent.record", _client_subject)
def record_consent(uow_factory, actor: Actor, client_id, fields: dict, *, purpose=None) -> Consent:
    with uow_factory() as uow:
        client = uow.clients.get(client_id)
        if fields["recipient_org"] not in uow.ctx.federation.organisations:
            raise Invalid(f"Unknown organisation {fields['recipient_org']!r}.", code="unknown-organisation")
        consent = Consent.record(client_id=client.id, by=actor.username, own_org=actor.org_id, **fields)
        uow.consents.add(consent)
        if consent.decision.value == "granted":
            uow.outbox.add("consent.granted.v2", str(consent.id), _consent_event(consent, actor.org_id),
                           extensions={"recipient": consent.recipient_org})
        uow.access_log.record(actor, f"client:{client_id}", "consent.record", purpose)
        uow.commit()
    return consent


@audited("consent.withdraw", _client_subject)
def withdraw_consent(uow_factory, actor: Actor, client_id, consent_id, *, purpose=None) -> Consent:
    with uow_factory() as uow:
        client = uow.clients.get(client_id)
        consent = uow.consents.get(client_id, consent_id)
        consent.withdraw(by=actor.username)
        uow.consents.save_withdrawal(consent)
        uow.outbox.add("consent.withdrawn.v2", str(consent.id), _consent_event(consent, actor.org_id),
                       extensions={"recipient": consent.recipient_org})
        uow.access_log.record(actor, f"client:{client_id}", "consent.withdraw", purpose)
        uow.commit()
    return consent


def _consent_event(c: Consent, org_id: str) -> dict:
    """No person key: the recipient knows the consent by its id, reporting needs no person here."""
    d = {"consent_id": str(c.id), "by_org": org_id, "recipient_org": c.recipient_org,
         "categories": c.categories, "purpose": c.purpose,
         "valid_from": _iso(c.valid_from), "valid_until": _iso(c.valid_until), "at": _iso(datetime.now(timezone.utc))}
    if c.withdrawn_at:
        d["withdrawn_at"] = _iso(c.withdrawn_at)
    return d


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


# -- referrals -----------------------------------------------------------------
@audited("referral.send", _client_subject)
def send_referral(uow_factory, actor: Actor, client_id, service_id, categories: list[str] | None,
                  note: str | None, *, purpose=None) -> Referral:
    """Check consent in this same transaction; disclose only the consented categories, sealed for the receiver."""
    with uow_factory() as uow:
        client = uow.clients.get(client_id)
        target = uow.targets.get_active(service_id)
        to_org = target["organization_id"]
        consents = uow.consents.for_client(client_id, lock=True)
        wanted = sorted(categories) if categories else None
        consent = choose_consent(consents, to_org, "referral", wanted or [])
        shared = shared_categories(consent, wanted, note)
        referral, change = Referral.send(from_org=actor.org_id, to_org=to_org, service_id=service_id,
                                         client_id=client.id, consent_id=consent.id, categories=shared,
                                         age_band=client.age_band(), gender=client.gender,
                                         pathway_key=client.pathway_key, by=actor.username)
        receiver, federation = uow.ctx.federation.get(to_org), uow.ctx.federation
        payload = disclose(client.personal_data(), shared, note)
        box = sealed.seal(referral.sealed_payload(payload), receiver.encryption_public_key) if payload else None
        if not federation.reporting_encryption_public_key:
            raise Unavailable("The federation file names no encryption key for regional reporting.")
        person = sealed.seal(referral.person_for_reporting(), federation.reporting_encryption_public_key)
        uow.referrals.add(referral)
        uow.referrals.add_history(change)
        uow.disclosures.record(client_id=client.id, referral_id=referral.id, recipient_org=to_org,
                               categories=shared, consent_id=consent.id, username=actor.username)
        uow.outbox.add("referral.requested.v2", str(referral.id), referral.requested_event(box, person),
                       extensions={"recipient": to_org})
        uow.access_log.record(actor, f"client:{client_id}", "referral.send", purpose)
        uow.commit()
    return referral


def _subject(referral: Referral) -> str:
    return f"client:{referral.client_id}" if referral.client_id else f"referral:{referral.id}"


@audited("referral.read", _referral_subject)
def get_referral(uow_factory, actor: Actor, referral_id, *, purpose=None, logged_as="referral.read",
                 accesses: int = 0) -> dict:
    """`accesses`: with that many of the newest access-log rows about the person (for the page)."""
    with uow_factory() as uow:
        r = uow.referrals.get(referral_id)
        view = {"referral": r, "history": uow.referrals.history(referral_id),
                "arrivals": uow.referrals.arrivals(referral_id), "outcomes": uow.referrals.outcomes(referral_id),
                "service_name": uow.targets.names([r.service_id]).get(r.service_id)}
        if r.client_id:
            c = uow.clients.get(r.client_id)
            view["client"] = {"id": c.id, "name": c.name}
        uow.access_log.record(actor, _subject(r), logged_as, purpose)
        if accesses:
            view["accesses"] = uow.access_log.for_subjects(sorted({_subject(r), f"referral:{r.id}"}), newest=accesses)
        uow.commit()
    return view


def list_referrals(uow_factory, actor: Actor, *, purpose=None, logged_as="referral.list",
                   **filters) -> tuple[list[Referral], int]:
    """A referral in a list says who was referred where (age band, gender, state): a read of each listed."""
    mine = actor.username if actor.role == Role.CASEWORKER else None
    with uow_factory() as uow:
        items, total = uow.referrals.list(mine_first=mine, **filters)
        uow.access_log.record_each(actor, [_subject(r) for r in items], logged_as, purpose)
        uow.commit()
    return items, total


@audited("referral.act", _referral_subject)
def act_on_referral(uow_factory, actor: Actor, referral_id, action: str, reason_code: str | None,
                    reason_text: str | None, *, purpose=None) -> Referral:
    with uow_factory() as uow:
        r = uow.referrals.get(referral_id, for_update=True)
        change = r.act(action, org_id=actor.org_id, by=actor.username, reason_code=reason_code,
                       reason_text=reason_text)
        uow.referrals.save(r)
        uow.referrals.add_history(change)
        name, data = r.change_event(change)
        other = r.from_org if r.side_of(actor.org_id) == "receiver" else r.to_org
        uow.outbox.add(f"{name}.v2", str(r.id), data, extensions={"recipient": other})  # every lifecycle event: v2
        uow.access_log.record(actor, _subject(r), f"referral.{action}", purpose)
        uow.commit()
    return r


@audited("referral.outcome", _referral_subject)
def record_outcome(uow_factory, actor: Actor, referral_id, point: str, outcome: str, detail: str | None,
                   *, purpose=None) -> Outcome:
    with uow_factory() as uow:
        r = uow.referrals.get(referral_id, for_update=True)
        o = Outcome.record(r, point=point, outcome=outcome, detail=detail, org_id=actor.org_id, by=actor.username)
        uow.referrals.add_outcome(o)
        other = r.from_org if r.side_of(actor.org_id) == "receiver" else r.to_org
        uow.outbox.add("referral.outcome-recorded.v2", str(r.id), o.event(r), extensions={"recipient": other})
        uow.access_log.record(actor, _subject(r), "referral.outcome", purpose)
        uow.commit()
    return o


@audited("referral.history.read", _referral_subject)
def history(uow_factory, actor: Actor, referral_id, *, purpose=None, logged_as="referral.history.read") -> list[dict]:
    with uow_factory() as uow:
        r = uow.referrals.get(referral_id)
        steps = uow.referrals.history(referral_id)
        uow.access_log.record(actor, _subject(r), logged_as, purpose)
        uow.commit()
    return steps


def list_targets(uow_factory) -> list[dict]:
    with uow_factory() as uow:
        return uow.targets.list()


def inbox(uow_factory, actor: Actor, shown: int = INBOX_SHOWN, notes_shown: int = NOTIFICATIONS_SHOWN, *,
          purpose=None, logged_as="inbox.read") -> dict:
    """What needs action: new incoming, awaiting answer, escalated, follow-ups due, unread notifications.
    Of each list the newest `shown` (`notes_shown`), with how many there are in all (`totals`): a long
    queue is cut for the page, never silently. Every referral it shows (a notification names one) is
    a read of that person's data: a row each."""
    with uow_factory() as uow:
        incoming, incoming_total = uow.referrals.list(box="incoming", status="requested", limit=shown)
        waiting, waiting_total = uow.referrals.list(box="outgoing", status="requested", limit=shown)
        ended, _ = uow.referrals.list(status="completed", limit=200)
        notes, notes_total = uow.notifications.open_for(
            actor.role.value if hasattr(actor.role, "value") else actor.role, limit=notes_shown)
        due = []
        for r in ended:
            points = {o["point"] for o in uow.referrals.outcomes(r.id)}
            for point, months in (("follow-up-3m", 3), ("follow-up-6m", 6)):
                if point not in points and r.updated_at + timedelta(days=30 * months) <= datetime.now(timezone.utc):
                    due.append({"referral": r, "point": point})
            if "completion" not in points:
                due.append({"referral": r, "point": "completion"})
        escalated = [r for r in incoming if r.escalated_at] + [r for r in waiting if r.escalated_at]
        shown_referrals = incoming + waiting + [d["referral"] for d in due]
        noted = uow.referrals.subjects([n["referral_id"] for n in notes])
        uow.access_log.record_each(actor, [_subject(r) for r in shown_referrals] + list(noted.values()),
                                   logged_as, purpose)
        uow.commit()
        return {"incoming": incoming, "awaiting_answer": waiting, "escalated": escalated,
                "followups_due": due, "notifications": notes,
                "totals": {"incoming": incoming_total, "awaiting_answer": waiting_total,
                           "notifications": notes_total}}


@audited("client.report", _client_subject)
def data_report(uow_factory, actor: Actor, client_id, *, purpose=None, logged_as="client.report") -> dict:
    """The client's own report: who used their data and who received it (registrar)."""
    if actor.role not in (Role.REGISTRAR, Role.ADMIN):
        raise Forbidden("Only the registrar can produce a client's data report.")
    with uow_factory() as uow:
        client = uow.clients.get(client_id)
        referrals, _ = uow.referrals.list(client_id=client_id, limit=1000)
        subjects = [f"client:{client_id}"] + [f"referral:{r.id}" for r in referrals]
        uow.access_log.record(actor, f"client:{client_id}", logged_as, purpose)
        report = {"client": {"id": client.id, "name": client.name, "identity_code": client.identity_code},
                  "generated_at": datetime.now(timezone.utc), "organisation": actor.org_id,
                  "accesses": uow.access_log.for_subjects(subjects),
                  "disclosures": uow.disclosures.for_client(client_id)}
        uow.commit()
    return report


# -- periodic jobs ---------------------------------------------------------------
def announce_expired_consents(uow_factory, org_id: str) -> int:
    """A consent that ran out is an event: its recipient learns that it no longer holds."""
    now = datetime.now(timezone.utc)
    with uow_factory() as uow:
        expired = uow.consents.expired_unannounced(now)
        for consent in expired:
            data = {**_consent_event(consent, org_id), "expired_at": _iso(consent.valid_until)}
            uow.outbox.add("consent.expired.v2", str(consent.id), data, extensions={"recipient": consent.recipient_org})
            uow.consents.mark_expiry_announced(consent.id, now)
        uow.commit()
    return len(expired)


def escalate_unanswered(uow_factory, org_id: str, working_days: int, today: date | None = None) -> int:
    """Referrals received but unanswered for `working_days` Finnish working days go to the manager."""
    now = datetime.now(timezone.utc)
    today = today or now.date()
    with uow_factory() as uow:
        n = 0
        for r in uow.referrals.unanswered_since(now - timedelta(days=working_days)):
            if working_days_between(r.received_at.date(), today) < working_days:
                continue
            r.escalated_at = now
            uow.referrals.save(r)
            uow.notifications.add("manager", "escalated", r.id)
            uow.outbox.add("referral.escalated.v2", str(r.id),
                           {**r.facts(), "by_org": org_id, "working_days": working_days, "escalated_at": _iso(now)},
                           extensions={"recipient": r.from_org})
            n += 1
        uow.commit()
    return n


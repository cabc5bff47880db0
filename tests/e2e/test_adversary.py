"""A member that misbehaves, against the embedded stack as real processes.

Nuorten Polku has its own valid signing key. It sends every referral and consent event type against
referrals between ODL and the city that it is not a party to (as they are, naming itself the sender or
the receiver), re-keys genuine events, moves them to another topic, changes their extensions, replays them
and pastes the personal data sealed for the city into a referral of its own. Nothing changes anywhere, and
everything but the verbatim replays (duplicates, skipped) is refused by a party's reader with a reason.
Then a scan over every topic finds no identity code, no name and no pathway key in plaintext.
"""
from __future__ import annotations

import json
import re
import uuid
from datetime import datetime, timezone

import pytest

from devstack.client import eventually
from devstack.demo import DEMO_CLIENTS
from services.kernel.config import PROJECT_ROOT
from services.kernel.contracts import registry
from services.kernel.events import canonical_json, decode_record
from services.referrals.domain.identity import CHECK_CHARS, pathway_key
from tests.support import bus
from tests.support.adversary import Adversary
from tests.support.people import FIRST, LAST, synthetic_client

pytestmark = pytest.mark.e2e

ADVERSARY, SENDER, RECEIVER = "nuorten-polku", "odl", "oulu-social"
VICTIMS = (SENDER, RECEIVER)
REFERRALS = "yhd.referrals"
CONTRACTS = registry(str(PROJECT_ROOT / "contracts"))


def detail(stack, org: str, referral_id: str) -> dict:
    return stack.ok(org, "referrals", "GET", f"/api/v1/referrals/{referral_id}")


def state_of(stack, referral_ids) -> dict:
    """What each organisation holds about the referrals: the parties' copies, and 404 elsewhere."""
    out = {}
    for org in stack.orgs:
        for rid in referral_ids:
            r = stack.call(org, "referrals", "GET", f"/api/v1/referrals/{rid}")
            body = r.json() if r.status_code == 200 else None
            out[(org, rid)] = (r.status_code, body and {k: body.get(k) for k in ("referral", "history", "outcomes",
                                                                                   "personal")})
    return out


def act(stack, org, rid, action, **body):
    stack.ok(org, "referrals", "POST", f"/api/v1/referrals/{rid}/{action}", json=body)


@pytest.fixture(scope="module")
def pathways(stack):
    """Three referrals from ODL to the city, taken as far as their parties take them: r1 accepted, started,
    completed and with an outcome; r2 rejected; r3 cancelled by ODL, its consent then withdrawn."""
    target = stack.target(SENDER, RECEIVER)["service_id"]
    clients = [stack.client_with_consent(SENDER, RECEIVER, synthetic_client()) for _ in range(3)]
    refs = [stack.refer(SENDER, c, target, note=f"Polku {n}")["id"] for n, c in enumerate(clients, 1)]
    r1, r2, r3 = refs
    for rid in refs:
        eventually(lambda: stack.call(RECEIVER, "referrals", "GET", f"/api/v1/referrals/{rid}").status_code == 200,
                   timeout=90, what=f"referral {rid} at the city")
    for action in ("accept", "start", "complete"):
        act(stack, RECEIVER, r1, action)
    stack.ok(RECEIVER, "referrals", "POST", f"/api/v1/referrals/{r1}/outcomes",
             json={"point": "completion", "outcome": "measure-rehabilitative-work-activity"})
    act(stack, RECEIVER, r2, "reject", reason_code="not-eligible")
    act(stack, SENDER, r3, "cancel", reason_code="sent-in-error")
    consent = stack.ok(SENDER, "referrals", "GET", f"/api/v1/clients/{clients[2]}/consents")[0]
    stack.ok(SENDER, "referrals", "POST", f"/api/v1/clients/{clients[2]}/consents/{consent['id']}/withdraw",
             json={})
    eventually(lambda: detail(stack, SENDER, r1)["outcomes"] and detail(stack, SENDER, r2)["referral"]["state"]
               == "rejected" and detail(stack, RECEIVER, r3)["referral"]["state"] == "cancelled"
               and detail(stack, RECEIVER, r3)["personal"] is None, timeout=90, what="the pathways at both parties")
    consents = {c: stack.ok(SENDER, "referrals", "GET", f"/api/v1/clients/{c}/consents")[0]["id"] for c in clients}
    return {"referrals": refs, "clients": clients, "consents": list(consents.values())}


def genuine(stack, pathways) -> list[bus.Raw]:
    keys = {k.encode() for k in pathways["referrals"] + pathways["consents"]}
    want = {"fi.yhdistamo.referral.accepted", "fi.yhdistamo.referral.status-changed",
            "fi.yhdistamo.referral.outcome-recorded", "fi.yhdistamo.referral.rejected",
            "fi.yhdistamo.referral.cancelled", "fi.yhdistamo.consent.withdrawn", "fi.yhdistamo.referral.requested",
            "fi.yhdistamo.referral.received", "fi.yhdistamo.consent.granted"}

    def found():
        got = [r for r in bus.records(stack.desc["broker"], REFERRALS) if r.key in keys]
        return got if {r.header("ce_type").rsplit(".v", 1)[0] for r in got} >= want else None
    return eventually(found, timeout=60, what="every genuine event of the pathways on the bus")


def forged_variants(genuine_records: list[bus.Raw], pathways) -> list[tuple[str, str, dict]]:
    """(name, event type, data): every type on the referrals topic against the victims' referrals."""
    events = [decode_record(r.headers, r.key, r.value, topic=r.topic) for r in genuine_records]
    by_type = {}
    for e in events:
        by_type.setdefault(e.type, e.data)
    accepted = next(d for t, d in by_type.items() if ".referral.accepted." in t)
    withdrawn = next(d for t, d in by_type.items() if ".consent.withdrawn." in t)
    now = datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")
    made = {  # the two types the pathways did not produce: an escalation and an expiry, in their schema's shape
        _current("referral.escalated"): {**{k: v for k, v in accepted.items() if k not in
                                             ("state", "previous_state", "at", "reason_code")},
                                          "working_days": 10, "escalated_at": now},
        _current("consent.expired"): {**{k: v for k, v in withdrawn.items() if k != "withdrawn_at"},
                                      "expired_at": now},
    }
    out = []
    for t, d in list(by_type.items()) + list(made.items()):
        contract = CONTRACTS.get(t)
        producer = contract.producer_field
        parties = ("by_org", "recipient_org") if "recipient_org" in d else ("from_org", "to_org")
        sender, receiver = parties
        for name, change in (("as-is", {}), ("names-itself-sender", {sender: ADVERSARY}),
                             ("names-itself-receiver", {receiver: ADVERSARY})):
            data = {**d, **change}
            if producer:
                data[producer] = ADVERSARY  # what the contract requires of a signer (else: refused on sight)
            if not set(VICTIMS) & {data.get(sender), data.get(receiver)}:
                continue  # about nobody else: a member may state facts of its own
            if ".consent.granted." in t:
                continue  # a consent the adversary says it holds is its own fact: sent below, changes nothing
            CONTRACTS.validate(t, data)  # the forgery passes the contract: the party rules must refuse it
            out.append((f"{t.split('.', 2)[2]}:{name}", t, data))
    return out


def _current(name: str) -> str:
    return max((c.type for c in CONTRACTS if c.type.startswith(f"fi.yhdistamo.{name}.v")),
               key=lambda t: int(t.rsplit(".v", 1)[1]))


def test_an_adversarial_member_changes_nothing_it_is_not_a_party_to(stack, pathways):
    adversary = Adversary(ADVERSARY, stack.desc["broker"])
    records = genuine(stack, pathways)
    before = state_of(stack, pathways["referrals"])
    sent: dict[str, tuple[int, int]] = {}  # forgery -> (partition, offset) on the referrals topic
    moved: dict[str, tuple[str, int, int]] = {}  # genuine records sent to another topic

    for name, event_type, data in forged_variants(records, pathways):
        key = data.get("referral_id") or data["consent_id"]
        sent[name] = adversary.send(REFERRALS, event_type, key, data)
    for r in records:  # its own consents, claimed under the victims' consent ids: no state anywhere changes
        if ".consent.granted." in r.header("ce_type"):
            e = decode_record(r.headers, r.key, r.value, topic=r.topic)
            adversary.send(REFERRALS, e.type, e.partitionkey, {**e.data, "by_org": ADVERSARY})
    broker_at = stack.desc["broker"]
    for r in records:
        at = f"{r.header('ce_type').split('.', 2)[2]}@{r.partition}:{r.offset}"
        other = next(k for k in pathways["referrals"] if k.encode() != r.key)
        headers = [(k, other.encode() if k == "ce_partitionkey" else v) for k, v in r.headers]
        sent[f"{at}:re-keyed"] = bus.send(broker_at, REFERRALS, other.encode(), r.value, headers)
        headers = [(k, v) for k, v in r.headers if k != "ce_recipient"] + [("ce_recipient", ADVERSARY.encode())]
        sent[f"{at}:recipient-changed"] = bus.send(broker_at, REFERRALS, r.key, r.value, headers)
        moved[f"{at}:other-topic"] = ("yhd.attendance",) + bus.send(broker_at, "yhd.attendance", r.key, r.value,
                                                                     r.headers)
        bus.send(broker_at, REFERRALS, r.key, r.value, r.headers)  # verbatim: a duplicate, skipped
    # the personal data sealed for the city, pasted into a referral of the adversary's own
    requested = next(decode_record(r.headers, r.key, r.value, topic=r.topic) for r in records
                     if ".referral.requested." in r.header("ce_type") and r.key == pathways["referrals"][0].encode())
    pasted_id = str(uuid.uuid4())
    pasted = {**requested.data, "referral_id": pasted_id, "from_org": ADVERSARY}
    sent["referral.requested:pasted-sealed-data"] = adversary.send(REFERRALS, requested.type, pasted_id, pasted)

    groups = {f"{org}.referrals" for org in VICTIMS}

    def refusals():
        parked = bus.parked(stack.desc["broker"], REFERRALS)
        by_victims = {name: [p for p in parked.get(at, []) if p["group"] in groups] for name, at in sent.items()}
        return by_victims if all(by_victims.values()) else None
    try:
        refused = eventually(refusals, timeout=180, what="every forgery parked by a party's reader")
    except AssertionError:
        parked = bus.parked(stack.desc["broker"], REFERRALS)
        missing = sorted(n for n, at in sent.items() if not [p for p in parked.get(at, []) if p["group"] in groups])
        raise AssertionError(f"not refused by any party: {missing}") from None
    for name, found in refused.items():
        assert all(p["reason"] and p["error"] for p in found), (name, found)
    attendance_parked = eventually(lambda: (lambda p: p if all((at[1], at[2]) in p for at in moved.values())
                                            else None)(bus.parked(stack.desc["broker"], "yhd.attendance")),
                                   timeout=120, what="every moved record parked on the attendance topic")
    assert all(attendance_parked[(at[1], at[2])] for at in moved.values())
    assert state_of(stack, pathways["referrals"] + [pasted_id]) == {
        **before, **{(org, pasted_id): (404, None) for org in stack.orgs}}
    print(f"\n{len(sent) + len(moved)} forged, re-keyed, moved or pasted records, each refused with a reason: "
          + ", ".join(sorted({p['reason'] for found in refused.values() for p in found})))


# -- nothing personal in plaintext on the bus ---------------------------------------------------------
IDENTITY_CODE = re.compile(rb"(?<![0-9A-Za-z+/=-])(\d{6})([-+A-FU-Y])(\d{3})([0-9A-Y])(?![0-9A-Za-z+/=-])")
PATHWAY_KEY = re.compile(rb"pk1-[0-9a-f]{40}")


def identity_codes_in(blob: bytes) -> list[str]:
    """Valid Finnish identity codes (the check character must match) standing alone in the bytes."""
    return [m.group(0).decode() for m in IDENTITY_CODE.finditer(blob)
            if CHECK_CHARS[int(m[1] + m[3]) % 31] == m[4].decode()]


def test_no_identity_code_name_or_pathway_key_crosses_the_broker_in_plaintext(stack, pathways):
    person = {**synthetic_client(), "name": "Sanna Skannattava"}
    client_id = stack.client_with_consent(SENDER, RECEIVER, person)
    sent = stack.refer(SENDER, client_id, stack.target(SENDER, RECEIVER)["service_id"], note="Väylän tarkistus")
    eventually(lambda: stack.call(RECEIVER, "referrals", "GET", f"/api/v1/referrals/{sent['id']}").status_code
               == 200, timeout=90, what="the scanned referral at the city")
    secret = bytes.fromhex((PROJECT_ROOT / "deploy" / "demo-keys" / "pathway-secret").read_text().strip())
    clients = DEMO_CLIENTS + [person]
    keys = {pathway_key(c["identity_code"], secret) for c in clients}
    digests = {k.removeprefix("pk1-").encode() for k in keys}
    names = {c["name"].encode() for c in clients} | {f"{f} {s}".encode() for f in FIRST for s in LAST}
    codes = {c["identity_code"].encode() for c in clients}
    findings, scanned = [], 0
    for topic in bus.topics(stack.desc["broker"]):
        for r in bus.records(stack.desc["broker"], topic):
            scanned += 1
            blob = r.blob()
            where = f"{topic}@{r.partition}:{r.offset} ({r.header('ce_type') or r.header('dlt_reason')})"
            findings += [f"{where}: identity code {c}" for c in identity_codes_in(blob)]
            findings += [f"{where}: identity code {c.decode()}" for c in codes if c in blob]
            findings += [f"{where}: name {n.decode()}" for n in names if n in blob]
            findings += [f"{where}: pathway key" for _ in PATHWAY_KEY.finditer(blob)]
            findings += [f"{where}: pathway key digest" for d in digests if d in blob]
    assert scanned > 50, scanned
    assert not findings, "\n".join(sorted(set(findings))[:40])
    print(f"\n{scanned} records on {len(bus.topics(stack.desc['broker']))} topics scanned: nothing personal")


def test_the_scan_would_see_an_identity_code_name_or_pathway_key():
    """The scan's own check: it finds what it looks for, in JSON, also next to punctuation."""
    code = DEMO_CLIENTS[0]["identity_code"]
    blob = canonical_json({"identity_code": code, "x": f"({code})", "uuid": "1f2e3d4c-1234-5678-9abc-def012345678"})
    assert identity_codes_in(blob) == [code, code]
    assert not identity_codes_in(b'"' + code[:-1].encode() + b'X"')  # a wrong check character is no code
    assert not identity_codes_in(json.dumps({"s": "Zx" + code + "Q"}).encode())  # inside base64: not alone
    assert PATHWAY_KEY.search(json.dumps({"pathway_key": pathway_key(code, b"s" * 32)}).encode())

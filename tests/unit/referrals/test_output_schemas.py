"""Every response of the referrals API has an explicit output schema, and the OpenAPI document says what it is
(issue 13, item 4): no object passed through whole, no free-form object, and the identity code, the name and
the note only where the role and the purpose need them. No database: the document is built from the blueprint."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

import pytest
from flask import Flask
from flask_smorest import Api

from services.referrals.domain import Direction, Referral, State
from services.referrals.schemas import ClientListItemOut, InboxOut, ReferralDetailOut

SMOREST_OWN = {"Error", "PaginationMetadata"}
# (method, path) -> why it may show the field
IDENTITY_CODE = {
    ("post", "/api/v1/clients"): "the caseworker who registered the client sees the record",
    ("get", "/api/v1/clients/{client_id}"): "the client's record, for casework",
    ("get", "/api/v1/referrals/{referral_id}"): "the receiver: what the sender disclosed under the consent",
    ("get", "/api/v1/clients/{client_id}/data-report"): "the registrar's report names whom it is about",
}
NAME = {**IDENTITY_CODE, ("get", "/api/v1/clients"): "a search result: the name, to pick the right person"}
NOTE = {("get", "/api/v1/referrals/{referral_id}"): "the receiver: the sender's note, if consented"}


@pytest.fixture(scope="module")
def spec():
    from services.referrals.api import bp
    app = Flask("spec")
    app.config.update(API_TITLE="t", API_VERSION="v1", OPENAPI_VERSION="3.1.0")
    api = Api(app)
    api.register_blueprint(bp)
    return api.spec.to_dict()


def operations(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method, path, op


def success_schema(op) -> dict | None:
    ok = [r for code, r in op["responses"].items() if str(code).startswith("2")]
    return ok[0].get("content", {}).get("application/json", {}).get("schema") if ok else None


def reachable(spec, schema) -> set[str]:
    """The component schemas a response schema reaches."""
    found, todo = set(), [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref:
                name = ref.rsplit("/", 1)[-1]
                if name not in found:
                    found.add(name)
                    todo.append(spec["components"]["schemas"][name])
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found


def test_every_operation_answers_with_a_declared_schema(spec):
    missing = [(m, p) for m, p, op in operations(spec) if not success_schema(op)]
    assert len(list(operations(spec))) >= 15 and missing == []


def untyped(prop: dict) -> bool:
    if "$ref" in prop or "anyOf" in prop or "enum" in prop:
        return False
    types = prop.get("type")
    types = types if isinstance(types, list) else [types]
    if None in types:
        return True                                     # fields.Function / Raw: anything at all
    if "object" in types:
        return "properties" not in prop                 # fields.Dict: whatever the view put there
    if "array" in types:
        return untyped(prop.get("items", {}))
    return False


def test_no_response_property_is_free_form(spec):
    free = [f"{name}.{p}" for name, s in spec["components"]["schemas"].items() if name not in SMOREST_OWN
            for p, prop in s.get("properties", {}).items() if untyped(prop)]
    assert free == []


@pytest.mark.parametrize("field,allowed", [("identity_code", IDENTITY_CODE), ("name", NAME), ("note", NOTE),
                                           ("pathway_key", {})])
def test_personal_fields_appear_only_in_the_responses_that_need_them(spec, field, allowed):
    schemas = spec["components"]["schemas"]
    showing = set()
    for method, path, op in operations(spec):
        names = reachable(spec, success_schema(op))
        if any(field in schemas[n].get("properties", {}) and not n.startswith("Target") for n in names):
            showing.add((method, path))
    assert showing == set(allowed)


def referral(**kw) -> Referral:
    return Referral(uuid.uuid4(), Direction.INCOMING, "odl", "oulu-social", uuid.uuid4(), State.REQUESTED, "18-24",
                    pathway_key="pk1-" + "0" * 40, updated_at=datetime.now(timezone.utc), **kw)


def test_the_receivers_view_dumps_only_the_declared_personal_fields():
    r = referral(personal={"name": "Aino Testinen", "identity_code": "010203A9xx", "note": "n",
                           "referral_id": "bound-to", "anything": "else"})
    out = ReferralDetailOut().dump({"referral": r, "history": [], "outcomes": []})
    assert out["personal"] == {"name": "Aino Testinen", "identity_code": "010203A9xx", "note": "n"}
    assert "pathway_key" not in out["referral"] and "personal" not in out["referral"]


def test_the_inbox_carries_no_personal_data_even_for_a_referral_that_has_it():
    r = referral(personal={"name": "Aino Testinen", "identity_code": "010203A9xx", "note": "muistiinpano"})
    out = InboxOut().dump({"incoming": [r], "awaiting_answer": [], "escalated": [r],
                           "followups_due": [{"referral": r, "point": "completion"}],
                           "notifications": [{"id": 1, "role": "manager", "kind": "escalated", "referral_id": r.id,
                                              "created_at": datetime.now(timezone.utc), "read_at": None}],
                           "totals": {"incoming": 1, "awaiting_answer": 0, "notifications": 1}})
    text = repr(out)
    assert "Aino" not in text and "010203A9xx" not in text and "muistiinpano" not in text and "pk1-" not in text
    assert set(out["notifications"][0]) == {"id", "kind", "referral_id", "created_at"}


def test_a_search_result_has_no_identity_code_or_contact():
    assert set(ClientListItemOut().fields) == {"id", "name", "date_of_birth", "municipality", "age_band", "gender"}


def test_attendance_holds_nothing_that_names_a_person():
    """Attendance refers to a registered client only by the id the organisation's referrals service gave them
    (reads of it are logged); a name, identity code, contact or free text is never stored there."""
    from services.attendance import tables
    from services.attendance.schemas import EncounterOut
    personal = {"name", "identity_code", "pathway_key", "phone", "email", "date_of_birth", "person",
                "participant_names", "note", "text", "description", "municipality"}
    named = {("client_group", "name"), ("own_service", "name")}  # a group's and a catalogue service's names
    columns = {c.name for t in tables.metadata.sorted_tables if t.name not in ("outbox", "inbox", "access_log",
               "api_user", "consumer_offset", "parking_failure", "kafka_cluster") for c in t.columns
               if (t.name, c.name) not in named}
    assert columns and not (columns & personal)
    assert not (set(EncounterOut().fields) & personal)

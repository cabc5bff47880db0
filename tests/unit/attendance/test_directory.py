"""Attendance's client directory (services/attendance/directory.py) against a fake HTTP session: what it asks
referrals, how it batches, and how every failure becomes a 503 the page can explain. (Against the real
referrals app: the end of tests/integration/referrals/test_service_reads.py.)"""
from __future__ import annotations

import logging
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from services.attendance.directory import MESSAGES, ClientCard, ClientDirectory, DirectoryUnavailable
from services.kernel.demo import SettingRefused
from services.kernel.errors import Unavailable

TOKEN = "yhd_attendance-token"


class Answer:
    def __init__(self, status: int, body=None):
        self.status_code, self._body = status, body

    def json(self):
        if isinstance(self._body, Exception):
            raise self._body
        return self._body


class FakeSession:
    """Answers like referrals' GET /api/v1/clients over `known` cards, or as told (`answer`, `raises`)."""

    def __init__(self, known=(), answer: Answer | None = None, raises: Exception | None = None):
        self.known = {c.id: c for c in known}
        self.answer, self.raises = answer, raises
        self.calls = []

    def get(self, url, headers=None, timeout=None):
        self.calls.append((url, headers, timeout))
        if self.raises:
            raise self.raises
        if self.answer:
            return self.answer
        query = parse_qs(urlsplit(url).query)
        if "ids" in query:
            ids = [uuid.UUID(i) for i in query["ids"][0].split(",")]
            assert len(ids) <= 200
            found = [self.known[i] for i in ids if i in self.known]
        else:
            found = [c for c in self.known.values() if query["search"][0].lower() in c.name.lower()]
            found = found[:int(query["per_page"][0])]
        return Answer(200, [{"id": str(c.id), "name": c.name, "age_band": c.age_band, "gender": c.gender,
                             "date_of_birth": "2003-01-01", "municipality": "Oulu"} for c in found])


def card(name="Aino Esimerkki", age_band="18-24", gender="woman") -> ClientCard:
    return ClientCard(uuid.uuid4(), name, age_band, gender)


def directory(session) -> ClientDirectory:
    return ClientDirectory("http://referrals.test/", TOKEN, timeout=2.5, session=session)


def test_cards_asks_for_the_named_clients_for_the_user_and_leaves_out_the_unknown():
    aino, eetu = card(), card("Eetu Testinen", "25-29", "man")
    session = FakeSession([aino, eetu])
    unknown = uuid.uuid4()
    got = directory(session).cards([aino.id, str(unknown), aino.id], acting_for="caseworker@odl", purpose="attendance")
    assert got == {aino.id: aino}
    [(url, headers, timeout)] = session.calls
    assert url.startswith("http://referrals.test/api/v1/clients?ids=")
    assert urlsplit(url).query == f"ids={aino.id},{unknown}"     # each once, commas as they are
    assert headers["Authorization"] == f"Bearer {TOKEN}" and headers["X-Acting-For"] == "caseworker@odl"
    assert headers["X-Purpose"] == "attendance" and timeout == 2.5


def test_cards_go_in_batches_of_200():
    known = [card(f"Asiakas {n}") for n in range(450)]
    session = FakeSession(known)
    got = directory(session).cards([c.id for c in known], acting_for="caseworker@odl")
    assert got == {c.id: c for c in known}
    assert [len(parse_qs(urlsplit(u).query)["ids"][0].split(",")) for u, _, _ in session.calls] == [200, 200, 50]


def test_no_ids_ask_nothing():
    session = FakeSession()
    assert directory(session).cards([], acting_for="caseworker@odl") == {} and session.calls == []


def test_search_asks_by_text_and_a_blank_text_asks_nothing():
    aino = card()
    session = FakeSession([aino, card("Eetu Testinen")])
    d = directory(session)
    assert d.search("aino", acting_for="manager@odl", limit=5) == [aino]
    query = parse_qs(urlsplit(session.calls[0][0]).query)
    assert query == {"search": ["aino"], "per_page": ["5"]}
    assert session.calls[0][1]["X-Purpose"] == "casework"
    assert d.search("   ", acting_for="manager@odl") == [] and len(session.calls) == 1


def test_search_text_is_sent_encoded():
    session = FakeSession([card("Åsa Ek & Co")])
    assert [c.name for c in directory(session).search("åsa ek & co", acting_for="caseworker@odl")] == ["Åsa Ek & Co"]


@pytest.mark.parametrize("failure,code,says", [
    (requests.Timeout("read timed out"), "directory-unavailable", "did not answer within 2.5 s"),
    (requests.ConnectionError("refused"), "directory-unavailable", "cannot be reached"),
    (Answer(500, {"type": "https://yhdistamo.fi/problems/internal"}), "directory-unavailable", "answered 500"),
    (Answer(503, ValueError("not json")), "directory-unavailable", "answered 503"),
    (Answer(401, {"type": "https://yhdistamo.fi/problems/unauthorized"}), "directory-token-refused",
     "service token is not accepted"),
    (Answer(403, {"type": "https://yhdistamo.fi/problems/forbidden"}), "directory-token-refused",
     "service token is not accepted"),
    (Answer(403, {"type": "https://yhdistamo.fi/problems/acting-for-refused"}), "directory-acting-for-refused",
     "does not show clients to this user"),
    (Answer(200, {"not": "a list"}), "directory-unavailable", "something else than client cards"),
    (Answer(200, [{"id": "x", "name": "n"}]), "directory-unavailable", "something else than client cards"),
])
def test_every_failure_is_a_503_with_a_reason_the_page_can_show(failure, code, says):
    session = FakeSession(raises=failure) if isinstance(failure, Exception) else FakeSession(answer=failure)
    for read in (lambda d: d.cards([uuid.uuid4()], acting_for="caseworker@odl"),
                 lambda d: d.search("aino", acting_for="caseworker@odl")):
        with pytest.raises(DirectoryUnavailable) as e:
            read(directory(session))
        assert isinstance(e.value, Unavailable) and e.value.status == 503
        assert e.value.code == code and says in e.value.detail
        assert f"error.{code}" in MESSAGES and MESSAGES[f"error.{code}"]["fi"]


def test_a_failure_never_logs_a_name_a_search_text_or_the_token(caplog):
    session = FakeSession(answer=Answer(422, {"detail": "search 'Aino Esimerkki' is invalid"}))
    with caplog.at_level(logging.DEBUG), pytest.raises(DirectoryUnavailable):
        directory(session).search("Aino Esimerkki", acting_for="caseworker@odl")
    with caplog.at_level(logging.DEBUG), pytest.raises(DirectoryUnavailable):
        directory(FakeSession(answer=Answer(401, {}))).cards([uuid.uuid4()], acting_for="caseworker@odl")
    assert caplog.records and not any(w in caplog.text for w in ("Aino", "Esimerkki", TOKEN))
    assert TOKEN not in repr(directory(session))


def test_a_call_names_the_user_it_is_made_for():
    with pytest.raises(ValueError):
        directory(FakeSession()).cards([uuid.uuid4()], acting_for="")


def test_from_env(tmp_path):
    assert ClientDirectory.from_env({}) is None
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    d = ClientDirectory.from_env({"REFERRALS_URL": "http://odl-referrals:8000/", "REFERRALS_TOKEN_FILE": str(token)})
    assert d.base_url == "http://odl-referrals:8000" and d._token == TOKEN and d.timeout == 5.0
    for env in ({"REFERRALS_URL": "http://x"}, {"REFERRALS_TOKEN_FILE": str(token)},
                {"REFERRALS_URL": "http://x", "REFERRALS_TOKEN_FILE": str(tmp_path / "missing")}):
        with pytest.raises(SettingRefused):
            ClientDirectory.from_env(env)
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(SettingRefused):
        ClientDirectory.from_env({"REFERRALS_URL": "http://x", "REFERRALS_TOKEN_FILE": str(tmp_path / "empty")})


def test_the_public_demo_token_is_refused_outside_demo_mode():
    from services.kernel.config import PROJECT_ROOT
    demo = {"REFERRALS_URL": "http://x", "REFERRALS_TOKEN_FILE": str(PROJECT_ROOT / "deploy" / "demo-keys" /
                                                                     "attendance-service-token")}
    with pytest.raises(SettingRefused) as e:
        ClientDirectory.from_env(demo)
    assert "public demo token" in str(e.value)
    assert ClientDirectory.from_env({**demo, "YHD_DEMO_MODE": "1"}) is not None

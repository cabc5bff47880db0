"""The organisation's clients, as attendance reads them: the clients API of its own referrals service.

Attendance keeps only the referrals service's client id; a client's name, age band and gender come from
there when a page shows them (`cards`) or a caseworker picks a client (`search`). Every call uses
attendance's own service token (a `service` user of the referrals database) and names the logged-in user in
`X-Acting-For`, so referrals checks that user's role and writes the access log under their name, with the
purpose `"<purpose> (via attendance-service)"`. Nothing here logs a name or a search text.

    REFERRALS_URL          base URL of the organisation's referrals service, e.g. http://odl-referrals:8000
    REFERRALS_TOKEN_FILE   file holding attendance's API token there
"""
from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import requests

from services.kernel.errors import Unavailable

log = logging.getLogger(__name__)

CLIENTS = "/api/v1/clients"
BATCH = 200            # referrals' most ids per call (ClientListArgs.ids)
MAX_SEARCH = 100       # referrals' longest search text and largest page
NOT_ACCEPTED = ("Attendance's service token is not accepted by the organisation's referrals service; "
                "an operator must check REFERRALS_TOKEN_FILE and the service user there.")

# For the pages' catalogue (error.<code>): what the user reads when the directory cannot answer.
MESSAGES = {
    "error.directory-unavailable": {
        "fi": "Asiakastietoja ei juuri nyt saada asiakasrekisteristä. Yritä hetken päästä uudelleen.",
        "sv": "Klientuppgifterna kan inte hämtas från klientregistret just nu. Försök igen om en stund.",
        "en": "The client register cannot be reached just now. Try again in a moment."},
    "error.directory-token-refused": {
        "fi": "Asiakasrekisteri ei hyväksy läsnäolopalvelun tunnusta. Ota yhteys ylläpitoon.",
        "sv": "Klientregistret godkänner inte närvarotjänstens nyckel. Kontakta driften.",
        "en": "The client register does not accept the attendance service's token. Contact the operators."},
    "error.directory-acting-for-refused": {
        "fi": "Asiakasrekisteri ei näytä asiakkaita tunnuksellesi. Asiakastietoja näkevät asiakastyöntekijät "
              "ja esihenkilöt.",
        "sv": "Klientregistret visar inga klienter för ditt konto. Klientuppgifter ser socialarbetare och chefer.",
        "en": "The client register shows no clients to your account. Caseworkers and managers see client data."},
}


@dataclass(frozen=True)
class ClientCard:
    id: uuid.UUID
    name: str
    age_band: str
    gender: str


class DirectoryUnavailable(Unavailable):
    """The client directory cannot answer (503 problem+json); `code` says why, `MESSAGES` says it in Finnish."""
    code = "directory-unavailable"


class ClientDirectory:
    def __init__(self, base_url: str, token: str, *, timeout: float = 5.0, session=None):
        self.base_url = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.session = session if session is not None else requests.Session()   # pooled keep-alive connections

    def __repr__(self) -> str:   # never the token
        return f"ClientDirectory({self.base_url!r})"

    @classmethod
    def from_env(cls, env=os.environ) -> "ClientDirectory | None":
        """REFERRALS_URL and REFERRALS_TOKEN_FILE; None when neither is set (attendance without a directory).
        One without the other, an unreadable or empty token file, or the public demo token outside demo mode
        is refused at start (SettingRefused)."""
        from services.kernel.demo import DEMO_MODE_VAR, SettingRefused, demo_mode, is_demo
        url, token_file = env.get("REFERRALS_URL", "").strip(), env.get("REFERRALS_TOKEN_FILE", "").strip()
        if not url and not token_file:
            return None
        if not url or not token_file:
            missing = "REFERRALS_URL" if not url else "REFERRALS_TOKEN_FILE"
            raise SettingRefused(f"{missing} is not set: attendance reads its clients from the organisation's "
                                 "referrals service with REFERRALS_URL and REFERRALS_TOKEN_FILE (set both, or neither)")
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise SettingRefused(f"REFERRALS_TOKEN_FILE={token_file} cannot be read ({e.strerror})") from None
        if not token:
            raise SettingRefused(f"REFERRALS_TOKEN_FILE={token_file} is empty")
        if not demo_mode(env) and is_demo(Path(token_file)):
            raise SettingRefused(f"REFERRALS_TOKEN_FILE={token_file} is the public demo token (deploy/demo-keys); "
                                 f"give attendance a token of its own, or {DEMO_MODE_VAR}=1 for a demo")
        return cls(url, token)

    # -- the two reads ---------------------------------------------------------
    def search(self, text: str, *, acting_for: str, purpose: str = "casework", limit: int = 20) -> list[ClientCard]:
        """Clients whose name contains `text` (or whose identity code it is), by name; none for a blank text."""
        text = text.strip()[:MAX_SEARCH]
        if not text:
            return []
        limit = max(1, min(limit, MAX_SEARCH))
        return self._clients({"search": text, "per_page": limit}, acting_for, purpose)

    def cards(self, ids, *, acting_for: str, purpose: str = "casework") -> dict[uuid.UUID, ClientCard]:
        """The cards of these clients; an id the referrals service does not hold is simply absent."""
        wanted = list(dict.fromkeys(uuid.UUID(str(i)) for i in ids))
        found: dict[uuid.UUID, ClientCard] = {}
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start:start + BATCH]
            asked = set(batch)
            found.update((c.id, c) for c in self._clients({"ids": ",".join(map(str, batch))}, acting_for, purpose)
                         if c.id in asked)
        return found

    # -- HTTP --------------------------------------------------------------------
    def _clients(self, query: dict, acting_for: str, purpose: str) -> list[ClientCard]:
        if not acting_for:
            raise ValueError("acting_for: the username of the logged-in user the directory is read for")
        url = f"{self.base_url}{CLIENTS}?{urlencode(query, safe=',')}"   # 200 ids, commas unescaped: 7.4 kB
        headers = {"Authorization": f"Bearer {self._token}", "X-Acting-For": acting_for,
                   "X-Purpose": purpose[:200], "Accept": "application/json"}
        try:
            r = self.session.get(url, headers=headers, timeout=self.timeout)
        except requests.Timeout:
            log.warning("client directory %s did not answer within %.1fs", self.base_url, self.timeout)
            raise DirectoryUnavailable(f"The organisation's referrals service did not answer within "
                                       f"{self.timeout:g} s.") from None
        except requests.RequestException as e:
            log.warning("client directory %s unreachable: %s", self.base_url, type(e).__name__)
            raise DirectoryUnavailable("The organisation's referrals service cannot be reached.") from None
        return self._cards(r)

    def _cards(self, r) -> list[ClientCard]:
        status = r.status_code
        if status == 403 and _problem_code(r) == "acting-for-refused":
            raise DirectoryUnavailable("The organisation's referrals service does not show clients to this user "
                                       "(only to caseworkers and managers).", code="directory-acting-for-refused")
        if status in (401, 403):
            log.error("client directory %s refused attendance's service token (%s)", self.base_url, status)
            raise DirectoryUnavailable(NOT_ACCEPTED, code="directory-token-refused")
        if status != 200:   # the body is not logged: a problem's detail may repeat the search text
            log.warning("client directory %s answered %s", self.base_url, status)
            raise DirectoryUnavailable(f"The organisation's referrals service answered {status}.")
        try:
            return [ClientCard(uuid.UUID(i["id"]), str(i["name"]), str(i["age_band"]), str(i["gender"]))
                    for i in r.json()]
        except (ValueError, TypeError, KeyError):
            log.warning("client directory %s answered with something else than client cards", self.base_url)
            raise DirectoryUnavailable("The organisation's referrals service answered with something else than "
                                       "client cards.") from None


def _problem_code(r) -> str | None:
    try:
        return str(r.json().get("type", "")).rsplit("/", 1)[-1] or None
    except (ValueError, AttributeError):
        return None

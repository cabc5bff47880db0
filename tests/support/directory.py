"""A client directory for in-process attendance tests: the cards of the clients a test says its organisation's
referrals service holds, and who asked. (The real one, services/attendance/directory.py, is tested against the
referrals service itself.)"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Card:
    id: uuid.UUID
    name: str
    age_band: str = "18-24"
    gender: str = "woman"


@dataclass
class KnownClients:
    known: dict = field(default_factory=dict)
    asked: list = field(default_factory=list)     # (acting_for, purpose, ids)

    def add(self, name: str = "Aino Esimerkki", **kw) -> uuid.UUID:
        card = Card(uuid.uuid4(), name, **kw)
        self.known[card.id] = card
        return card.id

    def cards(self, ids, *, acting_for: str, purpose: str = "casework") -> dict:
        ids = [uuid.UUID(str(i)) for i in ids]
        self.asked.append((acting_for, purpose, ids))
        return {i: self.known[i] for i in ids if i in self.known}

    def search(self, text: str, *, acting_for: str, purpose: str = "casework", limit: int = 20) -> list:
        self.asked.append((acting_for, purpose, text))
        return [c for c in self.known.values() if text.lower() in c.name.lower()][:limit]

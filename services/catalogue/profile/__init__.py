"""The Yhdistämö Finnish profile of HSDS: taxonomies, term ids and labels.

Loaded once from taxonomy.yaml; every catalogue instance runs the same
software, so every instance derives the same term ids and labels.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

PROFILE_URI = "https://yhdistamo.fi/hsds-profile/fi/v1"
NAMESPACE = uuid.UUID("0e9c2b54-8f0e-4c55-9a8e-3f3b0d1f6a11")
LANGS = ("fi", "sv", "en")
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def stable_id(*parts: str) -> uuid.UUID:
    """A UUID every instance derives the same way for the same thing (organisations, terms, taxonomies)."""
    return uuid.uuid5(NAMESPACE, "/".join(parts))


def organization_uuid(org_id: str) -> uuid.UUID:
    return stable_id("organization", org_id)


@dataclass(frozen=True)
class Term:
    taxonomy: str
    code: str
    name: dict
    parent: str | None

    @property
    def id(self) -> uuid.UUID:
        return stable_id("taxonomy_term", self.taxonomy, self.code)

    def label(self, lang: str = "fi") -> str:
        return self.name.get(lang) or self.name["fi"]


@dataclass(frozen=True)
class Taxonomy:
    code: str
    name: dict
    description: dict
    terms: dict  # code -> Term

    @property
    def id(self) -> uuid.UUID:
        return stable_id("taxonomy", self.code)


class Profile:
    def __init__(self, spec: dict):
        self.taxonomies: dict[str, Taxonomy] = {}
        for code, t in spec["taxonomies"].items():
            terms = {}
            for tcode, tt in t["terms"].items():
                tt = dict(tt)
                parent = tt.pop("parent", None)
                terms[tcode] = Term(code, tcode, tt, parent)
            self.taxonomies[code] = Taxonomy(code, t["name"], t["description"], terms)
        self._by_id = {term.id: term for tax in self.taxonomies.values() for term in tax.terms.values()}

    def codes(self, taxonomy: str) -> list[str]:
        return list(self.taxonomies[taxonomy].terms)

    def known(self, taxonomy: str, codes) -> list[str]:
        """The codes this instance knows, in order (a newer publisher may use a code added later: it stays in
        the document, but filters, labels and HSDS output use what is known here)."""
        terms = self.taxonomies[taxonomy].terms
        return [c for c in codes if c in terms]

    def term(self, taxonomy: str, code: str) -> Term:
        return self.taxonomies[taxonomy].terms[code]

    def term_by_id(self, term_id) -> Term | None:
        try:
            return self._by_id.get(uuid.UUID(str(term_id)))
        except ValueError:
            return None

    def with_ancestors(self, taxonomy: str, codes) -> list[str]:
        """The codes and every parent above them (a service in Kiiminki is also in Oulu)."""
        out = []
        for code in codes:
            while code and code not in out:
                out.append(code)
                code = self.term(taxonomy, code).parent
        return out

    def with_descendants(self, taxonomy: str, code: str) -> list[str]:
        """A filter on a parent matches its children too."""
        out = [code]
        for t in self.taxonomies[taxonomy].terms.values():
            if t.parent in out and t.code not in out:
                out.append(t.code)
        return out


@lru_cache(maxsize=1)
def profile() -> Profile:
    return Profile(yaml.safe_load((Path(__file__).parent / "taxonomy.yaml").read_text(encoding="utf-8")))


def text(value: dict | None, lang: str = "fi") -> str | None:
    """A localised text in the wanted language, falling back to Finnish."""
    if not value:
        return None
    return value.get(lang) or value.get("fi")

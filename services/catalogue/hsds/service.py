"""HSDS read use cases: the whole federation's public services (the directory read model) as HSDS 3.0.

Withdrawn services (tombstones in the read model) are never shown. Services
are found and paged by the directory's search; the HSDS filters become a
SearchQuery. Every read goes through the directory repository (`uow.directory`).
Organisations come from the federation registry, taxonomies from the profile.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from services.kernel.errors import NotFound

from ..directory.search import SearchQuery
from ..profile import organization_uuid, profile
from . import objects as hsds, tabular as hsds_tabular

BATCH = 100  # search page size when every match is wanted (ndjson, export, filters of service_at_locations)


@dataclass(frozen=True)
class Filters:
    """The HSDS filters of /services, /service_at_locations and the export."""
    search: str | None = None
    taxonomy_term_id: uuid.UUID | None = None
    taxonomy_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None   # HSDS organization id
    modified_after: datetime | None = None

    @property
    def any(self) -> bool:
        return any(v is not None for v in vars(self).values())


@dataclass
class Page:
    contents: list
    total: int
    page: int
    per_page: int

    def envelope(self) -> dict:
        """The HSDS page envelope."""
        pages = max(1, -(-self.total // self.per_page))
        return {"total_items": self.total, "total_pages": pages, "page_number": self.page,
                "size": len(self.contents), "first_page": self.page == 1, "last_page": self.page >= pages,
                "empty": self.total == 0, "contents": self.contents}


@contextmanager
def _reading(uow_factory):
    """A unit of work that only reads (these are public requests), from one snapshot (a listing read
    page by page, e.g. ndjson or the export, sees every service once)."""
    with uow_factory() as uow:
        uow.directory.snapshot()
        yield uow


def _slice(items: list, page: int, per_page: int) -> Page:
    return Page(items[(page - 1) * per_page:page * per_page], len(items), page, per_page)


def _org_id(federation, hsds_id: uuid.UUID) -> str | None:
    """The federation's id of an organisation, from its HSDS id."""
    return next((o for o in federation.organisations if organization_uuid(o) == hsds_id), None)


def search_query(federation, f: Filters, page: int = 1, per_page: int = 20) -> SearchQuery | None:
    """The search for these HSDS filters; None when nothing can match (an unknown organisation, a term
    outside the asked taxonomy)."""
    p = profile()
    terms: tuple[str, ...] = ()
    if f.taxonomy_term_id:
        term = p.term_by_id(f.taxonomy_term_id)
        if term is None or (f.taxonomy_id and p.taxonomies[term.taxonomy].id != f.taxonomy_id):
            return None
        terms = (str(term.id),)
    elif f.taxonomy_id:
        tax = next((x for x in p.taxonomies.values() if x.id == f.taxonomy_id), None)
        if tax is None:
            return None
        terms = tuple(str(term.id) for term in tax.terms.values())
    org = None
    if f.organization_id:
        org = _org_id(federation, f.organization_id)
        if org is None:
            return None
    return SearchQuery(text=f.search or None, organization_id=org, taxonomy_term_ids=terms,
                       modified_after=f.modified_after, page=page, per_page=per_page)


def _render(shape: str, federation, lang: str):
    def render(row):
        org = federation.get(row["organization_id"])
        if shape == "minimal":
            return hsds.minimal(row, lang)
        return hsds.service(row, org, lang) if shape == "full" else hsds.service_summary(row, org, lang)
    return render


def _all_rows(directory, federation, f: Filters) -> list[dict]:
    q = search_query(federation, f, 1, BATCH)
    rows = []
    while q is not None:
        page = directory.search(q)
        rows += [h.row for h in page.hits]
        if not page.hits or q.page >= page.total_pages:
            break
        q = replace(q, page=q.page + 1)
    return rows


# -- services --------------------------------------------------------------------

def list_services(uow_factory, f: Filters, lang: str, shape: str, page: int, per_page: int) -> Page:
    """One page; `shape` is "list" (one-to-one fields), "full" (fully nested) or "minimal"."""
    with _reading(uow_factory) as uow:
        federation = uow.ctx.federation
        q = search_query(federation, f, page, per_page)
        if q is None:
            return Page([], 0, page, per_page)
        found = uow.directory.search(q)
    render = _render(shape, federation, lang)
    return Page([render(h.row) for h in found.hits], found.total, page, per_page)


def each_service(uow_factory, f: Filters, lang: str, shape: str) -> list[dict]:
    """Every matching service (ndjson: no pages)."""
    with _reading(uow_factory) as uow:
        federation = uow.ctx.federation
        rows = _all_rows(uow.directory, federation, f)
    return [_render(shape, federation, lang)(r) for r in rows]


def get_service(uow_factory, service_id, lang: str) -> dict:
    with _reading(uow_factory) as uow:
        row = uow.directory.public_service(service_id)
        federation = uow.ctx.federation
    if row is None:
        raise NotFound(f"No public service {service_id} in the federation directory.")
    return hsds.service(row, federation.get(row["organization_id"]), lang)


# -- organisations ---------------------------------------------------------------

def _members(federation) -> list:
    return sorted((o for o in federation.organisations.values() if "catalogue" in o.services),
                  key=lambda o: o.display_name("fi").casefold())


def _full_organization(org, rows: list[dict], lang: str, full_service: bool) -> dict:
    mine = [r for r in rows if r["organization_id"] == org.id]
    services = [hsds.service(r, org, lang) if full_service else hsds.service_summary(r, org, lang) for r in mine]
    newest: dict[str, dict] = {}
    for r in mine:
        for loc in r["locations"]:
            if loc["id"] not in newest or loc["version"] > newest[loc["id"]]["version"]:
                newest[loc["id"]] = loc
    locations = [hsds.location(loc, org.id, lang) for loc in newest.values()]
    return hsds.organization(org.id, org, lang, services=services, locations=locations)


def list_organizations(uow_factory, query: str | None, lang: str, full: bool, full_service: bool,
                       page: int, per_page: int | None) -> Page:
    with _reading(uow_factory) as uow:
        members = _members(uow.ctx.federation)
        if query:
            needle = query.casefold()
            members = [o for o in members if any(needle in n.casefold() for n in o.name.values())]
        chosen = _slice(members, page, per_page) if per_page else Page(members, len(members), 1, len(members) or 1)
        rows = uow.directory.public_of([o.id for o in chosen.contents]) if full else []
    chosen.contents = [_full_organization(o, rows, lang, full_service) if full else hsds.organization(o.id, o, lang)
                       for o in chosen.contents]
    return chosen


def get_organization(uow_factory, organization_id: uuid.UUID, lang: str, full_service: bool) -> dict:
    with _reading(uow_factory) as uow:
        federation = uow.ctx.federation
        org = federation.get(_org_id(federation, organization_id) or "")
        if org is None:
            raise NotFound(f"No organisation {organization_id} in the federation.")
        rows = uow.directory.public_of([org.id])
    return _full_organization(org, rows, lang, full_service)


# -- services at locations -------------------------------------------------------

def list_services_at_locations(uow_factory, f: Filters, lang: str, full: bool, page: int,
                               per_page: int | None) -> Page:
    with _reading(uow_factory) as uow:
        federation = uow.ctx.federation
        ids = [r["service_id"] for r in _all_rows(uow.directory, federation, f)] if f.any else None
        pairs = uow.directory.public_at_locations(ids)
    chosen = _slice(pairs, page, per_page) if per_page else Page(pairs, len(pairs), 1, len(pairs) or 1)
    chosen.contents = [hsds.service_at_location(row, loc, federation.get(row["organization_id"]), lang, full=full)
                       for row, loc in chosen.contents]
    return chosen


def get_service_at_location(uow_factory, sal_id: uuid.UUID, lang: str) -> dict:
    """Its id is derived from the service and location ids, so it is found among the public pairs."""
    with _reading(uow_factory) as uow:
        federation = uow.ctx.federation
        match = next(((service_id, location_id) for service_id, location_id in uow.directory.public_location_ids()
                      if hsds.service_at_location_id(str(service_id), location_id) == str(sal_id)), None)
        row = uow.directory.public_service(match[0]) if match else None
    if row is None:
        raise NotFound(f"No service at location {sal_id} in the federation directory.")
    loc = next(loc for loc in row["locations"] if loc["id"] == match[1])
    return hsds.service_at_location(row, loc, federation.get(row["organization_id"]), lang, full=True)


# -- taxonomies (the profile's; no database) -------------------------------------

def _matches(query: str | None, *names: dict) -> bool:
    return not query or any(query.casefold() in v.casefold() for n in names for v in n.values())


def list_taxonomies(query: str | None, lang: str, page: int, per_page: int | None) -> Page:
    found = [x for x in profile().taxonomies.values() if _matches(query, x.name, x.description)]
    chosen = _slice(found, page, per_page) if per_page else Page(found, len(found), 1, len(found) or 1)
    chosen.contents = [hsds.taxonomy(x, lang) for x in chosen.contents]
    return chosen


def get_taxonomy(taxonomy_id: uuid.UUID, lang: str) -> dict:
    tax = next((x for x in profile().taxonomies.values() if x.id == taxonomy_id), None)
    if tax is None:
        raise NotFound(f"No taxonomy {taxonomy_id} in the profile.")
    return hsds.taxonomy(tax, lang)


def list_taxonomy_terms(query: str | None, taxonomy_id: uuid.UUID | None, parent_id: uuid.UUID | None,
                        top_only: bool, lang: str, page: int, per_page: int | None) -> Page:
    p = profile()
    terms = [term for tax in p.taxonomies.values() if taxonomy_id in (None, tax.id) for term in tax.terms.values()]
    if parent_id:
        terms = [x for x in terms if x.parent and p.term(x.taxonomy, x.parent).id == parent_id]
    if top_only:
        terms = [x for x in terms if not x.parent]
    terms = [x for x in terms if _matches(query, x.name)]
    chosen = _slice(terms, page, per_page) if per_page else Page(terms, len(terms), 1, len(terms) or 1)
    chosen.contents = [hsds.taxonomy_term(x, lang) for x in chosen.contents]
    return chosen


def get_taxonomy_term(term_id: uuid.UUID, lang: str) -> dict:
    term = profile().term_by_id(term_id)
    if term is None:
        raise NotFound(f"No taxonomy term {term_id} in the profile.")
    return hsds.taxonomy_term(term, lang)


# -- the tabular export ----------------------------------------------------------

def export(uow_factory, f: Filters, lang: str) -> tuple[str, bytes]:
    """(file name, zip) of the matching services with their organisations, locations and the taxonomies."""
    with _reading(uow_factory) as uow:
        federation = uow.ctx.federation
        rows = _all_rows(uow.directory, federation, f)
    services = [hsds.service(r, federation.get(r["organization_id"]), lang) for r in rows]
    org_ids = sorted({r["organization_id"] for r in rows})
    orgs = [hsds.organization(o, federation.get(o), lang) for o in org_ids]
    taxonomies = [hsds.taxonomy(x, lang) for x in profile().taxonomies.values()]
    terms = [hsds.taxonomy_term(x, lang) for tax in profile().taxonomies.values() for x in tax.terms.values()]
    created = datetime.now(timezone.utc)
    name = f"yhdistamo-hsds-{federation.name}-{lang}"
    descriptor = hsds_tabular.datapackage(name, f"{federation.name}: HSDS 3.0 ({lang})",
                                          hsds.timestamp(created))
    data = hsds_tabular.write_zip(hsds_tabular.flatten(services, orgs, taxonomies, terms), descriptor)
    return f"{name}-{created:%Y%m%d}.zip", data

"""The pages: search the federation's services, and one service in full."""
from __future__ import annotations

import uuid

from flask import redirect, request, url_for

from services.kernel.errors import NotFound
from services.kernel.http_app import new_uow

from ..profile import DAYS, profile
from . import filters, hours, present, reads
from .common import bp, lang, now, org_name, render, t


@bp.get("/")
def front():
    """The catalogue instance's front page is the public search (with any query it was given)."""
    query = request.query_string.decode()
    return redirect(url_for("public.search") + ("?" + query if query else ""))


@bp.get("/palvelut")
def search():
    moment = now()
    f = filters.parse(request.args, moment.date())
    results = None
    if f.query is not None:
        found = reads.find_services(new_uow, f.query)
        results = {"total": found.total, "page": found.page, "pages": found.total_pages,
                   "cards": [{**present.card(h.row, lang(), moment.date(), org_name), "open_now": h.open_now}
                             for h in found.hits]}
    options = choices()
    return render("search.html", 400 if f.errors else 200, form=f.form, narrowing=f.narrowing, results=results,
                  errors={name: t(key) for name, key in f.errors.items()}, choices=options,
                  in_use=in_use(f.form, options) if results is not None else [])


@bp.get("/palvelut/<service_id>")
def service(service_id: str):
    try:
        service_id = uuid.UUID(service_id)
    except ValueError:
        raise NotFound("Not a service id.", code="unknown-service") from None
    moment = now()
    row = reads.public_service(new_uow, service_id, moment)
    view = present.detail(row, lang(), moment.date(), org_name)
    view["open_now"] = row["open_now"]
    return render("service.html", service=view)


@bp.get("/palvelut/<path:anything>")
def not_a_page(anything: str):
    raise NotFound("No such page.")


def choices() -> dict:
    """The form's options, labelled in the page's language."""
    p, language = profile(), lang()

    def labelled(taxonomy, codes=None):
        terms = p.taxonomies[taxonomy].terms
        return [(c, terms[c].label(language)) for c in (terms if codes is None else codes)]

    areas = []
    for term in p.taxonomies["area"].terms.values():
        if term.parent:
            continue
        children = sorted(labelled("area", [c.code for c in p.taxonomies["area"].terms.values()
                                            if c.parent == term.code]), key=lambda o: o[1].casefold())
        if children:
            areas.append({"group": term.label(language),
                          "options": [(term.code, t("filter.area-all", name=term.label(language)))] + children})
        else:
            areas.append((term.code, term.label(language)))
    return {
        "category": sorted(labelled("service-category"), key=lambda o: o[1].casefold()),
        "area": areas,
        "mode": labelled("delivery-mode"),
        "language": labelled("language"),
        "day": [("today", t("filter.day.today")), ("tomorrow", t("filter.day.tomorrow"))]
               + [(d, hours.day_name(d, language, short=False)) for d in DAYS],
    }


def in_use(form, options: dict) -> list[str]:
    """The filters of a search, in words, for the line above its results."""
    def label(name, value):
        flat = []
        for e in options[name]:
            flat += e["options"] if isinstance(e, dict) else [e]
        return dict(flat).get(value, value)

    words = [label(name, v) for name in ("category", "area", "mode", "language") for v in form.getlist(name) if v]
    if form.get("age", "").strip():
        words.append(f"{t('filter.age')}: {form['age'].strip()}")
    if filters.flag(form, "open_now"):
        words.append(t("filter.open-now"))
    if form.get("day"):
        words.append(f"{t('filter.day')}: {label('day', form['day'])}")
    if form.get("date", "").strip():
        words.append(f"{t('filter.day')}: {present.day_text(filters.parse_day(form['date'].strip()), lang())}")
    words += [t(key) for name, key in (("free", "filter.free"), ("no_referral", "filter.no-referral"))
              if filters.flag(form, name)]
    return words

"""The kernel's page kit without a database: languages and links, headers, error pages and form parts,
for pages with sessions (the caseworker pages) and without (the public catalogue)."""
from __future__ import annotations

import re
from pathlib import Path

from flask import Flask, render_template_string, request

from services.kernel import pages as kit_module
from services.kernel.errors import NotFound
from services.kernel.i18n import ALL_LANGUAGES
from services.kernel.pages import KIT_TEXTS, Pages, texts

KIT = Path(kit_module.__file__).parent
PAGE = """{% extends "kit/base.html" %}{% import "kit/forms.html" as f with context %}
{% block title %}Koe{% endblock %}
{% block main %}<h1>Koe</h1>
{{ f.error_summary(None, errors) }}
{{ f.input("age", "Ikä", form, errors, hint="Vuosina") }}
{{ f.select("area", "Alue", form, errors, [("a", "A"), {"group": "Oulu", "options": [("o", "O")]}], empty="–") }}
<a href="{{ page_url(page=2) }}" id="next">next</a> <a href="{{ with_lang('koe.page') }}" id="self">self</a>
{% endblock %}"""


def site(**options) -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "test"
    pages = Pages("koe", __name__, texts(languages=ALL_LANGUAGES), home="koe.page", layout="kit/base.html",
                  static_folder=None, **options)

    @pages.bp.get("/page")
    def page():
        errors = {"age": "Anna ikä numeroina"} if request.args.get("bad") else {}
        return render_template_string(PAGE, form={"age": "x"}, errors=errors)

    @pages.bp.get("/missing")
    def missing():
        raise NotFound("No such thing.", code="no-such-thing")

    @pages.bp.get("/broken")
    def broken():
        raise RuntimeError("boom")

    app.register_blueprint(pages.bp)
    return app


def test_every_text_the_kit_uses_is_in_its_texts_in_every_language():
    used = set()
    for path in list(KIT.rglob("*.html")) + list(KIT.glob("*.py")):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z0-9_.-]+)["']""", path.read_text(encoding="utf-8")))
    assert used and sorted(k for k in used if k not in KIT_TEXTS) == []
    assert texts(languages=ALL_LANGUAGES).missing() == []


def test_a_service_text_wins_over_the_kits(tmp_path):
    own = tmp_path / "messages.json"
    own.write_text('{"nav.skip": {"fi": "Siirry sisältöön", "en": "Skip to content"}}', encoding="utf-8")
    catalogue = texts(own)
    assert catalogue.text("nav.skip", "fi") == "Siirry sisältöön" and catalogue.text("form.error", "en") == "Error"


def test_public_pages_carry_the_language_in_the_address_and_are_cached():
    client = site(remember_language=False, max_age=60).test_client()
    r = client.get("/page?q=kahvila&lang=sv")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and '<html lang="sv">' in html and "Hoppa till huvudinnehållet" in html
    links = dict(re.findall(r'<a href="([^"]+)" lang="(\w\w)" hreflang', html))
    assert {v: k for k, v in links.items()} == {"fi": "/page?q=kahvila", "sv": "/page?q=kahvila&amp;lang=sv",
                                                "en": "/page?q=kahvila&amp;lang=en"}
    assert 'aria-current="true">På svenska' in html
    assert 'href="/page?q=kahvila&amp;lang=sv&amp;page=2" id="next"' in html
    assert 'href="/page?lang=sv" id="self"' in html
    assert r.headers["Cache-Control"] == "public, max-age=60" and r.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert client.get("/page").headers.get("Set-Cookie") is None     # no cookies on public pages
    css = client.get("/assets/kit/kit.css")
    assert css.status_code == 200 and css.mimetype == "text/css" and css.headers["X-Content-Type-Options"] == "nosniff"
    assert "--focus" in css.get_data(as_text=True)


def test_pages_with_sessions_remember_the_language_and_are_never_cached():
    client = site().test_client()
    assert '<html lang="en">' in client.get("/page?lang=en").get_data(as_text=True)
    r = client.get("/page?search=x")
    html = r.get_data(as_text=True)
    assert '<html lang="en">' in html and r.headers["Cache-Control"] == "no-store"
    assert 'href="/page?search=x&amp;page=2" id="next"' in html        # the session says the language
    assert re.search(r'<a href="/page\?search=x&amp;lang=fi" lang="fi" hreflang="fi"', html)
    assert '<html lang="sv">' in client.get("/page?lang=sv").get_data(as_text=True)   # all three: ALL_LANGUAGES


def test_errors_are_pages_in_the_language_with_a_way_back():
    client = site(remember_language=False, max_age=60).test_client()
    r = client.get("/missing?lang=sv")
    html = r.get_data(as_text=True)
    assert r.status_code == 404 and r.mimetype == "text/html" and "Sidan hittades inte" in html
    assert 'role="alert"' in html and 'href="/page?lang=sv">Tillbaka till startsidan' in html
    broken = client.get("/broken")
    assert broken.status_code == 500 and "Tapahtui odottamaton virhe" in broken.get_data(as_text=True)
    assert broken.headers["Cache-Control"] == "no-store"              # an error is not kept


def test_form_fields_are_labelled_and_tied_to_their_hints_and_errors():
    html = site(remember_language=False).test_client().get("/page?bad=1").get_data(as_text=True)
    assert '<label for="age">Ikä</label>' in html and '<p class="hint" id="age-hint">Vuosina</p>' in html
    assert 'id="age" name="age" type="text" value="x" aria-describedby="age-hint age-error" aria-invalid="true"' in html
    assert re.search(r'class="error-summary" role="alert".*<a href="#age">Anna ikä numeroina</a>', html, re.S)
    assert '<optgroup label="Oulu">' in html and '<option value="a">A</option>' in html
    assert 'class="skip-link" href="#main"' in html and '<main id="main" tabindex="-1">' in html

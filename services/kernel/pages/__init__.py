"""The shared page kit: what every service's server-rendered pages stand on, made once.

A service's `web/` makes one `Pages` and hangs its views on `Pages.bp`. Its pages then
- speak Finnish first, then the other languages of their texts: `?lang=` switches; pages with sessions
  remember the choice (`remember_language`), pages without carry it in every address instead (and leave
  it out for Finnish, so that a page has one address for everyone who asks for it);
- link to themselves in another language (`lang_url`), with other query values (`page_url`), and to
  other pages in the same language (`with_lang`);
- answer with one set of security headers (CSP, nosniff, referrer policy) and one cache rule:
  `no-store` (the default: pages that show personal data) or `public, max-age` (`max_age`: public pages
  that are the same for everyone; errors are never kept);
- show every error as an HTML page in the page's language: a refusal by its code, else by its status.
Templates extend `kit/base.html` (skip link, header, language switch, main landmark) and import
`kit/forms.html` (error summary, fields with label, hint, error and aria-describedby). `kit.css`,
served at /assets/kit/kit.css, holds the tokens (colours, spacing, focus ring) and the shared parts that
a service's own stylesheet (`css`, in its blueprint's static folder at /assets/) builds on.
The kit's texts (messages.json, Finnish, Swedish and English) lie under the service's own: `texts()`.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Callable
from urllib.parse import urlencode

from flask import Blueprint, current_app, g, render_template, request, url_for
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException

from ..db import is_transient
from ..errors import DomainError
from ..http_app import csrf_token
from ..i18n import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, Catalogue, request_language

KIT_TEXTS = json.loads((Path(__file__).parent / "messages.json").read_text(encoding="utf-8"))
CSP = "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
log = logging.getLogger(__name__)

# The kit's own templates (kit/...) and stylesheet; registered on the app with the first `Pages.bp`.
kit = Blueprint("kit", __name__, template_folder="templates", static_folder="static", static_url_path="/assets/kit")


@kit.after_request
def _kit_headers(resp):
    return current_app.extensions["pages"].secure(resp)


def texts(path: Path | str | None = None, languages: tuple[str, ...] = LANGUAGES) -> Catalogue:
    """A service's page texts (a JSON file) over the kit's: where both have a text, the service's wins."""
    own = json.loads(Path(path).read_text(encoding="utf-8")) if path else {}
    return Catalogue({**KIT_TEXTS, **own}, languages)


def query(args: dict) -> str:
    """`?k=v&…` of the values that are not blank (a list repeats its key); "" when none is left."""
    pairs = [(k, v) for k, vs in args.items() for v in (vs if isinstance(vs, list) else [vs]) if v not in (None, "")]
    return "?" + urlencode(pairs) if pairs else ""


def showing(url: str) -> None:
    """The address of what this response shows, when it answers a form post to another address."""
    g.here = url


class Pages:
    """One service's pages: a blueprint with the kit's language, links, headers and error pages.

    home: the endpoint the brand and the error pages link to; folder: the blueprint's template folder
    (`render("x.html")` renders folder/x.html); layout: what the error page extends (folder/base.html);
    css: the service's stylesheet in its static folder; refusal_params: the parameters a refusal's text
    takes (e.g. the state a referral is in), from the refusal.
    """

    def __init__(self, name: str, import_name: str, catalogue: Catalogue, *, home: str, folder: str = "",
                 layout: str | None = None, css: str | None = None, remember_language: bool = True,
                 csp: str = CSP, max_age: int | None = None, static_folder: str | None = "static",
                 refusal_params: Callable[[DomainError], dict] | None = None):
        self.catalogue, self.home, self.folder, self.css = catalogue, home, folder, css
        self.layout = layout or f"{folder}/base.html"
        self.remember, self.csp, self.max_age = remember_language, csp, max_age
        self.refusal_params = refusal_params or (lambda e: {})
        self.bp = Blueprint(name, import_name, template_folder="templates", static_folder=static_folder,
                            static_url_path="/assets" if static_folder else None)
        self.bp.record_once(self._register_kit)
        self.bp.before_request(self._choose_language)
        self.bp.context_processor(self._globals)
        self.bp.after_request(self.secure)
        self.bp.register_error_handler(DomainError, self._refused)
        self.bp.register_error_handler(HTTPException, self._http_error)
        self.bp.register_error_handler(DBAPIError, self._database_error)
        self.bp.register_error_handler(Exception, self._unexpected)

    def _register_kit(self, state) -> None:
        if state.app.extensions.setdefault("pages", self) is not self:
            raise RuntimeError("an app has one Pages: its blueprints share the kit's headers")
        state.app.register_blueprint(kit)

    # -- language and texts -------------------------------------------------------------
    def lang(self) -> str:
        if "lang" not in g:
            g.lang = request_language(self.catalogue.languages, remember=self.remember)
        return g.lang

    def _choose_language(self) -> None:
        self.lang()      # before the view, so that a remembered choice is remembered on every page

    def t(self, key: str, **params) -> str:
        return self.catalogue.text(key, self.lang(), **params)

    # -- links ----------------------------------------------------------------------------
    def lang_url(self, code: str) -> str:
        """This page in another language (a form post's answer: the page it shows, see `showing`)."""
        if g.get("here"):
            return g.here + ("&" if "?" in g.here else "?") + urlencode({"lang": code})
        args = request.args.to_dict(flat=False)
        args["lang"] = [code] if self.remember or code != DEFAULT_LANGUAGE else []
        return request.path + query(args)

    def page_url(self, **changes) -> str:
        """This page with some query values changed (pagination, filters); a blank value drops its key."""
        args = request.args.to_dict(flat=False)
        if self.remember:
            args.pop("lang", None)          # the session says it
        args.update({k: [] if v in (None, "") else [str(v)] for k, v in changes.items()})
        return request.path + query(args)

    def with_lang(self, endpoint: str, **values) -> str:
        """A link to another page, in this page's language."""
        if not self.remember and self.lang() != DEFAULT_LANGUAGE:
            values["lang"] = self.lang()
        return url_for(endpoint, **values)

    def _globals(self) -> dict:
        own_css = url_for(f"{self.bp.name}.static", filename=self.css) if self.css else None
        return dict(t=self.t, lang=self.lang(), page_languages=self.catalogue.languages, language_names=LANGUAGE_NAMES,
                    lang_url=self.lang_url, page_url=self.page_url, with_lang=self.with_lang, home_endpoint=self.home,
                    own_css=own_css, csrf_token=csrf_token)

    def render(self, template: str, status: int = 200, **values):
        return render_template(f"{self.folder}/{template}" if self.folder else template, **values), status

    # -- headers ----------------------------------------------------------------------------
    def secure(self, resp):
        resp.headers.setdefault("Content-Security-Policy", self.csp)
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"   # an address may say something about who asked
        if resp.mimetype == "text/html":
            public = self.max_age is not None and resp.status_code < 500
            resp.headers["Cache-Control"] = f"public, max-age={self.max_age}" if public else "no-store"
        return resp

    # -- errors -----------------------------------------------------------------------------
    def message(self, status: int, code: str | None = None, **params) -> str:
        """An error's text: by its code, else by its status, else the general one of its kind."""
        keys = [f"error.{code}"] if code else []
        keys += [f"error.status.{status}", "error.status.400" if status < 500 else "error.status.500"]
        return self.t(next(k for k in keys if k in self.catalogue), **params)

    def refusal(self, e: DomainError) -> str:
        """A refused use case, in the user's language."""
        plain = {k: v for k, v in e.extra.items() if isinstance(v, (str, int))}   # e.g. minutes to wait
        return self.message(e.status, e.code, **{**plain, **self.refusal_params(e)})

    def error_page(self, status: int, message: str):
        return render_template("kit/error.html", layout=self.layout, message=message), status

    def _refused(self, e: DomainError):
        return self.error_page(e.status, self.refusal(e))

    def _http_error(self, e: HTTPException):
        return self.error_page(e.code or 500, self.message(e.code or 500))

    def _database_error(self, e: DBAPIError):
        if is_transient(e):
            log.warning("database unavailable: %s", e)
            return self.error_page(503, self.message(503, "database-unavailable"))
        return self._unexpected(e)

    def _unexpected(self, e: Exception):
        log.exception("unhandled error on a page", exc_info=e)
        return self.error_page(500, self.message(500))

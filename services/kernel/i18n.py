"""UI texts: Finnish first, Swedish and English on request.

A service's pages keep their texts in a JSON catalogue, one entry per message
id with a text per language: `{"inbox.title": {"fi": "Saapuneet", "en": "Inbox"}}`.
Each catalogue says which languages it speaks (the caseworker pages: Finnish and
English; the public catalogue pages: Finnish, Swedish and English); a text missing
in one of them falls back to Finnish. `?lang=en` switches the language and, for
pages with sessions, the session remembers it.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from flask import request, session

LANGUAGES = ("fi", "en")      # the default: what the caseworker pages speak
ALL_LANGUAGES = ("fi", "sv", "en")
DEFAULT_LANGUAGE = "fi"
LANGUAGE_NAMES = {"fi": "Suomeksi", "sv": "På svenska", "en": "In English"}   # each in its own language
log = logging.getLogger(__name__)


class Catalogue:
    def __init__(self, messages: dict[str, dict[str, str]], languages: tuple[str, ...] = LANGUAGES):
        if languages[0] != DEFAULT_LANGUAGE or not set(languages) <= set(ALL_LANGUAGES):
            raise ValueError(f"a catalogue speaks Finnish first, then some of {ALL_LANGUAGES}: {languages}")
        self.messages = messages
        self.languages = languages

    @classmethod
    def load(cls, path: Path | str, languages: tuple[str, ...] = LANGUAGES) -> "Catalogue":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")), languages)

    def __contains__(self, key: str) -> bool:
        return key in self.messages

    def text(self, key: str, lang: str, **params) -> str:
        """The message in `lang` (Finnish if it has none), with `{name}` parameters filled in."""
        entry = self.messages.get(key)
        if entry is None:
            log.warning("no text for %r", key)
            return key
        text = entry.get(lang) or entry[DEFAULT_LANGUAGE]
        return text.format(**params) if params else text

    def missing(self) -> list[str]:
        """Message ids without a text in some language (a test keeps this empty)."""
        return sorted(k for k, v in self.messages.items() if any(not v.get(lang) for lang in self.languages))


def request_language(languages: tuple[str, ...] = LANGUAGES, *, remember: bool = True) -> str:
    """`?lang=` of this request (remembered in the session), else the session's, else Finnish.

    Pages without sessions (the public catalogue) pass remember=False: the language then travels only
    in the address, which also keeps a page's address the same for everyone who asks for it."""
    wanted = request.args.get("lang")
    if wanted in languages:
        if remember and session.get("lang") != wanted:
            session["lang"] = wanted
        return wanted
    remembered = session.get("lang") if remember else None
    return remembered if remembered in languages else DEFAULT_LANGUAGE

"""UI texts: Finnish first, English on request.

A service's pages keep their texts in a JSON catalogue, one entry per message
id with a text per language: `{"inbox.title": {"fi": "Saapuneet", "en": "Inbox"}}`.
`?lang=en` (or `fi`) switches the language and the session remembers it.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from flask import request, session

LANGUAGES = ("fi", "en")
DEFAULT_LANGUAGE = "fi"
log = logging.getLogger(__name__)


class Catalogue:
    def __init__(self, messages: dict[str, dict[str, str]]):
        self.messages = messages

    @classmethod
    def load(cls, path: Path | str) -> "Catalogue":
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))

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
        return sorted(k for k, v in self.messages.items() if any(not v.get(lang) for lang in LANGUAGES))


def request_language() -> str:
    """`?lang=` of this request (remembered in the session), else the session's, else Finnish."""
    wanted = request.args.get("lang")
    if wanted in LANGUAGES:
        if session.get("lang") != wanted:
            session["lang"] = wanted
        return wanted
    remembered = session.get("lang")
    return remembered if remembered in LANGUAGES else DEFAULT_LANGUAGE

"""A service's event handlers, registered by CloudEvents type."""
from __future__ import annotations

from typing import Callable

from ..contracts import ContractRegistry
from ..events import CloudEvent

Handler = Callable[[object, CloudEvent], None]  # (unit of work, event): applies the effect, nothing else


class Handlers:
    """Event handlers of a service, registered by CloudEvents type."""

    def __init__(self):
        self._by_type: dict[str, Handler] = {}

    def on(self, event_type: str):
        def register(fn: Handler) -> Handler:
            self._by_type[event_type] = fn
            return fn
        return register

    def get(self, event_type: str) -> Handler | None:
        return self._by_type.get(event_type)

    def types(self) -> set[str]:
        return set(self._by_type)

    def topics(self, contracts: ContractRegistry) -> list[str]:
        return sorted({contracts.get(t).topic for t in self._by_type})

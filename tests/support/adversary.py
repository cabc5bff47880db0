"""A member that misbehaves: it signs whatever it likes with its own valid key and sends it past the
services, straight to the broker."""
from __future__ import annotations

from services.kernel.events import new_event
from services.kernel.federation import Federation
from services.kernel.keys import load_private_key
from services.kernel.config import PROJECT_ROOT
from tests.support import bus


class Adversary:
    def __init__(self, org: str, bootstrap: str, service: str = "referrals"):
        federation = Federation.load(PROJECT_ROOT / "deploy" / "federation.yaml")
        self.org, self.bootstrap, self.source = org, bootstrap, f"/orgs/{org}/{service}"
        self.key = load_private_key(federation.get(org).demo_signing_key_file)

    def send(self, topic: str, event_type: str, key: str, data: dict, extensions: dict | None = None):
        """A correctly signed event of this member; (partition, offset) where it landed."""
        event = new_event(source=self.source, type=event_type, key=key, data=data, signing_key=self.key,
                          topic=topic, extensions=extensions)
        return bus.send(self.bootstrap, topic, event.partitionkey.encode(), event.data_bytes, event.headers())

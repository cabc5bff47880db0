"""Catalogue services as the publishing API takes them, for tests."""
from __future__ import annotations

from services.catalogue.publishing import service as catalogue_service
from services.catalogue.publishing.schemas import ServiceIn


def service_doc(name: str = "Sovittava ohjaus", category: str = "individual-guidance", **extra) -> dict:
    """A valid service description (validated as the API would), with the given fields on top."""
    return ServiceIn().load({"name": {"fi": name}, "categories": [category], "areas": ["oulu"], **extra})


def publish_service(uow_factory, actor, name: str = "Sovittava ohjaus", category: str = "individual-guidance",
                    **extra):
    return catalogue_service.create_service(uow_factory, actor, service_doc(name, category, **extra))


def catalogue_key(org: str, service_id) -> str:
    """The Kafka key of an organisation's catalogue events about a service: `<organization_id>/<service_id>`."""
    return f"{org}/{service_id}"


def published_data(service_id: str, org: str = "odl", name: str = "Sovittava ohjaus", version: int = 1,
                   **service) -> dict:
    """The data of a catalogue.service-published.v2 event."""
    return {"service_id": service_id, "organization_id": org, "version": version, "status": "active",
            "published_at": "2026-11-25T10:00:00Z", "locations": [],
            "service": {"name": {"fi": name}, "categories": ["individual-guidance"], "delivery_modes": ["in-person"],
                        "languages": ["fi"], "areas": ["oulu"], "referral_required": False, "free": True,
                        **service}}

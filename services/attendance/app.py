from services.kernel.http_app import create_service_app

from . import DEFINITION
from .api import bp


def create_app(settings=None):
    return create_service_app(DEFINITION, [bp], title="Yhdistämö attendance",
                              description="Record encounters at drop-in places, groups, guidance and home visits.",
                              settings=settings)

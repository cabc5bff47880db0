from services.kernel.web import create_service_app

from . import DEFINITION
from .api import bp


def create_app(settings=None):
    return create_service_app(DEFINITION, [bp], title="Yhdistämö catalogue",
                              description="Publish your organisation's services; read the federation's.", settings=settings)

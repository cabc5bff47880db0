from services.kernel.http_app import create_service_app

from . import DEFINITION
from .api import bp, pages


def create_app(settings=None):
    app = create_service_app(DEFINITION, [bp], title="Yhdistämö reporting",
                             description="Regional indicators from the federation's events.", settings=settings)
    app.register_blueprint(pages)
    return app

from services.kernel.http_app import create_service_app, enable_browser_sessions

from . import DEFINITION
from .api import bp, pages


def create_app(settings=None):
    app = create_service_app(DEFINITION, [bp], title="Yhdistämö reporting",
                             description="Regional indicators from the federation's events: for the region's "
                                         "coordinator and each organisation's manager (bearer token), and the "
                                         "region's suppressed totals for anyone (/api/v1/public/counts).",
                             settings=settings)
    enable_browser_sessions(app)
    app.register_blueprint(pages)
    return app

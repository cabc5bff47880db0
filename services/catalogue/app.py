from services.kernel.http_app import create_service_app

from . import DEFINITION
from .hsds.api import bp as hsds_bp, import_bp
from .publishing.api import bp
from .web import bp as pages


def create_app(settings=None):
    app = create_service_app(DEFINITION, [bp, hsds_bp, import_bp], title="Yhdistämö catalogue",
                             description="Publish your organisation's services; read the federation's.", settings=settings)
    app.register_blueprint(pages)
    return app

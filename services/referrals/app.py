from services.kernel.auth import ON_REFUSAL
from services.kernel.http_app import create_service_app, enable_browser_sessions

from . import DEFINITION
from .api import bp
from .audit import log_role_refusal
from .web import bp as pages


def create_app(settings=None):
    app = create_service_app(DEFINITION, [bp], title="Yhdistämö referrals",
                             description="Send referrals to other organisations and receive theirs.", settings=settings)
    enable_browser_sessions(app)
    app.register_blueprint(pages)
    app.extensions[ON_REFUSAL] = log_role_refusal
    return app

from services.kernel.http_app import create_service_app

from . import DEFINITION
from .api import bp
from .directory import ClientDirectory


def create_app(settings=None, *, directory=None):
    """`directory`: how attendance reads its organisation's clients (the referrals service); by default
    ClientDirectory.from_env() (REFERRALS_URL, REFERRALS_TOKEN_FILE), none when those are unset."""
    app = create_service_app(DEFINITION, [bp], title="Yhdistämö attendance",
                             description="Record encounters at drop-in places, groups, guidance and home visits.",
                             settings=settings)
    directory = directory if directory is not None else ClientDirectory.from_env()
    if directory is not None:
        app.extensions["yhd.directory"] = directory
    return app

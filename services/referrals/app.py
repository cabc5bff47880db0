from services.kernel.web import create_service_app

from . import DEFINITION
from .api import bp


def create_app(settings=None):
    return create_service_app(DEFINITION, [bp], title="Yhdistämö referrals",
                              description="Send referrals to other organisations and receive theirs.", settings=settings)

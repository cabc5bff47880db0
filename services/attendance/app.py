from services.kernel.http_app import create_service_app, enable_browser_sessions

from . import DEFINITION
from .api import CONFIG, bp
from .directory import ClientDirectory
from .service import AttendanceConfig
from .web import bp as pages


def create_app(settings=None, *, directory=None, config: AttendanceConfig | None = None):
    """`directory`: how attendance reads its organisation's clients (the referrals service); by default
    ClientDirectory.from_env() (REFERRALS_URL, REFERRALS_TOKEN_FILE), none when those are unset. `config`:
    ATTENDANCE_NO_SHOW_SESSIONS, GUIDANCE_CONTACT_DAYS, INSTRUMENTS_DIR from the environment by default."""
    app = create_service_app(DEFINITION, [bp], title="Yhdistämö attendance",
                             description="Encounters at drop-in places and one-stop points, groups and sessions, "
                                         "individual guidance, home visits, network meetings, aid, events for "
                                         "professionals, and life-situation measures.",
                             settings=settings)
    app.extensions[CONFIG] = config or AttendanceConfig.from_env()
    directory = directory if directory is not None else ClientDirectory.from_env()
    if directory is not None:
        app.extensions["yhd.directory"] = directory
    enable_browser_sessions(app)
    app.register_blueprint(pages)
    return app

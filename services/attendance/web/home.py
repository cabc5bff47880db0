"""The front page: the ways to what a caseworker or a manager records and follows here."""
from services.kernel.auth import requires

from .common import CASEWORK, bp, render


@bp.get("/")
@requires(*CASEWORK)
def home():
    return render("home.html", active="home")

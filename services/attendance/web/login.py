"""Logging in to the pages (username and password of this instance's own users) and out: the kit's."""
from services.kernel.pages.login import add_login

from .common import PAGES

add_login(PAGES, home="pages.home")

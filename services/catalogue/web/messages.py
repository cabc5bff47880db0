"""The public pages' texts: Finnish, Swedish and English (messages.json)."""
from pathlib import Path

from services.kernel.i18n import ALL_LANGUAGES, Catalogue

CATALOGUE = Catalogue.load(Path(__file__).parent / "messages.json", ALL_LANGUAGES)

"""The public pages' texts: Finnish, Swedish and English (messages.json, over the page kit's)."""
from pathlib import Path

from services.kernel.i18n import ALL_LANGUAGES
from services.kernel.pages import texts

CATALOGUE = texts(Path(__file__).parent / "messages.json", ALL_LANGUAGES)

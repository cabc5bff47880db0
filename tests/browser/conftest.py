"""Browser tests: a real headless Chromium (Debian's /usr/bin/chromium) driven by Playwright, against the
embedded stack started as real processes (the session's `stack`, shared with the e2e tests).

Without Playwright or Chromium the tests fail under CI=true and are skipped elsewhere.
Screenshots go to test-artifacts/browser/ at the repository root.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from services.kernel.config import PROJECT_ROOT
from tests.support.parts import unavailable

CHROMIUM = Path(os.environ.get("YHD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "browser"


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives a real headless Chromium")


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
        import axe_playwright_python  # noqa: F401  (the accessibility scans need it too)
    except ImportError as e:
        unavailable("Playwright (pip install -e '.[test]')", repr(e))
    if not CHROMIUM.exists():
        unavailable("Chromium", f"{CHROMIUM} does not exist (apt-get install chromium)")
    with sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        except Exception as e:
            unavailable("Chromium", repr(e))
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots and accessibility reports: {ARTIFACTS}")
    return ARTIFACTS


@pytest.fixture
def new_page(browser):
    """Factory: a page in a fresh browser context (its own cookies: one user each)."""
    contexts = []

    def make(**options):
        context = browser.new_context(locale="fi-FI", viewport={"width": 1280, "height": 900}, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()
    yield make
    for c in contexts:
        c.close()

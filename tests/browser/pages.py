"""What the browser tests do on any page: submit a form, scan it with axe-core, take screenshots."""
from __future__ import annotations

import json

PHONE = {"width": 390, "height": 844}


def submit(page, button: str, *, exact=False) -> int:
    """Click a submit button and return the HTTP status of the page it led to."""
    with page.expect_navigation() as nav:
        page.get_by_role("button", name=button, exact=exact).click()
    return nav.value.status


def assert_accessible(page, name: str, artifacts):
    """axe-core finds nothing serious or critical (the full report is kept next to the screenshots)."""
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page)
    (artifacts / f"axe-{name}.json").write_text(json.dumps(results.response["violations"], indent=1))
    bad = [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, f"{name}: " + "; ".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}" for v in bad)


def screenshots(page, name: str, artifacts, phone=False):
    """A full-page screenshot; with phone=True also one at 390x844, where nothing may scroll sideways."""
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    if phone:
        size = page.viewport_size
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(artifacts / f"{name}-phone.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], f"{name} scrolls sideways"
        page.set_viewport_size(size)

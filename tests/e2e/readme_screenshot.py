"""Regenerates the README's screenshot (docs/img/overview.png) against `agentdeck serve --demo`.

Not part of `make test` (the file name is not collected; it waits for a scripted incident to
page, up to ten minutes). Run it by name after a UI change:

    .venv/bin/pytest -m e2e tests/e2e/readme_screenshot.py
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from tests.e2e.demo_server import Server, start_demo_server
from tests.e2e.support import ADMIN, login
from tests.e2e.test_screens import ROOT, VIEWPORT, _settle

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_demo_server(tmp_path_factory.mktemp("agentdeck-readme"))


README_SHOT = ROOT / "docs" / "img" / "overview.png"
ALERT_WAIT_S = 600.0


@pytest.mark.timeout(ALERT_WAIT_S + 120, func_only=True)
def test_readme_screenshot(demo: Server, browser: Browser) -> None:
    """The README's overview at 1440×900 (light), once a scripted incident has paged: the
    demo's alerts fire five minutes after the server starts evaluating an incident."""
    deadline = time.monotonic() + ALERT_WAIT_S
    with demo.api(ADMIN) as api:
        # a rule's alert (the scripted incident), not a log anomaly of the backfilled hour
        rule_alerts = {"active": "true", "source": "rule"}
        while not api.get("/api/v1/alerts", params=rule_alerts).json()["items"]:
            assert time.monotonic() < deadline, "no demo incident paged"
            time.sleep(5)  # polling the alert list, not synchronising on time
    context = browser.new_context(base_url=demo.base_url, viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        login(page, ADMIN)
        page.goto("/overview")
        _settle(page)
        page.screenshot(path=str(README_SHOT), animations="disabled")
    finally:
        context.close()

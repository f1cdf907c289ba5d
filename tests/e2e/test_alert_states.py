"""An alert inhibited by a firing critical is shown as inhibited, not as active, wherever alerts
are listed: the Alerts page (with a state filter), the alert's own page (with a link to the
alert that inhibits it) and the overview's alert strip."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.support import ADMIN, DEVELOPER, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]


def test_an_inhibited_warning_is_shown_as_inhibited(new_page: NewPage, server: Server) -> None:
    tag = uuid.uuid4().hex[:8]
    ours = {"name": "e2etag", "op": "=", "value": tag}
    with server.api(ADMIN) as api:
        rule = api.post(
            "/api/v1/inhibition-rules",
            json={
                "name": f"critical mutes warning {tag}",
                "source_matchers": [ours, {"name": "severity", "op": "=", "value": "critical"}],
                "target_matchers": [ours, {"name": "severity", "op": "=", "value": "warning"}],
                "equal": ["agent"],
            },
        )
        assert rule.status_code == 201, rule.text
    base = {"e2etag": tag, "agent": f"inh-{tag}"}
    with server.api(DEVELOPER) as api:
        raised = api.post(
            "/api/v2/alerts",
            json=[
                {"labels": {**base, "alertname": "InhCritical", "severity": "critical"}},
                {"labels": {**base, "alertname": "InhWarning", "severity": "warning"}},
            ],
        )
        assert raised.status_code == 200, raised.text

    page = new_page()
    page.set_viewport_size({"width": 1440, "height": 900})
    login(page, DEVELOPER)
    page.goto(f'/alerts?matcher=e2etag="{tag}"')
    table = page.get_by_role("table", name="Alerts")
    warning = table.locator("tr", has_text="InhWarning")
    critical = table.locator("tr", has_text="InhCritical")
    # the dispatcher marks the inhibition on its own schedule: the page follows live
    expect(warning.locator('[data-muted="inhibited"]')).to_be_visible(timeout=30_000)
    expect(warning.locator('[data-status="active"]')).to_have_count(0)
    expect(critical.locator('[data-status="active"]')).to_be_visible()
    expect(critical.locator("[data-muted]")).to_have_count(0)
    shoot(page, "alerts-inhibited")

    # the state filter (in the URL): suppressed alerts only, then notifying ones only
    page.get_by_label("State").select_option("suppressed")
    expect(page).to_have_url(re.compile(r"state=suppressed"))
    expect(table.locator("tr[data-alert]")).to_have_count(1)
    expect(table.locator("tr[data-alert]")).to_contain_text("InhWarning")
    page.get_by_label("State").select_option("notifying")
    expect(table.locator("tr[data-alert]")).to_have_count(1)
    expect(table.locator("tr[data-alert]")).to_contain_text("InhCritical")

    # the alert's page says what inhibits it and links there
    page.get_by_label("State").select_option("suppressed")
    page.get_by_role("link", name="InhWarning").click()
    expect(page.get_by_role("heading", name=re.compile("InhWarning"))).to_be_visible()
    expect(page.locator('h1 [data-muted="inhibited"]')).to_be_visible()
    page.get_by_test_id("inhibited-by").get_by_role("link").click()
    expect(page.get_by_role("heading", name=re.compile("InhCritical"))).to_be_visible()

    # the overview's strip: the warning is marked inhibited and counted apart
    page.goto("/")
    strip = page.get_by_test_id("alert-strip")
    expect(strip.locator('li[data-suppressed="inhibited"]', has_text="InhWarning")).to_be_visible(
        timeout=15_000
    )
    expect(strip.get_by_test_id("alerts-suppressed")).to_contain_text("suppressed")
    shoot(page, "overview-inhibited", dark_too=False)

"""Alert rules in the browser: the list shows the default pack, the editor compiles a threshold
rule, previews it on ingested samples with the threshold line and backtests it before saving;
the new rule can be disabled from the list."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.support import ADMIN, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]
METRIC = "e2e_rules_queue_depth"


def _ingest(server: Server) -> None:
    """A queue that sits at 10, spikes to 90 for 10 minutes, then recovers (last 40 minutes)."""
    now = int(time.time() * 1000)
    samples = []
    for k in range(40):
        ts = now - (39 - k) * 60_000
        value = 90.0 if 15 <= k < 25 else 10.0
        samples.append(
            {"name": METRIC, "value": value, "timestamp": ts, "labels": {"agent": "e2e-rules"}}
        )
    with server.api(ADMIN) as api:
        response = api.post("/api/v1/metrics/batch", json={"samples": samples})
        assert response.status_code in (200, 202), response.text


def test_create_preview_backtest_and_disable(new_page: NewPage, server: Server) -> None:
    _ingest(server)
    page = new_page()
    login(page, ADMIN)
    page.goto("/alerting/rules")
    expect(page.get_by_role("heading", name="Alert rules")).to_be_visible()
    # The tenant got the default pack when it was created.
    expect(page.get_by_role("link", name="AgentCPUCritical")).to_be_visible()
    expect(page.get_by_text("avg_over_time(agent_cpu_percent[5m]) >= 90")).to_be_visible()
    shoot(page, "alert-rules-list")

    page.get_by_role("link", name="New rule").click()
    page.get_by_label("Name").fill("E2EQueueHigh")
    page.get_by_label("Severity").select_option("critical")
    page.get_by_label("Metric").fill(METRIC)
    page.get_by_label("Aggregation").select_option("max")
    page.get_by_label("Window").fill("1m")
    page.get_by_label("Operator").select_option(">=")
    page.get_by_role("spinbutton", name="Threshold").fill("50")
    page.get_by_label("Pending for").fill("2m")

    expect(page.get_by_test_id("compiled-expr")).to_have_text(
        f"max_over_time({METRIC}[1m]) >= 50", timeout=15_000
    )
    result = page.get_by_test_id("backtest-result")
    expect(result).to_contain_text("It would have fired 1 time(s)", timeout=15_000)
    transitions = page.get_by_role("table", name="Backtest transitions")
    expect(transitions.get_by_role("cell", name="pending", exact=True)).to_have_count(1)
    expect(transitions.get_by_role("cell", name="firing", exact=True)).to_have_count(1)
    expect(transitions.get_by_role("cell", name="resolved", exact=True)).to_have_count(1)
    # The preview chart draws the series and the threshold line (legend entries).
    chart = page.locator(".chart")
    expect(chart.locator(".uplot")).to_be_visible()
    expect(chart.get_by_text("threshold >= 50")).to_be_visible()
    shoot(page, "alert-rule-editor")

    # A bad PromQL expression is refused with the parser's message.
    page.get_by_label("PromQL").check()
    page.get_by_label("PromQL expression").fill(f"max_over_time({METRIC}[1m] >= 50")
    expect(page.get_by_test_id("backtest-error")).to_contain_text(
        re.compile("parse error", re.IGNORECASE), timeout=15_000
    )
    page.get_by_role("radio", name="Threshold").check()

    page.get_by_role("button", name="Create rule").click()
    expect(page).to_have_url(f"{server.base_url}/alerting/rules", timeout=10_000)
    row = page.get_by_role("row").filter(has_text="E2EQueueHigh")
    expect(row).to_contain_text(f"max_over_time({METRIC}[1m]) >= 50")
    toggle = row.get_by_role("checkbox", name="Enable E2EQueueHigh")
    expect(toggle).to_be_checked()
    toggle.click()
    expect(toggle).not_to_be_checked()

    with server.api(ADMIN) as api:
        rules = api.get("/api/v1/alert-rules", params={"q": "E2EQueueHigh"}).json()["items"]
    assert len(rules) == 1
    assert rules[0]["enabled"] is False and rules[0]["for_seconds"] == 120
    assert rules[0]["severity"] == "critical"

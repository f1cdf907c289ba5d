"""Log intelligence in the browser: create a log stream (a bad batch size is refused first),
lines of two hours ago written through the API now (a backfill) are cut into batches by the
running loops, the error spike they hold shows on the Anomalies page (filtered by severity)
dated by its lines, two hours ago, and detected since; its detail has the window, the evidence
lines and recommended actions and links to the alert it raised, whose page links back and to
the logs of the lines analysed; the stream stops.

Names are unique to the run so the tests share the session's server with the others."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.support import DEVELOPER, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]


def test_stream_batches_anomaly_and_alert(new_page: NewPage, server: Server) -> None:
    tag = uuid.uuid4().hex[:6]
    service, name = f"payments-{tag}", f"payments errors {tag}"
    page = new_page()
    login(page, DEVELOPER)
    page.get_by_role("link", name="Log streams").click()
    expect(page.get_by_role("heading", name="Log streams", exact=True)).to_be_visible()
    page.get_by_role("button", name="New stream").click()
    form = page.get_by_role("form", name="New log stream")
    form.get_by_label("Name").fill(name)
    form.get_by_label("Services").fill(service)
    form.get_by_label("Batch size (lines)").fill("5")
    form.get_by_role("button", name="Create stream").click()
    expect(form.get_by_text("A whole number from 10 to 1000.")).to_be_visible()
    form.get_by_label("Batch size (lines)").fill("10")
    form.get_by_role("button", name="Create stream").click()
    row = page.locator(f'tr[data-stream="{name}"]')
    expect(row).to_be_visible()
    expect(row).to_contain_text("10 lines / 300 s")

    # 20 lines of two hours ago: two batches of 10, each 60 % errors (a high error spike)
    # repeating one message
    then = datetime.now(UTC) - timedelta(hours=2)
    entries = [
        {
            "timestamp": (then + timedelta(seconds=i)).isoformat(),
            "severity": "ERROR" if i % 10 < 6 else "INFO",
            "service": service,
            "message": "card gateway refused the charge"
            if i % 10 < 6
            else f"charge {i} accepted in {i} ms",
        }
        for i in range(20)
    ]
    with server.api(DEVELOPER) as api:
        response = api.post("/api/v1/logs/batch", json={"entries": entries})
        assert response.status_code == 200 and response.json()["accepted"] == 20
    expect(row.locator("td").nth(5)).to_have_text("2", timeout=40_000)  # batches
    row.get_by_role("button", name="Batches").click()
    batches = page.get_by_role("table", name=f"Batches of {name}")
    expect(batches.locator("tbody tr")).to_have_count(2)
    expect(batches.locator("tbody tr").first).to_contain_text("completed")
    expect(batches.locator("tbody tr").first).to_contain_text("60.0%")
    expect(batches.locator("tbody tr").first).to_contain_text("2 hours ago")  # the lines
    expect(batches.locator("tbody tr").first).to_contain_text("closed")
    shoot(page, "log-intel-01-streams")

    page.get_by_role("link", name="Anomalies", exact=True).first.click()
    expect(page.get_by_role("heading", name="Anomalies", exact=True)).to_be_visible()
    page.get_by_label("Service").fill(service)
    page.get_by_label("Severity").select_option("high")
    expect(page).to_have_url(re.compile(r"severity=high"))
    table = page.get_by_role("table", name="Anomalies")
    expect(table.locator('tr[data-anomaly="error_spike"]')).to_have_count(2)
    expect(table.locator("tbody tr")).to_have_count(2)
    # when the lines happened first, when the analysis found them beneath
    when = table.locator('tr[data-anomaly="error_spike"]').first.locator("td").nth(6)
    expect(when).to_contain_text("2 hours ago")
    detected = re.compile(r"^detected (just now|\d+ (seconds?|minutes?) ago)")
    expect(when.locator(".faint")).to_contain_text(detected)
    page.get_by_label("Sort").select_option("window")  # newest lines first
    expect(page).to_have_url(re.compile(r"sort=window"))
    expect(table.locator('tr[data-anomaly="error_spike"]')).to_have_count(2)
    page.get_by_label("Severity").select_option("")
    # the message repeated 6 times is an unusual_pattern (medium: no alert)
    expect(table.locator('tr[data-anomaly="unusual_pattern"]')).to_have_count(2)
    shoot(page, "log-intel-02-anomalies")

    table.locator('tr[data-anomaly="error_spike"]').first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="High error rate: 60.0% (6/10 lines)")).to_be_visible()
    evidence = page.get_by_role("table", name="Evidence lines")
    expect(evidence.locator("tbody tr")).to_have_count(6)
    expect(evidence).to_contain_text("card gateway refused the charge")
    expect(page.get_by_test_id("actions").locator("li").first).to_be_visible()
    expect(page.get_by_test_id("window")).to_contain_text("2 hours ago")
    expect(page.get_by_test_id("detected")).not_to_contain_text("hours ago")
    shoot(page, "log-intel-03-anomaly")

    page.get_by_role("link", name="View alert").click()
    expect(page).to_have_url(re.compile(r"/alerts/[0-9a-f-]+$"))
    expect(page.get_by_text("LogAnomaly").first).to_be_visible()
    logs = page.get_by_role("link", name="Logs of the lines analysed")
    expect(logs).to_have_attribute("href", re.compile(r"^/logs\?q=.*service.*&from=\d+&to=\d+$"))
    started = int(then.timestamp())
    href = logs.get_attribute("href") or ""
    start_s, end_s = (int(x) for x in re.findall(r"(?:from|to)=(\d+)", href))
    assert start_s <= started - 15 * 60 and end_s >= started + 15 * 60
    assert end_s < datetime.now(UTC).timestamp()  # the window of two hours ago, not now
    page.get_by_role("link", name="The anomaly and its lines").click()
    expect(page).to_have_url(re.compile(r"/anomalies/[0-9a-f-]+$"))

    page.goto("/log-streams")
    page.locator(f'tr[data-stream="{name}"]').get_by_role("button", name="Stop").click()
    page.get_by_role("button", name="Stop stream").click()
    expect(page.locator(f'tr[data-stream="{name}"]')).to_have_count(0)

"""Alerts in the browser: a rule created through the API fires from ingested data, the alert
appears live on the Alerts page, is acknowledged from the UI with a note, and resolves by
itself when the data goes back below the threshold."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.support import DEVELOPER, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]


def create_rule(server: Server, rule: dict[str, Any]) -> None:
    with server.api(DEVELOPER) as api:
        response = api.post("/api/v1/alert-rules", json=rule)
        assert response.status_code == 201, response.text


def ingest(server: Server, agent: str, value: float) -> None:
    with server.api(DEVELOPER) as api:
        response = api.post(
            "/api/v1/metrics/batch",
            json={
                "samples": [{"name": "e2e_queue_depth", "value": value, "labels": {"agent": agent}}]
            },
        )
        assert response.status_code in (200, 202), response.text
        assert response.json()["accepted"] == 1


def test_rule_fires_live_is_acknowledged_and_resolves(new_page: NewPage, server: Server) -> None:
    agent = f"queue-{uuid.uuid4().hex[:6]}"
    name = f"QueueBacklog{uuid.uuid4().hex[:4]}"
    create_rule(
        server,
        {
            "name": name,
            "expr": f'e2e_queue_depth{{agent="{agent}"}} > 100',
            "severity": "critical",
            "for_seconds": 0,
            "interval_seconds": 1,
            "labels": {"team": "ops"},
            "annotations": {"summary": "Queue of {{ $labels.agent }} at {{ $value }}"},
        },
    )
    page = new_page()
    login(page, DEVELOPER)
    page.goto("/alerts?status=all")
    expect(page.get_by_role("heading", name="Alerts", exact=True)).to_be_visible()
    expect(page.locator("[data-live='live']")).to_be_visible(timeout=15_000)
    row = page.locator(f"tr[data-alert='{name}']")
    expect(row).to_have_count(0)

    ingest(server, agent, 250)  # the page is not reloaded: the alert arrives over the socket
    expect(row).to_be_visible(timeout=20_000)
    expect(row.locator("[data-status='active']")).to_be_visible()
    expect(row.get_by_text(f"Queue of {agent} at 250")).to_be_visible()
    expect(row.locator("[data-severity='critical']")).to_be_visible()
    shoot(page, "alerts-01-firing")

    row.get_by_role("button", name="Ack").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Note").fill("draining the queue by hand")
    dialog.get_by_role("button", name="Acknowledge").click()
    expect(row.locator("[data-status='acknowledged']")).to_be_visible()

    ingest(server, agent, 5)
    expect(row.locator("[data-status='resolved']")).to_be_visible(timeout=20_000)
    shoot(page, "alerts-02-resolved")

    row.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=re.compile(name))).to_be_visible()
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline.locator("[data-kind='created']")).to_be_visible()
    expect(timeline.locator("[data-kind='acknowledged']")).to_contain_text(
        "draining the queue by hand"
    )
    expect(timeline.locator("[data-kind='resolved']")).to_contain_text("condition cleared")
    page.get_by_label("Add a note").fill("root cause: stuck consumer")
    page.get_by_role("button", name="Add note").click()
    expect(timeline.locator("[data-kind='note']")).to_contain_text("stuck consumer")
    expect(page.get_by_role("img", name="Expression around the alert")).to_be_visible()
    # the rule's threshold is drawn as a line across the chart, named in the legend
    expect(page.get_by_text("threshold 100", exact=True)).to_be_visible()
    shoot(page, "alerts-03-detail")

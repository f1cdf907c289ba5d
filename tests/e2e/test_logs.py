"""Logs in the browser: search with the query bar's completion, filter by severity and service,
a line's details and context, zoom by dragging the histogram, a bad query's marked position,
the live tail receiving a line ingested during the test (and pausing while scrolled away), an
agent's Logs tab, an alert's link to the logs around its start, and the empty state.

Lines are written through the HTTP API with names unique to the run, so the tests share the
session's server with the others. A viewer reads everything here."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.support import DEVELOPER, VIEWER, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]
SEVERITIES = ["INFO", "DEBUG", "INFO", "WARNING", "ERROR"]
TARGET = "payment timeout order=4711"


@dataclass(frozen=True)
class Seeded:
    tag: str
    checkout: str  # service of 30 lines, agent `agent`, the TARGET line among them
    search: str  # service of 20 lines, agent `other`
    agent: str
    other: str


def ingest(server: Server, entries: list[dict[str, Any]]) -> None:
    with server.api(DEVELOPER) as api:
        response = api.post("/api/v1/logs/batch", json={"entries": entries})
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(entries), response.text


@pytest.fixture(scope="module")
def seeded(server: Server) -> Iterator[Seeded]:
    tag = uuid.uuid4().hex[:6]
    data = Seeded(tag, f"checkout-{tag}", f"search-{tag}", f"bot-{tag}", f"triage-{tag}")
    now = datetime.now(UTC)
    entries: list[dict[str, Any]] = []
    for i in range(30):
        entry: dict[str, Any] = {
            "timestamp": (now - timedelta(seconds=300 - i * 10)).isoformat(),
            "severity": SEVERITIES[i % len(SEVERITIES)],
            "service": data.checkout,
            "agent": data.agent,
            "message": f"checkout step {i} done in {10 + i} ms",
            "labels": {"env": "prod", "region": "eu-west-1"},
        }
        if i == 15:
            entry.update(
                severity="ERROR",
                message=TARGET,
                trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
                span_id="00f067aa0ba902b7",
            )
        entries.append(entry)
    for i in range(20):
        entries.append(
            {
                "timestamp": (now - timedelta(seconds=290 - i * 10)).isoformat(),
                "severity": "ERROR" if i % 4 == 0 else "INFO",
                "service": data.search,
                "agent": data.other,
                "message": f"search index {'timeout' if i % 4 == 0 else 'ok'} shard={i}",
                "labels": {"env": "staging"},
            }
        )
    ingest(server, entries)
    yield data


def rows(page: Page) -> Any:
    return page.get_by_role("list", name="Log lines").locator(".log-row")


def shown_count(page: Page) -> Any:
    return page.get_by_role("region", name="Results").locator("[data-count]")


def url_query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_search_filter_details_context_zoom_and_link(
    new_page: NewPage, server: Server, seeded: Seeded
) -> None:
    page = new_page()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    login(page, VIEWER)
    page.get_by_role("link", name="Logs", exact=True).click()
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()

    # the query bar completes the label name, then the value, from the labels endpoints
    bar = page.get_by_label("Log query")
    bar.fill("{serv")
    suggestions = page.get_by_role("listbox", name="Suggestions")
    suggestions.get_by_role("option", name="service").click()
    expect(bar).to_have_value('{service=""')
    suggestions.get_by_role("option", name=seeded.checkout).click()
    expect(bar).to_have_value(f'{{service="{seeded.checkout}"')
    bar.press("End")
    bar.type("}")
    bar.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q="))
    assert url_query(page)["q"] == [f'{{service="{seeded.checkout}"}}']
    expect(shown_count(page)).to_have_attribute("data-count", "30")
    expect(rows(page).first).to_contain_text("checkout step 29")
    expect(page.get_by_role("img", name=re.compile("Lines per severity"))).to_be_visible()
    shoot(page, "logs-01-search")

    # severity from the histogram's legend
    page.locator(".sev-legend[data-severity='ERROR']").click()
    expect(bar).to_have_value(f'{{service="{seeded.checkout}", severity="ERROR"}}')
    expect(shown_count(page)).to_have_attribute("data-count", "7")  # every 5th, and TARGET
    severities = rows(page).evaluate_all("els => els.map(e => e.dataset.severity)")
    assert set(severities) == {"ERROR"}

    # a line filter typed after the selector
    bar.fill(f'{{service="{seeded.checkout}", severity="ERROR"}} |= "timeout"')
    bar.press("Escape")
    bar.press("Enter")
    expect(shown_count(page)).to_have_attribute("data-count", "1")
    target = rows(page).first
    expect(target).to_contain_text(TARGET)

    # the line's fields and labels
    target.get_by_role("button", name=re.compile(TARGET)).click()
    details = target.get_by_label("Line details")
    expect(details).to_be_visible()
    fields = details.get_by_label("Fields")
    expect(fields).to_contain_text(seeded.agent)
    expect(fields).to_contain_text("4bf92f3577b34da6a3ce929d0e0e4736")
    expect(fields).to_contain_text("00f067aa0ba902b7")
    labels = details.get_by_role("table", name="Labels")
    expect(labels.get_by_role("row", name=re.compile("env"))).to_contain_text("prod")
    expect(labels.get_by_role("row", name=re.compile("region"))).to_contain_text("eu-west-1")
    shoot(page, "logs-02-details")

    # its context: the lines around it of the same service, it highlighted
    details.get_by_role("button", name="Show context").click()
    dialog = page.get_by_role("dialog", name=re.compile("Context"))
    expect(dialog).to_be_visible()
    around = dialog.get_by_role("list", name="Lines around the line")
    expect(around.locator(".log-row[aria-current='true']")).to_contain_text(TARGET)
    expect(around.locator(".log-row")).to_have_count(30)  # 15 before, 14 after, same service
    services = around.locator(".log-service").all_inner_texts()
    assert set(services) == {seeded.checkout}
    expect(around.locator(".log-row").nth(14)).to_contain_text("checkout step 14")
    expect(around.locator(".log-row").nth(16)).to_contain_text("checkout step 16")
    shoot(page, "logs-03-context", dark_too=False)
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # service from a line's details, over a query of both services
    both = f'{{service=~".*-{seeded.tag}"}}'
    bar.fill(both)
    bar.press("Escape")
    bar.press("Enter")
    expect(shown_count(page)).to_have_attribute("data-count", "50")
    row = rows(page).filter(has=page.locator(".log-service", has_text=seeded.search)).first
    row.locator(".log-summary").click()
    row.get_by_role("button", name=f"Filter service {seeded.search}").click()
    expect(bar).to_have_value(f'{{service=~".*-{seeded.tag}", service="{seeded.search}"}}')
    expect(shown_count(page)).to_have_attribute("data-count", "20")
    assert set(page.locator(".log-service").all_inner_texts()) == {seeded.search}

    # a copied link reproduces the view
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert link.startswith(server.base_url + "/logs?")
    other = page.context.new_page()
    other.goto(link)
    expect(other.get_by_label("Log query")).to_have_value(
        f'{{service=~".*-{seeded.tag}", service="{seeded.search}"}}'
    )
    expect(shown_count(other)).to_have_attribute("data-count", "20")
    other.close()

    # dragging across the histogram zooms the range (an absolute one, in the address)
    chart = page.get_by_role("img", name=re.compile("Lines per severity"))
    box = chart.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] * 0.4
    page.mouse.move(box["x"] + box["width"] * 0.80, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.90, y, steps=5)
    page.mouse.move(box["x"] + box["width"] * 0.99, y, steps=5)
    page.mouse.up()
    expect(page).to_have_url(re.compile(r"[?&]from=\d+&to=\d+"))
    params = url_query(page)
    assert int(params["to"][0]) - int(params["from"][0]) < 3600
    expect(page.get_by_role("button", name="Custom")).to_have_attribute("aria-pressed", "true")
    shoot(page, "logs-04-zoomed", dark_too=False)

    # a query the server cannot read: its problem, the position marked in the bar
    bar.fill("{service=checkout}")
    bar.press("Escape")
    bar.press("Enter")
    problem = page.get_by_role("alert")
    expect(problem).to_contain_text("Invalid query")
    expect(problem.locator("mark")).to_have_text("c")
    expect(bar).to_have_attribute("aria-invalid", "true")
    shoot(page, "logs-05-bad-query", dark_too=False)


def test_live_tail_receives_a_line_and_pauses_while_scrolled(
    new_page: NewPage, server: Server
) -> None:
    service = f"live-{uuid.uuid4().hex[:6]}"
    now = datetime.now(UTC)
    ingest(
        server,
        [
            {
                "timestamp": (now - timedelta(seconds=120 - i)).isoformat(),
                "severity": "INFO",
                "service": service,
                "message": f"warm-up line {i}",
            }
            for i in range(80)
        ],
    )
    page = new_page()
    login(page, VIEWER)
    page.goto(f'/logs?q={{service="{service}"}}&range=15m&live=1')
    expect(page.get_by_role("button", name="Live", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator("[data-live='live']")).to_be_visible(timeout=15_000)
    expect(shown_count(page)).to_have_attribute("data-count", "80")

    ingest(server, [{"severity": "ERROR", "service": service, "message": "tailed line one"}])
    first = rows(page).first
    expect(first).to_contain_text("tailed line one", timeout=10_000)
    expect(first).to_have_attribute("data-live", "true")
    expect(shown_count(page)).to_have_attribute("data-count", "81")
    shoot(page, "logs-06-live", dark_too=False)

    # scrolled away from the top, new lines wait and are counted
    page.get_by_role("list", name="Log lines").evaluate("el => el.scrollTo(0, 600)")
    expect(page.get_by_role("button", name="Paused — back to the newest")).to_be_visible()
    ingest(server, [{"severity": "WARNING", "service": service, "message": "tailed line two"}])
    resume = page.get_by_role("button", name="1 new line — resume")
    expect(resume).to_be_visible(timeout=10_000)
    expect(page.get_by_text("tailed line two")).to_have_count(0)
    shoot(page, "logs-07-live-paused", dark_too=False)
    resume.click()
    expect(rows(page).first).to_contain_text("tailed line two")
    expect(resume).to_be_hidden()
    expect(shown_count(page)).to_have_attribute("data-count", "82")


def test_agent_logs_tab(new_page: NewPage, server: Server, seeded: Seeded) -> None:
    with server.api(DEVELOPER) as api:
        response = api.post("/api/v1/agents", json={"name": seeded.agent, "type": "llm"})
        assert response.status_code == 201, response.text
        agent_id = response.json()["id"]
    page = new_page()
    login(page, VIEWER)
    page.goto(f"/agents/{agent_id}")
    page.get_by_role("tab", name="Logs").click()
    expect(page).to_have_url(re.compile(r"[?&]tab=logs"))
    expect(page.get_by_label("Log query")).to_have_value(f'{{agent="{seeded.agent}"}}')
    expect(shown_count(page)).to_have_attribute("data-count", "30")
    assert set(page.locator(".log-service").all_inner_texts()) == {seeded.checkout}
    shoot(page, "logs-08-agent-tab")
    page.get_by_role("link", name="Open in Logs").click()
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()
    assert url_query(page)["q"] == [f'{{agent="{seeded.agent}"}}']


def test_alert_links_to_the_logs_around_its_start(
    new_page: NewPage, server: Server, seeded: Seeded
) -> None:
    name = f"LogsAround{seeded.tag}"
    with server.api(DEVELOPER) as api:
        response = api.post(
            "/api/v1/alert-rules",
            json={
                "name": name,
                "expr": f'e2e_logs_signal{{agent="{seeded.agent}"}} > 100',
                "severity": "warning",
                "for_seconds": 0,
                "interval_seconds": 1,
            },
        )
        assert response.status_code == 201, response.text
        response = api.post(
            "/api/v1/metrics/batch",
            json={
                "samples": [
                    {"name": "e2e_logs_signal", "value": 250, "labels": {"agent": seeded.agent}}
                ]
            },
        )
        assert response.status_code in (200, 202), response.text
    page = new_page()
    login(page, VIEWER)
    page.goto("/alerts?status=all")
    row = page.locator(f"tr[data-alert='{name}']")
    expect(row).to_be_visible(timeout=20_000)
    row.get_by_role("link", name=name).click()
    link = page.get_by_role("link", name="Logs around the start")
    expect(link).to_be_visible()
    shoot(page, "logs-09-alert-detail", dark_too=False)
    link.click()
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()
    params = url_query(page)
    assert params["q"] == [f'{{agent="{seeded.agent}"}}']
    assert int(params["to"][0]) - int(params["from"][0]) == 30 * 60
    expect(shown_count(page)).to_have_attribute("data-count", "30")
    shoot(page, "logs-10-around-alert", dark_too=False)


def test_empty_range_says_how_to_send_logs(new_page: NewPage, server: Server) -> None:
    page = new_page()
    login(page, VIEWER)
    page.goto("/logs?from=1577836800&to=1577840400")  # an hour in 2020: nothing there
    expect(page.get_by_role("heading", name="No logs in this range yet")).to_be_visible()
    expect(page.get_by_label("curl (JSON batch)")).to_contain_text(
        f"{server.base_url}/api/v1/logs/batch"
    )
    page.get_by_role("button", name="OpenTelemetry (OTLP/HTTP)").click()
    expect(page.get_by_label("OpenTelemetry (OTLP/HTTP)")).to_contain_text(
        f"{server.base_url}/v1/logs"
    )
    shoot(page, "logs-11-empty")

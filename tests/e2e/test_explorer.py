"""Metrics in the browser: the explorer runs a query and charts it, its URL reruns the query,
and an agent's page charts the agent's telemetry. Samples come in through the ingest API."""

from __future__ import annotations

import math
import re
import time
import uuid
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e.conftest import Server
from tests.e2e.support import ADMIN, VIEWER, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]
STEP_MS = 30_000
POINTS = 60  # the last 30 minutes


def _ingest_key(server: Server) -> str:
    with server.api(ADMIN) as api:
        created = api.post("/api/v1/api-keys", json={"name": f"e2e ingest {uuid.uuid4().hex[:6]}"})
        assert created.status_code == 201, created.text
        return str(created.json()["key"])


def _samples(agent: str, offset: float, now_ms: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    requests = errors = 0.0
    buckets = {"0.1": 0.0, "0.5": 0.0, "1": 0.0, "2.5": 0.0, "+Inf": 0.0}
    duration_sum = tokens = cost = 0.0
    for i in range(POINTS):
        ts = now_ms - (POINTS - 1 - i) * STEP_MS
        labels = {"agent": agent}
        cpu = 30 + offset + 10 * math.sin(i / 6)
        requests += 60
        errors += 1 + (i % 3)
        for j, le in enumerate(buckets):
            buckets[le] += 60 * min(1.0, 0.2 + 0.25 * j)
        duration_sum += 60 * 0.6
        tokens += 60 * 500
        cost += 0.02
        out += [
            {"name": "agent_cpu_percent", "value": cpu, "timestamp": ts, "labels": labels},
            {
                "name": "agent_memory_percent",
                "value": 40 + offset,
                "timestamp": ts,
                "labels": labels,
            },
            {
                "name": "agent_requests_total",
                "value": requests,
                "timestamp": ts,
                "labels": labels,
                "type": "counter",
            },
            {
                "name": "agent_errors_total",
                "value": errors,
                "timestamp": ts,
                "labels": labels,
                "type": "counter",
            },
            {
                "name": "agent_request_duration_seconds_sum",
                "value": duration_sum,
                "timestamp": ts,
                "labels": labels,
            },
            {
                "name": "agent_request_duration_seconds_count",
                "value": requests,
                "timestamp": ts,
                "labels": labels,
            },
            {
                "name": "agent_tokens_total",
                "value": tokens,
                "timestamp": ts,
                "labels": {**labels, "type": "input"},
            },
            {
                "name": "agent_tokens_total",
                "value": tokens / 4,
                "timestamp": ts,
                "labels": {**labels, "type": "output"},
            },
            {"name": "agent_cost_usd_total", "value": cost, "timestamp": ts, "labels": labels},
        ]
        out += [
            {
                "name": "agent_request_duration_seconds_bucket",
                "value": v,
                "timestamp": ts,
                "labels": {**labels, "le": le},
            }
            for le, v in buckets.items()
        ]
    return out


@pytest.fixture(scope="module")
def fleet(server: Server) -> Iterator[dict[str, str]]:
    """Two agents in the registry with half an hour of telemetry each; name → id."""
    suffix = uuid.uuid4().hex[:6]
    agents: dict[str, str] = {}
    with server.api(ADMIN) as api:
        for name in (f"e2e-chat-{suffix}", f"e2e-router-{suffix}"):
            created = api.post("/api/v1/agents", json={"name": name, "type": "llm"})
            assert created.status_code == 201, created.text
            agents[name] = created.json()["id"]
    key = _ingest_key(server)
    now_ms = int(time.time() * 1000)
    samples = [s for k, name in enumerate(agents) for s in _samples(name, 20 * k, now_ms)]
    response = httpx.post(
        f"{server.base_url}/api/v1/metrics/batch",
        json={"samples": samples},
        headers={"X-API-Key": key},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(samples)
    yield agents
    with server.api(ADMIN) as api:  # leave the admin's agent quota as it was
        for agent_id in agents.values():
            assert api.delete(f"/api/v1/agents/{agent_id}").status_code == 204


def _canvas_has_pixels(chart: Locator) -> bool:
    """Whether the chart's canvas was drawn on (some pixel is not transparent)."""
    return bool(
        chart.locator("canvas").first.evaluate(
            """c => {
                if (c.width === 0 || c.height === 0) return false;
                const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) return true;
                return false;
            }"""
        )
    )


def _expect_chart_lists(page: Page, names: list[str]) -> Locator:
    chart = page.get_by_role("img", name="Query result chart")
    expect(chart.locator("canvas").first).to_be_visible()
    legend = page.get_by_role("table", name="Query result chart legend")
    for name in names:
        expect(legend).to_contain_text(f'agent="{name}"')
    assert _canvas_has_pixels(chart)
    return chart


def test_explorer_runs_a_query_charts_it_and_the_link_reruns_it(
    new_page: NewPage, fleet: dict[str, str]
) -> None:
    names = sorted(fleet)
    suffix = names[0].rsplit("-", 1)[1]
    page = new_page()
    login(page, VIEWER)
    page.get_by_role("link", name="Metrics", exact=True).click()
    expect(page.get_by_role("heading", name="Metrics", level=1)).to_be_visible()

    # The metric picker lists what was ingested and filters by search.
    picker = page.get_by_role("listbox", name="Metric names")
    expect(picker.get_by_role("option", name="agent_cpu_percent")).to_be_visible()
    page.get_by_label("Search metrics").fill("memory")
    expect(picker.get_by_role("option", name="agent_cpu_percent")).to_have_count(0)
    expect(picker.get_by_role("option", name="agent_memory_percent")).to_be_visible()
    page.get_by_label("Search metrics").fill("")

    # Completion in the editor, then Enter runs the query.
    editor = page.get_by_label("PromQL query")
    editor.click()
    editor.press_sequentially("agent_cpu_perc")
    suggestions = page.get_by_role("listbox", name="Suggestions")
    expect(suggestions.get_by_role("option", name="agent_cpu_percent")).to_be_visible()
    editor.press("Tab")
    expect(editor).to_have_value("agent_cpu_percent")
    editor.press_sequentially(f'{{agent=~"e2e-.*-{suffix}"}}')
    page.get_by_role("group", name="Time range").get_by_role("button", name="1h").click()
    editor.press("Enter")

    _expect_chart_lists(page, names)
    expect(page.get_by_text("2 series")).to_be_visible()
    query = parse_qs(urlparse(page.url).query)
    assert query["q"] == [f'agent_cpu_percent{{agent=~"e2e-.*-{suffix}"}}']
    assert query["range"] == ["1h"]
    shoot(page, "40-explorer-chart")

    # Table view.
    page.get_by_role("group", name="View").get_by_role("button", name="Table").click()
    table = page.get_by_role("table", name="Query result")
    for name in names:
        expect(table).to_contain_text(f'agent="{name}"')
    expect(page).to_have_url(re.compile(r"view=table"))
    shoot(page, "41-explorer-table", dark_too=False)
    page.get_by_role("group", name="View").get_by_role("button", name="Chart").click()

    # The address is shareable: a fresh session opening it sees the same chart.
    shared = page.url
    other = new_page(color_scheme="dark")
    login(other, VIEWER)
    other.goto(shared)
    expect(other.get_by_label("PromQL query")).to_have_value(query["q"][0])
    _expect_chart_lists(other, names)
    shoot(other, "42-explorer-shared-dark", dark_too=False)

    # A query the API refuses shows the API's error message.
    editor.fill("sum(")
    editor.press("Enter")
    expect(page.get_by_role("alert")).to_be_visible()
    shoot(page, "43-explorer-error", dark_too=False)


def test_label_filters_narrow_the_query(new_page: NewPage, fleet: dict[str, str]) -> None:
    name = sorted(fleet)[0]
    page = new_page()
    login(page, VIEWER)
    page.goto("/explore")
    page.get_by_role("listbox", name="Metric names").get_by_role(
        "option", name="agent_memory_percent"
    ).click()
    page.get_by_label("Label agent").select_option(name)
    expect(page.get_by_label("PromQL query")).to_have_value(
        f'agent_memory_percent{{agent="{name}"}}'
    )
    legend = page.get_by_role("table", name="Query result chart legend")
    expect(legend).to_contain_text(f'agent="{name}"')
    expect(page.get_by_text("1 series")).to_be_visible()


def test_agent_detail_charts_its_telemetry(new_page: NewPage, fleet: dict[str, str]) -> None:
    name = sorted(fleet)[0]
    page = new_page()
    login(page, VIEWER)
    page.goto(f"/agents/{fleet[name]}")
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    telemetry = page.get_by_role("region", name="Telemetry")
    for title, series in [
        ("CPU", "cpu"),
        ("Memory", "memory"),
        ("Request rate", "requests/s"),
        ("Error rate", "errors %"),
        ("Latency", "p95"),
        ("Tokens", "input"),
        ("Cost", "USD/hour"),
    ]:
        panel = telemetry.get_by_role("region", name=f"{title} chart")
        chart = panel.get_by_role("img", name=f"{title} over time")
        legend = panel.get_by_role("table", name=f"{title} over time legend")
        expect(legend).to_contain_text(series)
        assert _canvas_has_pixels(chart), title
    telemetry.get_by_role("group", name="Time range").get_by_role("button", name="6h").click()
    expect(telemetry.get_by_text("step 5m")).to_be_visible()
    telemetry.get_by_role("group", name="Time range").get_by_role("button", name="1h").click()
    shoot(page, "44-agent-telemetry")

"""The first hour of a Grafana user on the metrics views (issue 19): drag-to-zoom with reset,
tables that fit their cards, a stable and legible topology with search and a health filter,
honest loading and error states on the overview, the alert chart of the alert's own series,
table legends for many series, the explorer's label panel and multi-query links, the shared
time picker in the address, the global search, and how to send a new agent's telemetry.

Telemetry comes in through the ingest API; alerts fire from a rule on ingested samples."""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from playwright.sync_api import Locator, Page, Route, expect

from tests.e2e.conftest import Server
from tests.e2e.support import ADMIN, DEVELOPER, VIEWER, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]
STEP_MS = 30_000
POINTS = 60  # the last 30 minutes
SERVICES = 8  # external services each agent calls: 4 agents + 32 services = 36 nodes
SHARDS = 40  # series of one metric, for the legend


@dataclass
class World:
    suffix: str
    agents: dict[str, str]  # name -> id
    rule: str
    fired: list[str]  # agents with a firing alert
    quiet_agent: tuple[str, str]  # (name, id) of an agent that never sent anything


def _samples(agents: list[str], suffix: str, now_ms: int) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for k, agent in enumerate(agents):
        labels = {"agent": agent}
        requests = errors = 0.0
        for i in range(POINTS):
            ts = now_ms - (POINTS - 1 - i) * STEP_MS
            requests += 60 + 7.3 * k
            errors += 1 + (i % 3)
            out += [
                {
                    "name": "agent_cpu_percent",
                    "value": 30 + 10 * k + 7.246005517241384 * math.sin(i / 6),
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
            ]
            targets = [f"svc-{k}-{j}-{suffix}" for j in range(SERVICES)]
            if k + 1 < len(agents):
                targets.append(agents[k + 1])  # a chain of callers: layers in the graph
            out += [
                {
                    "name": "agent_calls_total",
                    "value": 10.0 * (i + 1),
                    "timestamp": ts,
                    "labels": {**labels, "target": target},
                    "type": "counter",
                }
                for target in targets
            ]
        out += [
            {
                "name": f"fh_queue_depth_{suffix}",
                "value": 5.0 + s + 0.123456789 * (i % 7),
                "timestamp": now_ms - (POINTS - 1 - i) * STEP_MS,
                "labels": {**labels, "shard": f"s{s:02d}"},
            }
            for s in range(SHARDS // len(agents))
            for i in range(0, POINTS, 6)
        ]
    return out


@pytest.fixture(scope="module")
def world(server: Server) -> Iterator[World]:
    suffix = uuid.uuid4().hex[:6]
    agents: dict[str, str] = {}
    with server.api(DEVELOPER) as api:
        for n in range(4):
            name = f"fh-{n}-{suffix}"
            created = api.post(
                "/api/v1/agents",
                json={
                    "name": name,
                    "type": "llm",
                    "labels": {"team": "payments-platform", "env": "production", "tier": "gold"},
                    "description": "An agent of the first-hour views test with a long description",
                },
            )
            assert created.status_code == 201, created.text
            agents[name] = created.json()["id"]
        quiet = api.post("/api/v1/agents", json={"name": f"fh-new-{suffix}", "type": "llm"})
        assert quiet.status_code == 201, quiet.text
        rule = f"FhQueueHigh{suffix}"
        response = api.post(
            "/api/v1/alert-rules",
            json={
                "name": rule,
                "expr": f"fh_depth_{suffix} > 100",
                "severity": "warning",
                "for_seconds": 0,
                "interval_seconds": 1,
                "labels": {"team": "payments-platform-oncall", "service": "checkout-gateway"},
                "annotations": {"summary": "Queue of {{ $labels.agent }} is deep"},
            },
        )
        assert response.status_code == 201, response.text
    with server.api(ADMIN) as admin:
        key = admin.post("/api/v1/api-keys", json={"name": f"fh ingest {suffix}"})
        assert key.status_code == 201, key.text
    names = sorted(agents)
    fired = names[:3]
    now_ms = int(time.time() * 1000)
    samples = _samples(names, suffix, now_ms)
    samples += [
        {"name": f"fh_depth_{suffix}", "value": 250.0 + 10 * k, "labels": {"agent": a}}
        for k, a in enumerate(fired)
    ]
    response = httpx.post(
        f"{server.base_url}/api/v1/metrics/batch",
        json={"samples": samples},
        headers={"X-API-Key": key.json()["key"]},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(samples)
    yield World(
        suffix=suffix,
        agents=agents,
        rule=rule,
        fired=fired,
        quiet_agent=(f"fh-new-{suffix}", quiet.json()["id"]),
    )
    with server.api(DEVELOPER) as api:
        for rule_item in api.get("/api/v1/alert-rules", params={"q": rule}).json()["items"]:
            api.delete(f"/api/v1/alert-rules/{rule_item['id']}")
        for agent_id in [*agents.values(), quiet.json()["id"]]:
            api.delete(f"/api/v1/agents/{agent_id}")


def _page(new_page: NewPage, width: int = 1440, height: int = 900, **kwargs: object) -> Page:
    page = new_page(**kwargs)
    page.set_viewport_size({"width": width, "height": height})
    return page


def _drag_across(canvas: Locator, start: float = 0.35, end: float = 0.7) -> None:
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page = canvas.page
    page.mouse.move(box["x"] + box["width"] * start, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * end, y, steps=6)
    page.mouse.up()


def _query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlparse(page.url).query)


# ---------- defect 3: drag-to-zoom and reset ----------


def test_dragging_across_a_chart_zooms_and_reset_goes_back(new_page: NewPage, world: World) -> None:
    page = _page(new_page)
    login(page, VIEWER)
    page.goto(f'/explore?q=agent_cpu_percent{{agent=~"fh-.*-{world.suffix}"}}&range=1h')
    chart = page.get_by_role("img", name="Query result chart")
    expect(chart.locator("canvas").first).to_be_visible()
    _drag_across(chart)
    expect(page).to_have_url(re.compile(r"from=\d+&to=\d+"))
    query = _query(page)
    span = int(query["to"][0]) - int(query["from"][0])
    assert 600 < span < 3600, span  # about a third of the hour
    page.get_by_role("button", name="Reset zoom").click()
    expect(page).to_have_url(re.compile(r"range=1h"))
    assert "from" not in _query(page)

    # On an agent's page, a drag on one panel zooms all of them.
    name = sorted(world.agents)[0]
    page.goto(f"/agents/{world.agents[name]}?range=1h")
    cpu = page.get_by_role("img", name="CPU over time")
    expect(cpu.locator("canvas").first).to_be_visible()
    _drag_across(cpu)
    expect(page).to_have_url(re.compile(r"from=\d+&to=\d+"))
    telemetry = page.get_by_role("region", name="Telemetry")
    expect(telemetry.get_by_role("button", name="Reset zoom")).to_be_visible()
    telemetry.get_by_role("button", name="Reset zoom").click()
    expect(page).to_have_url(re.compile(r"range=1h"))


# ---------- defect 5 (and 9): tables fit their cards; no raw floats ----------

_OVERFLOW = """() => [...document.querySelectorAll('.table-wrap')].map(w => ({
    scroll: w.scrollWidth, client: w.clientWidth,
    columns: [...w.querySelectorAll('thead th')].map(
        th => `${th.textContent.trim()}=${Math.round(th.offsetWidth)}`).join(' '),
    label: (w.querySelector('table')?.getAttribute('aria-label')
            || w.querySelector('table')?.dataset.testid || '?')}))"""


@pytest.mark.parametrize("width", [1280, 1440])
def test_tables_fit_their_cards(new_page: NewPage, world: World, width: int) -> None:
    page = _page(new_page, width=width)
    login(page, ADMIN)
    checks = [
        ("/overview", page.locator('tr[data-agent^="fh-"]').first),
        ("/agents", page.locator('tr[data-agent^="fh-"]').first),
        ("/alerts?status=all", page.locator(f"tr[data-alert='{world.rule}']").first),
    ]
    for path, row in checks:
        page.goto(path)
        expect(row).to_be_visible(timeout=25_000)
        wraps = page.evaluate(_OVERFLOW)
        assert wraps, path
        for w in wraps:
            assert w["scroll"] <= w["client"] + 1, f"{path} at {width}px: {w}"
        text = page.locator("main").inner_text()
        assert not re.search(r"\d\.\d{5,}", text), f"a raw float on {path}"
        if width == 1440:
            shoot(page, f"fh-tables-{path.strip('/').split('?')[0]}")


# ---------- defect 6: the topology ----------


def test_topology_is_stable_legible_and_searchable(new_page: NewPage, world: World) -> None:
    page = _page(new_page)
    login(page, VIEWER)
    page.goto("/overview")
    graph = page.get_by_test_id("topology")
    expect(graph).to_have_attribute("data-positions", re.compile(f"svc-3-7-{world.suffix}"))
    positions = graph.get_attribute("data-positions") or ""
    points = [p.rsplit(":", 1) for p in positions.split(";")]
    assert len(points) >= 35
    coords = [tuple(int(c) for c in xy.split(",")) for _, xy in points]
    closest = min(math.dist(a, b) for i, a in enumerate(coords) for b in coords[i + 1 :])
    assert closest >= 30, f"nodes overlap ({closest:.0f} px apart)"
    zoom = float(graph.get_attribute("data-zoom") or 0)
    assert 12 * zoom >= 10, f"labels render at {12 * zoom:.1f} px"

    # The same graph gets the same picture on the next load.
    page.reload()
    expect(graph).to_have_attribute("data-positions", positions)

    # Search focuses a node; the health filter hides nodes.
    target = sorted(world.agents)[1]
    page.get_by_label("Find a node").fill(target)
    page.get_by_label("Find a node").press("Enter")
    expect(graph).to_have_attribute("data-found", re.compile(".+"))
    visible = int(graph.get_attribute("data-visible") or 0)
    assert visible >= 35
    filters = page.get_by_role("group", name="Show health")
    button = filters.get_by_role("button").first
    button.click()
    expect(button).to_have_attribute("aria-pressed", "false")
    hidden_count = int(re.search(r"(\d+)$", button.inner_text().strip()).group(1))  # type: ignore[union-attr]
    expect(graph).to_have_attribute("data-visible", str(visible - hidden_count))
    shoot(page, "fh-overview-topology")


# ---------- defect 7: loading and error states ----------


def test_overview_failure_says_so_and_retries(new_page: NewPage, world: World) -> None:
    page = _page(new_page)
    problem = json.dumps({"type": "about:blank", "title": "Service Unavailable", "status": 503})

    def fail(route: Route) -> None:
        route.fulfill(status=503, content_type="application/problem+json", body=problem)

    page.route(re.compile(r"/api/v1/monitoring/(overview|agents)\b"), fail)
    login(page, VIEWER)
    page.goto("/overview")
    tile = page.get_by_test_id("tile-requests")
    expect(tile.get_by_role("button", name="Retry")).to_be_visible(timeout=15_000)
    strip = page.get_by_test_id("alert-strip")
    expect(strip).to_contain_text("Alerts not loaded")
    expect(strip).not_to_contain_text("No active alerts")
    agents = page.get_by_role("region", name="Agents")
    expect(agents.get_by_role("button", name="Retry")).to_be_visible()
    expect(agents).not_to_contain_text("0 agents")
    expect(page.get_by_test_id("tile-agents")).not_to_contain_text("0/0")
    shoot(page, "fh-overview-failed", dark_too=False)

    page.unroute(re.compile(r"/api/v1/monitoring/(overview|agents)\b"))
    tile.get_by_role("button", name="Retry").click()
    expect(page.get_by_test_id("tile-requests-value")).to_have_text(re.compile(r"/s$"))
    expect(page.get_by_test_id("tile-requests-trend")).to_be_visible()
    expect(strip).not_to_contain_text("Alerts not loaded")


# ---------- defect 8: the alert's own series ----------


def test_alert_detail_charts_only_its_own_series(new_page: NewPage, world: World) -> None:
    page = _page(new_page)
    login(page, VIEWER)
    page.goto("/alerts?status=all")
    row = page.locator(f"tr[data-alert='{world.rule}']")
    expect(row).to_have_count(len(world.fired), timeout=25_000)
    row.first.get_by_role("link", name=world.rule).click()
    legend = page.get_by_role("table", name="Expression around the alert legend")
    expect(legend).to_be_visible()
    rows = legend.locator("tbody tr")
    expect(rows).to_have_count(2)  # its own series and the threshold
    expect(legend).to_contain_text("threshold 100")
    shoot(page, "fh-alert-detail")


# ---------- defect 12 and the explorer ----------


def test_legend_of_forty_series_is_a_compact_searchable_table(
    new_page: NewPage, world: World
) -> None:
    page = _page(new_page)
    login(page, VIEWER)
    page.goto(f"/explore?q=fh_queue_depth_{world.suffix}&range=1h")
    legend = page.get_by_role("table", name="Query result chart legend")
    expect(legend.locator("tbody tr")).to_have_count(SHARDS)
    for head in ("Last", "Min", "Avg", "Max"):
        expect(legend.get_by_role("columnheader", name=head)).to_be_visible()
    result = page.get_by_role("region", name="Result")
    box = result.bounding_box()
    assert box is not None and box["height"] < 800, box
    assert not re.search(r"\d\.\d{5,}", legend.inner_text())
    page.get_by_label("Search series of Query result chart").fill(
        f'agent="fh-1-{world.suffix}", shard="s07"'
    )
    expect(legend.locator("tbody tr")).to_have_count(1)
    shoot(page, "fh-explorer-legend")


def test_label_panel_follows_a_typed_query(new_page: NewPage, world: World) -> None:
    page = _page(new_page)
    login(page, VIEWER)
    page.goto("/explore")
    page.get_by_role("listbox", name="Metric names").get_by_role(
        "option", name="agent_cpu_percent"
    ).click()
    expect(page.get_by_label("Label agent")).to_be_visible()
    expect(page.get_by_label("Label shard")).to_have_count(0)
    editor = page.get_by_label("PromQL query")
    editor.fill(f"fh_queue_depth_{world.suffix}")
    editor.press("Enter")
    expect(page.get_by_label("Label shard")).to_be_visible()
    editor.fill(f"sum(fh_queue_depth_{world.suffix})")
    editor.press("Enter")
    expect(page.get_by_role("region", name="Label filters")).to_have_count(0)


def test_latency_explore_opens_every_quantile(new_page: NewPage, world: World) -> None:
    page = _page(new_page)
    login(page, VIEWER)
    name = sorted(world.agents)[0]
    page.goto(f"/agents/{world.agents[name]}")
    panel = page.get_by_role("region", name="Latency chart")
    panel.get_by_role("link", name="Explore").click()
    expect(page.get_by_role("heading", name="Metrics", level=1)).to_be_visible()
    queries = _query(page)["q"]
    assert [q.split(",")[0] for q in queries[:3]] == [
        "histogram_quantile(0.5",
        "histogram_quantile(0.95",
        "histogram_quantile(0.99",
    ]
    expect(page.get_by_label("Query B", exact=True)).to_have_value(queries[1])
    expect(page.get_by_label("Query C", exact=True)).to_have_value(queries[2])


# ---------- Grafana: the shared time picker, the global search ----------


def test_time_picker_state_is_in_the_address_and_shared(new_page: NewPage, world: World) -> None:
    page = _page(new_page)
    login(page, VIEWER)
    page.goto(f'/explore?q=agent_cpu_percent{{agent=~"fh-.*-{world.suffix}"}}')
    page.get_by_role("group", name="Time range").get_by_role("button", name="6h").click()
    page.get_by_role("group", name="Time zone").get_by_role("button", name="UTC").click()
    page.get_by_label("Auto-refresh").select_option("30s")
    expect(page).to_have_url(re.compile(r"range=6h"))
    expect(page).to_have_url(re.compile(r"tz=utc"))
    expect(page).to_have_url(re.compile(r"refresh=30s"))
    expect(page.get_by_test_id("last-updated")).to_contain_text(re.compile(r"Updated .*UTC"))
    page.get_by_role("button", name="Zoom out").click()
    expect(page).to_have_url(re.compile(r"range=12h"))
    page.get_by_role("group", name="Time range").get_by_role("button", name="6h").click()
    shoot(page, "fh-explorer-picker")

    # Another metrics page opened without a range takes the last one chosen.
    name = sorted(world.agents)[0]
    page.goto(f"/agents/{world.agents[name]}")
    telemetry = page.get_by_role("region", name="Telemetry")
    expect(
        telemetry.get_by_role("group", name="Time range").get_by_role("button", name="6h")
    ).to_have_attribute("aria-pressed", "true")
    expect(telemetry.get_by_text("step 5m")).to_be_visible()
    shoot(page, "fh-agent-telemetry")


def test_global_search_opens_with_slash_and_ctrl_k(new_page: NewPage, world: World) -> None:
    page = _page(new_page)
    login(page, VIEWER)
    page.goto("/overview")
    expect(page.get_by_role("heading", name="Overview", exact=True)).to_be_visible()
    page.keyboard.press("/")
    box = page.get_by_role("combobox", name="Search agents, alerts and rules")
    expect(box).to_be_focused()
    name = sorted(world.agents)[2]
    box.fill(name)
    results = page.get_by_role("listbox", name="Results")
    expect(results.get_by_role("option").filter(has_text=name).first).to_be_visible()
    expect(results).to_contain_text("Agent")
    expect(results).to_contain_text("Alert")  # its firing alert, found by its agent label
    shoot(page, "fh-global-search", dark_too=False)
    box.press("Enter")
    expect(page).to_have_url(re.compile(f"/agents/{world.agents[name]}"))

    page.keyboard.press("Control+k")
    expect(box).to_be_focused()
    box.fill(world.rule)
    expect(results.get_by_role("option").filter(has_text="Rule").first).to_be_visible()
    box.press("Escape")
    expect(box).to_have_count(0)


# ---------- empty telemetry ----------


def test_a_new_agent_shows_how_to_send_telemetry(new_page: NewPage, world: World) -> None:
    page = _page(new_page)
    login(page, VIEWER)
    name, agent_id = world.quiet_agent
    page.goto(f"/agents/{agent_id}")
    empty = page.get_by_role("region", name="Send telemetry")
    expect(empty).to_contain_text(f"No telemetry from {name} yet")
    expect(empty.locator("pre")).to_contain_text(f'agent="{name}"')
    empty.get_by_role("button", name="curl").click()
    expect(empty.locator("pre")).to_contain_text(f'"agent": "{name}"')
    empty.get_by_role("button", name="OpenTelemetry (OTLP/HTTP)").click()
    expect(empty.locator("pre")).to_contain_text(f"OTEL_SERVICE_NAME={name}")
    shoot(page, "fh-agent-empty-telemetry")

"""What a new user meets first in alerting (issue 19): viewers see rules read-only, Export
YAML downloads, the rule editor validates inline with durations and a metric picker, the rules
list shows state, receivers pick channels by name and are editable, the routing tree has a
form, the Alerts page refetches at most once a second, groups, bulk-acks only what it can and
shows silenced alerts; filters live in the URL; every page has its own title; an agent links
to its alerts; a logged-out visit logs no console error."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, expect

from tests.e2e.conftest import Server
from tests.e2e.support import ADMIN, DEVELOPER, VIEWER, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]


def _wide(page: Page) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})


def _rule(server: Server, name: str, expr: str = "e2e_first_hour_cpu > 90") -> str:
    with server.api(DEVELOPER) as api:
        response = api.post(
            "/api/v1/alert-rules",
            json={"name": name, "expr": expr, "severity": "warning", "for_seconds": 300},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


def _channel(server: Server, name: str) -> str:
    with server.api(ADMIN) as api:
        response = api.post(
            "/api/v1/notification-channels",
            json={
                "name": name,
                "kind": "webhook",
                "enabled": True,
                "send_resolved": True,
                "config": {"url": "http://127.0.0.1:9/hook"},
            },
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])


def _raise(server: Server, alerts: list[dict[str, dict[str, str]]]) -> None:
    with server.api(DEVELOPER) as api:
        response = api.post("/api/v2/alerts", json=alerts)
        assert response.status_code == 200, response.text


def test_viewer_sees_rules_read_only(new_page: NewPage, server: Server) -> None:
    name = f"ViewerReads{uuid.uuid4().hex[:6]}"
    rule_id = _rule(server, name)
    page = new_page()
    _wide(page)
    login(page, VIEWER)
    page.goto("/alerting/rules")
    expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("link", name="New rule")).to_have_count(0)
    page.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=f"Rule {name}")).to_be_visible()
    expect(page.get_by_label("Name")).to_be_disabled()
    expect(page.get_by_label("Pending for")).to_have_value("5m")
    for label in ("Save rule", "Delete", "Create rule"):
        expect(page.get_by_role("button", name=label)).to_have_count(0)
    shoot(page, "first-hour-rule-viewer", dark_too=False)
    page.goto("/alerting/rules/new")
    expect(page.get_by_text("Creating rules needs the developer role")).to_be_visible()
    expect(page.get_by_role("button", name="Create rule")).to_have_count(0)
    assert rule_id


def test_export_yaml_downloads_the_rules(new_page: NewPage, server: Server) -> None:
    name = f"Exported{uuid.uuid4().hex[:6]}"
    _rule(server, name)
    page = new_page()
    login(page, VIEWER)
    page.goto("/alerting/rules")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export YAML").click()
    assert download.value.suggested_filename == "alert-rules.yml"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert "groups:" in text
    assert f"alert: {name}" in text


def test_rule_editor_validates_inline_with_durations_and_a_metric_picker(
    new_page: NewPage, server: Server
) -> None:
    metric = f"e2e_first_hour_{uuid.uuid4().hex[:6]}_depth"
    with server.api(DEVELOPER) as api:
        response = api.post(
            "/api/v1/metrics/batch",
            json={"samples": [{"name": metric, "value": 5, "labels": {"agent": "fh"}}]},
        )
        assert response.status_code in (200, 202), response.text
    name = f"Inline{uuid.uuid4().hex[:6]}"
    page = new_page()
    _wide(page)
    login(page, DEVELOPER)
    page.goto("/alerting/rules/new")
    form = page.get_by_role("form", name="Alert rule")
    # Styled: the fields sit in a grid, not one under another.
    display = page.locator(".rule-grid").first.evaluate("e => getComputedStyle(e).display")
    assert display == "grid"

    metric_box = page.get_by_role("combobox", name="Metric")
    metric_box.fill(metric[:-6])
    page.get_by_role("listbox", name="Metric names").get_by_role("option", name=metric).click()
    expect(metric_box).to_have_value(metric)

    page.get_by_label("Pending for").fill("10")
    page.get_by_role("button", name="Create rule").click()
    # No browser bubble: the messages are in the page, under their fields.
    expect(form.get_by_text("Give the rule a name.")).to_be_visible()
    expect(form.get_by_text(re.compile(r"Use a duration such as 30s, 5m"))).to_be_visible()
    expect(page.get_by_label("Pending for")).to_have_attribute("aria-invalid", "true")
    expect(page).to_have_url(re.compile(r"/alerting/rules/new$"))
    shoot(page, "first-hour-rule-editor-errors", dark_too=False)

    page.get_by_label("Name").fill(name)
    page.get_by_label("Pending for").fill("2m")
    page.get_by_label("Evaluate every").fill("30s")
    expect(page.get_by_test_id("compiled-expr")).to_contain_text(metric, timeout=15_000)
    page.get_by_role("button", name="Create rule").click()
    expect(page).to_have_url(re.compile(r"/alerting/rules$"))
    row = page.get_by_role("table", name="Alert rules").locator("tr", has_text=name)
    expect(row).to_contain_text("2m")
    expect(row.locator("[data-state]")).to_have_attribute("data-state", "normal")
    shoot(page, "first-hour-rules-list", dark_too=False)
    row.get_by_role("link", name=name).click()
    expect(page.get_by_label("Pending for")).to_have_value("2m")
    expect(page.get_by_label("Evaluate every")).to_have_value("30s")
    shoot(page, "first-hour-rule-editor")


def test_receivers_pick_channels_are_editable_and_the_tree_has_a_form(
    new_page: NewPage, server: Server
) -> None:
    channel = f"pager-{uuid.uuid4().hex[:6]}"
    _channel(server, channel)
    receiver = f"oncall-{uuid.uuid4().hex[:6]}"
    page = new_page()
    _wide(page)
    login(page, ADMIN)
    page.goto("/alerting/receivers")
    page.get_by_role("button", name="New receiver").click()
    form = page.get_by_role("form", name="New receiver")
    form.get_by_label("Name").fill(receiver)
    form.get_by_role("button", name="Create receiver").click()
    expect(form.get_by_text("Pick at least one channel")).to_be_visible()
    form.get_by_role("checkbox", name=channel).check()
    form.get_by_role("button", name="Create receiver").click()
    table = page.get_by_role("table", name="Receivers")
    row = table.locator("tr", has_text=receiver)
    expect(row).to_contain_text(f"{channel} (webhook)")
    expect(row.locator("td.mono")).to_have_count(0)  # no ids to copy any more

    row.get_by_role("button", name=f"Edit {receiver}").click()
    edit = page.get_by_role("form", name=f"Edit receiver {receiver}")
    edit.get_by_label("Description").fill("first line")
    edit.get_by_role("button", name="Save receiver").click()
    expect(table.locator("tr", has_text=receiver)).to_contain_text("first line")
    shoot(page, "first-hour-receivers", dark_too=False)

    page.get_by_role("link", name="Routing tree").click()
    expect(page).to_have_title("Routing tree · Routing · agentdeck")
    page.get_by_label("Root route receiver").select_option(label=f"{receiver} (1 channel)")
    page.get_by_label("Root route group wait").fill("soon")
    expect(page.get_by_role("button", name="Save tree")).to_be_disabled()
    page.get_by_label("Root route group wait").fill("30s")
    page.get_by_role("button", name="Add child route").first.click()
    page.get_by_label("Route 0 receiver").select_option(label=f"{receiver} (1 channel)")
    page.get_by_role("button", name="Save tree").click()
    expect(page.get_by_text(re.compile(r"Saved revision \d+"))).to_be_visible()
    view = page.get_by_role("list", name="Routing tree")
    expect(view.locator('[data-route="root"]').first).to_contain_text(receiver)
    expect(view.locator('[data-route="root.0"]')).to_contain_text("severity=critical")
    shoot(page, "first-hour-routing-form", dark_too=False)
    # The banner goes with the next edit: it described the saved tree, not the editor.
    page.get_by_label("Root route group by").fill("agent")
    expect(page.get_by_text(re.compile(r"Saved revision"))).to_have_count(0)
    page.get_by_role("tab", name="JSON (advanced)").click()
    expect(page.get_by_label("Routing tree JSON")).to_have_value(re.compile(r'"group_by"'))
    shoot(page, "first-hour-routing-tree")


def test_alerts_refetch_throttled_group_bulk_ack_and_silenced(
    new_page: NewPage, server: Server
) -> None:
    tag = uuid.uuid4().hex[:8]
    base = {"e2etag": tag, "severity": "warning"}
    _raise(
        server,
        [
            {"labels": {**base, "alertname": "FhCpu", "agent": "fh-a"}},
            {"labels": {**base, "alertname": "FhCpu", "agent": "fh-b"}},
            {"labels": {**base, "alertname": "FhQueue", "agent": "fh-b", "muted": "yes"}},
        ],
    )
    now = datetime.now(UTC)
    with server.api(DEVELOPER) as api:
        silence = api.post(
            "/api/v1/silences",
            json={
                "matchers": [{"name": "muted", "op": "=", "value": "yes"}],
                "starts_at": now.isoformat(),
                "ends_at": (now + timedelta(hours=1)).isoformat(),
                "comment": "e2e first hour",
            },
        )
        assert silence.status_code == 201, silence.text
        listed = api.get(
            "/api/v1/alerts", params={"matcher": f'e2etag="{tag}"', "status": "active"}
        )
        acked = next(a for a in listed.json()["items"] if a["labels"].get("agent") == "fh-a")
        assert api.post(f"/api/v1/alerts/{acked['id']}/acknowledge", json={}).status_code == 200

    page = new_page()
    _wide(page)
    login(page, DEVELOPER)
    matcher = f'e2etag="{tag}"'
    page.goto(f"/alerts?matcher={matcher}&group=agent")
    expect(page).to_have_title("Alerts · agentdeck")
    expect(page.locator("[data-live='live']")).to_be_visible(timeout=15_000)
    table = page.get_by_role("table", name="Alerts")
    expect(table.locator("tr[data-alert]")).to_have_count(3)
    expect(table.locator('tr[data-group="fh-b"]')).to_contain_text("2 alerts")
    expect(table.locator('tr[data-group="fh-a"]')).to_contain_text("1 alert")
    silenced = table.locator("tr", has_text="FhQueue")
    expect(silenced.locator('[data-muted="silenced"]')).to_be_visible(timeout=15_000)

    # Bulk: of three selected, one is acknowledged already: it is only offered for resolve.
    page.get_by_role("checkbox", name="Select all open alerts").check()
    expect(page.get_by_role("button", name="Acknowledge 2")).to_be_visible()
    expect(page.get_by_role("button", name="Resolve 3")).to_be_visible()
    shoot(page, "first-hour-alerts-grouped")

    # Filters and grouping survive a reload (they are in the URL).
    page.get_by_label("Group by").select_option("alertname")
    expect(page).to_have_url(re.compile(r"group=alertname"))
    page.reload()
    expect(page.get_by_label("Group by")).to_have_value("alertname")
    expect(page.get_by_label("Label matcher")).to_have_value(matcher)
    expect(table.locator('tr[data-group="FhCpu"]')).to_contain_text("2 alerts")

    # A storm of alert events: the list refetches at most about once a second.
    lists: list[str] = []

    def on_request(request: Request) -> None:
        if "/api/v1/alerts?" in request.url:
            lists.append(request.url)

    page.on("request", on_request)
    started = time.monotonic()
    for k in range(30):
        _raise(server, [{"labels": {**base, "alertname": "FhStorm", "agent": f"storm-{k}"}}])
    expect(table.locator('tr[data-group="FhStorm"]')).to_contain_text("30 alerts", timeout=15_000)
    elapsed = time.monotonic() - started
    page.remove_listener("request", on_request)
    assert len(lists) <= elapsed + 3, (len(lists), elapsed)


def test_titles_agent_alerts_link_url_filters_and_a_quiet_first_visit(
    new_page: NewPage, server: Server
) -> None:
    errors: list[str] = []
    page = new_page()
    _wide(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    page.goto("/")
    expect(page.get_by_label("Username or email")).to_be_visible()
    expect(page).to_have_title("Sign in · agentdeck")
    assert errors == [], errors  # no "401 (Unauthorized)" from the session check

    login(page, DEVELOPER)
    name = f"fh-{uuid.uuid4().hex[:6]}"
    with server.api(DEVELOPER) as api:
        made = api.post("/api/v1/agents", json={"name": name, "type": "custom"})
        assert made.status_code == 201, made.text
    page.goto("/agents")
    expect(page).to_have_title("Agents · agentdeck")
    page.get_by_role("searchbox").first.fill(name)
    expect(page).to_have_url(re.compile(rf"q={name}"))
    page.reload()
    expect(page.get_by_role("searchbox").first).to_have_value(name)
    page.get_by_role("link", name=name).click()
    expect(page).to_have_title(f"{name} · agentdeck")
    page.get_by_role("link", name="Alerts", exact=True).last.click()
    expect(page).to_have_url(re.compile(rf"/alerts\?agent={name}$"))
    expect(page.get_by_label("Agent", exact=True)).to_have_value(name)

    page.goto("/alerting/rules")
    expect(page).to_have_title("Alert rules · agentdeck")
    # The new agent page opens at its top, wherever the previous page was scrolled (an
    # in-app navigation from the scrolled rule editor: the router's own history push).
    page.goto("/alerting/rules/new")
    expect(page.get_by_test_id("backtest-result")).to_be_visible(timeout=15_000)
    scrolled = page.evaluate(
        "() => { window.scrollTo(0, document.body.scrollHeight); return window.scrollY; }"
    )
    assert scrolled > 0
    page.evaluate(
        "history.pushState(null, '', '/agents/new');"
        "dispatchEvent(new PopStateEvent('popstate', { state: null }))"
    )
    expect(page.get_by_role("heading", name="New agent")).to_be_visible()
    expect(page).to_have_title("New agent · agentdeck")
    assert page.evaluate("window.scrollY") == 0
    assert [e for e in errors if "401" in e] == []

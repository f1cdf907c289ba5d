"""Silences and routing in the browser: a developer previews and creates a silence from a
matcher, sees it active, expires it; an admin builds a receiver and saves the routing tree."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import Page, expect

from agentdeck.alerting.models import Alert, Severity
from agentdeck.db.engine import create_engine, create_session_factory
from agentdeck.settings import DatabaseSettings
from tests.e2e.conftest import Server
from tests.e2e.support import ADMIN, DEVELOPER, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]


def _raise_alert(server: Server, labels: dict[str, str]) -> str:
    """An alert row as the evaluator would write it (the evaluator is not part of this test)."""
    with server.api(DEVELOPER) as client:
        tenant_id = uuid.UUID(client.get("/api/v1/auth/me").json()["tenant"]["id"])

    async def insert() -> str:
        engine = create_engine(DatabaseSettings(url=server.env["AGENTDECK_DATABASE__URL"]))
        try:
            async with create_session_factory(engine)() as session:
                full = {"alertname": "HighErrorRate", **labels}
                alert = Alert(
                    tenant_id=tenant_id,
                    rule_name="HighErrorRate",
                    fingerprint=hashlib.sha256(repr(sorted(full.items())).encode()).hexdigest()[
                        :32
                    ],
                    labels=full,
                    annotations={"summary": "error rate above 5 %"},
                    severity=Severity.critical,
                )
                session.add(alert)
                await session.commit()
                return str(alert.id)
        finally:
            await engine.dispose()

    # Playwright's sync API runs an event loop on this thread: insert from another one
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(insert())).result(timeout=60)


def test_developer_previews_creates_and_expires_a_silence(
    new_page: NewPage, server: Server
) -> None:
    agent = f"agent-{uuid.uuid4().hex[:6]}"
    _raise_alert(server, {"agent": agent, "team": "payments"})
    page = new_page()
    login(page, DEVELOPER)
    page.goto("/alerting/silences")
    page.get_by_role("button", name="New silence").click()
    form = page.get_by_role("form", name="New silence")
    form.get_by_label("Matcher 1 label name").fill("agent")
    form.get_by_label("Matcher 1 value").fill(agent)
    preview = form.get_by_test_id("silence-preview")
    expect(preview).to_contain_text("1 unresolved alert would be silenced")
    expect(preview).to_contain_text("HighErrorRate")
    form.get_by_label("Comment").fill("deploying a fix")
    shoot(page, "60-silence-create")
    form.get_by_role("button", name="Create silence").click()

    table = page.get_by_role("table", name="Silences")
    row = table.locator("tr", has_text=agent)
    expect(row).to_contain_text("active")
    expect(row).to_contain_text("deploying a fix")
    shoot(page, "61-silences")
    row.get_by_role("button", name="Expire").click()
    page.get_by_role("dialog").get_by_role("button", name="Expire").click()
    expect(table.locator("tr", has_text=agent)).to_have_count(0)  # the list shows active ones
    page.get_by_label("State").select_option("expired")
    expect(
        page.get_by_role("table", name="Silences").locator("tr", has_text=agent)
    ).to_contain_text("expired")


def test_bad_regex_matcher_is_refused_with_the_reason(new_page: NewPage, server: Server) -> None:
    page = new_page()
    login(page, DEVELOPER)
    page.goto("/alerting/silences")
    page.get_by_role("button", name="New silence").click()
    form = page.get_by_role("form", name="New silence")
    form.get_by_label("Matcher 1 label name").fill("agent")
    form.get_by_label("Matcher 1 operator").select_option("=~")
    form.get_by_label("Matcher 1 value").fill("(")
    form.get_by_role("button", name="Create silence").click()
    expect(form.get_by_role("alert", name="Field errors")).to_contain_text("regular expression")


def _channel(server: Server) -> str:
    """A webhook channel for receivers to name (a receiver needs at least one)."""
    name = f"hook-{uuid.uuid4().hex[:6]}"
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
    return name


def _create_receiver(page: Page, name: str, channel: str) -> None:
    page.get_by_role("button", name="New receiver").click()
    form = page.get_by_role("form", name="New receiver")
    form.get_by_label("Name").fill(name)
    form.get_by_role("checkbox", name=channel).check()
    form.get_by_role("button", name="Create receiver").click()


def test_admin_creates_receiver_and_saves_routing_tree(new_page: NewPage, server: Server) -> None:
    name = f"oncall-{uuid.uuid4().hex[:6]}"
    channel = _channel(server)
    page = new_page()
    login(page, ADMIN)
    page.goto("/alerting/receivers")
    _create_receiver(page, name, channel)
    row = page.get_by_role("table", name="Receivers").locator("tr", has_text=name)
    expect(row).to_be_visible()
    receiver_id = row.get_attribute("data-receiver")

    page.get_by_role("link", name="Routing tree").click()
    page.get_by_role("tab", name="JSON (advanced)").click()
    editor = page.get_by_label("Routing tree JSON")
    expect(editor).to_have_value(re.compile(r'"routes"'))
    tree = json.dumps(
        {
            "receiver_id": receiver_id,
            "group_by": ["agent"],
            "routes": [
                {
                    "matchers": [{"name": "severity", "op": "=", "value": "critical"}],
                    "group_wait_seconds": 0,
                    "continue": True,
                }
            ],
        }
    )
    editor.fill(tree)
    page.get_by_role("button", name="Save tree").click()
    expect(page.get_by_text("Saved revision")).to_be_visible()
    view = page.get_by_role("list", name="Routing tree")
    expect(view.locator('[data-route="root"]').first).to_contain_text(name)
    expect(view.locator('[data-route="root.0"]')).to_contain_text("severity=critical")
    expect(view.locator('[data-route="root.0"]')).to_contain_text("continue")
    shoot(page, "62-routing-tree")

    editor.fill(json.dumps({"receiver_id": receiver_id, "group_wait_seconds": -5}))
    page.get_by_role("button", name="Save tree").click()
    expect(page.get_by_role("alert", name="Field errors")).to_contain_text("group_wait_seconds")


def test_admin_deletes_an_unused_receiver_and_one_in_use_is_kept(
    new_page: NewPage, server: Server
) -> None:
    channel = _channel(server)
    page = new_page()
    login(page, ADMIN)
    page.goto("/alerting/receivers")
    table = page.get_by_role("table", name="Receivers")
    names = [f"spare-{uuid.uuid4().hex[:6]}", f"used-{uuid.uuid4().hex[:6]}"]
    for name in names:
        _create_receiver(page, name, channel)
        expect(table.locator("tr", has_text=name)).to_be_visible()
    spare, used = (table.locator("tr", has_text=name) for name in names)
    with server.api(ADMIN) as api:
        used_id = used.get_attribute("data-receiver")
        response = api.put("/api/v1/notification-policy", json={"receiver_id": used_id})
        assert response.status_code == 200, response.text

    spare.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text(f"Delete {names[0]}?")
    dialog.get_by_role("button", name="Delete").click()
    expect(spare).to_have_count(0)

    used.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    expect(used).to_be_visible()

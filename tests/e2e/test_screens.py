"""The screenshot sweep: every page of the UI at 1440×900, light and dark, as an admin and as a
viewer, against `agentdeck serve --demo`. Screenshots go to test-results/screens/ (look at
them); the test fails on console errors, uncaught page errors and a document wider than the
window (horizontal overflow)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, Response

from tests.e2e.demo_server import Server, first_id, start_demo_server
from tests.e2e.support import ADMIN, VIEWER, Account, login

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCREENS = ROOT / "test-results" / "screens"
VIEWPORT = {"width": 1440, "height": 900}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from start_demo_server(tmp_path_factory.mktemp("agentdeck-screens"))


def _pages(server: Server, account: Account) -> list[tuple[str, str]]:
    """(slug, path) of every page; pages of one object use the demo's first one."""
    agent = first_id(server, "/api/v1/agents", q="support-triage")
    rule = first_id(server, "/api/v1/alert-rules")
    alert = first_id(server, "/api/v1/alerts")
    deployment = first_id(server, "/api/v1/deployments")
    pages = [
        ("overview", "/overview"),
        ("agents", "/agents"),
        ("agent-detail", f"/agents/{agent}"),
        ("explore", "/explore?q=sum%20by%20(agent)%20(rate(agent_requests_total%5B5m%5D))"),
        ("alerts", "/alerts"),
        ("rules", "/alerting/rules"),
        ("rule-editor", f"/alerting/rules/{rule}"),
        ("channels", "/alerting/channels"),
        ("deliveries", "/alerting/deliveries"),
        ("silences", "/alerting/silences"),
        ("inhibition", "/alerting/inhibition"),
        ("routing", "/alerting/routing"),
        ("receivers", "/alerting/receivers"),
        ("escalation", "/alerting/escalation"),
        ("logs", "/logs"),
        ("templates", "/templates"),
        ("anomalies", "/anomalies"),
        ("log-streams", "/log-streams"),
        ("deployments", "/deployments"),
        ("settings-account", "/settings/account"),
        ("settings-api-keys", "/settings/api-keys"),
        ("settings-tenant", "/settings/tenant"),
        ("not-found", "/no-such-page"),
    ]
    if alert is not None:
        pages.append(("alert-detail", f"/alerts/{alert}"))
    if deployment is not None:
        pages.append(("deployment-detail", f"/deployments/{deployment}"))
    if account.role != "viewer":
        pages += [
            ("agent-new", "/agents/new"),
            ("agent-edit", f"/agents/{agent}/edit"),
            ("rule-new", "/alerting/rules/new"),
        ]
    if account.role == "admin":
        pages += [("settings-users", "/settings/users"), ("settings-audit", "/settings/audit-log")]
    return pages


def _settle(page: Page) -> None:
    # the WebSocket does not count; a page that keeps polling settles on the timeout
    with contextlib.suppress(Error):
        page.wait_for_load_state("networkidle", timeout=8_000)


def _overflow(page: Page) -> int:
    """How many pixels the document is wider than the window."""
    return int(
        page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    )


@pytest.mark.timeout(600, func_only=True)  # about 30 pages, each settled and shot twice
@pytest.mark.parametrize("account", [ADMIN, VIEWER], ids=["admin", "viewer"])
def test_every_page_in_both_themes_has_no_console_error_and_no_overflow(
    demo: Server, browser: Browser, account: Account
) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    where = {"page": "login"}

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(f"{where['page']}: console error: {message.text}")

    def page_error(error: Error) -> None:
        problems.append(f"{where['page']}: uncaught: {error}")

    def response(reply: Response) -> None:
        # names the request behind a "Failed to load resource" console error
        if reply.status >= 400:
            problems.append(f"{where['page']}: {reply.status} {reply.request.method} {reply.url}")

    context = browser.new_context(base_url=demo.base_url, viewport=VIEWPORT)  # type: ignore[arg-type]
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        page.on("console", console)
        page.on("pageerror", page_error)
        page.on("response", response)
        login(page, account)
        for slug, path in _pages(demo, account):
            where["page"] = path
            page.goto(path)
            _settle(page)
            theme: Literal["light", "dark"]
            for theme in ("light", "dark"):
                page.emulate_media(color_scheme=theme)
                page.evaluate("window.scrollTo(0, 0)")
                name = f"{account.role}-{slug}-{theme}.png"
                page.screenshot(path=str(SCREENS / name), full_page=True, animations="disabled")
                if (extra := _overflow(page)) > 0:
                    problems.append(f"{path} ({theme}): the document overflows by {extra}px")
            page.emulate_media(color_scheme="light")
    finally:
        context.close()
    assert problems == []

"""Role-aware UI: a viewer reads but has no create/edit/delete controls or admin sections."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.support import ADMIN, DEVELOPER, VIEWER, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]
ADMIN_SECTIONS = ["Users", "API keys", "Tenant", "Audit log"]


def test_viewer_reads_agents_without_edit_controls(new_page: NewPage, server: Server) -> None:
    name = f"watched-{uuid.uuid4().hex[:6]}"
    with server.api(ADMIN) as api:
        created = api.post(
            "/api/v1/agents", json={"name": name, "type": "extractor", "labels": {"env": "prod"}}
        )
        assert created.status_code == 201, created.text
    agent_id = created.json()["id"]

    page = new_page()
    login(page, VIEWER)
    page.goto("/agents")
    row = page.locator(f'tr[data-agent="{name}"]')
    expect(row).to_be_visible()
    expect(page.get_by_role("link", name="New agent")).to_have_count(0)
    expect(page.get_by_role("link", name="Register an agent")).to_have_count(0)
    shoot(page, "20-viewer-agents")

    row.get_by_role("link", name=name).click()
    expect(page.get_by_role("heading", name=name)).to_be_visible()
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete")).to_have_count(0)
    shoot(page, "21-viewer-agent-detail")

    # Typing the address of the form does not help: the page says who may use it.
    page.goto(f"/agents/{agent_id}/edit")
    expect(page.get_by_text("Only developers can see this")).to_be_visible()
    expect(page.get_by_role("button", name="Save changes")).to_have_count(0)
    page.goto("/agents/new")
    expect(page.get_by_text("Only developers can see this")).to_be_visible()


def test_admin_sections_are_hidden_from_viewers_and_developers(new_page: NewPage) -> None:
    for account in (VIEWER, DEVELOPER):
        page = new_page()
        login(page, account)
        page.get_by_role("link", name="Settings").click()
        expect(page).to_have_url(re.compile(r"/settings/account$"))
        subnav = page.get_by_role("navigation", name="Settings")
        expect(subnav.get_by_role("link", name="Account")).to_be_visible()
        for section in ADMIN_SECTIONS:
            expect(subnav.get_by_role("link", name=section)).to_have_count(0)
        page.goto("/settings/users")
        expect(page.get_by_text("Only admins can see this")).to_be_visible()
        expect(page.get_by_role("table", name="Users")).to_have_count(0)
        if account is VIEWER:
            shoot(page, "22-viewer-settings-users")

    page = new_page()
    login(page, ADMIN)
    page.goto("/settings")
    subnav = page.get_by_role("navigation", name="Settings")
    for section in ADMIN_SECTIONS:
        expect(subnav.get_by_role("link", name=section)).to_be_visible()

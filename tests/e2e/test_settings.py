"""Admin settings in the browser: users, API keys (shown once), tenant, audit log."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.support import ADMIN, PASSWORD, Account, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]


def test_admin_creates_a_user_changes_role_and_deactivates(
    new_page: NewPage, server: Server
) -> None:
    username = f"new{uuid.uuid4().hex[:6]}"
    page = new_page()
    login(page, ADMIN)
    page.goto("/settings/users")
    expect(page.get_by_role("table", name="Users")).to_be_visible()
    page.get_by_role("button", name="New user").click()
    form = page.get_by_role("form", name="New user")
    form.get_by_label("Username", exact=True).fill("No Spaces Allowed")
    form.get_by_label("Initial password", exact=True).fill("short")
    form.get_by_role("button", name="Create user").click()
    expect(form.get_by_text("3–64 characters")).to_be_visible()
    expect(form.get_by_text("At least 12 characters.")).to_be_visible()
    shoot(page, "30-users-create-errors", dark_too=False)

    form.get_by_label("Username", exact=True).fill(username)
    form.get_by_label("Email", exact=True).fill(f"{username}@example.test")
    form.get_by_label("Display name", exact=True).fill("New Person")
    form.get_by_label("Role", exact=True).select_option("developer")
    form.get_by_label("Initial password", exact=True).fill(PASSWORD)
    form.get_by_role("button", name="Create user").click()
    expect(page.get_by_text(f"User {username} was created.")).to_be_visible()
    row = page.locator(f'tr[data-user="{username}"]')
    expect(row).to_be_visible()
    expect(row.get_by_label(f"Role of {username}")).to_have_value("developer")
    shoot(page, "31-users")

    row.get_by_label(f"Role of {username}").select_option("viewer")
    expect(row.get_by_label(f"Role of {username}")).to_have_value("viewer")
    row.get_by_role("button", name="Deactivate").click()
    page.get_by_role("dialog").get_by_role("button", name="Deactivate").click()
    expect(row).to_contain_text("deactivated")
    expect(row.get_by_role("button", name="Reactivate")).to_be_visible()

    # The server agrees: the deactivated user cannot sign in.
    refused = httpx.post(
        f"{server.base_url}/api/v1/auth/token",
        data={"username": username, "password": PASSWORD},
        timeout=10,
    )
    assert refused.status_code == 401


def test_admin_creates_an_api_key_seen_once_and_revokes_it(
    new_page: NewPage, server: Server
) -> None:
    name = f"ci-{uuid.uuid4().hex[:6]}"
    page = new_page()
    login(page, ADMIN)
    page.goto("/settings/api-keys")
    page.get_by_role("button", name="New API key").click()
    form = page.get_by_role("form", name="New API key")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Role", exact=True).select_option("viewer")
    form.get_by_label("Expires after (days)", exact=True).fill("30")
    form.get_by_role("button", name="Create key").click()

    secret = page.get_by_test_id("new-api-key")
    expect(secret).to_have_text(re.compile(r"^adk_"))
    key = secret.inner_text()
    expect(page.get_by_role("button", name="Copy")).to_be_visible()
    expect(page.get_by_text("shown only this once")).to_be_visible()
    shoot(page, "32-api-key-created")
    assert httpx.get(
        f"{server.base_url}/api/v1/agents", headers={"X-API-Key": key}, timeout=10
    ).is_success

    # Once dismissed, the key is gone from the page for good.
    page.get_by_role("button", name="Done").click()
    expect(page.get_by_test_id("new-api-key")).to_have_count(0)
    expect(page.get_by_text(key)).to_have_count(0)
    row = page.locator(f'tr[data-key="{name}"]')
    expect(row).to_contain_text("active")
    shoot(page, "33-api-keys")

    row.get_by_role("button", name="Revoke").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke key").click()
    expect(row).to_contain_text("revoked")
    denied = httpx.get(f"{server.base_url}/api/v1/agents", headers={"X-API-Key": key}, timeout=10)
    assert denied.status_code == 401


def test_admin_edits_the_tenant_and_reads_the_audit_log(new_page: NewPage, server: Server) -> None:
    page = new_page()
    login(page, ADMIN)
    page.goto("/settings/tenant")
    form = page.get_by_role("form", name="Tenant settings")
    quota = form.get_by_label("Agent quota per user", exact=True)
    quota.fill("5000")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_text("A whole number from 0 to 1000")).to_be_visible()
    quota.fill("25")
    retention = form.get_by_label("Metrics retention (days)", exact=True)
    expect(form.get_by_text("Now in force: 30 days.")).to_be_visible()  # the server default
    retention.fill("0")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_text("A whole number of days from 1 to 3650")).to_be_visible()
    retention.fill("90")
    form.get_by_label("Name", exact=True).fill("Acme Robotics")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_text("Saved.")).to_be_visible()
    expect(form.get_by_text("Now in force: 25.")).to_be_visible()
    expect(form.get_by_text("Now in force: 90 days.")).to_be_visible()
    expect(page.locator("header.topbar")).to_contain_text("Acme Robotics")
    shoot(page, "34-tenant")
    # The server keeps it: a fresh load shows the saved retention, and the API agrees.
    page.reload()
    expect(page.get_by_label("Metrics retention (days)", exact=True)).to_have_value("90")
    with server.api(ADMIN) as api:
        tenant = api.get("/api/v1/tenant").json()
        assert (tenant["retention_days"], tenant["effective_retention_days"]) == (90, 90)

    page.get_by_role("link", name="Audit log").click()
    table = page.get_by_role("table", name="Audit log")
    expect(table).to_be_visible()
    page.get_by_label("Action", exact=True).fill("tenant.*")
    expect(table.locator("tbody tr", has_text="auth.login")).to_have_count(0)
    first = table.locator("tbody tr").first
    expect(first).to_contain_text("tenant.update")
    expect(first).to_contain_text(ADMIN.username)
    first.get_by_role("button", name="Show changes").click()
    changes = page.get_by_label("Changes", exact=True)
    expect(changes).to_contain_text("Acme Robotics")
    shoot(page, "35-audit-log")
    page.get_by_label("Action", exact=True).fill("")
    page.get_by_label("Actor", exact=True).fill("nobody-by-this-name")
    expect(page.get_by_text("No entries match")).to_be_visible()
    with server.api(ADMIN) as api:  # back to the server default for the other tests
        reset = api.patch("/api/v1/tenant", json={"retention_days": None})
        assert reset.json()["effective_retention_days"] == 30


def test_account_page_changes_the_password(new_page: NewPage, server: Server) -> None:
    username = f"pw{uuid.uuid4().hex[:6]}"
    with server.api(ADMIN) as api:
        created = api.post(
            "/api/v1/users",
            json={
                "username": username,
                "email": f"{username}@example.test",
                "password": PASSWORD,
                "role": "viewer",
            },
        )
        assert created.status_code == 201, created.text
    account = Account(username, f"{username}@example.test", "viewer")
    page = new_page()
    login(page, account)
    page.get_by_role("button", name="User menu").click()
    page.get_by_role("menuitem", name="Account").click()
    form = page.get_by_role("form", name="Change password")
    form.get_by_label("Current password", exact=True).fill("not my password at all")
    form.get_by_label("New password", exact=True).fill("a brand new passphrase")
    form.get_by_label("New password again", exact=True).fill("a brand new passphrase")
    form.get_by_role("button", name="Change password").click()
    expect(form.get_by_role("alert")).to_be_visible()
    shoot(page, "36-account", dark_too=False)
    form.get_by_label("Current password", exact=True).fill(PASSWORD)
    form.get_by_label("New password", exact=True).fill("a brand new passphrase")
    form.get_by_label("New password again", exact=True).fill("a brand new passphrase")
    form.get_by_role("button", name="Change password").click()
    expect(form.get_by_text("Password changed.")).to_be_visible()
    ok = httpx.post(
        f"{server.base_url}/api/v1/auth/token",
        data={"username": username, "password": "a brand new passphrase"},
        timeout=10,
    )
    assert ok.status_code == 200

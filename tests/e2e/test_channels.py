"""Notification channels in the browser: create a webhook channel (secret write-only), send a
test that reaches a real local receiver, see the result and the attempt in the delivery log."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.support import ADMIN, login, shoot
from tests.notify.support import recording_server

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]


def test_admin_creates_a_webhook_channel_sends_a_test_and_reads_the_log(
    new_page: NewPage, server: Server
) -> None:
    name = f"hook-{uuid.uuid4().hex[:6]}"
    page = new_page()
    login(page, ADMIN)
    with recording_server() as rec:
        page.goto("/alerting/channels")
        page.get_by_role("button", name="New channel").click()
        form = page.get_by_role("form", name="New channel")
        form.get_by_label("Kind", exact=True).select_option("webhook")
        form.get_by_label("Name", exact=True).fill(name)
        form.get_by_label("url *", exact=True).fill("not a url")
        form.get_by_role("button", name="Create channel").click()
        expect(
            form.get_by_text("The URL must start with http:// or https://", exact=True)
        ).to_be_visible()
        form.get_by_label("url *", exact=True).fill(rec.url + "/hook")
        form.get_by_label("signing secret", exact=True).fill("e2e-signing-secret")
        shoot(page, "60-channel-create", dark_too=False)
        form.get_by_role("button", name="Create channel").click()
        row = page.locator(f'tr[data-channel="{name}"]')
        expect(row).to_contain_text("signing_secret")
        expect(page.get_by_text("e2e-signing-secret")).to_have_count(0)
        row.get_by_role("button", name="Send test").click()
        expect(page.get_by_test_id("test-result")).to_contain_text("Test delivered")
        expect(page.get_by_test_id("test-result")).to_contain_text("success, 200")
        expect(row).to_contain_text("ok")
        shoot(page, "61-channels")
    assert len(rec.requests) == 1
    assert rec.requests[0].json()["agentdeck"]["event"] == "test"
    assert rec.requests[0].headers["x-agentdeck-signature"].startswith("sha256=")

    # editing keeps the secret: the field is empty and says it is set
    row.get_by_role("button", name="Edit").click()
    edit = page.get_by_role("form", name="Edit channel")
    expect(edit.get_by_label("signing secret", exact=True)).to_have_value("")
    expect(edit.get_by_text("Set. Leave empty to keep it.")).to_be_visible()
    edit.get_by_role("button", name="Cancel").click()

    row.get_by_role("link", name="Log").click()
    table = page.get_by_role("table", name="Deliveries")
    expect(table.locator('tr[data-status="success"]')).to_have_count(1)
    expect(table).to_contain_text(name)
    shoot(page, "62-deliveries")

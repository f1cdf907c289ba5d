"""Log templates in the browser: the Templates page (top, new and rising, search, counts, trend
and a sample), a template's page, its lines on the Logs page, and the template chip every log
line carries, back to the template.

Lines are written through the HTTP API with words unique to the run (letters only, so the miner
keeps them as constant text), so the tests share the session's server with the others."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.support import DEVELOPER, VIEWER, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]


def ingest(server: Server, entries: list[dict[str, Any]]) -> None:
    with server.api(DEVELOPER) as api:
        response = api.post("/api/v1/logs/batch", json={"entries": entries})
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == len(entries), response.text


def test_templates_page_template_and_its_lines(new_page: NewPage, server: Server) -> None:
    tag = "".join(random.choices(string.ascii_lowercase, k=8))
    service = f"vault-{tag}"
    now = datetime.now(UTC)
    entries: list[dict[str, Any]] = [
        {
            "timestamp": (now - timedelta(seconds=120 - i)).isoformat(),
            "severity": "INFO",
            "service": service,
            "message": f"{tag} replicated block blk_{1000 + i} to node 10.0.0.{i % 5} "
            f"in {i + 3} ms",
        }
        for i in range(12)
    ]
    entries += [
        {
            "timestamp": (now - timedelta(seconds=60 - i)).isoformat(),
            "severity": "ERROR",
            "service": service,
            "message": f"{tag} quota exceeded for tenant {200 + i}",
        }
        for i in range(3)
    ]
    ingest(server, entries)

    page = new_page()
    login(page, VIEWER)
    page.get_by_role("link", name="Templates", exact=True).click()
    expect(page.get_by_role("heading", name="Log templates")).to_be_visible()
    page.get_by_label("Search templates").fill(tag)
    table = page.get_by_role("table", name="Templates")
    rows = table.locator("tbody tr")
    expect(page).to_have_url(re.compile(rf"[?&]search={tag}"))
    expect(rows).to_have_count(2)
    # Top: most lines first, with counts, the trend and a sample line
    expect(rows.nth(0)).to_contain_text(f"{tag} replicated block <*> to node <*> in <*> ms")
    expect(rows.nth(0).locator("td.num").first).to_have_text("12")
    expect(rows.nth(1)).to_contain_text(f"{tag} quota exceeded for tenant <*>")
    expect(rows.nth(1).locator("td.num").first).to_have_text("3")
    trend = rows.nth(0).get_by_role("img", name=re.compile(r"^12 lines over the last"))
    expect(trend).to_be_visible()
    expect(rows.nth(0).locator(".tpl-sample")).to_contain_text(f"{tag} replicated block blk_1000")
    expect(rows.nth(0)).to_contain_text(service)
    shoot(page, "templates-01-top")

    # New: the newest template first (the quota lines came later)
    page.get_by_role("group", name="Sort").get_by_role("button", name="New").click()
    expect(page).to_have_url(re.compile(r"[?&]sort=newest"))
    expect(rows.nth(0)).to_contain_text("quota exceeded")
    page.get_by_role("group", name="Sort").get_by_role("button", name="Rising").click()
    expect(rows).to_have_count(2)
    # a service that wrote none of them
    page.get_by_label("Service").fill(f"nobody-{tag}")
    expect(page.get_by_text("No templates match these filters")).to_be_visible()
    page.get_by_role("button", name="Clear").click()
    page.get_by_label("Search templates").fill(tag)
    page.get_by_role("group", name="Sort").get_by_role("button", name="Top").click()
    expect(page).to_have_url(re.compile(rf"/templates\?search={tag}$"))
    expect(rows).to_have_count(2)

    # the template's page
    template_id = rows.nth(0).get_attribute("data-template-id")
    assert template_id is not None
    rows.nth(0).get_by_role("link", name=re.compile("replicated block")).click()
    expect(page).to_have_url(re.compile(rf"/templates/{template_id}$"))
    expect(page.get_by_role("heading", name=f"Template #{template_id}")).to_be_visible()
    samples = page.get_by_role("region", name="Sample lines").locator("li")
    expect(samples.first).to_contain_text(f"{tag} replicated block blk_1000")
    shoot(page, "templates-02-template", dark_too=False)

    # its lines on the Logs page, each with the template's chip
    page.get_by_role("link", name="Show its lines").click()
    expect(page).to_have_url(re.compile(r"/logs\?"))
    query = parse_qs(urlsplit(page.url).query)["q"][0]
    assert query == f'{{template="{template_id}"}}' or query.startswith(
        f'{{template=~"{template_id}|'
    )
    lines = page.get_by_role("list", name="Log lines").locator(".log-row")
    expect(lines).to_have_count(12)
    chips = lines.get_by_role("link", name=f"Template {template_id}")
    expect(chips).to_have_count(12)
    shoot(page, "templates-03-lines", dark_too=False)

    # a line's chip leads back to the template
    chips.first.click()
    expect(page).to_have_url(re.compile(rf"/templates/{template_id}$"))
    expect(page.get_by_role("heading", name=f"Template #{template_id}")).to_be_visible()


def test_an_unknown_template(new_page: NewPage, server: Server) -> None:
    page = new_page()
    login(page, VIEWER)
    page.goto("/templates/999999999")
    expect(page.get_by_text("This template does not exist")).to_be_visible()

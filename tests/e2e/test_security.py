"""The UI and the API reference under the server's Content-Security-Policy: /docs renders
Swagger UI from this origin's own files (no CDN), with no policy violation."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PageLog, Server
from tests.e2e.support import ADMIN, login

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]


@pytest.mark.timeout(120, func_only=True)
def test_api_docs_render_from_this_origin(
    new_page: NewPage, server: Server, page_log: PageLog
) -> None:
    page = new_page()
    response = page.goto("/docs", timeout=30_000)  # Swagger UI is a 1.8 MB script
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "'unsafe-inline'" not in policy and "frame-ancestors 'none'" in policy
    # Swagger UI renders the whole API's document: ~2 s alone, over 20 s on a loaded machine
    title = page.get_by_role("heading", name=re.compile(r"^agentdeck "), level=1)
    expect(title).to_be_visible(timeout=60_000)
    expect(page.locator("#operations-operations-healthz")).to_be_visible()  # tag, operation id

    assert page_log.csp_violations == []
    assert page_log.foreign_requests == []
    for path, media_type in (
        ("/swagger/swagger-ui-bundle.js", ("text/javascript", "application/javascript")),
        ("/swagger/swagger-ui.css", ("text/css",)),
        ("/swagger/favicon-32x32.png", ("image/png",)),
    ):
        asset = httpx.get(f"{server.base_url}{path}", timeout=10)
        assert asset.status_code == 200, path
        assert asset.headers["content-type"].split(";")[0] in media_type, path
        assert asset.headers["x-content-type-options"] == "nosniff"


def test_the_ui_runs_under_its_policy(new_page: NewPage, server: Server, page_log: PageLog) -> None:
    """The overview (live WebSocket, topology graph) and the explorer (charts) with their
    scripts, styles and socket allowed by the policy; nothing refused, nothing from elsewhere."""
    with server.api(ADMIN) as api:
        created = api.post(
            "/api/v1/agents",
            json={"name": f"csp-{uuid.uuid4().hex[:8]}", "type": "llm", "dependencies": ["db"]},
        )
        assert created.status_code == 201, created.text
    page = new_page()
    response = page.goto("/login")
    assert response is not None
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    login(page, ADMIN)
    expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "live")
    expect(page.get_by_role("region", name="Topology").locator("canvas").first).to_be_attached()
    page.goto("/explore")
    page.get_by_role("button", name="User menu").wait_for()
    assert page_log.csp_violations == []
    assert page_log.foreign_requests == []

"""The fleet in the browser: a custom agent running a small HTTP script is started from the
agents list, watched on its page (replicas, output), scaled, deployed, rolled back and stopped."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.support import DEVELOPER, SCREENSHOTS, login, shoot

pytestmark = pytest.mark.e2e

NewPage = Callable[..., Page]

#: Serves /healthz on $PORT and says hello with its greeting and version on stdout.
SCRIPT = """
import http.server, os
port = int(os.environ["PORT"])
greeting = os.environ.get("GREETING", "nobody")
version = os.environ.get("AGENTDECK_AGENT_VERSION", "?")
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200 if self.path == "/healthz" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", port), Handler)
print(f"hello {greeting} from version {version} on port {port}", flush=True)
server.serve_forever()
"""

ROLLOUT_TIMEOUT_MS = 30_000


def test_custom_agent_runs_scales_deploys_rolls_back_and_stops(
    new_page: NewPage, server: Server, tmp_path: Path
) -> None:
    script = tmp_path / "hello_agent.py"
    script.write_text(SCRIPT)
    name = f"hello-{uuid.uuid4().hex[:6]}"
    with server.api(DEVELOPER) as api:
        response = api.post(
            "/api/v1/agents",
            json={
                "name": name,
                "type": "custom",
                "version": "1.0.0",
                "replica_count": 1,
                "config": {
                    "command": sys.executable,
                    "args": [str(script)],
                    "env": {"GREETING": "v1"},
                    "health_path": "/healthz",
                },
            },
        )
        assert response.status_code == 201, response.text
        agent_id = response.json()["id"]

    page = new_page()
    login(page, DEVELOPER)
    page.goto("/agents")
    row = page.locator(f'tr[data-agent="{name}"]')
    expect(row.get_by_text("stopped")).to_be_visible()
    row.get_by_role("button", name="Start").click()
    expect(row.locator('[data-replicas="1/1"]')).to_be_visible(timeout=ROLLOUT_TIMEOUT_MS)
    expect(row.locator('[data-status="running"]')).to_be_visible()
    shoot(page, "fleet-01-agents-running", dark_too=False)

    row.get_by_role("link", name=name).click()
    replicas = page.get_by_role("table", name="Replica list")
    expect(replicas.get_by_text("healthy", exact=True)).to_have_count(1)
    output = page.get_by_label("Output lines")
    expect(output).to_contain_text("hello v1 from version 1.0.0", timeout=ROLLOUT_TIMEOUT_MS)
    shoot(page, "fleet-02-agent-running")

    page.get_by_label(f"Replicas of {name}").fill("2")
    page.get_by_role("button", name="Scale").click()
    runtime = page.get_by_role("region", name="Runtime")
    expect(runtime.locator('[data-replicas="2/2"]')).to_be_visible(timeout=ROLLOUT_TIMEOUT_MS)
    expect(replicas.get_by_text("healthy", exact=True)).to_have_count(2)

    history = page.get_by_role("region", name="Deployments")
    history.get_by_role("button", name="Deploy").click()
    dialog = page.get_by_role("form", name="Deploy")
    dialog.get_by_label("Version").fill("2.0.0")
    dialog.get_by_label("Environment").fill("GREETING=v2")
    dialog.get_by_label("Description").fill("a friendlier greeting")
    shoot(page, "fleet-03-deploy-dialog", dark_too=False)
    dialog.get_by_role("button", name="Deploy").click()
    expect(dialog).to_be_hidden()
    deployed = history.locator('tr[data-version="2.0.0"]')
    expect(deployed.locator('[data-status="completed"]')).to_be_visible(timeout=ROLLOUT_TIMEOUT_MS)
    expect(output).to_contain_text("hello v2 from version 2.0.0", timeout=ROLLOUT_TIMEOUT_MS)
    expect(runtime.locator('[data-replicas="2/2"]')).to_be_visible(timeout=ROLLOUT_TIMEOUT_MS)
    deployed.get_by_role("button", name="Diff").click()
    changes = history.get_by_role("table", name="Changes")
    expect(changes.get_by_text("spec.env.GREETING")).to_be_visible()
    shoot(page, "fleet-04-agent-deployed")
    # the picture in docs/fleet.md: the runtime cards in one viewport
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "fleet-docs-agent.png"), animations="disabled")

    deployed.get_by_role("button", name="Roll back").click()
    expect(deployed.locator('[data-status="rolled_back"]')).to_be_visible(
        timeout=ROLLOUT_TIMEOUT_MS
    )
    back = history.locator('tr[data-version="1.0.0"]').first
    expect(back.locator('[data-status="completed"]')).to_be_visible(timeout=ROLLOUT_TIMEOUT_MS)
    expect(page.get_by_label("Details").get_by_text("1.0.0", exact=True)).to_be_visible()
    shoot(page, "fleet-05-agent-rolled-back", dark_too=False)

    page.get_by_role("link", name="Deployments", exact=True).click()
    table = page.get_by_role("table", name="Deployments")
    expect(table.locator('tr[data-version="2.0.0"]').get_by_text("rolled back")).to_be_visible()
    expect(table.get_by_role("link", name=name).first).to_be_visible()
    shoot(page, "fleet-06-deployments")
    table.locator('tr[data-version="2.0.0"]').get_by_role("link", name="2.0.0").click()
    events = page.get_by_role("table", name="Event list")
    expect(events.get_by_text("completed", exact=True).first).to_be_visible()
    shoot(page, "fleet-07-deployment-detail", dark_too=False)

    page.goto(f"/agents/{agent_id}")
    page.get_by_role("region", name="Runtime").get_by_role("button", name="Stop").click()
    expect(page.locator('h1 [data-status="stopped"]')).to_be_visible(timeout=ROLLOUT_TIMEOUT_MS)
    expect(
        page.get_by_role("region", name="Replicas").get_by_text("No replicas run.")
    ).to_be_visible(timeout=ROLLOUT_TIMEOUT_MS)
    shoot(page, "fleet-08-agent-stopped", dark_too=False)

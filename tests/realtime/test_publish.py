"""Publishers: ingested samples reach ``metrics`` subscribers; agent changes reach ``fleet``
and ``agent:<id>``; a failing bus never fails the write."""

from __future__ import annotations

import time
from typing import Any

import httpx

from agentdeck.identity.roles import Role
from tests.conftest import Factory
from tests.realtime.conftest import Start, authed, recv_type, subscribe, token_of


def _http(port: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10)


async def test_a_posted_sample_reaches_a_metrics_subscriber(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server()
    tenant = await factory.tenant()
    viewer = await factory.user(Role.viewer, tenant)
    dev = await factory.user(Role.developer, tenant)
    other = await factory.user(Role.viewer)  # another tenant
    now_ms = int(time.time() * 1000)
    body = {
        "samples": [
            {"name": "agent_tokens_total", "value": 5, "timestamp": now_ms - 2000,
             "labels": {"agent": "bot"}},
            {"name": "agent_tokens_total", "value": 9, "timestamp": now_ms - 1000,
             "labels": {"agent": "bot"}},
            {"name": "agent_tokens_total", "value": 7, "timestamp": now_ms - 1500,
             "labels": {"agent": "bot"}},
            {"name": "agent_up", "value": 1, "labels": {"agent": "bot"}},
        ]
    }  # fmt: skip
    async with (
        authed(server, token_of(viewer)) as ws,
        authed(server, token_of(other)) as stranger,
        _http(server.port) as http,
    ):
        await subscribe(ws, "metrics", interval=0.05)
        await subscribe(stranger, "metrics", interval=0.05)
        response = await http.post("/api/v1/metrics/batch", json=body, headers=dev.headers)
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 4
        samples: dict[str, dict[str, Any]] = {}
        while len(samples) < 2:
            event = await recv_type(ws, "event")
            assert event["channel"] == "metrics"
            samples.update({s["metric"]: s for s in event["data"]["samples"]})
        tokens = samples["agent_tokens_total"]
        assert tokens["value"] == 9  # the newest of the series, not the last sent
        assert tokens["labels"] == {"agent": "bot"}
        assert tokens["ts"].endswith("+00:00")
        assert samples["agent_up"]["value"] == 1
        # the other tenant's subscriber hears nothing of it: its next frame is its own ping
        await stranger.send('{"type": "ping"}')
        assert (await recv_type(stranger, "event", "pong"))["type"] == "pong"


async def test_agent_changes_reach_fleet_and_agent_channels(
    live_server: Start, factory: Factory
) -> None:
    server = await live_server()
    tenant = await factory.tenant()
    viewer = await factory.user(Role.viewer, tenant)
    dev = await factory.user(Role.developer, tenant)
    async with authed(server, token_of(viewer)) as ws, _http(server.port) as http:
        await subscribe(ws, "fleet")
        created = await http.post(
            "/api/v1/agents", json={"name": "bot", "type": "llm"}, headers=dev.headers
        )
        assert created.status_code == 201, created.text
        agent = created.json()
        event = await recv_type(ws, "event")
        assert event["channel"] == "fleet"
        assert event["data"]["action"] == "created"
        assert event["data"]["agent_id"] == agent["id"]
        assert event["data"]["status"] == agent["status"]

        await subscribe(ws, f"agent:{agent['id']}")
        url = f"/api/v1/agents/{agent['id']}"
        # a change that keeps the status goes to the agent's channel only
        patched = await http.patch(url, json={"description": "x"}, headers=dev.headers)
        assert patched.status_code == 200, patched.text
        event = await recv_type(ws, "event")
        assert (event["channel"], event["data"]["action"]) == (f"agent:{agent['id']}", "updated")
        # a status change goes to both
        new_status = "running" if agent["status"] != "running" else "stopped"
        patched = await http.patch(url, json={"status": new_status}, headers=dev.headers)
        assert patched.status_code == 200, patched.text
        seen = {}
        while len(seen) < 2:
            event = await recv_type(ws, "event")
            seen[event["channel"]] = event["data"]
        assert seen["fleet"]["status"] == new_status
        assert seen["fleet"]["previous_status"] == agent["status"]
        assert seen[f"agent:{agent['id']}"] == seen["fleet"]

        deleted = await http.delete(url, headers=dev.headers)
        assert deleted.status_code == 204
        seen = {}
        while len(seen) < 2:
            event = await recv_type(ws, "event")
            seen[event["channel"]] = event["data"]
        assert seen["fleet"]["action"] == "deleted"
        assert seen["fleet"]["status"] is None


async def test_a_failing_bus_does_not_fail_ingest(live_server: Start, factory: Factory) -> None:
    server = await live_server()
    dev = await factory.user(Role.developer)
    await server.bus.close()  # every publish now fails
    async with _http(server.port) as http:
        response = await http.post(
            "/api/v1/metrics/batch",
            json={"samples": [{"name": "agent_up", "value": 1}]},
            headers=dev.headers,
        )
        assert response.status_code == 200, response.text
        assert response.json()["accepted"] == 1

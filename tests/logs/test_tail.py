"""The live tail: WebSocket channel ``logs`` with a LogQL filter; slow readers get `dropped`."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
from websockets.asyncio.client import connect

from agentdeck.identity.roles import Role
from tests.conftest import REDIS_URL, Factory
from tests.logs.conftest import entry
from tests.realtime.conftest import (
    DEADLINE,
    LiveServer,
    Start,
    authed,
    recv,
    recv_type,
    send,
    subscribe,
    token_of,
)


def _http(server: LiveServer) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=30)


async def test_a_line_ingested_during_the_test_reaches_the_tail(
    live_server: Start,
    factory: Factory,
) -> None:
    server = await live_server()
    tenant = await factory.tenant()
    viewer = await factory.user(Role.viewer, tenant)
    key = await factory.api_key(Role.developer, tenant)
    other = await factory.api_key(Role.developer)  # another tenant
    async with _http(server) as http, authed(server, token_of(viewer)) as ws:
        snapshot = await subscribe(ws, "logs", query='{service="api"} |= "timeout"')
        assert snapshot["data"] == {"lines": []}
        # another tenant's matching line never shows up; this tenant's non-matching ones neither
        response = await http.post(
            "/api/v1/logs/batch", json={"entries": [entry("db timeout")]}, headers=other.headers
        )
        assert response.status_code == 200
        response = await http.post(
            "/api/v1/logs/batch",
            json={
                "entries": [
                    entry("all fine"),
                    entry("timeout in worker", service="worker"),
                    entry("upstream timeout", severity="error", labels={"pod": "p1"}),
                ]
            },
            headers=key.headers,
        )
        assert response.status_code == 200
        frame = await recv_type(ws, "event")
    assert frame["channel"] == "logs"
    (line,) = frame["data"]["lines"]
    assert line["message"] == "upstream timeout" and line["severity"] == "ERROR"
    assert line["labels"] == {"pod": "p1"} and line["id"] and line["ts"].endswith("Z")
    assert "dropped" not in frame["data"]


async def test_a_bad_tail_query_is_an_error_frame(
    live_server: Start,
    factory: Factory,
) -> None:
    server = await live_server()
    viewer = await factory.user(Role.viewer)
    async with authed(server, token_of(viewer)) as ws:
        await send(ws, {"type": "subscribe", "channel": "logs", "query": '{service="x"'})
        frame = await recv_type(ws, "error")
        assert frame["code"] == "invalid-query" and "position" in frame["message"]
        snapshot = await subscribe(ws, "logs")  # the connection stays usable
        assert snapshot["channel"] == "logs"


async def test_since_replays_recent_matching_lines_then_goes_live(
    live_server: Start,
    factory: Factory,
) -> None:
    server = await live_server(logs={"tail_queue_lines": 10})
    tenant = await factory.tenant()
    viewer = await factory.user(Role.viewer, tenant)
    key = await factory.api_key(Role.developer, tenant)
    base = time.time_ns() - 60 * 1_000_000_000
    old = [entry("too old timeout", timestamp=base - 1_000_000_000)]
    recent = [entry(f"timeout {i}", timestamp=base + i * 1_000_000) for i in range(12)]
    recent.append(entry("fine", timestamp=base + 10_000_000))  # does not match the query
    async with _http(server) as http, authed(server, token_of(viewer)) as ws:
        response = await http.post(
            "/api/v1/logs/batch", json={"entries": old + recent}, headers=key.headers
        )
        assert response.status_code == 200 and response.json()["accepted"] == 14
        snapshot = await subscribe(ws, "logs", query='|= "timeout"', since=str(base - 1))
        # the newest 10 (the tail's bound) of the 12 matching lines after since, oldest first
        lines = snapshot["data"]["lines"]
        assert [line["message"] for line in lines] == [f"timeout {i}" for i in range(2, 12)]
        assert snapshot["data"]["more"] is True
        response = await http.post(
            "/api/v1/logs/batch", json={"entries": [entry("live timeout")]}, headers=key.headers
        )
        assert response.status_code == 200
        frame = await recv_type(ws, "event")
        assert [line["message"] for line in frame["data"]["lines"]] == ["live timeout"]
        # RFC 3339 works too; nothing after a future since
        snapshot = await subscribe(ws, "logs", since="2999-01-01T00:00:00Z")
        assert snapshot["data"] == {"lines": [], "more": False}


async def test_a_bad_since_is_an_error_frame_naming_it(
    live_server: Start,
    factory: Factory,
) -> None:
    server = await live_server()
    viewer = await factory.user(Role.viewer)
    async with authed(server, token_of(viewer)) as ws:
        for bad in ("yesterday", True, [1]):
            await send(ws, {"type": "subscribe", "channel": "logs", "since": bad})
            frame = await recv_type(ws, "error")
            assert frame["code"] == "invalid-message" and "since" in frame["message"]
        snapshot = await subscribe(ws, "logs")  # the connection stays usable
        assert snapshot["data"] == {"lines": []}


async def test_a_slow_reader_gets_a_dropped_marker_and_the_server_stays_bounded(
    live_server: Start,
    factory: Factory,
) -> None:
    server = await live_server(
        logs={"tail_queue_lines": 10, "tail_frame_lines": 1},
        realtime={"send_queue_size": 4, "heartbeat_seconds": 600},
    )
    tenant = await factory.tenant()
    viewer = await factory.user(Role.viewer, tenant)
    key = await factory.api_key(Role.developer, tenant)
    big = "x" * 60_000
    async with _http(server) as http, connect(server.ws_url, max_queue=1, max_size=None) as ws:
        await send(ws, {"type": "auth", "token": token_of(viewer)})
        assert (await recv(ws))["type"] == "connected"
        await send(ws, {"type": "subscribe", "channel": "logs"})
        assert (await recv(ws))["type"] == "snapshot"
        # 400 lines of 60 kB (24 MB) while this client reads nothing: far more than the
        # socket buffers hold, so the server's tail buffer overflows
        for start in range(0, 400, 50):
            response = await http.post(
                "/api/v1/logs/batch",
                json={"entries": [entry(f"{i} {big}") for i in range(start, start + 50)]},
                headers=key.headers,
            )
            assert response.status_code == 200
            assert response.json()["accepted"] == 50
        subscription = next(iter(server.hub._by_channel[f"tenant:{tenant.id}:logs"].values()))
        assert len(subscription.tail) <= 10  # bounded while the client is stalled
        received: list[int] = []
        dropped = 0
        while not received or received[-1] != 399:
            frame = await asyncio.wait_for(ws.recv(), DEADLINE)
            data = json.loads(frame)
            if data["type"] != "event":
                continue
            dropped += data["data"].get("dropped", 0)
            received += [int(line["message"].split()[0]) for line in data["data"]["lines"]]
        metrics = (await http.get("/metrics")).text
    assert dropped > 0
    assert len(received) + dropped == 400
    assert f"agentdeck_log_tail_dropped_lines_total {float(dropped)}" in metrics
    assert received == sorted(received)
    assert server.app.state.deck.settings.logs.tail_queue_lines == 10


async def test_the_tail_over_the_redis_bus(live_server: Start, factory: Factory) -> None:
    """With Redis the lines travel through it as JSON rows (as between replicas)."""
    server = await live_server(redis_url=REDIS_URL)
    tenant = await factory.tenant()
    viewer = await factory.user(Role.viewer, tenant)
    key = await factory.api_key(Role.developer, tenant)
    async with _http(server) as http, authed(server, token_of(viewer)) as ws:
        await subscribe(ws, "logs", query='{severity="warn"}')
        response = await http.post(
            "/api/v1/logs/batch",
            json={
                "entries": [
                    entry("quiet"),
                    entry("via redis", severity="WARNING", labels={"k": "v"}),
                ]
            },
            headers=key.headers,
        )
        assert response.status_code == 200
        frame = await recv_type(ws, "event")
    (line,) = frame["data"]["lines"]
    assert (line["message"], line["severity"], line["labels"]) == (
        "via redis",
        "WARNING",
        {"k": "v"},
    )

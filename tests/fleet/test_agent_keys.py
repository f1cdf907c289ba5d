"""Each agent the fleet runs gets its own telemetry key: a real replica on a real server sends
its metric and log lines with it; the key is refused for another agent's series, on other
routes, and once the agent is deleted; it is never shown back."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from agentdeck.app.factory import create_app
from agentdeck.audit.models import AuditEntry
from agentdeck.identity.models import Tenant
from agentdeck.identity.roles import Role
from agentdeck.settings import Settings
from tests.conftest import Caller, Factory
from tests.fleet.conftest import FAST_FLEET
from tests.fleet.helpers import AGENTS, act, eventually, replicas, wait_status

#: Reports with the key in its environment, then serves /healthz; prints what it was told.
REPORTER = """
import http.server, json, os, sys, urllib.request, urllib.error
url, key = os.environ.get("AGENTDECK_URL"), os.environ.get("AGENTDECK_API_KEY")
me = os.environ["AGENTDECK_AGENT_NAME"]
def send(path, body, method="POST"):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url + path, data=data, method=method, headers={
        "Authorization": "Bearer " + key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code
def metric(agent):
    return {"samples": [{"name": "keyed_probe", "value": 7, "labels": {"agent": agent}}]}
result = {"has_key": bool(url and key)}
if url and key:
    result["own"] = send("/api/v1/metrics/batch", metric(me))
    result["other"] = send("/api/v1/metrics/batch", metric("someone-else"))
    result["unlabelled"] = send("/api/v1/metrics/batch",
        {"samples": [{"name": "keyed_probe", "value": 1}]})
    result["read"] = send("/api/v1/agents", None, method="GET")
    result["logs"] = send("/api/v1/logs/batch",
        {"entries": [{"message": "sent with my key", "agent": me, "service": me,
                      "severity": "info"}]})
    result["other_logs"] = send("/api/v1/logs/batch",
        {"entries": [{"message": "forged", "agent": "someone-else", "service": "x",
                      "severity": "info"}]})
print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


Serve = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


@pytest.fixture
async def admin(factory: Factory, tenant: Tenant) -> Caller:
    return await factory.user(Role.admin, tenant)


@pytest.fixture
async def serve(settings_factory: Callable[..., Settings]) -> AsyncIterator[Serve]:
    """The app on a real port of 127.0.0.1 (its replicas call it back), loops running."""
    started: list[tuple[uvicorn.Server, asyncio.Task[None], httpx.AsyncClient]] = []

    async def start(**overrides: Any) -> httpx.AsyncClient:
        port = _free_port()
        settings = settings_factory(
            **{"fleet": dict(FAST_FLEET), **overrides},
            server={"host": "127.0.0.1", "port": port},
        )
        app = create_app(settings, run_migrations=False)
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            ws="websockets-sansio",
            lifespan="on",
            log_config=None,
            log_level="warning",
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        await eventually(
            lambda: asyncio.sleep(0, server.started or task.done()),
            bool,
            what="uvicorn started",
        )
        assert server.started, "uvicorn did not start"
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20)
        started.append((server, task, client))
        return client

    yield start
    for server, task, client in reversed(started):
        await client.aclose()
        server.should_exit = True
        await asyncio.wait_for(task, 30)


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(): v.decode() for k, v in pairs}


async def _result(client: httpx.AsyncClient, caller: Caller, agent_id: str) -> dict[str, Any]:
    async def lines() -> list[str]:
        response = await client.get(f"{AGENTS}/{agent_id}/output", headers=caller.headers)
        assert response.status_code == 200, response.text
        return [item["line"] for item in response.json()["items"]]

    found = await eventually(
        lines, lambda ls: any(line.startswith("RESULT ") for line in ls), what="the report"
    )
    line = next(line for line in found if line.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return result


async def test_a_replica_sends_its_own_telemetry_with_its_key_and_nothing_else(
    serve: Serve, dev: Caller, admin: Caller, tmp_path: Path, session: AsyncSession
) -> None:
    client = await serve()
    program = tmp_path / "reporter.py"
    program.write_text(REPORTER)
    created = await client.post(
        AGENTS,
        json={
            "name": "keyed",
            "type": "custom",
            "config": {"command": sys.executable, "args": [str(program)], "health_path": "/"},
        },
        headers=dev.headers,
    )
    assert created.status_code == 201, created.text
    agent_id = created.json()["id"]
    assert (await act(client, dev, agent_id, "start")).status_code == 200
    await wait_status(client, dev, agent_id, "running", ready=1)

    result = await _result(client, dev, agent_id)
    assert result == {
        "has_key": True,
        "own": 200,
        "other": 403,  # another agent's series
        "unlabelled": 403,  # a series of no agent
        "read": 403,  # any route but telemetry ingest
        "logs": 200,
        "other_logs": 403,
    }
    # what it sent is stored under its agent
    query = await client.get(
        "/api/v1/query", params={"query": 'keyed_probe{agent="keyed"}'}, headers=dev.headers
    )
    assert query.status_code == 200, query.text
    assert [r["value"][1] for r in query.json()["data"]["result"]] == ["7"]
    logs = await client.get(
        "/api/v1/logs", params={"query": '{agent="keyed"} |= "my key"'}, headers=dev.headers
    )
    assert [item["message"] for item in logs.json()["items"]] == ["sent with my key"]
    forged = await client.get("/api/v1/query", params={"query": "keyed_probe"}, headers=dev.headers)
    assert {r["metric"]["agent"] for r in forged.json()["data"]["result"]} == {"keyed"}

    # the key is in the replica's environment, and nowhere the API shows
    (replica,) = await replicas(client, dev, agent_id)
    env = _environ(replica["pid"])
    key = env["AGENTDECK_API_KEY"]
    assert key.startswith("adk_") and env["AGENTDECK_URL"] == str(client.base_url).rstrip("/")
    keys = await client.get("/api/v1/api-keys", headers=admin.headers)
    (listed,) = [k for k in keys.json()["items"] if k["agent_id"] == agent_id]
    assert key.startswith(listed["prefix"]) and listed["revoked_at"] is None
    assert listed["role"] == "developer"
    for path in (f"{AGENTS}/{agent_id}", "/api/v1/api-keys", f"{AGENTS}/{agent_id}/deployments"):
        shown = await client.get(path, headers=admin.headers)
        assert shown.status_code == 200 and key not in shown.text
    audit = (
        await session.scalars(select(AuditEntry).where(AuditEntry.action.like("apikey.%")))
    ).all()
    assert [(a.action, a.actor_name) for a in audit] == [("apikey.create", "fleet")]
    assert key not in json.dumps([a.changes for a in audit], default=str)

    # the key works for the agent from outside its process too (the same key) ...
    bearer = {"Authorization": f"Bearer {key}"}
    own = {"samples": [{"name": "keyed_probe", "value": 8, "labels": {"agent": "keyed"}}]}
    assert (await client.post("/api/v1/metrics/batch", json=own, headers=bearer)).status_code == 200
    # ... never for another route or a WebSocket
    assert (await client.get("/api/v1/api-keys", headers=bearer)).status_code == 403
    ws_url = str(client.base_url).replace("http://", "ws://") + "/api/v1/ws"
    async with connect(ws_url) as ws:
        await ws.send(json.dumps({"type": "auth", "token": key}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4001

    # deleting the agent revokes it at once (the principal cache holds no stale entry)
    deleted = await client.delete(f"{AGENTS}/{agent_id}", headers=dev.headers)
    assert deleted.status_code == 204, deleted.text
    after = await client.post("/api/v1/metrics/batch", json=own, headers=bearer)
    assert after.status_code == 401, after.text
    keys = await client.get("/api/v1/api-keys", headers=admin.headers)
    (listed,) = [k for k in keys.json()["items"] if k["id"] == listed["id"]]
    assert listed["revoked_at"] is not None
    actions = await session.scalars(
        select(AuditEntry.action).where(AuditEntry.action == "apikey.revoke")
    )
    assert list(actions) == ["apikey.revoke"]


async def _start(client: httpx.AsyncClient, dev: Caller, program: Path, name: str) -> str:
    created = await client.post(
        AGENTS,
        json={
            "name": name,
            "type": "custom",
            "config": {"command": sys.executable, "args": [str(program)], "health_path": "/"},
        },
        headers=dev.headers,
    )
    assert created.status_code == 201, created.text
    agent_id: str = created.json()["id"]
    assert (await act(client, dev, agent_id, "start")).status_code == 200
    await wait_status(client, dev, agent_id, "running", ready=1)
    return agent_id


async def test_a_replica_killed_from_outside_comes_back_with_the_same_key(
    serve: Serve, dev: Caller, tmp_path: Path
) -> None:
    client = await serve()
    program = tmp_path / "reporter.py"
    program.write_text(REPORTER)
    agent_id = await _start(client, dev, program, "phoenix")
    (first,) = await replicas(client, dev, agent_id)
    key = _environ(first["pid"])["AGENTDECK_API_KEY"]
    os.kill(first["pid"], signal.SIGKILL)
    (second,) = await eventually(
        lambda: replicas(client, dev, agent_id),
        lambda items: (
            len(items) == 1
            and items[0]["pid"] not in (None, first["pid"])
            and items[0]["health"] == "healthy"
        ),
        what="a new replica process",
    )
    assert _environ(second["pid"])["AGENTDECK_API_KEY"] == key
    await act(client, dev, agent_id, "stop")
    await wait_status(client, dev, agent_id, "stopped")


async def test_with_agent_keys_off_a_replica_gets_no_key(
    serve: Serve, dev: Caller, tmp_path: Path
) -> None:
    client = await serve(fleet={**FAST_FLEET, "agent_keys": False})
    program = tmp_path / "reporter.py"
    program.write_text(REPORTER)
    agent_id = await _start(client, dev, program, "keyless")
    assert await _result(client, dev, agent_id) == {"has_key": False}
    (replica,) = await replicas(client, dev, agent_id)
    assert "AGENTDECK_API_KEY" not in _environ(replica["pid"])
    await act(client, dev, agent_id, "stop")
    await wait_status(client, dev, agent_id, "stopped")

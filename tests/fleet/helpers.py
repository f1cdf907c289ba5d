"""Helpers of the fleet tests: agents that run a program, and waiting on conditions."""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.conftest import Caller

AGENTS = "/api/v1/agents"
DEADLINE = 30.0
T = TypeVar("T")


def runtime(program: Path, **fields: Any) -> dict[str, Any]:
    """The config of a custom agent running ``program`` with this Python."""
    return {"command": sys.executable, "args": [str(program)], **fields}


async def create_agent(
    client: httpx.AsyncClient,
    caller: Caller,
    program: Path,
    *,
    name: str | None = None,
    replicas: int = 1,
    health_path: str | None = "/healthz",
    **fields: Any,
) -> dict[str, Any]:
    config = runtime(program, **({"health_path": health_path} if health_path else {}))
    config.update(fields.pop("config", {}))
    response = await client.post(
        AGENTS,
        json={
            "name": name or f"a-{uuid.uuid4().hex[:8]}",
            "type": "custom",
            "config": config,
            "replica_count": replicas,
            **fields,
        },
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def act(
    client: httpx.AsyncClient, caller: Caller, agent_id: str, action: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{AGENTS}/{agent_id}/{action}", json=body or None, headers=caller.headers
    )


async def eventually(
    probe: Callable[[], Awaitable[T]],
    check: Callable[[T], bool],
    *,
    deadline: float = DEADLINE,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until ``check`` holds for its value; fail with the last value at the
    deadline (a condition with a deadline, never a guessed sleep)."""
    end = time.monotonic() + deadline
    while True:
        value = await probe()
        if check(value):
            return value
        assert time.monotonic() < end, f"{what} not met within {deadline} s; last: {value!r}"
        await asyncio.sleep(0.05)


async def agent(client: httpx.AsyncClient, caller: Caller, agent_id: str) -> dict[str, Any]:
    response = await client.get(f"{AGENTS}/{agent_id}", headers=caller.headers)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


async def wait_status(
    client: httpx.AsyncClient,
    caller: Caller,
    agent_id: str,
    status: str,
    *,
    ready: int | None = None,
    deadline: float = DEADLINE,
) -> dict[str, Any]:
    def ok(data: dict[str, Any]) -> bool:
        return data["status"] == status and (
            ready is None or data["health"]["replicas"]["ready"] == ready
        )

    return await eventually(
        lambda: agent(client, caller, agent_id),
        ok,
        deadline=deadline,
        what=f"status {status} (ready {ready})",
    )


async def replicas(
    client: httpx.AsyncClient, caller: Caller, agent_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"{AGENTS}/{agent_id}/replicas", headers=caller.headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


async def wait_gone(pids: list[int], deadline: float = DEADLINE) -> None:
    await eventually(
        lambda: _alive(pids), lambda alive: not alive, deadline=deadline, what="processes gone"
    )


async def _alive(pids: list[int]) -> list[int]:
    return [p for p in pids if pid_alive(p)]


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["type"] == f"/problems/{kind}", problem
    return problem

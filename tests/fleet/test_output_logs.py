"""What a supervised replica prints is searchable in the logs, filed under its agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import Caller
from tests.fleet.helpers import act, create_agent, eventually, wait_status


async def _lines(client: httpx.AsyncClient, caller: Caller, query: str) -> list[dict[str, Any]]:
    response = await client.get(
        "/api/v1/logs", params={"query": query, "limit": 100}, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_replica_output_reaches_the_logs_with_agent_replica_and_stream(
    fleet_client: httpx.AsyncClient, dev: Caller, viewer: Caller, programs: dict[str, Path]
) -> None:
    created = await create_agent(fleet_client, dev, programs["server"], name="chatty")
    await act(fleet_client, dev, created["id"], "start")
    await wait_status(fleet_client, dev, created["id"], "running", ready=1)

    lines = await eventually(
        lambda: _lines(fleet_client, viewer, '{agent="chatty"}'),
        lambda items: {item["labels"].get("stream") for item in items} >= {"stdout", "stderr"},
    )
    for item in lines:
        assert item["service"] == "chatty" and item["agent"] == "chatty"
        assert item["labels"]["agent_id"] == created["id"]
        assert item["labels"]["replica"].startswith("chatty-")
        expected = "ERROR" if item["labels"]["stream"] == "stderr" else "INFO"
        assert item["severity"] == expected
    stdout = await _lines(fleet_client, viewer, '{agent="chatty", stream="stdout"} |= "hello"')
    assert stdout and all(item["message"].startswith("hello") for item in stdout)
    await act(fleet_client, dev, created["id"], "stop")

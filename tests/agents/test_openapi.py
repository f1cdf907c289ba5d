"""The agent routes in the OpenAPI document: operation ids and documented headers."""

from __future__ import annotations

import httpx


async def test_operation_ids_and_etag_headers(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert paths["/api/v1/agents"]["get"]["operationId"] == "list_agents"
    assert paths["/api/v1/agents"]["post"]["operationId"] == "create_agent"
    item = paths["/api/v1/agents/{agent_id}"]
    assert item["get"]["operationId"] == "get_agent"
    assert item["patch"]["operationId"] == "update_agent"
    assert item["delete"]["operationId"] == "delete_agent"
    assert "304" in item["get"]["responses"]
    assert "ETag" in item["get"]["responses"]["200"]["headers"]
    assert "Location" in paths["/api/v1/agents"]["post"]["responses"]["201"]["headers"]
    assert {p["name"] for p in item["patch"]["parameters"]} >= {"agent_id", "if-match"}

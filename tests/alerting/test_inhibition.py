"""The inhibition rules API."""

from __future__ import annotations

import httpx

from agentdeck.identity.roles import Role
from tests.conftest import Caller, Factory

CRIT = [{"name": "severity", "op": "=", "value": "critical"}]
WARN = [{"name": "severity", "op": "=~", "value": "warning|info"}]


async def test_inhibition_rules_crud_validation_and_tenancy(
    api: httpx.AsyncClient, dev: Caller, factory: Factory
) -> None:
    h = dev.headers
    made = await api.post(
        "/api/v1/inhibition-rules",
        json={
            "name": "crit-mutes-warn",
            "source_matchers": CRIT,
            "target_matchers": WARN,
            "equal": ["agent"],
        },
        headers=h,
    )
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    assert made.json()["equal"] == ["agent"]
    for body, field in [
        ({"name": "a", "source_matchers": [], "target_matchers": WARN}, "source_matchers"),
        (
            {
                "name": "b",
                "source_matchers": CRIT,
                "target_matchers": [{"name": "x", "op": "!~", "value": "["}],
            },
            "target_matchers",
        ),
        (
            {"name": "c", "source_matchers": CRIT, "target_matchers": WARN, "equal": ["no good"]},
            "equal",
        ),
    ]:
        response = await api.post("/api/v1/inhibition-rules", json=body, headers=h)
        assert response.status_code == 422, body
        assert field in response.json()["errors"][0]["loc"]
    dup = await api.post(
        "/api/v1/inhibition-rules",
        json={"name": "crit-mutes-warn", "source_matchers": CRIT, "target_matchers": WARN},
        headers=h,
    )
    assert dup.status_code == 409

    off = await api.patch(f"/api/v1/inhibition-rules/{rid}", json={"enabled": False}, headers=h)
    assert off.json()["enabled"] is False
    listed = await api.get("/api/v1/inhibition-rules?enabled=false", headers=h)
    assert [r["id"] for r in listed.json()["items"]] == [rid]

    outsider = await factory.user(Role.admin)
    assert (
        await api.get(f"/api/v1/inhibition-rules/{rid}", headers=outsider.headers)
    ).status_code == 404
    assert (
        await api.delete(f"/api/v1/inhibition-rules/{rid}", headers=outsider.headers)
    ).status_code == 404
    assert (await api.get("/api/v1/inhibition-rules", headers=outsider.headers)).json()[
        "items"
    ] == []

    assert (await api.delete(f"/api/v1/inhibition-rules/{rid}", headers=h)).status_code == 204
    assert (await api.get(f"/api/v1/inhibition-rules/{rid}", headers=h)).status_code == 404

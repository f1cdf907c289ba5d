"""Receivers, escalation policies and inhibition rules: every change is in the audit log, and
another tenant's inhibition rules can be neither read nor changed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from agentdeck.identity.roles import Role
from tests.alerting.routing_fixtures import World
from tests.conftest import Caller, Factory

MATCHERS = {
    "source_matchers": [{"name": "severity", "op": "=", "value": "critical"}],
    "target_matchers": [{"name": "severity", "op": "=", "value": "warning"}],
}


async def _body(
    api: httpx.AsyncClient, admin: Caller, world: World, kind: str, name: str
) -> dict[str, Any]:
    channels = [str((await world.channel()).id)]
    if kind == "escalation_policy":
        made = await api.post(
            "/api/v1/receivers",
            json={"name": "pager", "channel_ids": channels},
            headers=admin.headers,
        )
        assert made.status_code == 201, made.text
        level = {"after_seconds": 60, "receiver_ids": [made.json()["id"]]}
        return {"name": name, "levels": [level]}
    if kind == "inhibition_rule":
        return {"name": name, **MATCHERS}
    return {"name": name, "channel_ids": channels}


@pytest.mark.parametrize(
    ("kind", "url"),
    [
        ("receiver", "/api/v1/receivers"),
        ("escalation_policy", "/api/v1/escalation-policies"),
        ("inhibition_rule", "/api/v1/inhibition-rules"),
    ],
)
async def test_create_rename_and_delete_are_audited_with_before_and_after(
    api: httpx.AsyncClient, admin: Caller, world: World, kind: str, url: str
) -> None:
    h = admin.headers
    made = await api.post(url, json=await _body(api, admin, world, kind, "first"), headers=h)
    assert made.status_code == 201, made.text
    ident = made.json()["id"]
    renamed = await api.patch(f"{url}/{ident}", json={"name": "second"}, headers=h)
    assert renamed.status_code == 200, renamed.text
    assert (await api.delete(f"{url}/{ident}", headers=h)).status_code == 204

    log = await api.get("/api/v1/audit-log", params={"resource_type": kind, "limit": 50}, headers=h)
    assert log.status_code == 200, log.text
    entries = {e["action"]: e for e in log.json()["items"] if e["resource_id"] == ident}
    assert set(entries) == {f"{kind}.create", f"{kind}.update", f"{kind}.delete"}
    assert entries[f"{kind}.create"]["changes"]["after"]["name"] == "first"
    assert entries[f"{kind}.update"]["changes"] == {
        "before": {"name": "first"},
        "after": {"name": "second"},
    }
    assert entries[f"{kind}.delete"]["changes"]["before"]["name"] == "second"
    assert all(e["actor"]["id"] == str(admin.user_id) for e in entries.values())


async def test_other_tenants_inhibition_rules_are_invisible_and_unchangeable(
    api: httpx.AsyncClient, admin: Caller, factory: Factory
) -> None:
    made = await api.post(
        "/api/v1/inhibition-rules", json={"name": "mine", **MATCHERS}, headers=admin.headers
    )
    assert made.status_code == 201, made.text
    url = f"/api/v1/inhibition-rules/{made.json()['id']}"
    outsider = await factory.user(Role.admin)
    assert (await api.get(url, headers=outsider.headers)).status_code == 404
    patched = await api.patch(url, json={"name": "stolen"}, headers=outsider.headers)
    assert patched.status_code == 404
    assert (await api.delete(url, headers=outsider.headers)).status_code == 404
    listed = await api.get("/api/v1/inhibition-rules", headers=outsider.headers)
    assert listed.json()["items"] == []
    # the owner still has it, unchanged
    mine = await api.get(url, headers=admin.headers)
    assert mine.status_code == 200
    assert mine.json()["name"] == "mine"

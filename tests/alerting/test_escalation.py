"""Receivers and escalation policies API: validation, references, in-use protection, tenancy."""

from __future__ import annotations

import uuid

import httpx

from agentdeck.identity.roles import Role
from tests.alerting.routing_fixtures import World
from tests.conftest import Caller, Factory


async def test_receivers_and_escalation_policies_crud(
    api: httpx.AsyncClient, admin: Caller, world: World
) -> None:
    h = admin.headers
    channel = await world.channel("slack")
    made = await api.post(
        "/api/v1/receivers", json={"name": "oncall", "channel_ids": [str(channel.id)]}, headers=h
    )
    assert made.status_code == 201, made.text
    rid = made.json()["id"]
    dup = await api.post(
        "/api/v1/receivers", json={"name": "oncall", "channel_ids": [str(channel.id)]}, headers=h
    )
    assert dup.status_code == 409
    # A receiver notifies somewhere: no channels is refused, naming the field.
    for body in ({"name": "empty"}, {"name": "empty", "channel_ids": []}):
        empty = await api.post("/api/v1/receivers", json=body, headers=h)
        assert empty.status_code == 422, empty.text
        assert empty.headers["content-type"].startswith("application/problem+json")
        assert empty.json()["errors"][0]["loc"] == ["body", "channel_ids"]
    emptied = await api.patch(f"/api/v1/receivers/{rid}", json={"channel_ids": []}, headers=h)
    assert emptied.status_code == 422, emptied.text
    assert emptied.json()["errors"][0]["loc"] == ["body", "channel_ids"]
    bad = await api.post(
        "/api/v1/receivers", json={"name": "x", "channel_ids": [str(uuid.uuid4())]}, headers=h
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == ["body", "channel_ids", 0]

    policy = await api.post(
        "/api/v1/escalation-policies",
        json={
            "name": "p1",
            "levels": [
                {"after_seconds": 300, "receiver_ids": [rid]},
                {"after_seconds": 900, "receiver_ids": [rid]},
            ],
        },
        headers=h,
    )
    assert policy.status_code == 201, policy.text
    pid = policy.json()["id"]
    unordered = await api.post(
        "/api/v1/escalation-policies",
        json={
            "name": "p2",
            "levels": [
                {"after_seconds": 900, "receiver_ids": [rid]},
                {"after_seconds": 300, "receiver_ids": [rid]},
            ],
        },
        headers=h,
    )
    assert unordered.status_code == 422
    assert unordered.json()["errors"][0]["loc"][:2] == ["body", "levels"]
    unknown = await api.post(
        "/api/v1/escalation-policies",
        json={"name": "p3", "levels": [{"after_seconds": 60, "receiver_ids": [str(uuid.uuid4())]}]},
        headers=h,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["body", "levels", 0, "receiver_ids", 0]

    tree = {
        "receiver_id": rid,
        "routes": [
            {"escalation_policy_id": pid, "matchers": [{"name": "a", "op": "=", "value": "b"}]}
        ],
    }
    assert (await api.put("/api/v1/notification-policy", json=tree, headers=h)).status_code == 200
    in_use = await api.delete(f"/api/v1/receivers/{rid}", headers=h)
    assert in_use.status_code == 409
    assert "route root" in in_use.json()["detail"]
    assert (await api.delete(f"/api/v1/escalation-policies/{pid}", headers=h)).status_code == 409

    renamed = await api.patch(f"/api/v1/receivers/{rid}", json={"name": "primary"}, headers=h)
    assert renamed.json()["name"] == "primary"
    listed = await api.get("/api/v1/receivers?q=prim", headers=h)
    assert [r["id"] for r in listed.json()["items"]] == [rid]
    disabled = await api.patch(
        f"/api/v1/escalation-policies/{pid}", json={"enabled": False}, headers=h
    )
    assert disabled.json()["enabled"] is False
    assert [
        p["id"]
        for p in (await api.get("/api/v1/escalation-policies?enabled=false", headers=h)).json()[
            "items"
        ]
    ] == [pid]

    assert (await api.put("/api/v1/notification-policy", json={}, headers=h)).status_code == 200
    assert (await api.delete(f"/api/v1/escalation-policies/{pid}", headers=h)).status_code == 204
    assert (await api.delete(f"/api/v1/receivers/{rid}", headers=h)).status_code == 204
    assert (await api.get(f"/api/v1/receivers/{rid}", headers=h)).status_code == 404


async def test_other_tenants_receivers_and_policies_are_invisible(
    api: httpx.AsyncClient, admin: Caller, factory: Factory, world: World
) -> None:
    channel = await world.channel("slack")
    made = await api.post(
        "/api/v1/receivers",
        json={"name": "mine", "channel_ids": [str(channel.id)]},
        headers=admin.headers,
    )
    rid = made.json()["id"]
    outsider = await factory.user(Role.admin)
    assert (await api.get(f"/api/v1/receivers/{rid}", headers=outsider.headers)).status_code == 404
    patched = await api.patch(
        f"/api/v1/receivers/{rid}", json={"name": "stolen"}, headers=outsider.headers
    )
    assert patched.status_code == 404
    assert (await api.get("/api/v1/receivers", headers=outsider.headers)).json()["items"] == []
    # a level may not name another tenant's receiver
    foreign = await api.post(
        "/api/v1/escalation-policies",
        json={"name": "x", "levels": [{"after_seconds": 1, "receiver_ids": [rid]}]},
        headers=outsider.headers,
    )
    assert foreign.status_code == 422


async def test_unknown_references_are_named_where_they_stand(
    api: httpx.AsyncClient, admin: Caller, factory: Factory, world: World
) -> None:
    h = admin.headers
    mine = await world.channel("mine")
    outsider = await factory.user(Role.admin)
    theirs = await api.post(
        "/api/v1/receivers",
        json={"name": "theirs", "channel_ids": [str(mine.id)]},
        headers=h,
    )
    missing, other = str(uuid.uuid4()), str(uuid.uuid4())
    # each unknown channel once, at its place among the distinct ids; another tenant's counts
    bad = await api.post(
        "/api/v1/receivers",
        json={"name": "x", "channel_ids": [missing, missing, str(mine.id), other]},
        headers=outsider.headers,
    )
    assert bad.status_code == 422, bad.text
    problem = bad.json()
    assert problem["detail"] == "unknown notification channels"
    assert [(e["loc"], e["type"], e["message"]) for e in problem["errors"]] == [
        (["body", "channel_ids", 0], "unknown-channel", f"channel {missing} does not exist"),
        (["body", "channel_ids", 1], "unknown-channel", f"channel {mine.id} does not exist"),
        (["body", "channel_ids", 2], "unknown-channel", f"channel {other} does not exist"),
    ]
    # each unknown receiver wherever a level names it
    rid = theirs.json()["id"]
    levels = [
        {"after_seconds": 60, "receiver_ids": [missing]},
        {"after_seconds": 120, "receiver_ids": [rid, missing]},
    ]
    unknown = await api.post(
        "/api/v1/escalation-policies",
        json={"name": "p", "levels": levels},
        headers=outsider.headers,
    )
    assert unknown.status_code == 422, unknown.text
    problem = unknown.json()
    assert problem["detail"] == "unknown receivers"
    assert [(e["loc"], e["type"], e["message"]) for e in problem["errors"]] == [
        (
            ["body", "levels", 0, "receiver_ids", 0],
            "unknown-receiver",
            f"receiver {missing} does not exist",
        ),
        (
            ["body", "levels", 1, "receiver_ids", 0],
            "unknown-receiver",
            f"receiver {rid} does not exist",
        ),
        (
            ["body", "levels", 1, "receiver_ids", 1],
            "unknown-receiver",
            f"receiver {missing} does not exist",
        ),
    ]
    # the tenant's own receiver is known
    own = [{"after_seconds": 60, "receiver_ids": [rid]}]
    made = await api.post(
        "/api/v1/escalation-policies", json={"name": "p", "levels": own}, headers=h
    )
    assert made.status_code == 201, made.text

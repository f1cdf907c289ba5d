"""`GET /api/v1/alerts/{id}/trace` explains each decision in order, with delivery outcomes."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from agentdeck.identity.roles import Role
from agentdeck.notify.models import NotificationDelivery, NotificationOutbox
from tests.alerting.routing_fixtures import World, at
from tests.conftest import Factory


async def test_trace_lists_route_group_silence_and_delivery(
    world: World, api: httpx.AsyncClient, factory: Factory
) -> None:
    channel = await world.channel("pager")
    receiver = await world.receiver(channel, name="oncall")
    await world.tree({"receiver_id": str(receiver.id), "group_wait_seconds": 30})
    silence = await world.silence([{"name": "team", "op": "=", "value": "db"}], at(-1), at(60))
    a = await world.alert({"name": "a", "team": "db"})
    await world.tick(at(0))
    await world.tick(at(30))
    await world.end_silence(silence, at(40))
    await world.tick(at(41))
    async with world.sessions() as session:
        outbox = (await session.scalars(select(NotificationOutbox))).one()
        session.add(
            NotificationDelivery(
                tenant_id=world.tenant_id,
                outbox_id=outbox.id,
                channel_id=channel.id,
                alert_id=a.id,
                attempt=1,
                status="rate_limited",
                at=at(42),
            )
        )
        session.add(
            NotificationDelivery(
                tenant_id=world.tenant_id,
                outbox_id=outbox.id,
                channel_id=channel.id,
                alert_id=a.id,
                attempt=2,
                status="success",
                response_code=200,
                at=at(50),
            )
        )
        await session.commit()

    viewer = await factory.user(Role.viewer, world.tenant)
    response = await api.get(f"/api/v1/alerts/{a.id}/trace", headers=viewer.headers)
    assert response.status_code == 200, response.text
    steps = [s["step"] for s in response.json()["steps"]]
    assert steps == [
        "silenced",
        "route",
        "group",
        "unsilenced",
        "group",
        "enqueued",
        "rate-limited",
        "delivered",
    ]
    by_step = {s["step"]: s for s in response.json()["steps"]}
    assert "oncall" in by_step["route"]["message"]
    assert str(silence.id) in by_step["silenced"]["message"]
    assert by_step["enqueued"]["data"]["dedup_key"] == outbox.dedup_key
    assert by_step["enqueued"]["data"]["channel_ids"] == [str(channel.id)]
    assert "pager" in by_step["delivered"]["message"]
    assert by_step["delivered"]["data"]["response_code"] == 200


async def test_trace_of_another_tenants_alert_is_not_found(
    world: World, api: httpx.AsyncClient, factory: Factory
) -> None:
    a = await world.alert({"name": "a"})
    outsider = await factory.user(Role.admin)
    response = await api.get(f"/api/v1/alerts/{a.id}/trace", headers=outsider.headers)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    bad = await api.get("/api/v1/alerts/not-a-uuid/trace", headers=outsider.headers)
    assert bad.status_code == 404

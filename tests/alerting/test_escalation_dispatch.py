"""Escalation in the dispatcher: levels by unacknowledged time, ack stops, resolve notifies
every level that was notified."""

from __future__ import annotations

from typing import Any

from agentdeck.alerting.models import AlertStatus
from tests.alerting.routing_fixtures import World, at


async def _setup(world: World) -> dict[str, Any]:
    team = await world.channel("team")
    lead = await world.channel("lead")
    boss = await world.channel("boss")
    team_r = await world.receiver(team, name="team")
    lead_r = await world.receiver(lead, name="lead")
    boss_r = await world.receiver(boss, name="boss")
    policy = await world.escalation([(300, lead_r), (900, boss_r)])
    await world.tree(
        {
            "receiver_id": str(team_r.id),
            "group_wait_seconds": 0,
            "routes": [
                {
                    "matchers": [{"name": "severity", "op": "=", "value": "critical"}],
                    "escalation_policy_id": str(policy.id),
                }
            ],
        }
    )
    return {"team": team.id, "lead": lead.id, "boss": boss.id}


def _by_channel(rows: list[Any], ids: dict[str, Any]) -> list[tuple[str, str]]:
    names = {v: k for k, v in ids.items()}
    return [(names[r.channel_id], r.event) for r in rows]


async def test_unacknowledged_alert_escalates_level_by_level_then_resolve_notifies_all(
    world: World,
) -> None:
    ids = await _setup(world)
    a = await world.alert({"name": "down", "severity": "critical"}, starts_at=at(0))
    await world.tick(at(0))
    await world.tick(at(299))
    assert _by_channel(await world.outbox(), ids) == [("team", "firing")]
    await world.tick(at(300))
    assert _by_channel(await world.outbox(), ids)[1:] == [("lead", "escalation")]
    row = await world.reload(a)
    assert row.escalation_level == 1
    assert row.escalated_at == at(300)
    await world.tick(at(600))
    assert len(await world.outbox()) == 2
    await world.tick(at(900))
    assert _by_channel(await world.outbox(), ids)[2:] == [("boss", "escalation")]
    assert (await world.reload(a)).escalation_level == 2
    assert [e.data["level"] for e in await world.events(a, "escalated")] == [1, 2]

    await world.set_status(a, AlertStatus.resolved, at(1000))
    await world.tick(at(1000))
    await world.tick(at(1400))
    resolved = sorted(c for c, e in _by_channel(await world.outbox(), ids) if e == "resolved")
    assert resolved == ["boss", "lead", "team"]
    await world.tick(at(2000))
    assert len(await world.outbox()) == 6


async def test_acknowledging_stops_escalation(world: World) -> None:
    ids = await _setup(world)
    a = await world.alert({"name": "down", "severity": "critical"}, starts_at=at(0))
    await world.tick(at(0))
    await world.tick(at(300))
    await world.set_status(a, AlertStatus.acknowledged, at(400))
    await world.tick(at(900))
    await world.tick(at(5000))
    channels = [c for c, _ in _by_channel(await world.outbox(), ids)]
    assert "boss" not in channels
    assert (await world.reload(a)).escalation_level == 1


async def test_escalation_only_on_routes_that_name_a_policy(world: World) -> None:
    ids = await _setup(world)
    await world.alert({"name": "slow", "severity": "warning"}, starts_at=at(0))
    await world.tick(at(0))
    await world.tick(at(1000))
    assert _by_channel(await world.outbox(), ids) == [("team", "firing")]

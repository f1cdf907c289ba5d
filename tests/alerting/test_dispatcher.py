"""The dispatcher's grouping and timing, driven by an explicit clock; replay idempotency."""

from __future__ import annotations

from agentdeck.alerting.models import AlertStatus
from tests.alerting.routing_fixtures import World, at, sent_alerts


async def _route_all(world: World, **timing: float) -> tuple[object, object]:
    channel = await world.channel()
    receiver = await world.receiver(channel)
    await world.tree({"receiver_id": str(receiver.id), "group_by": ["team"], **timing})
    return channel, receiver


async def test_group_wait_then_batched_group_interval_then_repeat(world: World) -> None:
    channel, _ = await _route_all(
        world, group_wait_seconds=30, group_interval_seconds=300, repeat_interval_seconds=3600
    )
    a = await world.alert({"name": "a", "team": "db"}, starts_at=at(0))
    await world.tick(at(0))
    await world.tick(at(29))
    assert await world.outbox() == []  # still inside group_wait

    b = await world.alert({"name": "b", "team": "db"}, starts_at=at(10))
    await world.tick(at(30))
    rows = await world.outbox()
    assert len(rows) == 1
    assert rows[0].channel_id == channel.id  # type: ignore[attr-defined]
    assert sorted(sent_alerts(rows[0])) == [("a", "firing"), ("b", "firing")]
    assert rows[0].payload["groupLabels"] == {"team": "db"}
    assert rows[0].payload["commonLabels"] == {
        "alertname": "TestAlert",
        "severity": "warning",
        "team": "db",
    }
    assert rows[0].payload["version"] == "4"
    assert rows[0].payload["agentdeck"]["event"] == "firing"
    assert set(rows[0].payload["agentdeck"]["alert_ids"]) == {str(a.id), str(b.id)}

    # a third alert joins an existing group: it waits for group_interval, not group_wait
    await world.alert({"name": "c", "team": "db"}, starts_at=at(60))
    await world.tick(at(60))
    await world.tick(at(329))
    assert len(await world.outbox()) == 1
    await world.tick(at(330))
    rows = await world.outbox()
    assert len(rows) == 2
    assert sorted(sent_alerts(rows[1])) == [("a", "firing"), ("b", "firing"), ("c", "firing")]

    # nothing changed: no notification until repeat_interval after the last one, checked at
    # group interval flushes (as Alertmanager): flushes at 630, 3929 (+300 -> 4229) send nothing
    await world.tick(at(630))
    await world.tick(at(330 + 3599))
    await world.tick(at(4228))
    assert len(await world.outbox()) == 2
    await world.tick(at(4229))
    rows = await world.outbox()
    assert len(rows) == 3
    assert sorted(sent_alerts(rows[2])) == [("a", "firing"), ("b", "firing"), ("c", "firing")]
    assert rows[2].dedup_key != rows[1].dedup_key


async def test_separate_groups_per_group_by_value(world: World) -> None:
    await _route_all(world, group_wait_seconds=0)
    await world.alert({"name": "a", "team": "db"})
    await world.alert({"name": "b", "team": "web"})
    await world.tick(at(0))
    rows = await world.outbox()
    assert sorted(r.payload["groupLabels"]["team"] for r in rows) == ["db", "web"]


async def test_resolved_alert_notifies_resolved_then_group_goes_quiet(world: World) -> None:
    await _route_all(world, group_wait_seconds=0, group_interval_seconds=60)
    a = await world.alert({"name": "a", "team": "db"})
    await world.tick(at(0))
    await world.set_status(a, AlertStatus.resolved, at(20))
    await world.tick(at(30))
    assert len(await world.outbox()) == 1  # the resolve waits for the group interval
    await world.tick(at(60))
    rows = await world.outbox()
    assert len(rows) == 2
    assert rows[1].event == "resolved"
    assert sent_alerts(rows[1]) == [("a", "resolved")]
    assert rows[1].payload["status"] == "resolved"
    await world.tick(at(120))
    await world.tick(at(5 * 3600))
    assert len(await world.outbox()) == 2


async def test_alert_resolved_before_first_notification_sends_nothing(world: World) -> None:
    await _route_all(world, group_wait_seconds=30)
    a = await world.alert({"name": "a", "team": "db"})
    await world.tick(at(0))
    await world.set_status(a, AlertStatus.resolved, at(10))
    await world.tick(at(30))
    await world.tick(at(400))
    assert await world.outbox() == []


async def test_no_receiver_means_no_notification(world: World) -> None:
    await world.channel()
    await world.alert({"name": "a"})
    await world.tick(at(0))
    await world.tick(at(3600))
    assert await world.outbox() == []


async def test_replaying_a_tick_queues_nothing_twice(world: World) -> None:
    """Two dispatchers (or one replaying after a crash) reading the same durable state compute
    the same dedup keys, so the outbox holds each notification once."""
    await _route_all(world, group_wait_seconds=0)
    await world.alert({"name": "a", "team": "db"})
    await world.tick(at(0))
    first = await world.outbox()
    assert len(first) == 1

    # replay: restore the group state as it was before the tick, run the same tick again
    from sqlalchemy import delete

    from agentdeck.alerting.dispatch.models import AlertDispatch, NotificationGroup

    async with world.sessions() as session:
        await session.execute(delete(NotificationGroup))
        await session.execute(delete(AlertDispatch))
        await session.commit()
    await world.tick(at(0))
    await world.tick(at(0))
    again = await world.outbox()
    assert [(r.channel_id, r.dedup_key) for r in again] == [
        (r.channel_id, r.dedup_key) for r in first
    ]


async def test_rule_channels_notify_directly_firing_then_resolved(world: World) -> None:
    direct = await world.channel("direct")
    rule = await world.rule("HighCPU", [direct.id])
    a = await world.alert({"agent": "x"}, rule=rule)
    await world.tick(at(0))
    rows = await world.outbox()
    assert [(r.channel_id, r.event) for r in rows] == [(direct.id, "firing")]
    await world.tick(at(5))
    assert len(await world.outbox()) == 1
    await world.set_status(a, AlertStatus.resolved, at(10))
    await world.tick(at(10))
    rows = await world.outbox()
    assert [(r.channel_id, r.event) for r in rows] == [
        (direct.id, "firing"),
        (direct.id, "resolved"),
    ]


async def test_disabled_and_unknown_channels_are_skipped(world: World) -> None:
    off = await world.channel(enabled=False)
    on = await world.channel()
    receiver = await world.receiver(off, on)
    await world.tree({"receiver_id": str(receiver.id), "group_wait_seconds": 0})
    await world.alert({"name": "a"})
    await world.tick(at(0))
    assert [r.channel_id for r in await world.outbox()] == [on.id]

"""Silences in the dispatcher, including the two guarantees beyond Alertmanager."""

from __future__ import annotations

from agentdeck.alerting.models import AlertStatus
from tests.alerting.routing_fixtures import World, at, sent_alerts

DB = [{"name": "team", "op": "=", "value": "db"}]


async def _setup(world: World) -> None:
    channel = await world.channel()
    receiver = await world.receiver(channel)
    await world.tree(
        {"receiver_id": str(receiver.id), "group_wait_seconds": 0, "group_interval_seconds": 60}
    )


async def test_silenced_alert_is_not_notified_and_marked(world: World) -> None:
    await _setup(world)
    silence = await world.silence(DB, at(-10), at(3600))
    a = await world.alert({"name": "a", "team": "db"})
    b = await world.alert({"name": "b", "team": "web"})
    await world.tick(at(0))
    rows = await world.outbox()
    assert [sent_alerts(r) for r in rows] == [[("b", "firing")]]
    assert (await world.reload(a)).silenced_by == [str(silence.id)]
    assert (await world.reload(b)).silenced_by == []
    assert [e.kind for e in await world.events(a, "silenced")] == ["silenced"]


async def test_pending_silence_does_not_mute_until_it_starts(world: World) -> None:
    await _setup(world)
    await world.silence(DB, at(100), at(3600))
    await world.alert({"name": "a", "team": "db"})
    await world.tick(at(0))
    assert len(await world.outbox()) == 1


async def test_still_firing_when_silence_ends_notifies_at_once(world: World) -> None:
    await _setup(world)
    silence = await world.silence(DB, at(-10), at(3600))
    a = await world.alert({"name": "a", "team": "db"})
    await world.tick(at(0))
    await world.tick(at(60))
    assert await world.outbox() == []
    await world.end_silence(silence, at(75))  # expired early
    await world.tick(at(76))  # the group's next flush would be at 120
    rows = await world.outbox()
    assert [sent_alerts(r) for r in rows] == [[("a", "firing")]]
    assert (await world.reload(a)).silenced_by == []
    assert [e.kind for e in await world.events(a, "unsilenced")] == ["unsilenced"]


async def test_resolve_is_never_lost_to_a_silence(world: World) -> None:
    await _setup(world)
    a = await world.alert({"name": "a", "team": "db"})
    await world.tick(at(0))
    assert len(await world.outbox()) == 1
    await world.silence(DB, at(10), at(3600))
    await world.tick(at(10))
    await world.tick(at(60))
    assert len(await world.outbox()) == 1  # silenced: no repeat, nothing new
    await world.set_status(a, AlertStatus.resolved, at(70))
    await world.tick(at(120))
    rows = await world.outbox()
    assert len(rows) == 2
    assert rows[1].event == "resolved"
    assert sent_alerts(rows[1]) == [("a", "resolved")]


async def test_silenced_from_start_then_resolved_sends_nothing(world: World) -> None:
    await _setup(world)
    await world.silence(DB, at(-10), at(3600))
    a = await world.alert({"name": "a", "team": "db"})
    await world.tick(at(0))
    await world.set_status(a, AlertStatus.resolved, at(30))
    await world.tick(at(60))
    await world.tick(at(120))
    assert await world.outbox() == []

"""Inhibition in the dispatcher and the pure inhibition function."""

from __future__ import annotations

import uuid

from agentdeck.alerting.models import AlertStatus
from agentdeck.alerting.routing.inhibition import CompiledInhibition, inhibitions
from agentdeck.alerting.routing.matchers import parse_matchers
from tests.alerting.routing_fixtures import World, at, sent_alerts

CRIT = [{"name": "severity", "op": "=", "value": "critical"}]
WARN = [{"name": "severity", "op": "=", "value": "warning"}]


def _rule(source: str, target: str, equal: tuple[str, ...]) -> CompiledInhibition:
    return CompiledInhibition(
        uuid.uuid4(), "r", parse_matchers(source), parse_matchers(target), equal
    )


def test_inhibition_needs_equal_labels_and_never_inhibits_itself() -> None:
    rule = _rule('{severity="critical"}', '{severity=~"warning|critical"}', ("agent",))
    firing = [
        ("crit-x", {"severity": "critical", "agent": "x"}),
        ("warn-x", {"severity": "warning", "agent": "x"}),
        ("warn-y", {"severity": "warning", "agent": "y"}),
    ]
    assert inhibitions([rule], firing) == {"warn-x": ["crit-x"]}


def test_missing_equal_label_counts_as_empty_on_both_sides() -> None:
    rule = _rule('{severity="critical"}', '{severity="warning"}', ("cluster",))
    firing = [("c", {"severity": "critical"}), ("w", {"severity": "warning"})]
    assert inhibitions([rule], firing) == {"w": ["c"]}


async def _setup(world: World) -> None:
    channel = await world.channel()
    receiver = await world.receiver(channel)
    await world.tree(
        {
            "receiver_id": str(receiver.id),
            "group_wait_seconds": 0,
            "group_interval_seconds": 60,
            "group_by": ["..."],
        }
    )


async def test_warning_inhibited_while_critical_fires_on_same_agent(world: World) -> None:
    await _setup(world)
    await world.inhibition(CRIT, WARN, ["agent"])
    crit = await world.alert({"name": "crit", "agent": "x", "severity": "critical"})
    warn = await world.alert({"name": "warn", "agent": "x", "severity": "warning"})
    other = await world.alert({"name": "other", "agent": "y", "severity": "warning"})
    await world.tick(at(0))
    sent = sorted(a for r in await world.outbox() for a in sent_alerts(r))
    assert sent == [("crit", "firing"), ("other", "firing")]
    assert (await world.reload(warn)).inhibited_by == [str(crit.id)]
    assert (await world.reload(other)).inhibited_by == []

    # the source resolves: the target, still firing, is notified at once
    await world.set_status(crit, AlertStatus.resolved, at(10))
    await world.tick(at(11))
    sent = [a for r in await world.outbox() for a in sent_alerts(r)]
    assert ("warn", "firing") in sent
    assert (await world.reload(warn)).inhibited_by == []


async def test_resolve_is_never_lost_to_inhibition(world: World) -> None:
    await _setup(world)
    await world.inhibition(CRIT, WARN, ["agent"])
    warn = await world.alert({"name": "warn", "agent": "x", "severity": "warning"})
    await world.tick(at(0))
    assert len(await world.outbox()) == 1
    await world.alert({"name": "crit", "agent": "x", "severity": "critical"})
    await world.tick(at(5))
    assert (await world.reload(warn)).inhibited_by != []
    await world.set_status(warn, AlertStatus.resolved, at(20))
    await world.tick(at(60))
    events = [(r.event, sent_alerts(r)) for r in await world.outbox()]
    assert ("resolved", [("warn", "resolved")]) in events

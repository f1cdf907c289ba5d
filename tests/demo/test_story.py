"""The demo tells a story: with the default rule pack, only the three scripted incidents page,
each first as a warning, then escalated to critical (the warning muted by inhibition), then
resolved. The demo clock is driven by hand: an hour and a bit of the fleet is simulated into the
app's metrics store and every rule of the pack is replayed over it with the evaluator's own
state machine (the backtest); nothing sleeps."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import AlertRule
from agentdeck.alerting.routing.inhibition import enabled_rules, inhibitions
from agentdeck.alerting.rules import service as rules_service
from agentdeck.alerting.rules.backtest import backtest
from agentdeck.alerting.rules.defaults import default_pack
from agentdeck.alerting.rules.schemas import BacktestAlert
from agentdeck.audit.models import AuditEntry
from agentdeck.demo.fleet import prepare_fleet
from agentdeck.demo.simulate import FleetSimulator
from agentdeck.identity.bootstrap import ensure_first_admin
from agentdeck.tsdb.base import SampleBatchBuilder

HOUR_MS = 3_600_000
MINUTE_MS = 60_000
STEP_MS = 30_000

# (alertname, agent) → (fires between minutes, resolves between minutes) past the hour H0.
# Written from the script in demo/simulate.py (:05 error spike, escalating at :13, over at :25;
# :28 latency, :36, :46; :38 memory leak, :44, restart at :60) and the pack's 5 minute windows
# with `for: 5m`.
EXPECTED: dict[tuple[str, str], tuple[tuple[int, int], tuple[int, int]]] = {
    ("AgentErrorRateWarning", "support-triage"): ((9, 15), (25, 32)),
    ("AgentErrorRateCritical", "support-triage"): ((18, 22), (25, 31)),
    ("AgentLatencyP95Warning", "invoice-extractor"): ((33, 36), (46, 53)),
    ("AgentLatencyP95Critical", "invoice-extractor"): ((41, 44), (46, 52)),
    ("AgentMemoryWarning", "meeting-summarizer"): ((44, 50), (60, 63)),
    ("AgentMemoryCritical", "meeting-summarizer"): ((49, 56), (60, 62)),
}


def _minute(at: datetime | None, h0: int) -> float:
    assert at is not None
    return (at.timestamp() * 1000 - h0) / MINUTE_MS


async def test_default_pack_pages_only_the_scripted_incidents_on_schedule(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await ensure_first_admin(session)  # creates the default tenant, which gets the pack
    await session.commit()
    fleet = await prepare_fleet(session)
    store = client.app.state.deck.store  # type: ignore[attr-defined]

    # H0: a whole hour at least 70 minutes in the past; the fleet runs from an hour before it
    # (so every 5 minute window is full) until 65 minutes after it.
    h0 = (int(time.time() * 1000) // HOUR_MS) * HOUR_MS - 2 * HOUR_MS
    simulator = FleetSimulator(fleet.agents, seed=7, interval_s=STEP_MS / 1000)
    assert {i.agent for i in simulator.incidents} == {
        "support-triage",
        "invoice-extractor",
        "meeting-summarizer",
    }
    last = h0 + 65 * MINUTE_MS
    for chunk_start in range(h0 - HOUR_MS, last, 20 * MINUTE_MS):
        builder = SampleBatchBuilder()
        for t in range(chunk_start, min(chunk_start + 20 * MINUTE_MS, last), STEP_MS):
            for s in simulator.step(t + STEP_MS):
                builder.add(s.name, s.labels, s.timestamp_ms, s.value)
        await store.write(fleet.tenant_id, builder.build())
    await store.flush()

    start = datetime.fromtimestamp((h0 + 3 * MINUTE_MS) / 1000, tz=UTC)
    end = datetime.fromtimestamp((h0 + 65 * MINUTE_MS) / 1000, tz=UTC)
    fired: list[BacktestAlert] = []
    for rule in default_pack():
        compiled = rules_service.compile_expr(expr=rule.expr, threshold=rule.threshold)
        result = await backtest(
            store,
            fleet.tenant_id,
            rule=rule,
            compiled=compiled,
            start=start,
            end=end,
            max_steps=11_000,
        )
        fired.extend(result.alerts)

    got = {(a.labels["alertname"], a.labels["agent"]): a for a in fired}
    assert len(fired) == len(got), [(a.labels["alertname"], a.labels["agent"]) for a in fired]
    assert set(got) == set(EXPECTED)
    for key, ((fire_lo, fire_hi), (end_lo, end_hi)) in EXPECTED.items():
        alert = got[key]
        assert fire_lo <= _minute(alert.fired_at, h0) <= fire_hi, (key, alert.fired_at)
        assert end_lo <= _minute(alert.resolved_at, h0) <= end_hi, (key, alert.resolved_at)
    # Each incident pages as a warning first and escalates to critical later.
    for agent, signal in (
        ("support-triage", "ErrorRate"),
        ("invoice-extractor", "LatencyP95"),
        ("meeting-summarizer", "Memory"),
    ):
        warning = got[(f"Agent{signal}Warning", agent)]
        critical = got[(f"Agent{signal}Critical", agent)]
        assert warning.fired_at is not None and critical.fired_at is not None
        assert warning.fired_at < critical.fired_at

    # While both fire, the pack's inhibition mutes the warning by its own critical only.
    rules = await enabled_rules(session, tenant_id=fleet.tenant_id)
    at = h0 + 21 * MINUTE_MS
    both = [
        (f"{a.labels['alertname']}", a.labels)
        for a in fired
        if a.fired_at is not None
        and a.fired_at.timestamp() * 1000 <= at
        and (a.resolved_at is None or a.resolved_at.timestamp() * 1000 > at)
    ]
    assert sorted(name for name, _ in both) == [
        "AgentErrorRateCritical",
        "AgentErrorRateWarning",
    ]
    assert inhibitions(rules, both) == {"AgentErrorRateWarning": ["AgentErrorRateCritical"]}


async def test_pack_rules_carry_a_signal_label_and_seeding_is_audited(
    session: AsyncSession,
) -> None:
    await ensure_first_admin(session)
    await session.commit()
    fleet = await prepare_fleet(session)

    rules = (
        await session.scalars(select(AlertRule).where(AlertRule.tenant_id == fleet.tenant_id))
    ).all()
    assert {r.name: r.labels["signal"] for r in rules} == {
        "AgentCPUWarning": "cpu",
        "AgentCPUCritical": "cpu",
        "AgentMemoryWarning": "memory",
        "AgentMemoryCritical": "memory",
        "AgentErrorRateWarning": "error_rate",
        "AgentErrorRateCritical": "error_rate",
        "AgentLatencyP95Warning": "latency",
        "AgentLatencyP95Critical": "latency",
    }

    # Every seeded agent has its creation in the audit log, by the demo.
    created = (
        await session.scalars(
            select(AuditEntry).where(
                AuditEntry.tenant_id == fleet.tenant_id, AuditEntry.action == "agent.create"
            )
        )
    ).all()
    from agentdeck.agents.models import Agent

    agents = (
        await session.scalars(select(Agent.id).where(Agent.tenant_id == fleet.tenant_id))
    ).all()
    assert len(agents) >= 30
    assert {e.resource_id for e in created} == {str(a) for a in agents}
    assert {e.actor_name for e in created} == {"demo"}
    # The call graph the demo declares is audited as updates.
    assert await session.scalar(
        select(AuditEntry.id).where(
            AuditEntry.tenant_id == fleet.tenant_id, AuditEntry.action == "agent.update"
        )
    )

"""The evaluator on the embedded store: rules fire, resolve, hold on errors, raise nodata, and
re-fire after a manual resolve; state lives in the database so any replica continues."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import (
    Alert,
    AlertEvent,
    AlertRule,
    AlertRuleState,
    AlertStatus,
    NoDataState,
    SeriesState,
)
from agentdeck.alerting.rules.evaluator import EvaluatorLoop, evaluate_rule
from agentdeck.identity.roles import Role
from agentdeck.settings import AlertingSettings
from tests.alerting.support import make_rule, store_of, write
from tests.conftest import Factory
from tests.ingest.otlp_support import wait_for

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
T = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
SETTINGS = AlertingSettings(manual_resolve_grace_seconds=120)


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


@pytest.fixture
async def api(app_factory: AppFactory) -> httpx.AsyncClient:
    return await app_factory(loops={"enabled": False})


async def evaluate(
    session: AsyncSession, api: httpx.AsyncClient, rule_id: uuid.UUID, t: float
) -> Any:
    rule = await session.get(AlertRule, rule_id, populate_existing=True)
    assert rule is not None
    outcome = await evaluate_rule(
        session,
        store=store_of(api),
        rule=rule,
        at=t if isinstance(t, datetime) else at(t),
        settings=SETTINGS,
    )
    await session.commit()
    return outcome


async def alerts_of(session: AsyncSession, rule_id: uuid.UUID) -> list[Alert]:
    rows = await session.scalars(
        select(Alert)
        .where(Alert.rule_id == rule_id)
        .order_by(Alert.starts_at, Alert.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def kinds(session: AsyncSession, alert_id: uuid.UUID) -> list[str]:
    rows = await session.scalars(
        select(AlertEvent.kind).where(AlertEvent.alert_id == alert_id).order_by(AlertEvent.at)
    )
    return list(rows)


async def test_fires_per_series_and_resolves_when_the_condition_clears(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    await write(api, tenant.id, "cpu", {"agent": "a1"}, [(at(-30), 0.95), (at(90), 0.4)])
    await write(api, tenant.id, "cpu", {"agent": "a2"}, [(at(-30), 0.2), (at(90), 0.2)])
    rule = await make_rule(
        session,
        tenant.id,
        labels={"team": "ops"},
        annotations={"summary": "CPU of {{ $labels.agent }} at {{ $value }}"},
    )

    first = await evaluate(session, api, rule.id, 0)
    assert first.error is None and first.series == 1
    [alert] = await alerts_of(session, rule.id)
    assert alert.status is AlertStatus.active and alert.reason == "firing"
    assert alert.labels == {
        "agent": "a1",
        "team": "ops",
        "alertname": "HighCPU",
        "severity": "critical",
    }
    assert alert.annotations == {"summary": "CPU of a1 at 0.95"}
    assert alert.value == pytest.approx(0.95)
    assert len(alert.fingerprint) == 32
    state = await session.get(AlertRuleState, (rule.id, alert.fingerprint))
    assert state is not None and state.state is SeriesState.firing and state.alert_id == alert.id
    rule_row = await session.get(AlertRule, rule.id, populate_existing=True)
    assert rule_row is not None and rule_row.health == "ok" and rule_row.last_error is None
    assert rule_row.last_evaluation_ms is not None and rule_row.last_evaluated_at is not None

    # same condition again: the same alert, no duplicate
    await evaluate(session, api, rule.id, 60)
    assert [a.id for a in await alerts_of(session, rule.id)] == [alert.id]

    await evaluate(session, api, rule.id, 120)  # cpu of a1 is 0.4 now
    [resolved] = await alerts_of(session, rule.id)
    assert resolved.status is AlertStatus.resolved
    assert resolved.resolved_at is not None and resolved.resolved_by is None
    assert await session.get(AlertRuleState, (rule.id, alert.fingerprint)) is None
    assert await kinds(session, alert.id) == ["created", "resolved"]


async def test_an_inclusive_threshold_fires_at_exactly_its_value(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    # Issue 13: a CPU of exactly 70 beside another agent's averaged to 69.99999999999999 and
    # the default warning (>= 70) stayed silent.
    tenant = await factory.tenant()
    other = [44.9, 79.9, 23.6, 32.0, 80.0, 50.7, 50.6, 23.6, 1.5, 93.3, 8.6, 84.5, 36.8]
    other += [95.1, 39.9, 93.6, 55.6, 24.0, 74.1, 67.4]
    seconds = range(-285, 1, 15)  # 20 samples in the 5 minutes up to the evaluation
    await write(
        api,
        tenant.id,
        "agent_cpu_percent",
        {"agent": "a1"},
        list(zip(map(at, seconds), other, strict=True)),
    )
    await write(
        api, tenant.id, "agent_cpu_percent", {"agent": "a2"}, [(at(s), 70.0) for s in seconds]
    )
    rule = await make_rule(
        session,
        tenant.id,
        name="AgentCPUWarning",
        expr="avg_over_time(agent_cpu_percent[5m]) >= 70",
    )
    outcome = await evaluate(session, api, rule.id, 0)
    assert outcome.error is None
    [alert] = await alerts_of(session, rule.id)
    assert alert.labels["agent"] == "a2" and alert.value == 70.0


async def test_for_keeps_a_series_pending_across_sessions(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession, settings: Any
) -> None:
    tenant = await factory.tenant()
    await write(
        api, tenant.id, "cpu", {"agent": "a1"}, [(at(s), 0.99) for s in range(-30, 200, 15)]
    )
    rule = await make_rule(session, tenant.id, for_seconds=60)
    await evaluate(session, api, rule.id, 0)
    assert await alerts_of(session, rule.id) == []
    [pending] = await session.scalars(
        select(AlertRuleState).where(AlertRuleState.rule_id == rule.id)
    )
    assert pending.state is SeriesState.pending

    # another "replica": a brand-new session only has the database to go on
    from agentdeck.db.engine import create_engine, create_session_factory

    engine = create_engine(settings.database)
    try:
        async with create_session_factory(engine)() as other:
            await evaluate(other, api, rule.id, 30)
            assert await alerts_of(other, rule.id) == []
            await evaluate(other, api, rule.id, 60)
            [alert] = await alerts_of(other, rule.id)
            assert alert.status is AlertStatus.active
            assert alert.starts_at.replace(tzinfo=UTC) == at(60)
    finally:
        await engine.dispose()


async def test_keep_firing_for_bridges_a_gap(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    await write(
        api,
        tenant.id,
        "cpu",
        {"agent": "a1"},
        [(at(-10), 0.95), (at(50), 0.5), (at(110), 0.5), (at(170), 0.5)],
    )
    rule = await make_rule(session, tenant.id, keep_firing_for_seconds=120)
    await evaluate(session, api, rule.id, 0)
    await evaluate(session, api, rule.id, 60)  # false: kept until 180
    await evaluate(session, api, rule.id, 120)
    [alert] = await alerts_of(session, rule.id)
    assert alert.status is AlertStatus.active
    await evaluate(session, api, rule.id, 180)
    [alert] = await alerts_of(session, rule.id)
    assert alert.status is AlertStatus.resolved


async def test_query_errors_mark_the_rule_and_keep_alerts_firing(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    await write(api, tenant.id, "cpu", {"agent": "a1"}, [(at(-10), 0.95)])
    rule = await make_rule(session, tenant.id)
    await evaluate(session, api, rule.id, 0)
    rule.expr = "rate(cpu[5m]"  # broken: the query fails
    await session.commit()
    outcome = await evaluate(session, api, rule.id, 60)
    assert outcome.error
    row = await session.get(AlertRule, rule.id, populate_existing=True)
    assert row is not None and row.health == "error" and row.last_error
    [alert] = await alerts_of(session, rule.id)
    assert alert.status is AlertStatus.active  # an error never resolves by itself

    # a rule asking for the error state raises an error alert
    rule2 = await make_rule(
        session, tenant.id, name="Broken", expr="sum(", no_data_state=NoDataState.nodata
    )
    await evaluate(session, api, rule2.id, 0)
    [err] = await alerts_of(session, rule2.id)
    assert err.reason == "error" and err.status is AlertStatus.active
    assert err.labels == {"alertname": "Broken", "severity": "critical"}


@pytest.mark.parametrize(
    ("mode", "expected"),
    [(NoDataState.ok, []), (NoDataState.nodata, ["nodata"]), (NoDataState.alerting, ["nodata"])],
)
async def test_no_data_follows_the_rule(
    api: httpx.AsyncClient,
    factory: Factory,
    session: AsyncSession,
    mode: NoDataState,
    expected: list[str],
) -> None:
    tenant = await factory.tenant()
    rule = await make_rule(session, tenant.id, expr="missing_metric > 1", no_data_state=mode)
    await evaluate(session, api, rule.id, 0)
    alerts = await alerts_of(session, rule.id)
    assert [a.reason for a in alerts] == expected
    if expected:
        # data arrives, below the threshold: the expression is still empty, but that is a
        # healthy value, not "no data", so the no-data alert resolves and nothing else fires
        await write(api, tenant.id, "missing_metric", {"agent": "a1"}, [(at(50), 0.5)])
        await evaluate(session, api, rule.id, 60)
        alerts = await alerts_of(session, rule.id)
        assert [a.status for a in alerts] == [AlertStatus.resolved]
        assert alerts[0].reason == "nodata"


async def test_a_value_below_the_threshold_is_not_no_data(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    tenant = await factory.tenant()
    await write(api, tenant.id, "healthy_metric", {"agent": "a1"}, [(at(-30), 0.5)])
    rule = await make_rule(
        session, tenant.id, expr="healthy_metric > 1", no_data_state=NoDataState.alerting
    )
    await evaluate(session, api, rule.id, 0)
    assert await alerts_of(session, rule.id) == []


async def test_manual_resolve_refires_after_the_grace(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.developer)
    now = datetime.now(UTC)
    points = [(now + timedelta(seconds=s), 0.97) for s in range(-30, 400, 30)]
    await write(api, caller.tenant_id, "cpu", {"agent": "a1"}, points)
    rule = await make_rule(session, caller.tenant_id)
    await evaluate(session, api, rule.id, now)
    [first] = await alerts_of(session, rule.id)
    response = await api.post(
        f"/api/v1/alerts/{first.id}/resolve",
        params={"resolution_note": "restarted it"},
        headers=caller.headers,
    )
    assert response.status_code == 200, response.text
    resolved_at = datetime.fromisoformat(response.json()["resolved_at"])
    # evaluation times relative to the manual resolve (grace 120 s)
    await evaluate(session, api, rule.id, resolved_at + timedelta(seconds=60))
    assert [a.id for a in await alerts_of(session, rule.id)] == [first.id]
    await evaluate(session, api, rule.id, resolved_at + timedelta(seconds=121))
    alerts = await alerts_of(session, rule.id)
    assert len(alerts) == 2
    second = next(a for a in alerts if a.id != first.id)
    assert second.status is AlertStatus.active
    assert await kinds(session, first.id) == ["created", "resolved", "refired"]
    assert await kinds(session, second.id) == ["created", "refired"]
    link = await session.scalar(
        select(AlertEvent).where(AlertEvent.alert_id == second.id, AlertEvent.kind == "refired")
    )
    assert link is not None and link.data == {"previous_alert_id": str(first.id)}
    first_row = next(a for a in alerts if a.id == first.id)
    assert first_row.resolution_note == "restarted it"
    assert first_row.resolved_by == caller.user_id


async def test_loop_evaluates_due_rules_and_publishes_on_the_alerts_channel(
    app_factory: AppFactory, factory: Factory, session: AsyncSession
) -> None:
    api = await app_factory(loops={"enabled": False})
    tenant = await factory.tenant()
    now = datetime.now(UTC)
    await write(api, tenant.id, "cpu", {"agent": "a1"}, [(now - timedelta(seconds=5), 0.99)])
    rule = await make_rule(session, tenant.id, interval_seconds=3600)
    disabled = await make_rule(session, tenant.id, name="Off", enabled=False)
    state = api.app.state.deck  # type: ignore[attr-defined]
    events: list[dict[str, Any]] = []
    subscription = await state.bus.subscribe(f"tenant:{tenant.id}:alerts")

    async def collect() -> None:
        async for message in subscription:
            events.append(message.data)

    collector = asyncio.create_task(collect())
    try:
        loop = EvaluatorLoop(
            sessions=state.sessions, store=state.store, settings=state.settings, bus=state.bus
        )
        await loop.tick()
        [alert] = await alerts_of(session, rule.id)
        assert await alerts_of(session, disabled.id) == []

        async def received() -> bool:
            return bool(events)

        await wait_for(received, seconds=10, what="an alerts event")
        assert events[0]["id"] == str(alert.id) and events[0]["action"] == "created"
        # not due again within its interval: nothing new is evaluated
        fresh = await session.get(AlertRule, rule.id, populate_existing=True)
        assert fresh is not None
        before = fresh.last_evaluated_at
        await loop.tick()
        fresh = await session.get(AlertRule, rule.id, populate_existing=True)
        assert fresh is not None and fresh.last_evaluated_at == before
    finally:
        collector.cancel()


async def test_loop_evaluates_many_rules_in_shared_transactions_each_on_its_own_data(
    app_factory: AppFactory, factory: Factory, session: AsyncSession
) -> None:
    # two concurrent slots: 31 due rules go in batches of up to 16 rules per transaction
    api = await app_factory(loops={"enabled": False}, alerting={"evaluation_concurrency": 2})
    tenant = await factory.tenant()
    now = datetime.now(UTC)
    for n in range(30):
        value = 0.99 if n % 2 == 0 else 0.5
        await write(
            api, tenant.id, "cpu", {"agent": f"a{n}"}, [(now - timedelta(seconds=5), value)]
        )
    rules = [
        await make_rule(session, tenant.id, name=f"CPU{n}", expr=f'cpu{{agent="a{n}"}} > 0.9')
        for n in range(30)
    ]
    broken = await make_rule(session, tenant.id, name="Broken", expr="cpu[5m]")
    state = api.app.state.deck  # type: ignore[attr-defined]
    loop = EvaluatorLoop(sessions=state.sessions, store=state.store, settings=state.settings)
    await loop.tick()

    for n, rule in enumerate(rules):
        fresh = await session.get(AlertRule, rule.id, populate_existing=True)
        assert fresh is not None and fresh.last_evaluated_at is not None
        assert fresh.health == "ok"
        fired = await alerts_of(session, rule.id)
        assert [a.labels["agent"] for a in fired] == ([f"a{n}"] if n % 2 == 0 else [])
    failed = await session.get(AlertRule, broken.id, populate_existing=True)
    assert failed is not None and failed.health == "error" and failed.last_error

    # the next round reads each rule's stored series state: cleared conditions resolve
    later = datetime.now(UTC)
    for n in range(0, 30, 2):
        await write(
            api, tenant.id, "cpu", {"agent": f"a{n}"}, [(later - timedelta(seconds=1), 0.1)]
        )
    async with state.sessions() as other:
        for rule in [*rules, broken]:
            row = await other.get(AlertRule, rule.id)
            assert row is not None
            row.last_evaluated_at = None
        await other.commit()
    await loop.tick()
    for n in range(0, 30, 2):
        [alert] = await alerts_of(session, rules[n].id)
        assert alert.status is AlertStatus.resolved
    states = await session.scalars(
        select(AlertRuleState).where(AlertRuleState.rule_id.in_([r.id for r in rules]))
    )
    assert SeriesState.firing not in {s.state for s in states}


async def test_a_threshold_rule_without_annotations_tells_value_threshold_and_agent(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    dev = await factory.user(Role.developer)
    form = {"metric_name": "cpu", "aggregation": "max", "window": "5m", "operator": ">"}
    created = await api.post(
        "/api/v1/alert-rules",
        json={"name": "HotCPU", "threshold": {**form, "threshold": 80}, "severity": "critical"},
        headers=dev.headers,
    )
    assert created.status_code == 201, created.text
    await write(api, dev.tenant_id, "cpu", {"agent": "a1"}, [(at(-30), 87.5)])

    await evaluate(session, api, uuid.UUID(created.json()["id"]), 0)
    [alert] = await alerts_of(session, uuid.UUID(created.json()["id"]))
    assert set(alert.annotations) == {"summary", "description"}
    for text in alert.annotations.values():
        assert "87.5" in text, text  # the value
        assert "> 80" in text, text  # the threshold
        assert "a1" in text, text  # the agent

"""The autoscaler on real CPU samples in the metrics store (DuckDB): the rule's thresholds
exactly, its bounds, the cooldown, disabled agents, the record and its API, the bus. The loop's
``evaluate``/``tick`` are driven directly at chosen times (an injected clock); the background
loops are off, so nothing else moves."""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from agentdeck.agents.models import Agent
from agentdeck.fleet.autoscaler.loop import AutoscalerLoop
from agentdeck.fleet.autoscaler.models import AutoscalerDecision
from agentdeck.fleet.autoscaler.rule import cpu_query
from agentdeck.identity.roles import Role
from agentdeck.server.state import AppState
from agentdeck.tsdb.base import SampleBatch
from tests.conftest import Caller, Factory
from tests.fleet.conftest import FAST_FLEET, AppFactory
from tests.fleet.helpers import AGENTS, act

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
COOLDOWN = 300.0


@pytest.fixture
async def client(app_factory: AppFactory) -> httpx.AsyncClient:
    return await app_factory(
        fleet={**FAST_FLEET, "autoscaler": {"cooldown_seconds": COOLDOWN}},
        loops={"enabled": False},
    )


def state_of(client: httpx.AsyncClient) -> AppState:
    state: AppState = client.app.state.deck  # type: ignore[attr-defined]
    return state


def autoscaler(client: httpx.AsyncClient) -> AutoscalerLoop:
    state = state_of(client)
    assert state.fleet is not None
    return AutoscalerLoop(
        sessions=state.sessions,
        store=state.store,
        driver=state.fleet.driver,
        bus=state.bus,
        settings=state.settings.fleet.autoscaler,
        clock=lambda: NOW,
    )


async def running_agent(
    client: httpx.AsyncClient,
    caller: Caller,
    *,
    replicas: int,
    low: int = 1,
    high: int = 5,
    enabled: bool = True,
    name: str | None = None,
) -> dict[str, Any]:
    response = await client.post(
        AGENTS,
        json={
            "name": name or f"scaled-{uuid.uuid4().hex[:6]}",
            "type": "custom",
            "config": {
                "command": sys.executable,
                "args": ["-c", "pass"],
                "auto_scaling": {"enabled": enabled, "min_replicas": low, "max_replicas": high},
            },
            "replica_count": replicas,
        },
        headers=caller.headers,
    )
    assert response.status_code == 201, response.text
    agent: dict[str, Any] = response.json()
    assert (await act(client, caller, agent["id"], "start")).status_code == 200
    return agent


async def cpu_samples(
    client: httpx.AsyncClient,
    tenant_id: uuid.UUID,
    agent: str,
    values: dict[str, float],
    *,
    start: datetime,
    end: datetime,
) -> None:
    """One sample a minute per replica (label ``replica``) from ``start`` to ``end``."""
    names: list[str] = []
    labels: list[dict[str, str]] = []
    stamps: list[int] = []
    points: list[float] = []
    at = start
    while at <= end:
        for replica, value in values.items():
            names.append("agent_cpu_percent")
            labels.append({"agent": agent, "replica": replica})
            stamps.append(int(at.timestamp() * 1000))
            points.append(value)
        at += timedelta(minutes=1)
    store = state_of(client).store
    await store.write(tenant_id, SampleBatch.from_rows(names, labels, stamps, points))
    await store.flush()


async def replica_count(client: httpx.AsyncClient, agent_id: str) -> int:
    async with state_of(client).sessions() as session:
        agent = await session.get(Agent, uuid.UUID(agent_id))
        assert agent is not None
        return agent.replica_count


async def decisions(
    client: httpx.AsyncClient, caller: Caller, agent_id: str, **params: Any
) -> dict[str, Any]:
    response = await client.get(
        f"{AGENTS}/{agent_id}/autoscaler/decisions", params=params, headers=caller.headers
    )
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


WINDOW_START = NOW - timedelta(minutes=9)


@pytest.mark.parametrize(
    ("cpu", "outcome", "after"),
    [
        (70.0, "hold", 2),  # exactly 70: no change
        (30.0, "hold", 2),  # exactly 30: no change
        (70.01, "scaled_up", 3),
        (29.99, "scaled_down", 1),
        (50.0, "hold", 2),
    ],
)
async def test_the_thresholds_exactly(
    client: httpx.AsyncClient, dev: Caller, cpu: float, outcome: str, after: int
) -> None:
    agent = await running_agent(client, dev, replicas=2)
    await cpu_samples(
        client, dev.tenant_id, agent["name"], {"r1": cpu}, start=WINDOW_START, end=NOW
    )
    row = await autoscaler(client).evaluate(uuid.UUID(agent["id"]), now=NOW)
    assert row is not None
    assert row.outcome == outcome, row.reason
    assert row.cpu_percent == pytest.approx(cpu)
    assert (row.replicas, row.target_replicas) == (2, after)
    assert await replica_count(client, agent["id"]) == after
    page = await decisions(client, dev, agent["id"])
    assert [d["outcome"] for d in page["items"]] == [outcome]
    assert page["items"][0]["reason"] == row.reason
    assert f"{cpu:.2f}" in row.reason
    if after != 2:
        shown = (await client.get(f"{AGENTS}/{agent['id']}", headers=dev.headers)).json()
        assert shown["status"] == "scaling" and shown["replica_count"] == after


async def test_the_average_is_over_the_window_and_across_replicas(
    client: httpx.AsyncClient, dev: Caller
) -> None:
    agent = await running_agent(client, dev, replicas=2)
    # samples older than 10 minutes do not count
    await cpu_samples(
        client,
        dev.tenant_id,
        agent["name"],
        {"r1": 100.0, "r2": 100.0},
        start=NOW - timedelta(minutes=30),
        end=NOW - timedelta(minutes=11),
    )
    # r1 at 90, r2 at 40 over the window: (90 + 40) / 2 = 65 → no change
    await cpu_samples(
        client, dev.tenant_id, agent["name"], {"r1": 90.0, "r2": 40.0}, start=WINDOW_START, end=NOW
    )
    loop = autoscaler(client)
    row = await loop.evaluate(uuid.UUID(agent["id"]), now=NOW)
    assert row is not None and row.outcome == "hold"
    assert row.cpu_percent == pytest.approx(65.0)
    assert 'agent="' + agent["name"] + '"' in cpu_query(agent["name"])


async def test_bounds_stop_the_rule_and_say_so(client: httpx.AsyncClient, dev: Caller) -> None:
    top = await running_agent(client, dev, replicas=3, low=1, high=3)
    bottom = await running_agent(client, dev, replicas=1, low=1, high=3)
    await cpu_samples(client, dev.tenant_id, top["name"], {"r": 95.0}, start=WINDOW_START, end=NOW)
    await cpu_samples(
        client, dev.tenant_id, bottom["name"], {"r": 5.0}, start=WINDOW_START, end=NOW
    )
    loop = autoscaler(client)
    at_max = await loop.evaluate(uuid.UUID(top["id"]), now=NOW)
    at_min = await loop.evaluate(uuid.UUID(bottom["id"]), now=NOW)
    assert at_max is not None and at_max.outcome == "at_max"
    assert "already at max_replicas (3)" in at_max.reason and at_max.target_replicas == 3
    assert at_min is not None and at_min.outcome == "at_min"
    assert "already at min_replicas (1)" in at_min.reason
    assert await replica_count(client, top["id"]) == 3
    assert await replica_count(client, bottom["id"]) == 1


async def test_the_cooldown_holds_back_a_second_scale(
    client: httpx.AsyncClient, dev: Caller
) -> None:
    agent = await running_agent(client, dev, replicas=1, high=5)
    await cpu_samples(
        client,
        dev.tenant_id,
        agent["name"],
        {"r": 90.0},
        start=WINDOW_START,
        end=NOW + timedelta(minutes=10),
    )
    loop = autoscaler(client)
    ident = uuid.UUID(agent["id"])
    first = await loop.evaluate(ident, now=NOW)
    assert first is not None and first.outcome == "scaled_up" and first.target_replicas == 2
    held = await loop.evaluate(ident, now=NOW + timedelta(seconds=COOLDOWN - 1))
    assert held is not None and held.outcome == "cooldown", held.reason
    assert "in cooldown until" in held.reason and held.target_replicas == 2
    again = await loop.evaluate(ident, now=NOW + timedelta(seconds=COOLDOWN - 0.5))
    assert again is not None and again.id == held.id and again.repeats == 2  # counted, not new
    after = await loop.evaluate(ident, now=NOW + timedelta(seconds=COOLDOWN + 1))
    assert after is not None and after.outcome == "scaled_up" and after.target_replicas == 3
    assert await replica_count(client, agent["id"]) == 3
    page = await decisions(client, dev, agent["id"])
    assert [d["outcome"] for d in page["items"]] == ["scaled_up", "cooldown", "scaled_up"]
    assert page["items"][1]["repeats"] == 2


async def test_disabled_never_scales(client: httpx.AsyncClient, dev: Caller) -> None:
    off = await running_agent(client, dev, replicas=2, enabled=False)
    await cpu_samples(client, dev.tenant_id, off["name"], {"r": 99.0}, start=WINDOW_START, end=NOW)
    loop = autoscaler(client)
    assert await loop.candidates() == []
    await loop.tick()
    assert await loop.evaluate(uuid.UUID(off["id"]), now=NOW) is None
    assert await replica_count(client, off["id"]) == 2
    assert (await decisions(client, dev, off["id"]))["items"] == []


async def test_a_stopped_agent_is_not_evaluated(client: httpx.AsyncClient, dev: Caller) -> None:
    agent = await running_agent(client, dev, replicas=2)
    assert (await act(client, dev, agent["id"], "stop")).status_code == 200
    loop = autoscaler(client)
    assert await loop.candidates() == []
    assert await loop.evaluate(uuid.UUID(agent["id"]), now=NOW) is None


async def test_the_tick_evaluates_every_enabled_agent(
    client: httpx.AsyncClient, dev: Caller
) -> None:
    hot = await running_agent(client, dev, replicas=1)
    quiet = await running_agent(client, dev, replicas=1)
    await cpu_samples(client, dev.tenant_id, hot["name"], {"r": 80.0}, start=WINDOW_START, end=NOW)
    await autoscaler(client).tick()
    assert await replica_count(client, hot["id"]) == 2
    no_data = (await decisions(client, dev, quiet["id"]))["items"]
    assert [d["outcome"] for d in no_data] == ["no_data"]
    assert "no agent_cpu_percent samples" in no_data[0]["reason"]
    assert no_data[0]["cpu_percent"] is None


async def test_no_scale_during_a_deployment(client: httpx.AsyncClient, dev: Caller) -> None:
    agent = await running_agent(client, dev, replicas=1)
    response = await client.post(
        f"{AGENTS}/{agent['id']}/deployments", json={"version": "2.0.0"}, headers=dev.headers
    )
    assert response.status_code == 201, response.text
    await cpu_samples(
        client, dev.tenant_id, agent["name"], {"r": 90.0}, start=WINDOW_START, end=NOW
    )
    row = await autoscaler(client).evaluate(uuid.UUID(agent["id"]), now=NOW)
    assert row is not None and row.outcome == "busy" and "rolling out" in row.reason
    assert await replica_count(client, agent["id"]) == 1


async def test_decisions_go_on_the_bus_and_page(client: httpx.AsyncClient, dev: Caller) -> None:
    agent = await running_agent(client, dev, replicas=2, low=1, high=5)
    state = state_of(client)
    subscription = await state.bus.subscribe(f"tenant:{dev.tenant_id}:agent:{agent['id']}")
    loop = autoscaler(client)
    ident = uuid.UUID(agent["id"])
    for minute, value in enumerate((50.0, 90.0, 10.0)):
        moment = NOW + timedelta(minutes=20 * minute)
        await cpu_samples(
            client,
            dev.tenant_id,
            agent["name"],
            {"r": value},
            start=moment - timedelta(minutes=9),
            end=moment,
        )
        await loop.evaluate(ident, now=moment)
    messages = []
    while len(messages) < 3:
        event = await asyncio.wait_for(anext(subscription), 5)
        if event.data.get("action") == "autoscaler":
            messages.append(event.data)
    await subscription.aclose()
    assert [m["decision"]["outcome"] for m in messages] == ["hold", "scaled_up", "scaled_down"]
    first = await decisions(client, dev, agent["id"], limit=2)
    assert [d["outcome"] for d in first["items"]] == ["scaled_down", "scaled_up"]
    rest = await decisions(client, dev, agent["id"], limit=2, cursor=first["next_cursor"])
    assert [d["outcome"] for d in rest["items"]] == ["hold"] and rest["next_cursor"] is None
    only = await decisions(client, dev, agent["id"], outcome="scaled_up")
    assert [d["outcome"] for d in only["items"]] == ["scaled_up"]
    async with state.sessions() as session:
        rows = (await session.scalars(select(AutoscalerDecision))).all()
    assert len(rows) == 3


async def test_another_tenant_sees_no_decisions(
    client: httpx.AsyncClient, dev: Caller, factory: Factory
) -> None:
    agent = await running_agent(client, dev, replicas=1)
    other = await factory.user(Role.admin)
    response = await client.get(
        f"{AGENTS}/{agent['id']}/autoscaler/decisions", headers=other.headers
    )
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"

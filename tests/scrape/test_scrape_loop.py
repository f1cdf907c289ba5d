"""The scraper against real HTTP targets: samples and `up` land in the store, target rows
record health; the running app's scraper loop picks new targets up."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent, AgentType
from agentdeck.identity.roles import Role
from agentdeck.scrape.loop import (
    ScrapeOutcome,
    TargetSpec,
    instance_of,
    merge_labels,
    scrape_target,
)
from agentdeck.scrape.models import ScrapeTarget
from agentdeck.server.state import AppState
from agentdeck.tsdb.base import Matcher, Series
from tests.conftest import Caller, Factory
from tests.scrape.scrape_support import OWN_TS_MS, TargetServer, closed_port_url, target_server

TARGETS = "/api/v1/scrape-targets"
FAR = 10**13


@pytest.fixture
def server() -> Iterator[TargetServer]:
    with target_server() as s:
        yield s


@pytest.fixture
async def api(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
) -> httpx.AsyncClient:
    return await app_factory(loops={"enabled": False}, rate_limit={"enabled": False})


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(trust_env=False) as client:
        yield client


def state_of(api: httpx.AsyncClient) -> AppState:
    state: AppState = api.app.state.deck  # type: ignore[attr-defined]
    return state


async def make_target(
    api: httpx.AsyncClient, caller: Caller, url: str, **fields: Any
) -> dict[str, Any]:
    response = await api.post(TARGETS, json={"url": url, **fields}, headers=caller.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def scrape(
    api: httpx.AsyncClient, http: httpx.AsyncClient, target: dict[str, Any], caller: Caller
) -> ScrapeOutcome:
    state = state_of(api)
    async with state.sessions() as session:
        row = await session.get(ScrapeTarget, uuid.UUID(target["id"]))
        assert row is not None
        agent = await session.get(Agent, row.agent_id) if row.agent_id else None
        spec = TargetSpec.of(row, agent.name if agent else None)
    return await scrape_target(spec, client=http, ingestor=state.ingestor, sessions=state.sessions)


async def read(api: httpx.AsyncClient, tenant_id: uuid.UUID, name: str) -> list[Series]:
    return await state_of(api).store.select(tenant_id, [Matcher.name_is(name)], 0, FAR)


async def test_prometheus_text_is_scraped_with_target_labels_and_up(
    api: httpx.AsyncClient,
    http: httpx.AsyncClient,
    server: TargetServer,
    factory: Factory,
    session: AsyncSession,
) -> None:
    dev = await factory.user(Role.developer)
    agent = Agent(tenant_id=dev.tenant_id, name="worker-7", type=AgentType.llm)
    session.add(agent)
    await session.commit()
    target = await make_target(
        api,
        dev,
        f"{server.base_url}/metrics",
        job="demo",
        agent_id=str(agent.id),
        labels={"env": "prod"},
        timeout_seconds=2,
    )
    before_ms = int(time.time() * 1000)
    outcome = await scrape(api, http, target, dev)
    assert outcome.error is None
    assert outcome.samples_scraped == 8
    assert outcome.rejected == 0

    instance = instance_of(server.base_url)
    base = {"job": "demo", "instance": instance, "agent": "worker-7", "env": "prod"}
    requests = await read(api, dev.tenant_id, "demo_requests_total")
    assert [s.labels for s in requests] == [
        {**base, "code": "200", "exported_job": "inner"},
        {**base, "code": "500", "exported_job": "inner"},
    ]
    assert [float(s.values[0]) for s in requests] == [41.0, 1.0]
    scrape_ts = int(requests[0].timestamps[0])
    assert before_ms - 1000 <= scrape_ts <= int(time.time() * 1000)

    (old,) = await read(api, dev.tenant_id, "demo_old_gauge")
    assert old.timestamps.tolist() == [OWN_TS_MS]  # its own timestamp is kept
    buckets = await read(api, dev.tenant_id, "demo_latency_seconds_bucket")
    assert sorted(s.labels["le"] for s in buckets) == ["+Inf", "0.1"]

    (up,) = await read(api, dev.tenant_id, "up")
    assert up.labels == base
    assert up.values.tolist() == [1.0]
    assert int(up.timestamps[0]) == scrape_ts
    (count,) = await read(api, dev.tenant_id, "scrape_samples_scraped")
    assert count.values.tolist() == [8.0]
    (duration,) = await read(api, dev.tenant_id, "scrape_duration_seconds")
    assert 0 < float(duration.values[0]) < 2

    row = (await api.get(f"{TARGETS}/{target['id']}", headers=dev.headers)).json()
    assert row["health"] == "up"
    assert row["last_samples"] == 8
    assert row["last_error"] is None
    assert row["last_scrape_at"] is not None
    assert row["last_duration_ms"] > 0

    path, headers = server.requests[-1]
    assert path == "/metrics"
    assert "application/openmetrics-text" in headers["Accept"]
    assert headers["X-Prometheus-Scrape-Timeout-Seconds"] == "2"

    # another tenant sees none of it
    other = await factory.tenant()
    assert await read(api, other.id, "up") == []


async def test_names_over_the_limits_are_refused_per_sample_with_a_short_error(
    api: httpx.AsyncClient, http: httpx.AsyncClient, server: TargetServer, factory: Factory
) -> None:
    dev = await factory.user(Role.developer)
    target = await make_target(api, dev, f"{server.base_url}/long-names", timeout_seconds=2)
    outcome = await scrape(api, http, target, dev)
    assert (outcome.samples_scraped, outcome.rejected) == (3, 2)
    assert outcome.error is not None
    assert outcome.error.startswith("2 of 3 samples refused; first: " + "n" * 64 + "…: ")
    assert outcome.error.endswith("metric name is 100000 bytes; the limit is 255")
    assert [s.labels for s in await read(api, dev.tenant_id, "demo_ok")] == [
        {"job": "agentdeck", "instance": instance_of(server.base_url)}
    ]


async def test_openmetrics_is_parsed_with_its_own_parser(
    api: httpx.AsyncClient, http: httpx.AsyncClient, server: TargetServer, factory: Factory
) -> None:
    dev = await factory.api_key(Role.developer)
    target = await make_target(api, dev, f"{server.base_url}/openmetrics")
    outcome = await scrape(api, http, target, dev)
    assert outcome.error is None
    assert outcome.samples_scraped == 2  # the _created series is left out
    (events,) = await read(api, dev.tenant_id, "om_events_total")
    assert events.timestamps.tolist() == [OWN_TS_MS + 250]
    assert events.labels["kind"] == "a"
    assert await read(api, dev.tenant_id, "om_events_created") == []
    (om_up,) = await read(api, dev.tenant_id, "om_up")
    assert om_up.labels["exported_instance"] == "inner:1"
    assert om_up.labels["instance"] == instance_of(server.base_url)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/slow", "timed out after 0.3s"),
        ("/error", "HTTP status 500"),
        ("/garbage", "cannot parse"),
        (None, "connection failed"),
    ],
)
async def test_failed_scrapes_write_up_0_and_record_the_error(
    api: httpx.AsyncClient,
    http: httpx.AsyncClient,
    server: TargetServer,
    factory: Factory,
    path: str | None,
    message: str,
) -> None:
    dev = await factory.user(Role.developer)
    url = f"{server.base_url}{path}" if path else closed_port_url()
    target = await make_target(api, dev, url, timeout_seconds=0.3, job="flaky")
    started = time.monotonic()
    outcome = await scrape(api, http, target, dev)
    assert time.monotonic() - started < 3
    assert outcome.error is not None and message in outcome.error

    (up,) = await read(api, dev.tenant_id, "up")
    assert up.values.tolist() == [0.0]
    assert up.labels == {"job": "flaky", "instance": instance_of(url)}
    (count,) = await read(api, dev.tenant_id, "scrape_samples_scraped")
    assert count.values.tolist() == [0.0]
    assert await read(api, dev.tenant_id, "demo_requests_total") == []

    row = (await api.get(f"{TARGETS}/{target['id']}", headers=dev.headers)).json()
    assert row["health"] == "down"
    assert message in row["last_error"]
    assert row["last_samples"] == 0

    listed = await api.get(TARGETS, params={"health": "down"}, headers=dev.headers)
    assert [t["id"] for t in listed.json()["items"]] == [target["id"]]


def test_honor_labels_false_renames_clashing_scraped_labels() -> None:
    merged = merge_labels(
        {"job": "a", "exported_job": "b", "x": "1"}, {"job": "j", "instance": "h:1"}
    )
    assert merged == {
        "job": "j",
        "exported_exported_job": "a",
        "exported_job": "b",
        "x": "1",
        "instance": "h:1",
    }
    assert instance_of("https://example.test/metrics") == "example.test:443"
    assert instance_of("http://[::1]:9100/m") == "[::1]:9100"


async def until(condition: Callable[[], Coroutine[Any, Any, bool]], within: float = 20) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_the_running_scraper_loop_scrapes_enabled_targets_on_schedule(
    app_factory: Callable[..., Coroutine[Any, Any, httpx.AsyncClient]],
    server: TargetServer,
    factory: Factory,
) -> None:
    app = await app_factory(loops={"scrape_tick_seconds": 0.05}, rate_limit={"enabled": False})
    dev = await factory.user(Role.developer)
    live = await make_target(
        app, dev, f"{server.base_url}/metrics", interval_seconds=1, timeout_seconds=0.5
    )
    off = await make_target(app, dev, f"{server.base_url}/error", enabled=False)

    async def scraped_twice() -> bool:
        ups = await read(app, dev.tenant_id, "up")
        return bool(ups) and len(ups[0]) >= 2

    await until(scraped_twice)
    row = (await app.get(f"{TARGETS}/{live['id']}", headers=dev.headers)).json()
    assert row["health"] == "up"
    (up,) = await read(app, dev.tenant_id, "up")
    gaps = [b - a for a, b in zip(up.timestamps.tolist(), up.timestamps.tolist()[1:], strict=False)]
    assert all(gap >= 900 for gap in gaps), gaps  # once per interval (1 s), not per tick
    assert (await app.get(f"{TARGETS}/{off['id']}", headers=dev.headers)).json()["health"] == (
        "unknown"
    )
    assert all(path != "/error" for path, _ in server.requests)

    exposition = (await app.get("/metrics")).text
    assert 'agentdeck_loop_ticks_total{loop="scraper",outcome="success"}' in exposition
    assert 'agentdeck_loop_lease_held{loop="scraper"} 1.0' in exposition
    assert 'agentdeck_loop_lease_held{loop="retention"}' in exposition

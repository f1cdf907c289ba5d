"""The demo's logs tell the same story as its metrics: the recent past is backfilled (the logs
page opens on history, not an empty histogram), the demo creates its log stream, and a
scripted error spike becomes an ``error_spike`` anomaly on the Anomalies page."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.demo.runner import DemoSimulator
from agentdeck.demo.simulate import Incident, IncidentKind
from agentdeck.identity.models import Tenant
from agentdeck.identity.roles import Role
from agentdeck.server.state import AppState
from tests.conftest import Factory

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]

BACKFILL_S = 12
INTERVAL_S = 0.2


async def _until(check: Callable[[], Coroutine[Any, Any, Any]], within_s: float) -> Any:
    """Poll ``check`` until it returns something truthy (the loops cut batches on their own
    schedule); fail after ``within_s`` seconds."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.25)
    raise AssertionError(f"nothing after {within_s} s")


@pytest.mark.timeout(240)  # the backfill's lines go through ingest, mining and the detectors
async def test_the_demo_backfills_logs_and_its_error_spike_becomes_an_anomaly(
    app_factory: AppFactory, factory: Factory, session: AsyncSession
) -> None:
    client = await app_factory()  # with its loops: the stream batcher cuts and analyses
    app = client.app  # type: ignore[attr-defined]
    state: AppState = app.state.deck
    now_s = int(time.time())
    # support-triage's upstream fails from 6 s ago on (critical at once): the first half of
    # the backfill is healthy, the second half is the incident
    spike = Incident(
        kind=IncidentKind.error_spike,
        agent="support-triage",
        period_s=3600,
        offset_s=(now_s - BACKFILL_S // 2) % 3600,
        duration_s=1800,
        escalate_s=0,
    )
    demo = DemoSimulator(
        sessions=state.sessions,
        store=state.store,
        base_url="http://testserver",
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50002)),
        interval_s=INTERVAL_S,
        backfill_s=BACKFILL_S,
        incidents=[spike],
    )
    demo.start()
    try:
        await asyncio.wait_for(demo.backfilled.wait(), timeout=150)
        assert demo.fleet is not None
        tenant = await session.get(Tenant, demo.fleet.tenant_id)
        assert tenant is not None
        viewer = await factory.user(Role.viewer, tenant)

        # the stream exists, active, named for the demo
        streams = (await client.get("/api/v1/log-streams", headers=viewer.headers)).json()
        assert [(s["name"], s["active"]) for s in streams["items"]] == [("demo fleet", True)]
        assert str(streams["items"][0]["stream_id"]) == demo.stream_id

        # the logs go back over the backfill, not just the live ticks
        backfilled_at = time.time()
        assert demo.posted_log_lines > 1000  # about 30 agents × 60 ticks × 2 lines
        oldest = await client.get(
            "/api/v1/logs",
            params={"start": f"{now_s - 120}", "direction": "forward", "limit": 1},
            headers=viewer.headers,
        )
        assert oldest.status_code == 200, oldest.text
        first = datetime.fromisoformat(oldest.json()["items"][0]["ts"].replace("Z", "+00:00"))
        assert first.timestamp() <= backfilled_at - (BACKFILL_S - 1)

        # the incident's failures become an error_spike anomaly of support-triage's service
        async def spikes() -> list[dict[str, Any]]:
            response = await client.get(
                "/api/v1/anomalies", params={"type": "error_spike"}, headers=viewer.headers
            )
            return list(response.json()["items"])

        found = await _until(spikes, within_s=60)
        assert {a["service"] for a in found} == {"llm"}  # support-triage is an LLM agent
        assert all(a["stream"] == "demo fleet" for a in found)
        assert all(a["description"].startswith("High error rate") for a in found)
        assert all(a["evidence_count"] > 0 and a["evidence"]["line_ids"] for a in found)

        # an anomaly found in backfilled lines says when its lines happened (its window, in the
        # past, the span of its batch's lines), and truthfully that it was detected afterwards
        until = demo.backfill_until
        assert until is not None
        listed = await client.get("/api/v1/anomalies", headers=viewer.headers)
        backfilled = [a for a in listed.json()["items"] if _when(a["window_end"]) <= until]
        assert backfilled, "no anomaly of the backfill"
        for anomaly in backfilled:
            start, end = _when(anomaly["window_start"]), _when(anomaly["window_end"])
            assert start <= end <= until < _when(anomaly["detected_at"])
            assert end < datetime.now(UTC)
            batch = await client.get(
                f"/api/v1/log-batches/{anomaly['batch_id']}", headers=viewer.headers
            )
            stamps = [_when(line["timestamp"]) for line in batch.json()["lines"]]
            assert (min(stamps), max(stamps)) == (start, end)
            evidence = await client.get(
                f"/api/v1/anomalies/{anomaly['anomaly_id']}", headers=viewer.headers
            )
            assert all(start <= _when(x["timestamp"]) <= end for x in evidence.json()["lines"])
    finally:
        await demo.stop()


def _when(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


@pytest.mark.timeout(240)
async def test_the_demo_resolves_log_alerts_of_an_incident_that_is_over(
    app_factory: AppFactory, factory: Factory, session: AsyncSession
) -> None:
    """Log anomalies are events, so nothing would end their alerts: the demo's scripted on-call
    resolves them, with a note, once the newest lines behind them are quiet."""
    client = await app_factory()
    app = client.app  # type: ignore[attr-defined]
    state: AppState = app.state.deck
    now_s = int(time.time())
    over = Incident(  # critical from its start, over half-way through the backfill
        kind=IncidentKind.error_spike,
        agent="support-triage",
        period_s=3600,
        offset_s=(now_s - BACKFILL_S) % 3600,
        duration_s=BACKFILL_S // 2,
        escalate_s=0,
    )
    demo = DemoSimulator(
        sessions=state.sessions,
        store=state.store,
        base_url="http://testserver",
        transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50003)),
        interval_s=INTERVAL_S,
        backfill_s=BACKFILL_S,
        incidents=[over],
        log_alert_quiet_s=3,  # its last lines are 6 s old when the live ticks start
    )
    demo.start()
    try:
        await asyncio.wait_for(demo.backfilled.wait(), timeout=150)
        assert demo.fleet is not None
        tenant = await session.get(Tenant, demo.fleet.tenant_id)
        assert tenant is not None
        viewer = await factory.user(Role.viewer, tenant)

        async def resolved() -> list[dict[str, Any]]:
            params = {"source": "logs", "limit": 100}
            items = await client.get("/api/v1/alerts", params=params, headers=viewer.headers)
            alerts = list(items.json()["items"])
            done = all(a["status"] == "resolved" for a in alerts)
            return alerts if alerts and done else []

        alerts = await _until(resolved, within_s=90)
        assert {a["labels"]["alertname"] for a in alerts} == {"LogAnomaly"}
        assert {a["resolution_note"] for a in alerts} == {
            "demo: the incident is over and its logs are quiet"
        }
    finally:
        await demo.stop()

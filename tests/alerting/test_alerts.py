"""The alerts API: filters and paging, one alert, ack/unack/resolve with notes, timeline, bulk,
bad input, roles and tenancy."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.models import Alert, AlertSource, AlertStatus, Severity
from agentdeck.audit.models import AuditEntry
from agentdeck.identity.roles import Role
from tests.conftest import Factory

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]
NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
async def api(app_factory: AppFactory) -> httpx.AsyncClient:
    return await app_factory(loops={"enabled": False})


async def add_alert(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    name: str = "HighCPU",
    agent: str = "a1",
    severity: Severity = Severity.warning,
    status: AlertStatus = AlertStatus.active,
    minutes_ago: int = 10,
    **fields: Any,
) -> Alert:
    labels = {"alertname": name, "agent": agent, "severity": severity.value}
    labels.update(fields.pop("labels", {}))
    if status is AlertStatus.resolved:
        fields.setdefault("resolved_at", NOW - timedelta(minutes=1))
    alert = Alert(
        tenant_id=tenant_id,
        rule_name=name,
        source=AlertSource.rule,
        fingerprint=uuid.uuid4().hex,
        labels=labels,
        annotations={"summary": f"{name} on {agent}"},
        severity=severity,
        status=status,
        starts_at=NOW - timedelta(minutes=minutes_ago),
        **fields,
    )
    session.add(alert)
    await session.commit()
    return alert


def ids(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


async def test_list_filters(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    viewer = await factory.user(Role.viewer)
    t = viewer.tenant_id
    cpu_a1 = await add_alert(session, t, severity=Severity.critical, minutes_ago=5)
    cpu_a2 = await add_alert(session, t, agent="a2", minutes_ago=6, labels={"job": "web"})
    mem = await add_alert(
        session, t, name="HighMem", status=AlertStatus.acknowledged, minutes_ago=7
    )
    old = await add_alert(
        session,
        t,
        name="Old",
        status=AlertStatus.resolved,
        minutes_ago=600,
        resolved_at=NOW - timedelta(minutes=540),
    )
    muted = await add_alert(
        session, t, name="Muted", minutes_ago=8, silenced_by=[str(uuid.uuid4())]
    )
    h = viewer.headers

    async def get(**params: Any) -> list[str]:
        return ids(await api.get("/api/v1/alerts", params=params, headers=h))

    assert await get() == [str(a.id) for a in (cpu_a1, cpu_a2, mem, muted, old)]
    assert await get(status="acknowledged") == [str(mem.id)]
    assert set(await get(status=["active", "acknowledged"])) == {
        str(cpu_a1.id),
        str(cpu_a2.id),
        str(mem.id),
        str(muted.id),
    }
    assert await get(active="false") == [str(old.id)]
    assert await get(severity="critical") == [str(cpu_a1.id)]
    assert await get(agent="a2") == [str(cpu_a2.id)]
    assert await get(rule="HighMem") == [str(mem.id)]
    assert await get(matcher='job=~"web|api"') == [str(cpu_a2.id)]
    assert await get(matcher='{alertname="HighCPU",agent!="a2"}') == [str(cpu_a1.id)]
    assert await get(silenced="true") == [str(muted.id)]
    assert str(muted.id) not in await get(silenced="false")
    since = (NOW - timedelta(minutes=30)).isoformat()
    assert str(old.id) not in await get(since=since)
    until = (NOW - timedelta(hours=2)).isoformat()
    assert await get(until=until) == [str(old.id)]


async def test_paging_with_label_filters(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    made = [
        await add_alert(session, caller.tenant_id, agent="a1" if n % 2 else "b", minutes_ago=n)
        for n in range(1, 8)
    ]
    wanted = [str(a.id) for a in made if a.labels["agent"] == "a1"]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, "matcher": 'agent="a1"'}
        if cursor:
            params["cursor"] = cursor
        response = await api.get("/api/v1/alerts", params=params, headers=caller.headers)
        seen += ids(response)
        cursor = response.json()["next_cursor"]
        if not cursor:
            break
    assert seen == wanted


async def test_get_one_has_duration_and_activity(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    caller = await factory.user(Role.viewer)
    alert = await add_alert(session, caller.tenant_id, minutes_ago=10, escalation_level=2)
    body = (await api.get(f"/api/v1/alerts/{alert.id}", headers=caller.headers)).json()
    assert body["is_active"] is True and body["escalation_level"] == 2
    assert 600 <= body["duration_seconds"] < 700
    assert body["labels"]["alertname"] == "HighCPU" and body["silenced"] is False
    done = await add_alert(session, caller.tenant_id, status=AlertStatus.resolved, minutes_ago=10)
    body = (await api.get(f"/api/v1/alerts/{done.id}", headers=caller.headers)).json()
    assert body["is_active"] is False
    assert body["duration_seconds"] == pytest.approx(540, abs=1)  # 10 min ago -> 1 min ago
    missing = await api.get(f"/api/v1/alerts/{uuid.uuid4()}", headers=caller.headers)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


async def test_acknowledge_unacknowledge_resolve_notes_and_timeline(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    dev = await factory.user(Role.developer)
    alert = await add_alert(session, dev.tenant_id)
    base = f"/api/v1/alerts/{alert.id}"
    h = dev.headers

    r = await api.post(f"{base}/acknowledge", json={"note": "looking"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"] == str(dev.user_id)
    assert body["acknowledged_at"] is not None
    again = await api.post(f"{base}/acknowledge", headers=h)
    assert again.status_code == 409

    r = await api.post(f"{base}/unacknowledge", headers=h)
    assert r.json()["status"] == "active" and r.json()["acknowledged_by"] is None
    assert (await api.post(f"{base}/unacknowledge", headers=h)).status_code == 409

    r = await api.post(f"{base}/notes", json={"note": "disk full on a1"}, headers=h)
    assert r.status_code == 201 and r.json()["kind"] == "note"

    r = await api.post(f"{base}/resolve", params={"resolution_note": "cleaned up"}, headers=h)
    body = r.json()
    assert body["status"] == "resolved" and body["resolution_note"] == "cleaned up"
    assert body["resolved_by"] == str(dev.user_id) and body["is_active"] is False
    assert (await api.post(f"{base}/resolve", headers=h)).status_code == 409
    assert (await api.post(f"{base}/acknowledge", headers=h)).status_code == 409

    timeline = (await api.get(f"{base}/timeline", headers=h)).json()["items"]
    assert [(e["kind"], e["message"]) for e in timeline] == [
        ("acknowledged", "looking"),
        ("unacknowledged", ""),
        ("note", "disk full on a1"),
        ("resolved", "cleaned up"),
    ]
    assert all(e["actor_id"] == str(dev.user_id) for e in timeline)
    actions = list(
        await session.scalars(
            select(AuditEntry.action)
            .where(AuditEntry.resource_id == str(alert.id))
            .order_by(AuditEntry.at)
        )
    )
    assert actions == ["alert.acknowledge", "alert.unacknowledge", "alert.note", "alert.resolve"]


async def test_bulk_keeps_good_items(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    dev = await factory.user(Role.developer)
    a = await add_alert(session, dev.tenant_id)
    b = await add_alert(session, dev.tenant_id, name="B")
    done = await add_alert(session, dev.tenant_id, name="Done", status=AlertStatus.resolved)
    stranger = await add_alert(session, (await factory.tenant()).id)
    r = await api.post(
        "/api/v1/alerts/bulk",
        json={
            "action": "acknowledge",
            "ids": [str(a.id), str(b.id), str(done.id), str(stranger.id)],
            "note": "on it",
        },
        headers=dev.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["succeeded"], body["failed"]) == (2, 2)
    assert [(x["id"], x["ok"]) for x in body["results"]] == [
        (str(a.id), True),
        (str(b.id), True),
        (str(done.id), False),
        (str(stranger.id), False),
    ]
    assert "not found" in body["results"][3]["error"]
    listed = await api.get("/api/v1/alerts", params={"status": "acknowledged"}, headers=dev.headers)
    assert set(ids(listed)) == {str(a.id), str(b.id)}
    r = await api.post(
        "/api/v1/alerts/bulk",
        json={"action": "resolve", "ids": [str(a.id)], "note": "fixed"},
        headers=dev.headers,
    )
    assert r.json()["results"][0]["status"] == "resolved"


async def test_bad_input_names_the_field(api: httpx.AsyncClient, factory: Factory) -> None:
    dev = await factory.user(Role.developer)
    h = dev.headers
    r = await api.get("/api/v1/alerts", params={"matcher": 'job=~"('}, headers=h)
    assert r.status_code == 400
    assert r.json()["errors"][0]["loc"] == ["query", "matcher", 0]
    r = await api.get("/api/v1/alerts", params={"status": "firing"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "status", 0]
    r = await api.get("/api/v1/alerts", params={"since": "2026-01-01T00:00:00"}, headers=h)
    assert r.status_code == 400 and r.json()["errors"][0]["loc"] == ["query", "since"]
    r = await api.get("/api/v1/alerts", params={"cursor": "nonsense!"}, headers=h)
    assert r.status_code == 400
    r = await api.post("/api/v1/alerts/bulk", json={"action": "snooze", "ids": []}, headers=h)
    assert r.status_code == 422
    assert {tuple(e["loc"]) for e in r.json()["errors"]} == {("body", "action"), ("body", "ids")}
    r = await api.post(f"/api/v1/alerts/{uuid.uuid4()}/notes", json={"note": ""}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "note"]


async def test_roles_and_tenancy(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    viewer = await factory.user(Role.viewer)
    alert = await add_alert(session, viewer.tenant_id)
    r = await api.post(f"/api/v1/alerts/{alert.id}/acknowledge", headers=viewer.headers)
    assert r.status_code == 403
    other = await factory.user(Role.admin)  # another tenant
    assert ids(await api.get("/api/v1/alerts", headers=other.headers)) == []
    assert (await api.get(f"/api/v1/alerts/{alert.id}", headers=other.headers)).status_code == 404
    for path in ("acknowledge", "resolve", "unacknowledge"):
        r = await api.post(f"/api/v1/alerts/{alert.id}/{path}", headers=other.headers)
        assert r.status_code == 404, path
    r = await api.get(f"/api/v1/alerts/{alert.id}/timeline", headers=other.headers)
    assert r.status_code == 404
    fresh = await session.get(Alert, alert.id, populate_existing=True)
    assert fresh is not None and fresh.status is AlertStatus.active

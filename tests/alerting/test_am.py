"""The Alertmanager v2 receiver: pushed alerts fire, refresh, resolve by endsAt or timeout, and
the real Prometheus server delivers its alerts to a running agentdeck."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.alerts import am_service
from agentdeck.alerting.models import Alert, AlertSource, AlertStatus
from agentdeck.app.factory import create_app
from agentdeck.identity.roles import Role
from agentdeck.settings import Settings
from tests.alerting.support import PROMETHEUS, prometheus_server
from tests.conftest import Factory
from tests.ingest.otlp_support import live_server, wait_for

AppFactory = Callable[..., Coroutine[Any, Any, httpx.AsyncClient]]


@pytest.fixture
async def api(app_factory: AppFactory) -> httpx.AsyncClient:
    return await app_factory(loops={"enabled": False})


def pushed(name: str = "DiskFull", **extra: Any) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, "instance": "db1", "severity": "critical"},
        "annotations": {"summary": "disk on db1 is full"},
        "generatorURL": "http://prometheus.example/graph?g0.expr=disk",
        **extra,
    }


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_push_fires_refreshes_and_resolves(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.developer)
    viewer = await factory.user(Role.viewer)
    now = datetime.now(UTC)
    r = await api.post(
        "/api/v2/alerts",
        json=[pushed(startsAt=iso(now - timedelta(minutes=3)))],
        headers=key.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"received": 1, "created": 1, "updated": 0, "resolved": 0}
    r = await api.post("/api/v2/alerts", json=[pushed()], headers=key.headers)
    assert r.json()["updated"] == 1

    listed = await api.get(
        "/api/v1/alerts", params={"source": "external"}, headers=await _same_tenant(factory, key)
    )
    [alert] = listed.json()["items"]
    assert alert["rule_name"] == "DiskFull" and alert["severity"] == "critical"
    assert alert["status"] == "active" and alert["source"] == "external"
    assert alert["annotations"] == {"summary": "disk on db1 is full"}
    assert alert["generator_url"].startswith("http://prometheus.example/")
    assert datetime.fromisoformat(alert["starts_at"]) == (now - timedelta(minutes=3)).replace(
        microsecond=(now - timedelta(minutes=3)).microsecond
    )
    # another tenant sees nothing
    assert (await api.get("/api/v1/alerts", headers=viewer.headers)).json()["items"] == []

    r = await api.post(
        "/api/v2/alerts",
        json=[pushed(endsAt=iso(now - timedelta(seconds=5)))],
        headers=key.headers,
    )
    assert r.json()["resolved"] == 1
    row = await session.get(Alert, uuid.UUID(alert["id"]), populate_existing=True)
    assert row is not None and row.status is AlertStatus.resolved


async def _same_tenant(factory: Factory, key: Any) -> dict[str, str]:
    tenant = await factory.session.get(_tenant_model(), key.tenant_id)
    return (await factory.user(Role.viewer, tenant)).headers


def _tenant_model() -> Any:
    from agentdeck.identity.models import Tenant

    return Tenant


async def test_unrefreshed_alerts_expire_and_manual_resolve_has_a_grace(
    api: httpx.AsyncClient, factory: Factory, session: AsyncSession
) -> None:
    key = await factory.api_key(Role.developer)
    settings = api.app.state.deck.settings.alerting  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    changed = await am_service.receive(
        session,
        tenant_id=key.tenant_id,
        alerts=[_postable(pushed(endsAt=iso(now + timedelta(minutes=4))))],
        settings=settings,
        now=now,
    )
    await session.commit()
    [(alert, action)] = changed
    assert action == "created"
    assert await am_service.expire(session, now=now + timedelta(minutes=3)) == []
    expired = await am_service.expire(session, now=now + timedelta(minutes=5))
    await session.commit()
    assert [a.id for a in expired] == [alert.id] and alert.status is AlertStatus.resolved

    # a new push fires again; resolved by hand, pushes within the grace are ignored
    dev = await factory.user(
        Role.developer, await factory.session.get(_tenant_model(), key.tenant_id)
    )
    r = await api.post("/api/v2/alerts", json=[pushed()], headers=key.headers)
    assert r.json()["created"] == 1
    fresh = await session.scalar(
        select(Alert)
        .where(Alert.tenant_id == key.tenant_id, Alert.status == AlertStatus.active)
        .execution_options(populate_existing=True)
    )
    assert fresh is not None
    fresh_id = fresh.id
    r = await api.post(f"/api/v1/alerts/{fresh_id}/resolve", headers=dev.headers)
    assert r.status_code == 200
    r = await api.post("/api/v2/alerts", json=[pushed()], headers=key.headers)
    assert r.json() == {"received": 1, "created": 0, "updated": 0, "resolved": 0}
    await session.rollback()  # see the resolve the API committed
    later = datetime.now(UTC) + timedelta(seconds=settings.manual_resolve_grace_seconds + 1)
    changed = await am_service.receive(
        session, tenant_id=key.tenant_id, alerts=[_postable(pushed())], settings=settings, now=later
    )
    await session.commit()
    [(again, action)] = changed
    assert action == "created" and again.id != fresh_id


def _postable(data: dict[str, Any]) -> Any:
    from agentdeck.alerting.alerts.schemas import PostableAlert

    return PostableAlert.model_validate(data)


async def test_bad_pushes_name_the_field(api: httpx.AsyncClient, factory: Factory) -> None:
    key = await factory.api_key(Role.developer)
    viewer = await factory.api_key(Role.viewer)
    r = await api.post(
        "/api/v2/alerts",
        json=[
            pushed(),
            {"labels": {"instance": "x"}},
            {"labels": {"alertname": "A", "bad-name": "1"}},
        ],
        headers=key.headers,
    )
    assert r.status_code == 422
    locs = [e["loc"] for e in r.json()["errors"]]
    assert locs == [["body", 1, "labels"], ["body", 2, "labels"]]
    r = await api.post(
        "/api/v2/alerts", json=[pushed(startsAt="2026-01-01T00:00:00")], headers=key.headers
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", 0, "startsAt"]
    assert (await api.post("/api/v2/alerts", json=[pushed()])).status_code == 401
    assert (
        await api.post("/api/v2/alerts", json=[pushed()], headers=viewer.headers)
    ).status_code == 403


async def test_prometheus_sends_its_alerts(
    settings_factory: Callable[..., Settings],
    factory: Factory,
    session: AsyncSession,
    tmp_path: Path,
) -> None:
    assert shutil.which(PROMETHEUS), f"{PROMETHEUS} is missing: run scripts/test-deps.sh"
    key = await factory.api_key(Role.developer)
    app = create_app(settings_factory(loops={"enabled": False}), run_migrations=False)
    (tmp_path / "rules.yml").write_text(
        """
groups:
  - name: demo
    interval: 1s
    rules:
      - alert: AlwaysOn
        expr: vector(42) > 1
        labels:
          severity: error
          team: infra
        annotations:
          summary: "value is {{ $value }}"
"""
    )
    async with live_server(app) as url:
        host = url.removeprefix("http://")
        config = f"""
global:
  evaluation_interval: 1s
rule_files: ["{tmp_path / "rules.yml"}"]
alerting:
  alertmanagers:
    - api_version: v2
      authorization:
        credentials: {key.api_key}
      static_configs:
        - targets: ["{host}"]
"""

        async def arrived() -> Alert | None:
            await session.rollback()
            return await session.scalar(
                select(Alert).where(
                    Alert.tenant_id == key.tenant_id, Alert.source == AlertSource.external
                )
            )

        # resend at once: the first send happens before Prometheus has found its alertmanager
        async with prometheus_server(config, tmp_path, "--rules.alert.resend-delay=1s"):
            alert = await wait_for(arrived, seconds=45, what="Prometheus's alert", interval=0.2)
    assert alert.rule_name == "AlwaysOn" and alert.status is AlertStatus.active
    assert alert.labels == {"alertname": "AlwaysOn", "severity": "error", "team": "infra"}
    assert alert.annotations == {"summary": "value is 42"}
    assert alert.severity.value == "error"
    assert alert.generator_url and "/graph?" in alert.generator_url

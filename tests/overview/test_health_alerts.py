"""Agent health on the overview counts firing alerts: an agent that pages is never "healthy".

gamma serves traffic without errors (healthy by its error rate); a firing warning makes it
degraded, a firing critical unhealthy; resolved alerts and other tenants' alerts count for
nothing; an acknowledged alert still fires.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.alerting.alerts.fingerprint import fingerprint
from agentdeck.alerting.models import Alert
from tests.conftest import Factory
from tests.overview.test_monitoring import WINDOW, Fleet, fleet  # noqa: F401  (the fixture)


def _alert(tenant: uuid.UUID, agent: str, name: str, severity: str, status: str) -> Alert:
    labels = {"alertname": name, "agent": agent}
    return Alert(
        tenant_id=tenant,
        rule_name=name,
        fingerprint=fingerprint(labels),
        labels=labels,
        severity=severity,
        status=status,
        starts_at=datetime.now(UTC) - timedelta(minutes=3),
    )


async def _health(deck: Fleet) -> dict[str, str]:
    agents = await deck.client.get(
        "/api/v1/monitoring/agents", params={"window": WINDOW}, headers=deck.viewer.headers
    )
    topology = await deck.client.get(
        "/api/v1/monitoring/topology", params={"window": WINDOW}, headers=deck.viewer.headers
    )
    from_table = {i["name"]: i["health"] for i in agents.json()["items"]}
    from_graph = {n["name"]: n["health"] for n in topology.json()["nodes"] if n["kind"] == "agent"}
    assert from_table == from_graph  # the table and the topology agree
    return from_table


async def test_firing_alerts_make_an_agent_degraded_or_unhealthy(
    fleet: Fleet,  # noqa: F811  (the fixture)
    factory: Factory,
    session: AsyncSession,
) -> None:
    assert (await _health(fleet))["gamma"] == "healthy"
    tenant = fleet.dev.tenant_id
    other = await factory.tenant()
    session.add_all(
        [
            _alert(tenant, "gamma", "AgentLatencyP95Warning", "warning", "active"),
            _alert(tenant, "gamma", "Old", "critical", "resolved"),
            _alert(other.id, "gamma", "Theirs", "critical", "active"),
        ]
    )
    await session.commit()
    assert (await _health(fleet))["gamma"] == "degraded"

    session.add(_alert(tenant, "gamma", "AgentLatencyP95Critical", "critical", "acknowledged"))
    await session.commit()
    health = await _health(fleet)
    assert health["gamma"] == "unhealthy"
    # the others keep the health of their error rates; a firing info alert changes nothing
    assert (health["alpha"], health["beta"], health["idle"]) == (
        "unhealthy",
        "degraded",
        "unknown",
    )
    session.add(_alert(tenant, "idle", "FYI", "info", "active"))
    await session.commit()
    assert (await _health(fleet))["idle"] == "unknown"

    filtered = await fleet.client.get(
        "/api/v1/monitoring/agents",
        params={"window": WINDOW, "health": "unhealthy"},
        headers=fleet.viewer.headers,
    )
    assert [i["name"] for i in filtered.json()["items"]] == ["alpha", "gamma"]

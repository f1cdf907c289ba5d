"""The call graph of a tenant: agents and the external services they call.

Edges come from two places: the ``agent_calls_total{agent, target}`` (and
``agent_call_errors_total``) samples agents report, and the ``dependencies`` each agent declares
in the registry. A target that names an agent of the tenant is that agent's node; any other
target is an external service.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent, AgentStatus
from agentdeck.overview.agent_metrics import agent_figures
from agentdeck.overview.alerts import firing_by_agent
from agentdeck.overview.monitoring import (
    Window,
    agent_health,
    health_of,
    instant,
    ratio,
)
from agentdeck.overview.monitoring_schemas import (
    EdgeSource,
    Health,
    NodeKind,
    Topology,
    TopologyEdge,
    TopologyNode,
)
from agentdeck.overview.service import Overview
from agentdeck.settings import RealtimeSettings
from agentdeck.tsdb.base import Store

CALLS = "agent_calls_total"
CALL_ERRORS = "agent_call_errors_total"
MAX_NODES = 2000


@dataclass(slots=True)
class _Edge:
    caller: str
    target: str
    sources: set[EdgeSource]
    calls: float | None = None
    errors: float | None = None


async def _call_counts(
    store: Store, live: Overview, tenant_id: uuid.UUID, window: Window, settings: RealtimeSettings
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
    async def compute() -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]:
        now_ms = int(time.time() * 1000)
        w = window.promql
        calls, errors = await asyncio.gather(
            instant(store, tenant_id, f"sum by (agent, target) (increase({CALLS}[{w}]))", now_ms),
            instant(
                store, tenant_id, f"sum by (agent, target) (increase({CALL_ERRORS}[{w}]))", now_ms
            ),
        )

        def keyed(rows: list[tuple[dict[str, str], float]]) -> dict[tuple[str, str], float]:
            return {
                (labels["agent"], labels["target"]): value
                for labels, value in rows
                if labels.get("agent") and labels.get("target")
            }

        return keyed(calls), keyed(errors)

    result: tuple[dict[tuple[str, str], float], dict[tuple[str, str], float]]
    result = await live.queries.get(
        ("calls", tenant_id, window.seconds), settings.overview_cache_seconds, compute
    )
    return result


def _node_id(name: str, agents: Collection[str]) -> str:
    return f"agent:{name}" if name in agents else f"service:{name}"


async def topology(
    session: AsyncSession,
    *,
    store: Store,
    live: Overview,
    settings: RealtimeSettings,
    tenant_id: uuid.UUID,
    window: Window,
    focus: Collection[str] | None = None,
    limit: int = 500,
) -> Topology:
    """Nodes and edges of the tenant's call graph over the window.

    ``focus`` (agent or service names) keeps only the edges touching one of them and their
    nodes. At most ``limit`` nodes are returned (agents first, busiest first).
    """
    rows = (
        await session.execute(
            select(Agent.id, Agent.name, Agent.status, Agent.dependencies, Agent.last_seen_at)
            .where(Agent.tenant_id == tenant_id)
            .order_by(Agent.name)
        )
    ).all()
    agents = {row.name: row for row in rows}
    calls, errors = await _call_counts(store, live, tenant_id, window, settings)
    figures = await agent_figures(store, live, tenant_id, window, settings)
    firing = await firing_by_agent(session, tenant_id=tenant_id)

    edges: dict[tuple[str, str], _Edge] = {}
    for (caller, target), count in calls.items():
        edge = edges.setdefault((caller, target), _Edge(caller, target, set()))
        edge.sources.add(EdgeSource.telemetry)
        edge.calls = count
        edge.errors = errors.get((caller, target), 0.0)
    for row in rows:
        for target in row.dependencies or []:
            name = str(target)
            edge = edges.setdefault((row.name, name), _Edge(row.name, name, set()))
            edge.sources.add(EdgeSource.declared)
    if focus:
        wanted = set(focus)
        edges = {k: e for k, e in edges.items() if e.caller in wanted or e.target in wanted}

    # Nodes: every agent (or, with a focus, those on a kept edge or named), then services.
    names = set(agents)
    if focus:
        names = {n for e in edges.values() for n in (e.caller, e.target)} | (set(focus) & names)
    inbound: dict[str, tuple[float, float]] = {}
    for edge in edges.values():
        if edge.calls is not None:
            total, failed = inbound.get(edge.target, (0.0, 0.0))
            inbound[edge.target] = (total + edge.calls, failed + (edge.errors or 0.0))

    nodes: list[TopologyNode] = []
    for name in sorted(n for n in names if n in agents):
        row = agents[name]
        error_rate = figures.error_rate(name)
        nodes.append(
            TopologyNode(
                id=f"agent:{name}",
                kind=NodeKind.agent,
                name=name,
                agent_id=row.id,
                status=AgentStatus(row.status),
                request_rate=_round(figures.request_rate(name, window)),
                error_rate=_round(error_rate),
                health=agent_health(
                    row.status,
                    error_rate,
                    row.last_seen_at,
                    settings.heartbeat_fresh_seconds,
                    firing.get(name),
                ),
            )
        )
    services = sorted(
        {e.caller for e in edges.values()} | {e.target for e in edges.values()} - set(agents)
    )
    for name in services:
        if name in agents:
            continue
        total, failed = inbound.get(name, (0.0, 0.0))
        error_rate = ratio(failed, total) if name in inbound else None
        nodes.append(
            TopologyNode(
                id=f"service:{name}",
                kind=NodeKind.service,
                name=name,
                agent_id=None,
                status=None,
                request_rate=_round(total / window.seconds) if name in inbound else None,
                error_rate=_round(error_rate),
                health=health_of(error_rate) if total > 0 else Health.unknown,
            )
        )

    truncated = len(nodes) > limit
    if truncated:
        nodes.sort(key=lambda n: (n.kind is not NodeKind.agent, -(n.request_rate or 0.0)))
        nodes = sorted(nodes[:limit], key=lambda n: (n.kind.value, n.name))
    kept = {n.id for n in nodes}
    out_edges = []
    for edge in sorted(edges.values(), key=lambda e: (e.caller, e.target)):
        source, target = _node_id(edge.caller, agents), _node_id(edge.target, agents)
        if source not in kept or target not in kept:
            continue
        error_rate = ratio(edge.errors, edge.calls) if edge.calls else None
        out_edges.append(
            TopologyEdge(
                id=f"{source}->{target}",
                source=source,
                target=target,
                sources=sorted(edge.sources, key=lambda s: s.value),
                request_rate=None if edge.calls is None else _round(edge.calls / window.seconds),
                error_rate=_round(error_rate),
                health=health_of(error_rate),
            )
        )
    return Topology(
        window=window.text,
        window_seconds=window.seconds,
        nodes=nodes,
        edges=out_edges,
        truncated=truncated,
        limit=limit,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 9)

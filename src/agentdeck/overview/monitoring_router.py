"""``/api/v1/monitoring``: fleet overview, per-agent metrics, topology and trends."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from agentdeck.agents.models import AgentStatus, AgentType
from agentdeck.overview import agent_metrics, monitoring, topology, trends
from agentdeck.overview.monitoring_schemas import (
    AgentMetricsPage,
    Health,
    MonitoringOverview,
    PerformanceTrend,
    Topology,
)
from agentdeck.pagination import DEFAULT_LIMIT, MAX_LIMIT
from agentdeck.server.deps import SessionDep, StateDep, Viewer
from agentdeck.server.state import AppState

router = APIRouter(prefix="/api/v1/monitoring", tags=["monitoring"])

WindowQuery = Annotated[
    str,
    Query(
        max_length=32,
        description="A duration from 1m to 7d (`15m`, `1h`, `24h`, or seconds); the figures "
        "cover this window and are compared with the window before it.",
    ),
]


def _sources(state: AppState) -> dict[str, Any]:
    """What the monitoring views read: the metrics store, the live overview, the settings."""
    return {"store": state.store, "live": state.overview, "settings": state.settings.realtime}


@router.get("/overview", response_model=MonitoringOverview, operation_id="get_monitoring_overview")
async def get_monitoring_overview(
    principal: Viewer, session: SessionDep, state: StateDep, window: WindowQuery = "1h"
) -> MonitoringOverview:
    """Agents by status, ingest rate, open alerts by severity, and the fleet's request rate,
    error rate, p95 latency, tokens and cost, each with the previous window and a trend."""
    return await monitoring.overview(
        session,
        **_sources(state),
        tenant_id=principal.tenant_id,
        window=monitoring.parse_window(window),
    )


@router.get("/agents", response_model=AgentMetricsPage, operation_id="list_monitoring_agents")
async def list_monitoring_agents(
    principal: Viewer,
    session: SessionDep,
    state: StateDep,
    window: WindowQuery = "1h",
    agent_status: Annotated[
        list[AgentStatus] | None, Query(alias="status", description="Repeatable.")
    ] = None,
    agent_type: Annotated[
        list[AgentType] | None, Query(alias="type", description="Repeatable.")
    ] = None,
    health: Annotated[list[Health] | None, Query(description="Repeatable.")] = None,
    label: Annotated[
        str | None, Query(max_length=2000, description="Kubernetes label selector.")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Name contains (case-insensitive).")
    ] = None,
    sort: Annotated[
        str,
        Query(
            max_length=32,
            description="One of " + ", ".join(agent_metrics.AGENT_SORTS) + "; prefix `-` for "
            "descending. Agents without a value come last either way.",
        ),
    ] = "name",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> AgentMetricsPage:
    """Every agent with its status, health and key metrics over the window, sorted and paged."""
    parsed = monitoring.parse_window(window)
    items, next_cursor = await agent_metrics.agent_metrics(
        session,
        **_sources(state),
        tenant_id=principal.tenant_id,
        window=parsed,
        statuses=agent_status,
        types=agent_type,
        health=health,
        label_selector=label,
        q=q,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    return AgentMetricsPage(
        items=items,
        next_cursor=next_cursor,
        limit=limit,
        window=parsed.text,
        window_seconds=parsed.seconds,
        sparkline_step_seconds=agent_metrics.spark_step_seconds(parsed),
    )


@router.get("/topology", response_model=Topology, operation_id="get_monitoring_topology")
async def get_monitoring_topology(
    principal: Viewer,
    session: SessionDep,
    state: StateDep,
    window: WindowQuery = "1h",
    agent: Annotated[
        list[str] | None,
        Query(description="Keep only the calls touching these agents or services (repeatable)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=topology.MAX_NODES)] = 500,
) -> Topology:
    """Agents and external services with the calls between them (from `agent_calls_total`
    samples and declared `dependencies`), each with request rate, error rate and health."""
    return await topology.topology(
        session,
        **_sources(state),
        tenant_id=principal.tenant_id,
        window=monitoring.parse_window(window),
        focus=agent,
        limit=limit,
    )


@router.get(
    "/performance/trends",
    response_model=PerformanceTrend,
    operation_id="get_performance_trends",
)
async def get_performance_trends(
    principal: Viewer,
    state: StateDep,
    metric: Annotated[
        str,
        Query(
            max_length=64,
            description="request_rate, error_rate, p95_latency_seconds, tokens, cost_usd, "
            "cpu_percent or memory_percent.",
        ),
    ],
    window: WindowQuery = "1h",
    agent: Annotated[
        str | None, Query(max_length=253, description="One agent's name; default the fleet.")
    ] = None,
) -> PerformanceTrend:
    """A metric over the window against the window before: both values, the change in
    percent, the direction, and both series aligned for an overlay chart."""
    return await trends.performance_trend(
        store=state.store,
        tenant_id=principal.tenant_id,
        metric=trends.parse_metric(metric),
        window=monitoring.parse_window(window),
        agent=agent or None,
    )

"""Responses of the monitoring routes: ``/api/v1/monitoring/{overview,agents,topology,
performance/trends}``."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from agentdeck.agents.models import AgentStatus, AgentType
from agentdeck.overview.schemas import Trend


class Health(StrEnum):
    """Health of an agent, a service or a call edge, from its error rate and status."""

    healthy = "healthy"
    degraded = "degraded"
    unhealthy = "unhealthy"
    unknown = "unknown"


class Headline(BaseModel):
    """One headline number with the previous window's value and the trend between them."""

    value: float | None = Field(description="In the current window; null when there is no data.")
    previous: float | None = Field(description="The same figure over the window before.")
    change_percent: float | None = Field(
        description="100 × (value − previous) / |previous|; null when either is missing or "
        "previous is 0."
    )
    trend: Trend = Field(description="`flat` when the change is under 1 % (or unknown).")
    history: bool = Field(
        True,
        description="Whether data reaches back to the start of the previous window. False: "
        "the previous window is only partly filled (a fresh install, a new tenant), so the "
        "change compares against too little and should read as 'not enough history'.",
    )


class AgentCounts(BaseModel):
    total: int
    by_status: dict[AgentStatus, int] = Field(description="Every status, zeros included.")


class AlertSeverity(StrEnum):
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


class AlertItem(BaseModel):
    """An open alert, for the overview's alert strip."""

    id: uuid.UUID
    alertname: str = Field(description="The rule's name (or the external alert's alertname).")
    severity: AlertSeverity
    status: str = Field(description="`active` or `acknowledged`.")
    agent: str | None = Field(description="The `agent` label of the alert, when it has one.")
    starts_at: datetime
    suppressed: Literal["silenced", "inhibited"] | None = Field(
        None,
        description="Why its notifications are held, like Alertmanager's `suppressed` state: "
        "a silence matches it, or a firing alert inhibits it (null: it notifies).",
    )


class AlertCounts(BaseModel):
    active: int = Field(description="Open alerts: active or acknowledged (not resolved).")
    suppressed: int = Field(
        0, description="Of the open alerts, those silenced or inhibited (notifications held)."
    )
    by_severity: dict[AlertSeverity, int] = Field(description="Every severity, zeros included.")
    recent: list[AlertItem] = Field(description="The 10 most recent open alerts, newest first.")


class MonitoringOverview(BaseModel):
    """The fleet at a glance over one window, each headline against the window before."""

    window: str = Field(description="The window as given, e.g. `1h`.")
    window_seconds: int
    agents: AgentCounts
    ingest_rate: Headline = Field(
        description="Samples stored per second over the last 60 s (this server process), "
        "against the 60 s before."
    )
    request_rate: Headline = Field(description="Fleet requests per second over the window.")
    error_rate: Headline = Field(description="Failed ÷ all requests of the fleet (0–1).")
    p95_latency_seconds: Headline = Field(
        description="95th percentile request latency of the fleet (from the latency histogram)."
    )
    tokens: Headline = Field(description="Tokens (input and output) used in the window.")
    cost_usd: Headline = Field(description="Spend in US dollars in the window.")
    alerts: AlertCounts
    timestamp: datetime


class AgentMetrics(BaseModel):
    """One agent with its status, health and key metrics over the window."""

    id: uuid.UUID
    name: str
    type: AgentType
    status: AgentStatus
    health: Health
    labels: dict[str, str]
    cpu_percent: float | None = Field(description="Latest CPU gauge (mean over replicas).")
    memory_percent: float | None = Field(description="Latest memory gauge.")
    request_rate: float | None = Field(description="Requests per second over the window.")
    error_rate: float | None = Field(description="Failed ÷ all requests (0–1); null: no traffic.")
    p95_latency_seconds: float | None
    tokens: float | None = Field(description="Tokens used in the window.")
    cost_usd: float | None = Field(description="Spend in the window.")
    last_seen: datetime | None = Field(description="When the agent last sent telemetry.")
    sparkline: list[float | None] = Field(
        description="Request rate over the window in equal steps (oldest first); null: no data."
    )


class AgentMetricsPage(BaseModel):
    items: list[AgentMetrics]
    next_cursor: str | None = Field(
        None, description="Pass as `cursor` to get the next page; null on the last page."
    )
    limit: int
    window: str
    window_seconds: int
    sparkline_step_seconds: int


class NodeKind(StrEnum):
    agent = "agent"
    service = "service"


class TopologyNode(BaseModel):
    id: str = Field(description="`agent:<name>` or `service:<name>`.")
    kind: NodeKind
    name: str
    agent_id: uuid.UUID | None = Field(description="The registry id; null for external services.")
    status: AgentStatus | None = Field(description="Registry status; null for services.")
    request_rate: float | None = Field(
        description="Agents: requests served per second; services: calls received per second."
    )
    error_rate: float | None
    health: Health


class EdgeSource(StrEnum):
    telemetry = "telemetry"
    declared = "declared"


class TopologyEdge(BaseModel):
    id: str = Field(description="`<source node id>-><target node id>`.")
    source: str = Field(description="Node id of the caller.")
    target: str = Field(description="Node id of the callee.")
    sources: list[EdgeSource] = Field(
        description="Where the edge comes from: `agent_calls_total` samples, the caller's "
        "declared `dependencies`, or both."
    )
    request_rate: float | None = Field(description="Calls per second over the window.")
    error_rate: float | None
    health: Health


class Topology(BaseModel):
    window: str
    window_seconds: int
    nodes: list[TopologyNode]
    edges: list[TopologyEdge]
    truncated: bool = Field(
        description="True when nodes beyond `limit` were left out (with their edges)."
    )
    limit: int


class TrendMetric(StrEnum):
    request_rate = "request_rate"
    error_rate = "error_rate"
    p95_latency_seconds = "p95_latency_seconds"
    tokens = "tokens"
    cost_usd = "cost_usd"
    cpu_percent = "cpu_percent"
    memory_percent = "memory_percent"


class TrendPoint(BaseModel):
    t: datetime
    v: float | None


class PerformanceTrend(BaseModel):
    """A metric over the current window against the window before."""

    metric: TrendMetric
    agent: str | None = Field(description="The agent it is limited to; null: the whole fleet.")
    unit: str
    window: str
    window_seconds: int
    current: float | None
    previous: float | None
    change_percent: float | None
    direction: Trend
    step_seconds: int
    current_series: list[TrendPoint] = Field(description="The current window, oldest first.")
    previous_series: list[TrendPoint] = Field(
        description="The previous window shifted forward by one window, so the two overlay."
    )
    timestamp: datetime

"""Per-agent monitoring figures: key metrics and a request-rate sparkline per agent over a
window, filtered, sorted and paged (``GET /api/v1/monitoring/agents``)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent, AgentStatus, AgentType
from agentdeck.agents.selectors import label_condition, parse_label_selector
from agentdeck.errors import malformed
from agentdeck.overview.alerts import firing_by_agent
from agentdeck.overview.monitoring import (
    COST,
    CPU,
    DURATION_BUCKET,
    ERRORS,
    LATENCY_GAUGE,
    MEMORY,
    MIN_RATE_RANGE_S,
    REQUESTS,
    SPARKLINE_POINTS,
    TOKENS,
    Window,
    agent_health,
    by_label,
    range_by_label,
    ratio,
    round_or_none,
)
from agentdeck.overview.monitoring_schemas import (
    AgentMetrics,
    Health,
)
from agentdeck.overview.service import Overview
from agentdeck.pagination import decode_cursor, encode_cursor
from agentdeck.settings import RealtimeSettings
from agentdeck.tsdb.base import Store


@dataclass(frozen=True, slots=True)
class AgentFigures:
    cpu: dict[str, float]
    memory: dict[str, float]
    requests: dict[str, float]
    errors: dict[str, float]
    p95: dict[str, float]
    tokens: dict[str, float]
    cost: dict[str, float]
    sparklines: dict[str, dict[int, float]]
    spark_start_ms: int
    spark_step_ms: int

    def request_rate(self, agent: str, window: Window) -> float | None:
        requests = self.requests.get(agent)
        return None if requests is None else requests / window.seconds

    def error_rate(self, agent: str) -> float | None:
        requests = self.requests.get(agent)
        return ratio(self.errors.get(agent, 0.0), requests) if requests else None

    def sparkline(self, agent: str) -> list[float | None]:
        points = self.sparklines.get(agent, {})
        out: list[float | None] = []
        for i in range(SPARKLINE_POINTS):
            value = points.get(self.spark_start_ms + i * self.spark_step_ms)
            out.append(None if value is None else round(value, 4))
        return out


def spark_step_seconds(window: Window) -> int:
    return max(window.seconds // SPARKLINE_POINTS, 1)


async def agent_figures(
    store: Store, live: Overview, tenant_id: uuid.UUID, window: Window, settings: RealtimeSettings
) -> AgentFigures:
    """Every agent's key figures over the window (cached per tenant and window)."""

    async def compute() -> AgentFigures:
        now_ms = int(time.time() * 1000)
        w = window.promql
        step_ms = spark_step_seconds(window) * 1000
        end_ms = now_ms - now_ms % step_ms
        start_ms = end_ms - (SPARKLINE_POINTS - 1) * step_ms
        rate_range = f"{max(2 * step_ms // 1000, MIN_RATE_RANGE_S)}s"
        figures = asyncio.gather(
            by_label(store, tenant_id, f"avg by (agent) ({CPU})", now_ms),
            by_label(store, tenant_id, f"avg by (agent) ({MEMORY})", now_ms),
            by_label(store, tenant_id, f"sum by (agent) (increase({REQUESTS}[{w}]))", now_ms),
            by_label(store, tenant_id, f"sum by (agent) (increase({ERRORS}[{w}]))", now_ms),
            by_label(
                store,
                tenant_id,
                f"histogram_quantile(0.95, sum by (agent, le) (rate({DURATION_BUCKET}[{w}])))",
                now_ms,
            ),
            by_label(
                store,
                tenant_id,
                f"max by (agent) (quantile_over_time(0.95, {LATENCY_GAUGE}[{w}]))",
                now_ms,
            ),
            by_label(store, tenant_id, f"sum by (agent) (increase({TOKENS}[{w}]))", now_ms),
            by_label(store, tenant_id, f"sum by (agent) (increase({COST}[{w}]))", now_ms),
        )
        sparkline_query = range_by_label(
            store,
            tenant_id,
            f"sum by (agent) (rate({REQUESTS}[{rate_range}]))",
            start_ms,
            end_ms,
            step_ms,
            "agent",
        )
        labelled, sparklines = await asyncio.gather(figures, sparkline_query)
        cpu, memory, requests, errors, p95, p95_gauge, tokens, cost = labelled
        return AgentFigures(
            cpu=cpu,
            memory=memory,
            requests=requests,
            errors=errors,
            p95={**p95_gauge, **p95},
            tokens=tokens,
            cost=cost,
            sparklines=sparklines,
            spark_start_ms=start_ms,
            spark_step_ms=step_ms,
        )

    figures: AgentFigures = await live.queries.get(
        ("agents", tenant_id, window.seconds), settings.overview_cache_seconds, compute
    )
    return figures


# Sort keys of /monitoring/agents: API name → attribute of AgentMetrics.
AGENT_SORTS: dict[str, str] = {
    "name": "name",
    "status": "status",
    "health": "health",
    "cpu": "cpu_percent",
    "memory": "memory_percent",
    "request_rate": "request_rate",
    "error_rate": "error_rate",
    "p95_latency": "p95_latency_seconds",
    "tokens": "tokens",
    "cost": "cost_usd",
    "last_seen": "last_seen",
}
_TEXT_SORTS = frozenset({"name", "status", "health"})


def parse_sort(text: str) -> tuple[str, bool]:
    """``name`` or ``-request_rate`` → (attribute, descending); 400 naming ``sort`` else."""
    key = text.strip()
    descending = key.startswith("-")
    attr = AGENT_SORTS.get(key.lstrip("-"))
    if attr is None:
        choices = ", ".join(AGENT_SORTS)
        raise malformed(
            "invalid-parameter",
            ["query", "sort"],
            f"cannot sort by {text!r}; use one of {choices} (prefix '-' for descending)",
        )
    return attr, descending


def _sort_value(item: AgentMetrics, attr: str) -> Any:
    value = getattr(item, attr)
    return value.value if hasattr(value, "value") else value


def _check_cursor_value(value: Any, attr: str) -> None:
    if value is None:
        return
    if attr == "last_seen":
        fits = isinstance(value, datetime)
    elif attr in {AGENT_SORTS[k] for k in _TEXT_SORTS}:
        fits = isinstance(value, str)
    else:
        fits = isinstance(value, int | float) and not isinstance(value, bool)
    if not fits:
        raise malformed(
            "invalid-cursor", ["query", "cursor"], "the cursor belongs to another sort order"
        )


def order_and_page(
    items: list[AgentMetrics], *, attr: str, descending: bool, limit: int, cursor: str | None
) -> tuple[list[AgentMetrics], str | None]:
    """Sort by ``attr`` then id (nulls last either way) and cut one page after ``cursor``."""
    present = [i for i in items if _sort_value(i, attr) is not None]
    missing = [i for i in items if _sort_value(i, attr) is None]
    present.sort(key=lambda i: (_sort_value(i, attr), str(i.id)), reverse=descending)
    missing.sort(key=lambda i: str(i.id), reverse=descending)
    ordered = present + missing
    if cursor:
        value, ident = decode_cursor(cursor)
        _check_cursor_value(value, attr)
        ident_text = str(ident)

        def after(item: AgentMetrics) -> bool:
            mine = _sort_value(item, attr)
            if value is None:
                if mine is not None:
                    return False
                return str(item.id) < ident_text if descending else str(item.id) > ident_text
            if mine is None:
                return True
            pair, cut = (mine, str(item.id)), (value, ident_text)
            return bool(pair < cut) if descending else bool(pair > cut)

        ordered = [i for i in ordered if after(i)]
    page = ordered[:limit]
    next_cursor = None
    if len(ordered) > limit and page:
        last = page[-1]
        next_cursor = encode_cursor(_sort_value(last, attr), last.id)
    return page, next_cursor


async def agent_metrics(
    session: AsyncSession,
    *,
    store: Store,
    live: Overview,
    settings: RealtimeSettings,
    tenant_id: uuid.UUID,
    window: Window,
    statuses: Collection[AgentStatus] | None = None,
    types: Collection[AgentType] | None = None,
    health: Collection[Health] | None = None,
    label_selector: str | None = None,
    q: str | None = None,
    sort: str = "name",
    limit: int = 50,
    cursor: str | None = None,
) -> tuple[list[AgentMetrics], str | None]:
    """One page of the tenant's agents with their figures, filtered and sorted."""
    attr, descending = parse_sort(sort)
    stmt = select(Agent).where(Agent.tenant_id == tenant_id)
    if statuses:
        stmt = stmt.where(Agent.status.in_(list(statuses)))
    if types:
        stmt = stmt.where(Agent.type.in_(list(types)))
    if label_selector is not None and label_selector.strip():
        for requirement in parse_label_selector(label_selector):
            stmt = stmt.where(label_condition(requirement))
    if q:
        stmt = stmt.where(Agent.name.icontains(q, autoescape=True))
    agents = (await session.scalars(stmt)).all()
    figures = await agent_figures(store, live, tenant_id, window, settings)
    firing = await firing_by_agent(session, tenant_id=tenant_id)
    items = []
    for agent in agents:
        error_rate = figures.error_rate(agent.name)
        item = AgentMetrics(
            id=agent.id,
            name=agent.name,
            type=agent.type,
            status=agent.status,
            health=agent_health(
                agent.status,
                error_rate,
                agent.last_seen_at,
                settings.heartbeat_fresh_seconds,
                firing.get(agent.name),
            ),
            labels={str(k): str(v) for k, v in agent.labels.items()},
            cpu_percent=round_or_none(figures.cpu.get(agent.name)),
            memory_percent=round_or_none(figures.memory.get(agent.name)),
            request_rate=round_or_none(figures.request_rate(agent.name, window)),
            error_rate=round_or_none(error_rate),
            p95_latency_seconds=round_or_none(figures.p95.get(agent.name)),
            tokens=round_or_none(figures.tokens.get(agent.name)),
            cost_usd=round_or_none(figures.cost.get(agent.name)),
            last_seen=agent.last_seen_at,
            sparkline=figures.sparkline(agent.name),
        )
        if not health or item.health in health:
            items.append(item)
    return order_and_page(items, attr=attr, descending=descending, limit=limit, cursor=cursor)

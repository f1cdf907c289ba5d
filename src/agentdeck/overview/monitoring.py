"""The monitoring views: fleet overview, per-agent metrics and performance trends.

Every figure comes from the metrics store through PromQL (the standard names of
docs/metrics.md), so the same code answers on DuckDB and VictoriaMetrics. A window's figure is
compared with the same figure one window earlier. Store answers are cached per tenant and
window for ``realtime.overview_cache_seconds`` with single-flight; registry rows, alerts and
the ingest rate are read fresh on every call.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent, AgentStatus, AgentType
from agentdeck.agents.selectors import label_condition, parse_label_selector
from agentdeck.errors import malformed
from agentdeck.overview.alerts import open_alerts
from agentdeck.overview.monitoring_schemas import (
    AgentCounts,
    AgentMetrics,
    Headline,
    Health,
    MonitoringOverview,
    PerformanceTrend,
    TrendMetric,
    TrendPoint,
)
from agentdeck.overview.schemas import Trend
from agentdeck.overview.service import Overview
from agentdeck.pagination import decode_cursor, encode_cursor
from agentdeck.query import service as query_service
from agentdeck.settings import RealtimeSettings
from agentdeck.tsdb.base import Store
from agentdeck.tsdb.promql import PromQLError

MIN_WINDOW_S = 60
MAX_WINDOW_S = 7 * 86_400
DEFAULT_WINDOW = "1h"
#: A change smaller than this (in percent) is a flat trend.
FLAT_PERCENT = 1.0
#: Error rates at or above these make an agent, service or edge degraded / unhealthy.
DEGRADED_ERROR_RATE = 0.01
UNHEALTHY_ERROR_RATE = 0.05
SPARKLINE_POINTS = 30
TREND_POINTS = 60
QUERY_TIMEOUT_S = 30.0
#: Shortest range of the rate() behind a series point: two samples of an agent reporting
#: once a minute.
MIN_RATE_RANGE_S = 120

REQUESTS = "agent_requests_total"
ERRORS = "agent_errors_total"
DURATION_BUCKET = "agent_request_duration_seconds_bucket"
LATENCY_GAUGE = "agent_request_latency_seconds"
TOKENS = "agent_tokens_total"
COST = "agent_cost_usd_total"
CPU = "agent_cpu_percent"
MEMORY = "agent_memory_percent"


# --- parameters ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    text: str
    seconds: int

    @property
    def promql(self) -> str:
        return f"{self.seconds}s"


def parse_window(text: str | None) -> Window:
    """A window such as ``15m``, ``1h`` or ``3600`` (seconds), between 1 minute and 7 days."""
    text = (text or DEFAULT_WINDOW).strip()
    try:
        ms = query_service.parse_duration_ms(text, None, "window")
    except PromQLError:
        ms = -1
    if ms < MIN_WINDOW_S * 1000 or ms > MAX_WINDOW_S * 1000 or ms % 1000:
        raise malformed(
            "invalid-parameter",
            ["query", "window"],
            f"window {text!r} is not a duration between 1m and 7d in whole seconds "
            "(e.g. 15m, 1h, 24h)",
        )
    return Window(text, ms // 1000)


def selector(metric: str, **labels: str | None) -> str:
    """``metric{k="v",…}`` with the values quoted (labels given as None are left out)."""
    parts = [f"{k}={_quote(v)}" for k, v in labels.items() if v is not None]
    return f"{metric}{{{','.join(parts)}}}" if parts else metric


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


# --- store access ----------------------------------------------------------------------------


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


async def instant(
    store: Store, tenant_id: uuid.UUID, query: str, at_ms: int
) -> list[tuple[dict[str, str], float]]:
    """The finite samples of an instant query as (labels, value)."""
    data = await query_service.instant_query(store, tenant_id, query, at_ms, QUERY_TIMEOUT_S)
    if data.get("resultType") == "scalar":
        value = _finite(data["result"][1])
        return [] if value is None else [({}, value)]
    out = []
    for item in data.get("result", []):
        value = _finite(item["value"][1])
        if value is not None:
            out.append((dict(item.get("metric", {})), value))
    return out


async def scalar(store: Store, tenant_id: uuid.UUID, query: str, at_ms: int) -> float | None:
    """The single value of an aggregated instant query; None when it has no data."""
    samples = await instant(store, tenant_id, query, at_ms)
    return samples[0][1] if samples else None


async def by_label(
    store: Store, tenant_id: uuid.UUID, query: str, at_ms: int, label: str = "agent"
) -> dict[str, float]:
    return {
        labels[label]: value
        for labels, value in await instant(store, tenant_id, query, at_ms)
        if label in labels
    }


async def range_by_label(
    store: Store,
    tenant_id: uuid.UUID,
    query: str,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    label: str | None,
) -> dict[str, dict[int, float]]:
    """Series of a range query keyed by ``label`` (``""`` when None): {ms: value}."""
    data = await query_service.range_query(
        store, tenant_id, query, start_ms, end_ms, step_ms, QUERY_TIMEOUT_S
    )
    out: dict[str, dict[int, float]] = {}
    for item in data.get("result", []):
        key = "" if label is None else item.get("metric", {}).get(label)
        if key is None:
            continue
        points = out.setdefault(key, {})
        for t, raw in item.get("values", []):
            value = _finite(raw)
            if value is not None:
                points[round(float(t) * 1000)] = value
    return out


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator <= 0:
        return None
    return numerator / denominator


def health_of(error_rate: float | None) -> Health:
    if error_rate is None:
        return Health.unknown
    if error_rate >= UNHEALTHY_ERROR_RATE:
        return Health.unhealthy
    if error_rate >= DEGRADED_ERROR_RATE:
        return Health.degraded
    return Health.healthy


def agent_health(
    status: AgentStatus, error_rate: float | None, last_seen: datetime | None, fresh_s: float
) -> Health:
    """Error status → unhealthy; otherwise the error rate; no traffic → healthy when seen
    recently and meant to run, else unknown."""
    if status is AgentStatus.error:
        return Health.unhealthy
    if error_rate is not None:
        return health_of(error_rate)
    recent = last_seen is not None and datetime.now(UTC) - last_seen <= timedelta(seconds=fresh_s)
    if recent and status is not AgentStatus.stopped:
        return Health.healthy
    return Health.unknown


def headline(current: float | None, previous: float | None) -> Headline:
    change = None
    if current is not None and previous is not None and previous != 0:
        change = round(100 * (current - previous) / abs(previous), 2)
    if current is None or previous is None:
        trend = Trend.flat
    elif change is None:  # previous == 0
        trend = Trend.up if current > 0 else Trend.down if current < 0 else Trend.flat
    elif abs(change) < FLAT_PERCENT:
        trend = Trend.flat
    else:
        trend = Trend.up if change > 0 else Trend.down
    return Headline(
        value=current,
        previous=previous,
        change_percent=change,
        trend=trend,
    )


# --- overview --------------------------------------------------------------------------------


async def _fleet_figures(
    store: Store, tenant_id: uuid.UUID, window: Window, at_ms: int
) -> dict[str, float | None]:
    w = window.promql
    requests, errors, p95, p95_gauge, tokens, cost = await asyncio.gather(
        scalar(store, tenant_id, f"sum(increase({REQUESTS}[{w}]))", at_ms),
        scalar(store, tenant_id, f"sum(increase({ERRORS}[{w}]))", at_ms),
        scalar(
            store,
            tenant_id,
            f"histogram_quantile(0.95, sum by (le) (rate({DURATION_BUCKET}[{w}])))",
            at_ms,
        ),
        scalar(
            store,
            tenant_id,
            f"quantile(0.95, quantile_over_time(0.95, {LATENCY_GAUGE}[{w}]))",
            at_ms,
        ),
        scalar(store, tenant_id, f"sum(increase({TOKENS}[{w}]))", at_ms),
        scalar(store, tenant_id, f"sum(increase({COST}[{w}]))", at_ms),
    )
    return {
        "request_rate": None if requests is None else requests / window.seconds,
        "error_rate": ratio(errors or 0.0, requests) if requests else None,
        "p95": p95 if p95 is not None else p95_gauge,
        "tokens": tokens,
        "cost": cost,
    }


async def _agent_counts(session: AsyncSession, tenant_id: uuid.UUID) -> AgentCounts:
    rows = (
        await session.execute(
            select(Agent.status, func.count())
            .where(Agent.tenant_id == tenant_id)
            .group_by(Agent.status)
        )
    ).all()
    by_status = dict.fromkeys(AgentStatus, 0)
    for status, count in rows:
        by_status[AgentStatus(status)] = int(count)
    return AgentCounts(total=sum(by_status.values()), by_status=by_status)


async def overview(
    session: AsyncSession,
    *,
    store: Store,
    live: Overview,
    settings: RealtimeSettings,
    tenant_id: uuid.UUID,
    window: Window,
) -> MonitoringOverview:
    """Agents by status, ingest rate, open alerts and the fleet's headline figures."""
    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)

    async def compute() -> tuple[dict[str, float | None], dict[str, float | None]]:
        return await asyncio.gather(
            _fleet_figures(store, tenant_id, window, now_ms),
            _fleet_figures(store, tenant_id, window, now_ms - window.seconds * 1000),
        )

    current, previous = await live.queries.get(
        ("overview", tenant_id, window.seconds), settings.overview_cache_seconds, compute
    )
    eps, previous_eps, _ = live.rates(tenant_id, now.timestamp())
    return MonitoringOverview(
        window=window.text,
        window_seconds=window.seconds,
        agents=await _agent_counts(session, tenant_id),
        ingest_rate=headline(round(eps, 3), round(previous_eps, 3)),
        request_rate=headline(current["request_rate"], previous["request_rate"]),
        error_rate=headline(current["error_rate"], previous["error_rate"]),
        p95_latency_seconds=headline(current["p95"], previous["p95"]),
        tokens=headline(current["tokens"], previous["tokens"]),
        cost_usd=headline(current["cost"], previous["cost"]),
        alerts=await open_alerts(session, tenant_id=tenant_id),
        timestamp=now,
    )


# --- per agent -------------------------------------------------------------------------------


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
    items = []
    for agent in agents:
        error_rate = figures.error_rate(agent.name)
        item = AgentMetrics(
            id=agent.id,
            name=agent.name,
            type=agent.type,
            status=agent.status,
            health=agent_health(
                agent.status, error_rate, agent.last_seen_at, settings.heartbeat_fresh_seconds
            ),
            labels={str(k): str(v) for k, v in agent.labels.items()},
            cpu_percent=_round(figures.cpu.get(agent.name)),
            memory_percent=_round(figures.memory.get(agent.name)),
            request_rate=_round(figures.request_rate(agent.name, window)),
            error_rate=_round(error_rate),
            p95_latency_seconds=_round(figures.p95.get(agent.name)),
            tokens=_round(figures.tokens.get(agent.name)),
            cost_usd=_round(figures.cost.get(agent.name)),
            last_seen=agent.last_seen_at,
            sparkline=figures.sparkline(agent.name),
        )
        if not health or item.health in health:
            items.append(item)
    return order_and_page(items, attr=attr, descending=descending, limit=limit, cursor=cursor)


def _round(value: float | None, digits: int = 9) -> float | None:
    return None if value is None else round(value, digits)


# --- trends ----------------------------------------------------------------------------------

_UNITS: dict[TrendMetric, str] = {
    TrendMetric.request_rate: "requests/s",
    TrendMetric.error_rate: "ratio",
    TrendMetric.p95_latency_seconds: "seconds",
    TrendMetric.tokens: "tokens",
    TrendMetric.cost_usd: "USD",
    TrendMetric.cpu_percent: "percent",
    TrendMetric.memory_percent: "percent",
}


def parse_metric(text: str) -> TrendMetric:
    try:
        return TrendMetric(text.strip())
    except ValueError:
        choices = ", ".join(m.value for m in TrendMetric)
        raise malformed(
            "invalid-parameter",
            ["query", "metric"],
            f"unknown metric {text!r}; use one of {choices}",
        ) from None


def _trend_queries(metric: TrendMetric, agent: str | None, w: str, r: str) -> tuple[str, str]:
    """(the window's value, the per-step series) of a metric, optionally for one agent."""

    def s(name: str) -> str:
        return selector(name, agent=agent)

    match metric:
        case TrendMetric.request_rate:
            return f"sum(rate({s(REQUESTS)}[{w}]))", f"sum(rate({s(REQUESTS)}[{r}]))"
        case TrendMetric.error_rate:
            return (
                f"sum(increase({s(ERRORS)}[{w}])) / sum(increase({s(REQUESTS)}[{w}]))",
                f"sum(rate({s(ERRORS)}[{r}])) / sum(rate({s(REQUESTS)}[{r}]))",
            )
        case TrendMetric.p95_latency_seconds:
            return (
                f"histogram_quantile(0.95, sum by (le) (rate({s(DURATION_BUCKET)}[{w}])))",
                f"histogram_quantile(0.95, sum by (le) (rate({s(DURATION_BUCKET)}[{r}])))",
            )
        case TrendMetric.tokens:
            return f"sum(increase({s(TOKENS)}[{w}]))", f"sum(increase({s(TOKENS)}[{r}]))"
        case TrendMetric.cost_usd:
            return f"sum(increase({s(COST)}[{w}]))", f"sum(increase({s(COST)}[{r}]))"
        case TrendMetric.cpu_percent:
            return f"avg(avg_over_time({s(CPU)}[{w}]))", f"avg({s(CPU)})"
        case TrendMetric.memory_percent:
            return f"avg(avg_over_time({s(MEMORY)}[{w}]))", f"avg({s(MEMORY)})"
    raise AssertionError(metric)  # pragma: no cover


async def performance_trend(
    *,
    store: Store,
    tenant_id: uuid.UUID,
    metric: TrendMetric,
    window: Window,
    agent: str | None = None,
) -> PerformanceTrend:
    """``metric`` over the window against the window before, with both series to overlay.

    Series of counters (tokens, cost) hold the increase per step; the others their value."""
    now = datetime.now(UTC)
    now_ms = int(now.timestamp() * 1000)
    win_ms = window.seconds * 1000
    step_ms = max(win_ms // TREND_POINTS, 1000)
    step_ms -= step_ms % 1000
    end_ms = now_ms - now_ms % step_ms
    start_ms = end_ms - (TREND_POINTS - 1) * step_ms
    series_range = f"{max(2 * step_ms // 1000, MIN_RATE_RANGE_S)}s"
    if metric in (TrendMetric.tokens, TrendMetric.cost_usd):
        series_range = f"{step_ms // 1000}s"
    value_q, series_q = _trend_queries(metric, agent, window.promql, series_range)
    current, previous, current_series, previous_series = await asyncio.gather(
        scalar(store, tenant_id, value_q, now_ms),
        scalar(store, tenant_id, value_q, now_ms - win_ms),
        range_by_label(store, tenant_id, series_q, start_ms, end_ms, step_ms, None),
        range_by_label(
            store, tenant_id, series_q, start_ms - win_ms, end_ms - win_ms, step_ms, None
        ),
    )
    this, before = current_series.get("", {}), previous_series.get("", {})
    times = [start_ms + i * step_ms for i in range(TREND_POINTS)]
    head = headline(current, previous)
    return PerformanceTrend(
        metric=metric,
        agent=agent,
        unit=_UNITS[metric],
        window=window.text,
        window_seconds=window.seconds,
        current=head.value,
        previous=head.previous,
        change_percent=head.change_percent,
        direction=head.trend,
        step_seconds=step_ms // 1000,
        current_series=[TrendPoint(t=_at(t), v=_round(this.get(t))) for t in times],
        previous_series=[TrendPoint(t=_at(t), v=_round(before.get(t - win_ms))) for t in times],
        timestamp=now,
    )


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)

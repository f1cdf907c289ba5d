"""The monitoring views' shared parts and the fleet overview.

Windows, PromQL helpers and health rules shared by the fleet overview (here), the per-agent
figures (:mod:`.agent_metrics`), performance trends (:mod:`.trends`) and the topology.

Every figure comes from the metrics store through PromQL (the standard names of
docs/metrics.md), so the same code answers on DuckDB and VictoriaMetrics. A window's figure is
compared with the same figure one window earlier. Store answers are cached per tenant and
window for ``realtime.overview_cache_seconds`` with single-flight; registry rows, alerts and
the ingest rate are read fresh on every call.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from agentdeck.agents.models import Agent, AgentStatus
from agentdeck.errors import malformed
from agentdeck.overview.alerts import open_alerts
from agentdeck.overview.monitoring_schemas import (
    AgentCounts,
    AlertSeverity,
    Headline,
    Health,
    MonitoringOverview,
)
from agentdeck.overview.schemas import Trend
from agentdeck.overview.service import Overview
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


_HEALTH_RANK = {Health.unknown: 0, Health.healthy: 1, Health.degraded: 2, Health.unhealthy: 3}
#: What a firing alert of each severity makes of an agent's health (at least).
_ALERT_HEALTH = {
    AlertSeverity.info: Health.unknown,  # no floor: an info alert changes nothing
    AlertSeverity.warning: Health.degraded,
    AlertSeverity.error: Health.unhealthy,
    AlertSeverity.critical: Health.unhealthy,
}


def agent_health(
    status: AgentStatus,
    error_rate: float | None,
    last_seen: datetime | None,
    fresh_s: float,
    alert: AlertSeverity | None = None,
) -> Health:
    """Error status → unhealthy; otherwise the error rate; no traffic → healthy when seen
    recently and meant to run, else unknown. A firing alert on the agent (``alert``: the worst
    severity among its open alerts) makes it at least degraded (warning) or unhealthy (error,
    critical): an agent that pages is never called healthy."""
    if status is AgentStatus.error:
        return Health.unhealthy
    if error_rate is not None:
        health = health_of(error_rate)
    else:
        recent = last_seen is not None and datetime.now(UTC) - last_seen <= timedelta(
            seconds=fresh_s
        )
        health = Health.healthy if recent and status is not AgentStatus.stopped else Health.unknown
    if alert is not None:
        floor = _ALERT_HEALTH[alert]
        if _HEALTH_RANK[floor] > _HEALTH_RANK[health]:
            return floor
    return health


def headline(current: float | None, previous: float | None, *, history: bool = True) -> Headline:
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
        history=history,
    )


def round_or_none(value: float | None, digits: int = 9) -> float | None:
    return None if value is None else round(value, digits)


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


#: The series the fleet figures come from; one of them at the start of the previous window
#: means that window is filled.
_FIGURE_SERIES = "|".join((REQUESTS, DURATION_BUCKET, LATENCY_GAUGE, TOKENS, COST))


async def history_from(store: Store, tenant_id: uuid.UUID, at_ms: int) -> bool:
    """Whether any series of the fleet figures has a sample at ``at_ms`` (within the lookback):
    data reaches back that far, so a window starting there is not partly empty."""
    found = await scalar(store, tenant_id, f'count({{__name__=~"{_FIGURE_SERIES}"}})', at_ms)
    return bool(found)


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

    async def covered() -> bool:
        return await history_from(store, tenant_id, now_ms - 2 * window.seconds * 1000)

    current, previous = await live.queries.get(
        ("overview", tenant_id, window.seconds), settings.overview_cache_seconds, compute
    )
    history = await live.queries.get(
        ("overview-history", tenant_id, window.seconds), settings.overview_cache_seconds, covered
    )
    eps, previous_eps, _ = live.rates(tenant_id, now.timestamp())
    return MonitoringOverview(
        window=window.text,
        window_seconds=window.seconds,
        agents=await _agent_counts(session, tenant_id),
        # the in-memory ingest counts cover two short windows once the process has seen any
        ingest_rate=headline(round(eps, 3), round(previous_eps, 3), history=previous_eps > 0),
        request_rate=headline(current["request_rate"], previous["request_rate"], history=history),
        error_rate=headline(current["error_rate"], previous["error_rate"], history=history),
        p95_latency_seconds=headline(current["p95"], previous["p95"], history=history),
        tokens=headline(current["tokens"], previous["tokens"], history=history),
        cost_usd=headline(current["cost"], previous["cost"], history=history),
        alerts=await open_alerts(session, tenant_id=tenant_id),
        timestamp=now,
    )

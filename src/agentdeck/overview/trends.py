"""Performance trends: a metric over a window against the window before, both series aligned
for an overlay chart (``GET /api/v1/monitoring/performance/trends``)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from agentdeck.errors import malformed
from agentdeck.overview.monitoring import (
    COST,
    CPU,
    DURATION_BUCKET,
    ERRORS,
    MEMORY,
    MIN_RATE_RANGE_S,
    REQUESTS,
    TOKENS,
    TREND_POINTS,
    Window,
    headline,
    range_by_label,
    round_or_none,
    scalar,
    selector,
)
from agentdeck.overview.monitoring_schemas import (
    PerformanceTrend,
    TrendMetric,
    TrendPoint,
)
from agentdeck.tsdb.base import Store

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
        current_series=[TrendPoint(t=_at(t), v=round_or_none(this.get(t))) for t in times],
        previous_series=[
            TrendPoint(t=_at(t), v=round_or_none(before.get(t - win_ms))) for t in times
        ],
        timestamp=now,
    )


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)

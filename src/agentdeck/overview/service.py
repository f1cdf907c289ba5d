"""The live overview of a tenant: ingest rate, data sources and the health of every agent.

Health of an agent: its ``config.health_url`` when declared (probed over HTTP, in parallel, each
probe with its own timeout under one overall deadline, only where the outbound policy with
``realtime.health_probe_allow`` allows, see ``probes``), otherwise the freshness of its last
heartbeat (``last_seen_at``). A failing or slow probe marks only its own entry. Answers are
cached per tenant for ``realtime.overview_cache_seconds`` with single-flight: concurrent callers
share one computation.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agentdeck.agents.models import Agent
from agentdeck.ingest.core import Ingestor
from agentdeck.overview import probes
from agentdeck.overview.cache import SingleFlightCache
from agentdeck.overview.probes import Check, probe
from agentdeck.overview.schemas import (
    ApiMetric,
    HealthStatus,
    HealthSummary,
    RealTimeMetrics,
    Trend,
    Trends,
    TrendValue,
)
from agentdeck.overview.shared_rate import SharedRate
from agentdeck.settings import OutboundSettings, RealtimeSettings
from agentdeck.tsdb.base import SampleBatch

log = structlog.get_logger(__name__)

#: The window of ``events_per_second`` and ``data_sources_active``.
WINDOW_SECONDS = 60
#: Checks remembered per agent for its ``error_rate``.
HISTORY_CHECKS = 20
#: Extra time the whole probe round may take beyond one probe's timeout.
DEADLINE_SLACK_SECONDS = 0.5
#: How long the answer waits for the ingest counters of the other replicas (Redis).
SHARED_RATE_TIMEOUT = 1.0


@dataclass
class _TenantActivity:
    seconds: dict[int, int] = field(default_factory=dict)  # unix second → samples written
    sources: dict[str, float] = field(default_factory=dict)  # agent label → last write (unix s)


@dataclass
class _AgentHistory:
    checks: deque[bool] = field(default_factory=lambda: deque(maxlen=HISTORY_CHECKS))
    last_success: datetime | None = None


@dataclass(frozen=True)
class Answer:
    """One computed overview and its JSON encoding, made once and reused by every cache hit
    (encoding a thousand-agent answer per request costs far more than serving it)."""

    metrics: RealTimeMetrics
    body: bytes

    @classmethod
    def of(cls, metrics: RealTimeMetrics) -> Answer:
        return cls(metrics, metrics.model_dump_json().encode())


@dataclass
class Overview:
    """Per-app state of the live overview (``AppState.overview``): activity counters, probe
    history, the ingest counters shared with other replicas and the cached answers."""

    activity: dict[uuid.UUID, _TenantActivity] = field(default_factory=dict)
    history: dict[tuple[uuid.UUID, uuid.UUID], _AgentHistory] = field(default_factory=dict)
    previous: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)
    #: This replica's and the others' ingest counts, through Redis (when configured).
    shared: SharedRate | None = None
    #: Monitoring queries (overview figures, agent figures, topology), cached per window.
    queries: SingleFlightCache[tuple[Any, ...], Any] = field(default_factory=SingleFlightCache)
    #: Each tenant's answer, cached with single flight.
    answers: SingleFlightCache[uuid.UUID, Answer] = field(default_factory=SingleFlightCache)

    def record(self, tenant_id: uuid.UUID, batch: SampleBatch, agents: AbstractSet[str]) -> None:
        """Count a written batch and its agents (called by the ingest core after each write;
        cheap)."""
        activity = self.activity.get(tenant_id)
        if activity is None:
            activity = self.activity[tenant_id] = _TenantActivity()
        now = time.time()
        second = int(now)
        seconds = activity.seconds
        seconds[second] = seconds.get(second, 0) + len(batch.timestamps)
        if len(seconds) > 2 * WINDOW_SECONDS + 5:
            for old in [s for s in seconds if s <= second - 2 * WINDOW_SECONDS]:
                del seconds[old]
        sources = activity.sources
        for agent in agents:
            sources[agent] = now

    def rates(self, tenant_id: uuid.UUID, now: float) -> tuple[float, float, list[str]]:
        """(events/s over the last window, over the window before, sources seen in the last)."""
        activity = self.activity.get(tenant_id)
        if activity is None:
            return 0.0, 0.0, []
        second = int(now)
        current = previous = 0
        for at, count in list(activity.seconds.items()):
            age = second - at
            if 0 <= age < WINDOW_SECONDS:
                current += count
            elif WINDOW_SECONDS <= age < 2 * WINDOW_SECONDS:
                previous += count
        for name, seen in list(activity.sources.items()):
            if now - seen >= 2 * WINDOW_SECONDS:
                del activity.sources[name]
        recent = [name for name, seen in activity.sources.items() if now - seen < WINDOW_SECONDS]
        return current / WINDOW_SECONDS, previous / WINDOW_SECONDS, recent

    @property
    def computations(self) -> int:
        """Answers computed (the others came from the cache or a shared computation)."""
        return self.answers.computations


def attach(ingestor: Ingestor, overview: Overview) -> None:
    """Count every batch ``ingestor`` writes in ``overview`` (call once at startup)."""
    ingestor.add_write_listener(overview.record)


# --- health ----------------------------------------------------------------------------------


def _heartbeat(last_seen: datetime | None, now: datetime, fresh: float) -> Check:
    if last_seen is None:
        return Check(HealthStatus.unhealthy, None, "no heartbeat received yet")
    if now - last_seen > timedelta(seconds=fresh):
        return Check(HealthStatus.unhealthy, None, f"no heartbeat since {last_seen.isoformat()}")
    return Check(HealthStatus.healthy, None, None)


def _health_url(config: dict[str, Any] | None) -> str | None:
    url = (config or {}).get("health_url")
    return url if isinstance(url, str) and url else None


async def _check_all(
    agents: list[tuple[uuid.UUID, str, dict[str, Any], datetime | None]],
    now: datetime,
    settings: RealtimeSettings,
    outbound: OutboundSettings | None = None,
) -> dict[uuid.UUID, Check]:
    checks: dict[uuid.UUID, Check] = {}
    timeout = settings.health_probe_timeout_seconds
    probed = [(agent_id, url) for agent_id, _, config, _ in agents if (url := _health_url(config))]
    for agent_id, _, config, last_seen in agents:
        if _health_url(config) is None:
            checks[agent_id] = _heartbeat(last_seen, now, settings.heartbeat_fresh_seconds)
    if not probed:
        return checks
    policy = probes.policy_of(outbound, settings)
    async with probes.client(policy, timeout) as client:
        tasks = {
            agent_id: asyncio.create_task(probe(client, url, timeout)) for agent_id, url in probed
        }
        await asyncio.wait(tasks.values(), timeout=timeout + DEADLINE_SLACK_SECONDS)
        for agent_id, task in tasks.items():
            if task.done():
                checks[agent_id] = task.result()
            else:
                task.cancel()
                checks[agent_id] = Check(
                    HealthStatus.timeout, None, "no answer before the overall deadline"
                )
    return checks


# --- the answer ------------------------------------------------------------------------------


def _trend(current: float, previous: float) -> TrendValue:
    if round(current, 3) == round(previous, 3):
        trend = Trend.flat
    else:
        trend = Trend.up if current > previous else Trend.down
    return TrendValue(previous=previous, trend=trend)


async def _compute(
    live: Overview,
    sessions: async_sessionmaker[AsyncSession],
    settings: RealtimeSettings,
    tenant_id: uuid.UUID,
    shared: SharedRate | None = None,
    outbound: OutboundSettings | None = None,
) -> RealTimeMetrics:
    now = datetime.now(UTC)
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Agent.id, Agent.name, Agent.config, Agent.last_seen_at)
                .where(Agent.tenant_id == tenant_id)
                .order_by(Agent.name, Agent.id)
            )
        ).all()
    agents = [(row[0], row[1], row[2], row[3]) for row in rows]
    checks = await _check_all(agents, now, settings, outbound)

    entries: list[ApiMetric] = []
    for agent_id, name, _, _ in agents:
        check = checks[agent_id]
        history = live.history.get((tenant_id, agent_id))
        if history is None:
            history = live.history[(tenant_id, agent_id)] = _AgentHistory()
        ok = check.status is HealthStatus.healthy
        history.checks.append(ok)
        if ok:
            history.last_success = now
        failures = sum(1 for passed in history.checks if not passed)
        entries.append(
            ApiMetric(
                service=name,
                agent_id=str(agent_id),
                status=check.status,
                response_time_ms=check.response_time_ms,
                last_check=now,
                last_success=history.last_success,
                error_rate=round(failures / len(history.checks), 3),
                error=check.error,
            )
        )

    healthy = sum(1 for e in entries if e.status is HealthStatus.healthy)
    inactive = sum(1 for e in entries if e.status is HealthStatus.unhealthy)
    errors = len(entries) - healthy - inactive
    total = len(entries)
    eps, previous_eps, sources = live.rates(tenant_id, now.timestamp())
    if shared is not None:  # with Redis: the ingest of every replica
        try:
            eps, previous_eps = await asyncio.wait_for(
                shared.rates(tenant_id, now.timestamp(), WINDOW_SECONDS), SHARED_RATE_TIMEOUT
            )
        except Exception as exc:
            log.warning("shared ingest counters unavailable; this replica's only", error=repr(exc))
    fresh = timedelta(seconds=WINDOW_SECONDS)
    sources_set = set(sources)
    sources_set.update(
        name for _, name, _, seen in agents if seen is not None and now - seen < fresh
    )
    previous_active, previous_sources = live.previous.get(tenant_id, (healthy, len(sources_set)))
    live.previous[tenant_id] = (healthy, len(sources_set))
    return RealTimeMetrics(
        events_per_second=round(eps, 3),
        api_calls_active=healthy,
        data_sources_active=sorted(sources_set),
        api_metrics=entries,
        inactive_apis=inactive,
        error_apis=errors,
        total_apis=total,
        health_summary=HealthSummary(
            healthy=healthy,
            unhealthy=total - healthy,
            total=total,
            health_percentage=round(100 * healthy / total, 1) if total else 0.0,
        ),
        trends=Trends(
            events_per_second=_trend(eps, round(previous_eps, 3)),
            api_calls_active=_trend(healthy, previous_active),
            data_sources_active=_trend(len(sources_set), previous_sources),
        ),
        timestamp=now,
    )


async def real_time_metrics(
    *,
    live: Overview,
    sessions: async_sessionmaker[AsyncSession],
    settings: RealtimeSettings,
    tenant_id: uuid.UUID,
    outbound: OutboundSettings | None = None,
) -> Answer:
    """The tenant's live overview, from the cache when fresh (see the module docstring):
    the model and its JSON encoding, which the route sends as it is.

    The caller holds no database session (a caller must not hold one while it waits for the
    shared computation, which needs one itself: a burst of callers larger than the pool would
    otherwise starve it until the pool timeout).
    """

    async def compute() -> Answer:
        return Answer.of(await _compute(live, sessions, settings, tenant_id, live.shared, outbound))

    return await live.answers.get(tenant_id, settings.overview_cache_seconds, compute)

"""Response of ``GET /api/v1/real-time-metrics``."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class HealthStatus(StrEnum):
    healthy = "healthy"
    unhealthy = "unhealthy"
    error = "error"
    timeout = "timeout"


class Trend(StrEnum):
    up = "up"
    down = "down"
    flat = "flat"


class ApiMetric(BaseModel):
    """The health of one monitored agent (every entry has every key)."""

    service: str = Field(description="The agent's name.")
    agent_id: str
    status: HealthStatus
    response_time_ms: float | None = Field(
        description="Round trip of the health probe; null when nothing answered (or no probe)."
    )
    last_check: datetime
    last_success: datetime | None
    error_rate: float = Field(
        description="Share of this process's recent checks (0–1) that failed."
    )
    error: str | None = Field(description="Why the agent is not healthy; null when healthy.")


class HealthSummary(BaseModel):
    healthy: int
    unhealthy: int = Field(
        description="Every agent that is not healthy (unhealthy, error, timeout)."
    )
    total: int
    health_percentage: float = Field(
        description="round(100 × healthy / total, 1); 0 when total is 0."
    )


class TrendValue(BaseModel):
    previous: float = Field(description="The value of the previous period.")
    trend: Trend


class Trends(BaseModel):
    events_per_second: TrendValue
    api_calls_active: TrendValue
    data_sources_active: TrendValue = Field(description="On the number of active data sources.")


class RealTimeMetrics(BaseModel):
    """The tenant's live status in one answer (cached for a few seconds)."""

    events_per_second: float = Field(description="Samples ingested per second over the last 60 s.")
    api_calls_active: int = Field(description="Monitored agents that are healthy now.")
    data_sources_active: list[str] = Field(description="Agents that sent data in the last 60 s.")
    api_metrics: list[ApiMetric]
    inactive_apis: int = Field(description="Agents whose health check answered unhealthy.")
    error_apis: int = Field(description="Agents whose health check failed or timed out.")
    total_apis: int
    health_summary: HealthSummary
    trends: Trends
    timestamp: datetime

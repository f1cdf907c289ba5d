"""Log streams and batches on the wire."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from agentdeck.logintel.streams.models import LogBatch, LogStream
from agentdeck.logstore.base import Severity

DEFAULT_SEVERITIES = [Severity.ERROR, Severity.WARNING, Severity.INFO]


class LogStreamCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    services: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="Services whose lines the stream takes; empty: every service.",
    )
    severity_filter: list[Severity] = Field(
        default_factory=lambda: list(DEFAULT_SEVERITIES),
        min_length=1,
        description="Severities the stream takes (any case).",
    )
    batch_size: int = Field(100, ge=10, le=1000, description="A batch closes at this many lines.")
    batch_timeout_seconds: int = Field(
        300, ge=60, le=3600, description="...or this long after its first line arrived."
    )

    @field_validator("severity_filter", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [v.upper() if isinstance(v, str) else v for v in value]
        return value

    @field_validator("services")
    @classmethod
    def _services(cls, value: list[str]) -> list[str]:
        for service in value:
            if not service or len(service) > 256:
                raise ValueError("a service name is 1 to 256 characters")
        return sorted(set(value))


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class LogStreamPublic(BaseModel):
    stream_id: uuid.UUID
    name: str
    services: list[str]
    severity_filter: list[str]
    batch_size: int
    batch_timeout_seconds: int
    active: bool
    created_at: datetime
    stopped_at: datetime | None
    lines_total: int = Field(description="Lines cut into this stream's batches.")
    batches_total: int
    anomalies_total: int
    last_batch_at: datetime | None

    @classmethod
    def of(cls, s: LogStream) -> LogStreamPublic:
        return cls(
            stream_id=s.id,
            name=s.name,
            services=list(s.services),
            severity_filter=list(s.severity_filter),
            batch_size=s.batch_size,
            batch_timeout_seconds=s.batch_timeout_seconds,
            active=s.active,
            created_at=_aware(s.created_at) or s.created_at,
            stopped_at=_aware(s.stopped_at),
            lines_total=s.lines_total,
            batches_total=s.batches_total,
            anomalies_total=s.anomalies_total,
            last_batch_at=_aware(s.last_batch_at),
        )


class BatchStatistics(BaseModel):
    total: int
    errors: int = Field(description="ERROR and CRITICAL lines.")
    warnings: int
    error_rate: float = Field(description="errors / total, in [0, 1].")
    by_service: dict[str, int]
    by_severity: dict[str, int]


class LogBatchPublic(BaseModel):
    batch_id: uuid.UUID
    stream_id: uuid.UUID
    status: str = Field(description="pending, processing, completed or failed.")
    closed_by: str = Field(description="size or timeout.")
    opened_at: datetime
    created_at: datetime = Field(description="When the batch closed.")
    processed_at: datetime | None
    window_start: datetime = Field(
        description="When its lines happened: the earliest line's own timestamp."
    )
    window_end: datetime = Field(description="The latest line's own timestamp.")
    statistics: BatchStatistics
    anomalies: int
    error: str = Field(description="Why it failed, or what an analyser reported.")
    prompt_tokens: int
    completion_tokens: int

    @classmethod
    def of(cls, b: LogBatch) -> LogBatchPublic:
        return cls(
            batch_id=b.id,
            stream_id=b.stream_id,
            status=b.status,
            closed_by=b.closed_by,
            opened_at=_aware(b.opened_at) or b.opened_at,
            created_at=_aware(b.created_at) or b.created_at,
            processed_at=_aware(b.processed_at),
            window_start=_aware(b.window_start or b.opened_at) or b.opened_at,
            window_end=_aware(b.window_end or b.created_at) or b.created_at,
            statistics=BatchStatistics(
                total=b.total,
                errors=b.errors,
                warnings=b.warnings,
                error_rate=b.error_rate,
                by_service=dict(b.by_service),
                by_severity=dict(b.by_severity),
            ),
            anomalies=b.anomalies,
            error=b.error,
            prompt_tokens=b.prompt_tokens,
            completion_tokens=b.completion_tokens,
        )


class BatchLinePublic(BaseModel):
    id: str
    timestamp: datetime
    service: str
    severity: str
    message: str
    agent: str
    template_id: int | None

    @classmethod
    def of(cls, row: list[Any]) -> BatchLinePublic:
        rid, ts, service, severity, message, agent, template = row
        return cls(
            id=rid,
            timestamp=datetime.fromtimestamp(ts / 1e9, UTC),
            service=service,
            severity=severity,
            message=message,
            agent=agent or "",
            template_id=template,
        )


class LogBatchDetail(LogBatchPublic):
    lines: list[BatchLinePublic]
    anomaly_ids: list[uuid.UUID]


class CleanupResult(BaseModel):
    retention_days: int
    batches_deleted: int
    anomalies_deleted: int

"""Alerts in and out: the alert record, its timeline, ack/resolve/note bodies, bulk actions and
the Alertmanager v2 ``postableAlert``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, field_validator

from agentdeck.alerting.models import Alert, AlertEvent, AlertSource, AlertStatus, Severity
from agentdeck.alerting.routing.matchers import LABEL_NAME


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything stored is UTC
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AlertPublic(BaseModel):
    id: uuid.UUID
    fingerprint: str
    rule_id: uuid.UUID | None
    rule_name: str
    source: AlertSource
    labels: dict[str, str]
    annotations: dict[str, str]
    severity: Severity
    status: AlertStatus
    reason: str = Field(description="firing (the condition held), nodata or error.")
    silenced: bool
    silenced_by: list[str]
    inhibited_by: list[str]
    value: float | None
    starts_at: datetime
    ends_at: datetime | None
    last_seen_at: datetime | None
    acknowledged_by: uuid.UUID | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    resolved_by: uuid.UUID | None
    resolution_note: str | None
    duration_seconds: float = Field(description="From starts_at to resolution (or now).")
    escalation_level: int
    is_active: bool
    generator_url: str | None
    expr: str | None = Field(
        None, description="The rule's expression (on single-alert reads of rule alerts)."
    )

    @classmethod
    def of(
        cls, alert: Alert, *, now: datetime | None = None, expr: str | None = None
    ) -> AlertPublic:
        now = now or datetime.now(UTC)
        starts = _aware(alert.starts_at)
        end = now
        if alert.status is AlertStatus.resolved:
            end = _aware(alert.resolved_at or alert.ends_at or now)
        return cls(
            id=alert.id,
            fingerprint=alert.fingerprint,
            rule_id=alert.rule_id,
            rule_name=alert.rule_name,
            source=alert.source,
            labels={str(k): str(v) for k, v in (alert.labels or {}).items()},
            annotations={str(k): str(v) for k, v in (alert.annotations or {}).items()},
            severity=alert.severity,
            status=alert.status,
            reason=alert.reason,
            silenced=bool(alert.silenced_by or alert.inhibited_by),
            silenced_by=[str(s) for s in alert.silenced_by or []],
            inhibited_by=[str(s) for s in alert.inhibited_by or []],
            value=alert.value,
            starts_at=starts,
            ends_at=_aware(alert.ends_at) if alert.ends_at else None,
            last_seen_at=_aware(alert.last_seen_at) if alert.last_seen_at else None,
            acknowledged_by=alert.acknowledged_by,
            acknowledged_at=_aware(alert.acknowledged_at) if alert.acknowledged_at else None,
            resolved_at=_aware(alert.resolved_at) if alert.resolved_at else None,
            resolved_by=alert.resolved_by,
            resolution_note=alert.resolution_note,
            duration_seconds=max(0.0, (end - starts).total_seconds()),
            escalation_level=alert.escalation_level,
            is_active=alert.status is not AlertStatus.resolved,
            generator_url=alert.generator_url,
            expr=expr,
        )


class AlertEventPublic(BaseModel):
    id: uuid.UUID
    alert_id: uuid.UUID
    at: datetime
    kind: str
    actor_id: uuid.UUID | None
    message: str
    data: dict[str, Any]

    @classmethod
    def of(cls, event: AlertEvent) -> AlertEventPublic:
        return cls(
            id=event.id,
            alert_id=event.alert_id,
            at=_aware(event.at),
            kind=event.kind,
            actor_id=event.actor_id,
            message=event.message,
            data=dict(event.data or {}),
        )


class AcknowledgeBody(BaseModel):
    note: str | None = Field(None, max_length=2000, description="Why, or what is being done.")


class NoteBody(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


class BulkAction(StrEnum):
    acknowledge = "acknowledge"
    unacknowledge = "unacknowledge"
    resolve = "resolve"


class BulkRequest(BaseModel):
    action: BulkAction
    ids: list[uuid.UUID] = Field(min_length=1, max_length=500)
    note: str | None = Field(None, max_length=2000, description="Ack note or resolution note.")


class BulkItemResult(BaseModel):
    id: uuid.UUID
    ok: bool
    status: AlertStatus | None = None
    error: str | None = None


class BulkResult(BaseModel):
    succeeded: int
    failed: int
    results: list[BulkItemResult]


class PostableAlert(BaseModel):
    """One alert as Prometheus, vmalert or any Alertmanager client posts it."""

    labels: dict[str, str] = Field(min_length=1)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None  # noqa: N815 - the Alertmanager wire name
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str | None = Field(None, max_length=2048)  # noqa: N815

    @field_validator("labels")
    @classmethod
    def _label_names(cls, labels: dict[str, str]) -> dict[str, str]:
        for name in labels:
            if not LABEL_NAME.fullmatch(name):
                raise ValueError(f"invalid label name {name!r}")
        if not labels.get("alertname"):
            raise ValueError("the alertname label is required")
        return labels

    @field_validator("startsAt", "endsAt")
    @classmethod
    def _utc(cls, moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        if moment.tzinfo is None:
            raise ValueError("a time zone is required")
        # Go's zero time, which Prometheus sends for "not set"
        if moment.year <= 1:
            return None
        return moment.astimezone(UTC)

"""Alerting tables: rules, per-series evaluator state, alerts and their timeline, silences,
inhibition rules, receivers, escalation policies and the routing tree."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TimestampMixin, utcnow


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    error = "error"
    critical = "critical"


class AlertStatus(StrEnum):
    """The seeds' vocabulary; ``firing`` exists only inside Alertmanager-format payloads."""

    active = "active"
    acknowledged = "acknowledged"
    resolved = "resolved"


class NoDataState(StrEnum):
    """What a rule does when its expression returns nothing at all."""

    ok = "ok"
    alerting = "alerting"
    nodata = "nodata"


class SeriesState(StrEnum):
    """Evaluator state of one series of one rule (inactive series have no row)."""

    pending = "pending"
    firing = "firing"
    nodata = "nodata"
    error = "error"


class AlertSource(StrEnum):
    rule = "rule"
    external = "external"  # pushed through the Alertmanager v2 API
    logs = "logs"  # raised by a log anomaly (log intelligence)


def _severity() -> Enum:
    return Enum(Severity, name="alert_severity", native_enum=False, length=16)


class AlertRule(TimestampMixin, Base):
    __tablename__ = "alert_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    # Prometheus rule group, kept for import and export of rule files.
    group_name: Mapped[str] = mapped_column(String(200), default="default")
    description: Mapped[str] = mapped_column(String(2000), default="")
    # Always the PromQL that is evaluated; for the threshold form, compiled from ``threshold``.
    expr: Mapped[str] = mapped_column(Text)
    # The threshold form {metric_name, aggregation, window, operator, threshold, label_filters}
    # or None for a hand-written expression.
    threshold: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    for_seconds: Mapped[float] = mapped_column(default=0.0)
    keep_firing_for_seconds: Mapped[float] = mapped_column(default=0.0)
    severity: Mapped[Severity] = mapped_column(_severity(), default=Severity.warning)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    interval_seconds: Mapped[float] = mapped_column(default=60.0)
    no_data_state: Mapped[NoDataState] = mapped_column(
        Enum(NoDataState, name="alert_no_data_state", native_enum=False, length=16),
        default=NoDataState.ok,
    )
    # Channels notified directly for this rule's alerts, besides the routing tree (UUID strings).
    channel_ids: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    revision: Mapped[int] = mapped_column(default=1)
    # Evaluation health, written by the evaluator.
    health: Mapped[str] = mapped_column(String(16), default="unknown")  # unknown, ok, error
    last_evaluated_at: Mapped[datetime | None] = mapped_column(default=None)
    last_evaluation_ms: Mapped[float | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(2000), default=None)


class AlertRuleState(Base):
    """The evaluator's memory of one series of one rule, so another replica can take over."""

    __tablename__ = "alert_rule_states"

    rule_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="CASCADE"), primary_key=True
    )
    fingerprint: Mapped[str] = mapped_column(String(32), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[SeriesState] = mapped_column(
        Enum(SeriesState, name="alert_series_state", native_enum=False, length=16)
    )
    active_since: Mapped[datetime] = mapped_column(default=utcnow)
    fired_at: Mapped[datetime | None] = mapped_column(default=None)
    last_true_at: Mapped[datetime | None] = mapped_column(default=None)
    keep_firing_until: Mapped[datetime | None] = mapped_column(default=None)
    value: Mapped[float | None] = mapped_column(default=None)
    alert_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), default=None
    )


class Alert(TimestampMixin, Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_tenant_status_severity", "tenant_id", "status", "severity"),
        Index("ix_alerts_tenant_fingerprint", "tenant_id", "fingerprint"),
        Index("ix_alerts_tenant_starts_at", "tenant_id", "starts_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    rule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("alert_rules.id", ondelete="SET NULL"), index=True, default=None
    )
    # The alertname: the rule's name, or ``labels.alertname`` for external alerts.
    rule_name: Mapped[str] = mapped_column(String(200))
    source: Mapped[AlertSource] = mapped_column(
        Enum(AlertSource, name="alert_source", native_enum=False, length=16),
        default=AlertSource.rule,
    )
    # Hash of the sorted label set (alertname included), as Alertmanager identifies alerts.
    fingerprint: Mapped[str] = mapped_column(String(32))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    annotations: Mapped[dict[str, Any]] = mapped_column(default=dict)
    severity: Mapped[Severity] = mapped_column(_severity())
    status: Mapped[AlertStatus] = mapped_column(
        Enum(AlertStatus, name="alert_status", native_enum=False, length=16),
        default=AlertStatus.active,
    )
    # Why it is raised: the condition held (firing), no data, or the evaluation failed.
    reason: Mapped[str] = mapped_column(String(16), default="firing")
    value: Mapped[float | None] = mapped_column(default=None)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Planned end (external alerts' endsAt) or, once resolved, when it ended.
    ends_at: Mapped[datetime | None] = mapped_column(default=None)
    # Last evaluation (or push) that saw the condition true.
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)
    # None when resolved automatically (the condition cleared).
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    resolution_note: Mapped[str | None] = mapped_column(String(2000), default=None)
    escalation_level: Mapped[int] = mapped_column(default=0)
    escalated_at: Mapped[datetime | None] = mapped_column(default=None)
    # Current muting, recomputed by the dispatcher: silence ids and inhibiting alert ids.
    silenced_by: Mapped[list[Any]] = mapped_column(default=list)
    inhibited_by: Mapped[list[Any]] = mapped_column(default=list)
    generator_url: Mapped[str | None] = mapped_column(String(2048), default=None)


class AlertEvent(Base):
    """One entry of an alert's timeline: state changes, acks, notes, notifications, decisions."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_alert_at", "alert_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    alert_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    # created, acknowledged, unacknowledged, resolved, refired, note, escalated, silenced,
    # unsilenced, inhibited, uninhibited, notification, decision (a routing/muting trace step)
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    message: Mapped[str] = mapped_column(String(2000), default="")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Silence(TimestampMixin, Base):
    __tablename__ = "silences"
    __table_args__ = (Index("ix_silences_tenant_ends_at", "tenant_id", "ends_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # [{"name", "value", "op": "=" | "!=" | "=~" | "!~"}]
    matchers: Mapped[list[Any]] = mapped_column(default=list)
    starts_at: Mapped[datetime] = mapped_column(default=utcnow)
    ends_at: Mapped[datetime] = mapped_column()
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    comment: Mapped[str] = mapped_column(String(2000), default="")
    # Set when expired early by a user.
    expired_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class InhibitionRule(TimestampMixin, Base):
    __tablename__ = "inhibition_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    source_matchers: Mapped[list[Any]] = mapped_column(default=list)
    target_matchers: Mapped[list[Any]] = mapped_column(default=list)
    # Label names whose values must be equal in source and target.
    equal: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(default=True)


class Receiver(TimestampMixin, Base):
    """A named set of notification channels that routes and escalation levels point at."""

    __tablename__ = "receivers"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    channel_ids: Mapped[list[Any]] = mapped_column(default=list)


class EscalationPolicy(TimestampMixin, Base):
    __tablename__ = "escalation_policies"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(String(2000), default="")
    # [{"after_seconds": unacknowledged duration, "receiver_ids": [...]}], ascending.
    levels: Mapped[list[Any]] = mapped_column(default=list)
    enabled: Mapped[bool] = mapped_column(default=True)


class NotificationPolicy(Base):
    """The routing tree of a tenant, as one document (Alertmanager's ``route``)."""

    __tablename__ = "notification_policies"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    # {receiver_id, group_by, group_wait_seconds, group_interval_seconds,
    #  repeat_interval_seconds, matchers, continue, escalation_policy_id, routes: [...]}
    tree: Mapped[dict[str, Any]] = mapped_column(default=dict)
    revision: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

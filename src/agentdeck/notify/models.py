"""Notification tables: channels, the durable outbox and the delivery log."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TimestampMixin, utcnow


class ChannelKind(StrEnum):
    email = "email"
    slack = "slack"
    webhook = "webhook"
    pagerduty = "pagerduty"
    teams = "teams"
    discord = "discord"
    telegram = "telegram"
    ntfy = "ntfy"


class OutboxStatus(StrEnum):
    pending = "pending"  # waiting for its next attempt (first or retry)
    sending = "sending"  # claimed by a worker until ``locked_until``
    delivered = "delivered"
    dead = "dead"  # gave up after ``max_attempts``


class NotificationChannel(TimestampMixin, Base):
    __tablename__ = "notification_channels"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ChannelKind] = mapped_column(
        Enum(ChannelKind, name="channel_kind", native_enum=False, length=16)
    )
    # Settings that are not secret (addresses, usernames, options).
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Secret settings (tokens, passwords, webhook URLs, signing keys) as encrypted JSON;
    # never returned.
    secrets_encrypted: Mapped[str | None] = mapped_column(Text, default=None)
    enabled: Mapped[bool] = mapped_column(default=True)
    send_resolved: Mapped[bool] = mapped_column(default=True)
    # Deliveries per minute to this channel; None means the server default.
    rate_limit_per_minute: Mapped[int | None] = mapped_column(default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    revision: Mapped[int] = mapped_column(default=1)
    last_test_at: Mapped[datetime | None] = mapped_column(default=None)
    last_test_ok: Mapped[bool | None] = mapped_column(default=None)


class NotificationOutbox(Base):
    """A notification decided and not yet delivered (or given up on): written in the same
    transaction as the decision, so a crash between deciding and sending loses nothing."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint("channel_id", "dedup_key"),
        Index("ix_notification_outbox_status_next", "status", "next_attempt_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE")
    )
    # The alert this is about (the first of a group); all alerts are in ``payload``.
    alert_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), index=True, default=None
    )
    group_key: Mapped[str | None] = mapped_column(String(1024), default=None)
    # Idempotency key: enqueueing the same (channel, dedup_key) twice is a no-op.
    dedup_key: Mapped[str] = mapped_column(String(255))
    # firing, resolved, acknowledged, escalation, test
    event: Mapped[str] = mapped_column(String(16))
    # Channel-neutral message: Alertmanager webhook v4 shaped {status, alerts, groupLabels, ...}.
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[OutboxStatus] = mapped_column(
        Enum(OutboxStatus, name="outbox_status", native_enum=False, length=16),
        default=OutboxStatus.pending,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=8)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    locked_by: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(2000), default=None)


class NotificationDelivery(Base):
    """The delivery log: one row per attempt."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (Index("ix_notification_deliveries_tenant_at", "tenant_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column()
    outbox_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_outbox.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notification_channels.id", ondelete="CASCADE"), index=True
    )
    alert_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), index=True, default=None
    )
    attempt: Mapped[int] = mapped_column()
    # success, failure (will retry), dead (gave up), rate_limited (deferred)
    status: Mapped[str] = mapped_column(String(16))
    response_code: Mapped[int | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(2000), default=None)
    #: the cause of ``error``, for admins (at most a short escaped excerpt of the answer)
    error_detail: Mapped[str | None] = mapped_column(String(1024), default=None)
    latency_ms: Mapped[float | None] = mapped_column(default=None)
    at: Mapped[datetime] = mapped_column(default=utcnow)

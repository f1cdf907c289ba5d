"""Durable state of the dispatcher: aggregation groups and per-alert notification memory.

Both are written in the same transaction as the outbox rows they lead to, so a crash between
deciding and committing replays the same decisions with the same dedup keys.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, utcnow


class NotificationGroup(Base):
    """One aggregation group: alerts of one route with equal ``group_by`` label values."""

    __tablename__ = "notification_groups"
    __table_args__ = (UniqueConstraint("tenant_id", "key_hash"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    # Human-readable key: route path, receiver and the group labels.
    group_key: Mapped[str] = mapped_column(String(1024))
    key_hash: Mapped[str] = mapped_column(String(64))
    route_path: Mapped[str] = mapped_column(String(255))
    receiver_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    group_labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {alert_id: {"notified": null | "firing", "added_at": iso}}
    members: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_flush_at: Mapped[datetime | None] = mapped_column(default=None)
    last_notified_at: Mapped[datetime | None] = mapped_column(default=None)
    # Notifications sent so far: part of every dedup key of this group.
    seq: Mapped[int] = mapped_column(default=0)


class AlertDispatch(Base):
    """What the dispatcher remembers about one alert (muting, direct and escalation sends)."""

    __tablename__ = "alert_dispatch"
    __table_args__ = (Index("ix_alert_dispatch_done", "done"),)

    alert_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alerts.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # {"routes": [...group keys...], "rule_firing": bool, "esc_resolved": bool, ...}
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # True once the alert is resolved and every resolved notification owed is queued.
    done: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

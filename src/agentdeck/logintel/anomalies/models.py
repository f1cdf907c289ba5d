"""The anomalies table: what a detector or analyser found in a batch, with its evidence."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, utcnow


class Anomaly(Base):
    __tablename__ = "log_anomalies"
    __table_args__ = (
        Index("ix_log_anomalies_tenant_detected", "tenant_id", "detected_at"),
        Index("ix_log_anomalies_batch", "batch_id"),
        Index("ix_log_anomalies_tenant_window", "tenant_id", "window_start"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    stream_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("log_streams.id", ondelete="SET NULL"), default=None
    )
    stream_name: Mapped[str] = mapped_column(String(200), default="")
    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("log_batches.id", ondelete="SET NULL"), default=None
    )
    anomaly_type: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    service: Mapped[str] = mapped_column(String(256), default="")
    description: Mapped[str] = mapped_column(String(2000), default="")
    confidence: Mapped[float] = mapped_column(default=0.5)
    detector: Mapped[str] = mapped_column(String(64), default="")
    recommended_actions: Mapped[list[Any]] = mapped_column(default=list)
    explanation: Mapped[str] = mapped_column(Text, default="")
    evidence_count: Mapped[int] = mapped_column(default=0)
    evidence_line_ids: Mapped[list[Any]] = mapped_column(default=list)
    evidence_template_ids: Mapped[list[Any]] = mapped_column(default=list)
    #: The evidence lines themselves (at most 50), so the anomaly shows them after the batch
    #: and the log lines are gone: ``[id, ts_ns, service, severity, message, agent, template]``.
    evidence_lines: Mapped[list[Any]] = mapped_column(default=list)
    #: Identity of a recurring anomaly: service, type and template (see ``anomalies.alerts``).
    fingerprint: Mapped[str] = mapped_column(String(32), default="")
    #: When the analysis ran (truthful: for backfilled lines, long after they happened).
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: When its lines happened: its batch's window (earliest and latest line timestamp).
    window_start: Mapped[datetime] = mapped_column()
    window_end: Mapped[datetime] = mapped_column()
    alert_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("alerts.id", ondelete="SET NULL"), default=None
    )
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)

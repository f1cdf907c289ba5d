"""Tables of log streams: the streams, the lines waiting for a batch, and the batches."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, utcnow

#: An auto-incrementing key on both databases (SQLite only auto-increments INTEGER keys).
AutoKey = BigInteger().with_variant(Integer(), "sqlite")


class LogStream(Base):
    """A tenant's filter over its ingested lines (services, severities) and how batches close."""

    __tablename__ = "log_streams"
    __table_args__ = (Index("ix_log_streams_tenant_active", "tenant_id", "active"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    services: Mapped[list[Any]] = mapped_column(default=list)  # empty: every service
    severity_filter: Mapped[list[Any]] = mapped_column(default=list)
    batch_size: Mapped[int] = mapped_column(default=100)
    batch_timeout_seconds: Mapped[int] = mapped_column(default=300)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)
    # running statistics, written by the batch loop
    lines_total: Mapped[int] = mapped_column(BigInteger, default=0)
    batches_total: Mapped[int] = mapped_column(default=0)
    anomalies_total: Mapped[int] = mapped_column(default=0)
    last_batch_at: Mapped[datetime | None] = mapped_column(default=None)


class LogStreamChunk(Base):
    """Lines one replica matched for a stream, waiting to be cut into a batch (JSON rows:
    ``[id, ts_ns, service, severity, message, agent, template_id]``)."""

    __tablename__ = "log_stream_chunks"
    __table_args__ = (Index("ix_log_stream_chunks_stream", "stream_id", "id"),)

    id: Mapped[int] = mapped_column(AutoKey, primary_key=True, autoincrement=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column()
    stream_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("log_streams.id", ondelete="CASCADE"))
    #: When the chunk's first line arrived: a batch times out from its oldest line.
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    lines: Mapped[list[Any]] = mapped_column(default=list)


class LogBatch(Base):
    """A closed batch of a stream's lines, its statistics and its analysis status."""

    __tablename__ = "log_batches"
    __table_args__ = (
        Index("ix_log_batches_tenant_created", "tenant_id", "created_at"),
        Index("ix_log_batches_status", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    stream_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("log_streams.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: What closed it: ``size`` or ``timeout``.
    closed_by: Mapped[str] = mapped_column(String(16), default="size")
    #: The arrival of its first line (the batch was open from then).
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)  # when it closed
    processed_at: Mapped[datetime | None] = mapped_column(default=None)
    #: The span of its lines' own timestamps (earliest, latest): when they happened, which
    #: for a backfill or a replay is long before the batch closed. Always set (a batch has
    #: lines); nullable only because the column predates it (see migration 0016).
    window_start: Mapped[datetime | None] = mapped_column(default=None)
    window_end: Mapped[datetime | None] = mapped_column(default=None)
    total: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    warnings: Mapped[int] = mapped_column(default=0)
    error_rate: Mapped[float] = mapped_column(default=0.0)
    by_service: Mapped[dict[str, Any]] = mapped_column(default=dict)
    by_severity: Mapped[dict[str, Any]] = mapped_column(default=dict)
    lines: Mapped[list[Any]] = mapped_column(default=list)
    anomalies: Mapped[int] = mapped_column(default=0)
    #: Why it failed, or what an analyser reported ("llm: timeout").
    error: Mapped[str] = mapped_column(Text, default="")
    prompt_tokens: Mapped[int] = mapped_column(default=0)
    completion_tokens: Mapped[int] = mapped_column(default=0)

"""Ingest's table in the state database: metric metadata (type, unit, help per family)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, utcnow


class MetricType(StrEnum):
    gauge = "gauge"
    counter = "counter"
    histogram = "histogram"
    summary = "summary"
    unknown = "unknown"


class MetricMetadata(Base):
    """Type, unit and help of a metric family within a tenant (the newest report wins)."""

    __tablename__ = "metric_metadata"

    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[MetricType] = mapped_column(
        Enum(MetricType, name="metric_type", native_enum=False, length=16)
    )
    unit: Mapped[str] = mapped_column(String(64), default="")
    help: Mapped[str] = mapped_column(String(1024), default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

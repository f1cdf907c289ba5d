"""The scraper's table in the state database: the targets it collects from."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TimestampMixin


class ScrapeHealth(StrEnum):
    unknown = "unknown"
    up = "up"
    down = "down"


class ScrapeTarget(TimestampMixin, Base):
    """A Prometheus text / OpenMetrics endpoint the scraper collects from."""

    __tablename__ = "scrape_targets"
    __table_args__ = (UniqueConstraint("tenant_id", "url"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    agent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True, default=None
    )
    job: Mapped[str] = mapped_column(String(128), default="agentdeck")
    url: Mapped[str] = mapped_column(String(2048))
    interval_seconds: Mapped[float] = mapped_column(default=15.0)
    timeout_seconds: Mapped[float] = mapped_column(default=10.0)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[bool] = mapped_column(default=True)
    health: Mapped[ScrapeHealth] = mapped_column(
        Enum(ScrapeHealth, name="scrape_health", native_enum=False, length=16),
        default=ScrapeHealth.unknown,
    )
    last_scrape_at: Mapped[datetime | None] = mapped_column(default=None)
    last_duration_ms: Mapped[float | None] = mapped_column(default=None)
    last_error: Mapped[str | None] = mapped_column(String(2048), default=None)
    #: the cause of ``last_error``, for admins (at most a short escaped excerpt of the answer)
    last_error_detail: Mapped[str | None] = mapped_column(String(1024), default=None)
    last_samples: Mapped[int | None] = mapped_column(default=None)

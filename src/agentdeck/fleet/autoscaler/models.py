"""The autoscaler's record: one row per decision (repeats of the same one are counted on it)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, utcnow


class AutoscalerDecision(Base):
    __tablename__ = "autoscaler_decisions"
    __table_args__ = (Index("ix_autoscaler_decisions_agent_at", "agent_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    #: When it was first made, and last made again (the same outcome at the same count).
    at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    repeats: Mapped[int] = mapped_column(default=1)
    #: scaled_up, scaled_down, at_max, at_min, hold, cooldown, no_data, busy, invalid_config
    outcome: Mapped[str] = mapped_column(String(16))
    cpu_percent: Mapped[float | None] = mapped_column(default=None)
    replicas: Mapped[int] = mapped_column()
    target_replicas: Mapped[int] = mapped_column()
    min_replicas: Mapped[int] = mapped_column()
    max_replicas: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(500))

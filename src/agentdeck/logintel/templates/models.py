"""The saved state of each tenant's template miner (JSON, never pickle)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, utcnow


class TemplateMinerState(Base):
    """One row per tenant: its miner (``TemplateMiner.to_state``) and template statistics,
    serialised as one JSON document."""

    __tablename__ = "log_template_states"

    tenant_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    state: Mapped[str] = mapped_column(Text())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

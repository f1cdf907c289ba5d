"""The agents table."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TimestampMixin


class AgentType(StrEnum):
    llm = "llm"
    classifier = "classifier"
    extractor = "extractor"
    custom = "custom"


class AgentStatus(StrEnum):
    stopped = "stopped"
    deploying = "deploying"
    running = "running"
    scaling = "scaling"
    error = "error"


class Agent(TimestampMixin, Base):
    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, default=None
    )
    name: Mapped[str] = mapped_column(String(63))
    type: Mapped[AgentType] = mapped_column(
        Enum(AgentType, name="agent_type", native_enum=False, length=16)
    )
    description: Mapped[str] = mapped_column(String(2000), default="")
    model: Mapped[str | None] = mapped_column(String(200), default=None)
    version: Mapped[str] = mapped_column(String(64), default="1.0.0")
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Declared dependencies: names of agents or external services this agent calls (topology).
    dependencies: Mapped[list[Any]] = mapped_column(default=list)
    replica_count: Mapped[int] = mapped_column(default=1)
    cpu_limit: Mapped[str] = mapped_column(String(32), default="500m")
    memory_limit: Mapped[str] = mapped_column(String(32), default="512Mi")
    status: Mapped[AgentStatus] = mapped_column(
        Enum(AgentStatus, name="agent_status", native_enum=False, length=16),
        default=AgentStatus.stopped,
        index=True,
    )
    revision: Mapped[int] = mapped_column(default=1)
    # Observed by the fleet: replicas passing their health check, and why the agent is not
    # running as wished (a crash loop's last stderr lines); see agentdeck.fleet.
    ready_replicas: Mapped[int] = mapped_column(default=0)
    status_detail: Mapped[str | None] = mapped_column(String(4000), default=None)
    last_health_check: Mapped[datetime | None] = mapped_column(default=None)
    last_seen_at: Mapped[datetime | None] = mapped_column(default=None)


class AgentLabel(Base):
    """One label of an agent, kept beside the JSON copy so label selectors filter in SQL."""

    __tablename__ = "agent_labels"

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(63), primary_key=True)
    value: Mapped[str] = mapped_column(String(63), index=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)

"""The fleet's tables: what should run per agent, what was observed running, and deployments.

- ``fleet_workloads``: one row per agent the fleet manages (created by its first start or
  deployment): whether it should run, the spec it should run (frozen at start, restart or
  deployment time; editing the agent's config changes nothing until then), the strategy, and
  the transition under way (``deploying``, ``scaling``). Agents without a row are registry
  entries the fleet leaves alone.
- ``fleet_replicas``: the replicas the driver reported at the fleet loop's last look, so any
  process (not only the one running the driver) answers ``GET …/replicas``.
- ``deployments``: every rollout with its spec, the spec it replaced (for rollback), who
  triggered it, its status and its events. ``active_agent_id`` is the agent's id while the
  deployment is pending or in progress and null after: a unique column, so the database itself
  keeps it to one rollout at a time per agent.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from agentdeck.db.base import Base, TimestampMixin, utcnow
from agentdeck.fleet.driver import Strategy


class Transition(StrEnum):
    deploying = "deploying"
    scaling = "scaling"


class DeploymentStatus(StrEnum):
    pending = "pending"
    in_progress = "in_progress"
    completed = "completed"
    failed = "failed"
    rolled_back = "rolled_back"


ACTIVE_DEPLOYMENT = (DeploymentStatus.pending, DeploymentStatus.in_progress)


class DeploymentPhase(StrEnum):
    rolling_out = "rolling_out"
    rolling_back = "rolling_back"
    done = "done"


class Workload(TimestampMixin, Base):
    __tablename__ = "fleet_workloads"

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    running: Mapped[bool] = mapped_column(default=False)
    strategy: Mapped[Strategy] = mapped_column(
        Enum(Strategy, name="fleet_strategy", native_enum=False, length=16),
        default=Strategy.rolling,
    )
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    spec_hash: Mapped[str] = mapped_column(String(32), default="")
    restart_generation: Mapped[int] = mapped_column(default=0)
    transition: Mapped[Transition | None] = mapped_column(
        Enum(Transition, name="fleet_transition", native_enum=False, length=16), default=None
    )
    deployment_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class ReplicaRow(Base):
    __tablename__ = "fleet_replicas"

    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    version: Mapped[str] = mapped_column(String(64))
    spec_hash: Mapped[str] = mapped_column(String(32))
    phase: Mapped[str] = mapped_column(String(16))
    ready: Mapped[bool] = mapped_column(default=False)
    pid: Mapped[int | None] = mapped_column(default=None)
    pod: Mapped[str | None] = mapped_column(String(253), default=None)
    port: Mapped[int | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    restarts: Mapped[int] = mapped_column(default=0)
    last_exit_code: Mapped[int | None] = mapped_column(default=None)
    last_exit_at: Mapped[datetime | None] = mapped_column(default=None)
    last_exit_reason: Mapped[str | None] = mapped_column(String(500), default=None)
    message: Mapped[str | None] = mapped_column(String(4000), default=None)
    adopted: Mapped[bool] = mapped_column(default=False)
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(index=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), index=True
    )
    active_agent_id: Mapped[uuid.UUID | None] = mapped_column(unique=True, default=None)
    version: Mapped[str] = mapped_column(String(64))
    # the runtime spec (RuntimeSpec fields) and the full workload spec it resolved to
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    workload_spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    spec_hash: Mapped[str] = mapped_column(String(32))
    replicas: Mapped[int] = mapped_column()
    strategy: Mapped[Strategy] = mapped_column(
        Enum(Strategy, name="fleet_strategy", native_enum=False, length=16)
    )
    # what it replaced, for a rollback: the workload spec, the agent's version and config
    previous_spec: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    previous_version: Mapped[str | None] = mapped_column(String(64), default=None)
    previous_config: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    previous_replicas: Mapped[int | None] = mapped_column(default=None)
    status: Mapped[DeploymentStatus] = mapped_column(
        Enum(DeploymentStatus, name="deployment_status", native_enum=False, length=16),
        default=DeploymentStatus.pending,
        index=True,
    )
    phase: Mapped[DeploymentPhase] = mapped_column(
        Enum(DeploymentPhase, name="deployment_phase", native_enum=False, length=16),
        default=DeploymentPhase.rolling_out,
    )
    deadline_seconds: Mapped[float] = mapped_column()
    # roll back when the agent's error ratio during the rollout passes this (0..1); null: off
    max_error_rate: Mapped[float | None] = mapped_column(default=None)
    triggered_by_kind: Mapped[str] = mapped_column(String(16))
    triggered_by_id: Mapped[str | None] = mapped_column(String(64), default=None)
    triggered_by_name: Mapped[str] = mapped_column(String(200))
    commit_sha: Mapped[str | None] = mapped_column(String(64), default=None)
    author: Mapped[str | None] = mapped_column(String(200), default=None)
    description: Mapped[str] = mapped_column(String(2000), default="")
    rollback_of: Mapped[uuid.UUID | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(String(4000), default=None)
    progress: Mapped[dict[str, Any]] = mapped_column(default=dict)
    events: Mapped[list[Any]] = mapped_column(default=list)
    event_cursor: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)

"""Deployment wire models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agentdeck.agents.schemas import MAX_REPLICAS, Version
from agentdeck.fleet.driver import Strategy
from agentdeck.fleet.models import Deployment, DeploymentPhase, DeploymentStatus
from agentdeck.fleet.schemas import RuntimeSpec

TriggerKind = Literal["user", "api_key", "github", "system"]


class DeploymentCreate(BaseModel):
    """A new version of an agent, rolled out to its replicas."""

    model_config = ConfigDict(extra="forbid")

    version: Version = Field(examples=["1.4.0"])
    spec: RuntimeSpec | None = Field(
        None,
        description="Runtime fields to change (command, args, env, working_dir, port, "
        "health_path, image, template); the ones left out keep the agent's current values. "
        "They are written to the agent's config.",
    )
    replicas: int | None = Field(
        None, ge=1, le=MAX_REPLICAS, description="Replicas to run (default: the agent's count)."
    )
    strategy: Strategy = Field(
        Strategy.rolling,
        description="rolling: one new replica ready before one old stops; recreate: all old "
        "stop, then the new start.",
    )
    commit_sha: str | None = Field(None, pattern=r"^[0-9a-f]{7,64}$")
    description: str = Field("", max_length=2000)
    max_error_rate: float | None = Field(
        None,
        gt=0,
        le=1,
        description="Roll back automatically when the agent's error ratio during the rollout "
        "(agent_errors_total / agent_requests_total of its replicas, labelled agent=<name>) "
        "passes this, once at least 10 requests were counted. Off when left out.",
        examples=[0.1],
    )
    progress_deadline_seconds: float | None = Field(
        None,
        ge=1,
        le=3600,
        description="How long the new replicas have to become ready before an automatic "
        "rollback (default: the server's fleet.readiness_deadline_seconds).",
    )


class TriggeredBy(BaseModel):
    kind: TriggerKind
    id: str | None = None
    name: str


class DeploymentProgress(BaseModel):
    desired: int
    updated: int = Field(description="Replicas of the new version.")
    ready: int = Field(description="Replicas of the new version that are ready.")


class DeploymentEvent(BaseModel):
    at: datetime
    kind: str
    message: str
    replica: str | None = None
    spec_hash: str | None = None


class DeploymentSummary(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    agent_id: uuid.UUID
    version: str
    spec_hash: str
    replicas: int
    strategy: Strategy
    status: DeploymentStatus
    phase: DeploymentPhase
    triggered_by: TriggeredBy
    commit_sha: str | None
    author: str | None
    description: str
    rollback_of: uuid.UUID | None
    error: str | None
    progress: DeploymentProgress
    deadline_seconds: float
    max_error_rate: float | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, row: Deployment) -> DeploymentSummary:
        return cls(**_fields(row))


class DeploymentPublic(DeploymentSummary):
    """A deployment with its spec, the version it replaced and its events."""

    spec: dict[str, Any] = Field(description="The runtime spec (RuntimeSpec fields).")
    previous_version: str | None
    events: list[DeploymentEvent]

    @classmethod
    def of(cls, row: Deployment) -> DeploymentPublic:
        return cls(
            **_fields(row),
            spec=row.spec,
            previous_version=row.previous_version,
            events=[DeploymentEvent.model_validate(e) for e in row.events or []],
        )


def progress_of(row: Deployment) -> DeploymentProgress:
    if row.progress:
        return DeploymentProgress.model_validate(row.progress)
    return DeploymentProgress(desired=row.replicas, updated=0, ready=0)


def _fields(row: Deployment) -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant_id": row.tenant_id,
        "agent_id": row.agent_id,
        "version": row.version,
        "spec_hash": row.spec_hash,
        "replicas": row.replicas,
        "strategy": row.strategy,
        "status": row.status,
        "phase": row.phase,
        "triggered_by": TriggeredBy(
            kind=row.triggered_by_kind,
            id=row.triggered_by_id,
            name=row.triggered_by_name,
        ),
        "commit_sha": row.commit_sha,
        "author": row.author,
        "description": row.description,
        "rollback_of": row.rollback_of,
        "error": row.error,
        "progress": progress_of(row),
        "deadline_seconds": row.deadline_seconds,
        "max_error_rate": row.max_error_rate,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "completed_at": row.completed_at,
    }


class SpecChange(BaseModel):
    path: str = Field(description="Dotted path of the field, e.g. `spec.env.LOG_LEVEL`.")
    before: Any
    after: Any


class DeploymentDiff(BaseModel):
    """What changed from one deployment (the base) to another."""

    base: uuid.UUID | None = Field(
        description="The deployment compared against; null: the spec this one replaced."
    )
    deployment: uuid.UUID
    changes: list[SpecChange]

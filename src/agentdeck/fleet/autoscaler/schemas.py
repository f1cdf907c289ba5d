"""Autoscaler wire models."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from agentdeck.fleet.autoscaler.models import AutoscalerDecision


class Outcome(StrEnum):
    scaled_up = "scaled_up"
    scaled_down = "scaled_down"
    at_max = "at_max"
    at_min = "at_min"
    hold = "hold"
    cooldown = "cooldown"
    no_data = "no_data"
    busy = "busy"
    refused = "refused"
    invalid_config = "invalid_config"


class AutoscalerDecisionPublic(BaseModel):
    """One decision of the autoscaler about an agent, with its reason."""

    id: uuid.UUID
    agent_id: uuid.UUID
    at: datetime = Field(description="When it was first made.")
    last_at: datetime = Field(description="When the same decision was last made again.")
    repeats: int = Field(description="How many evaluations in a row came to it.")
    outcome: Outcome = Field(
        description="scaled_up, scaled_down; at_max / at_min (the rule would have scaled, the "
        "bounds did not let it); hold (CPU within 30–70 %, or exactly 30 or 70); cooldown "
        "(would have scaled, but the agent was scaled recently); no_data (no CPU samples in "
        "the window); busy (a deployment rolls out); refused (the fleet refused the scale); "
        "invalid_config (config.auto_scaling is malformed)."
    )
    cpu_percent: float | None = Field(
        description="The agent's CPU averaged over the last 10 minutes, across its replicas."
    )
    replicas: int = Field(description="Replicas when decided.")
    target_replicas: int = Field(description="Replicas after it (the same when not scaled).")
    min_replicas: int
    max_replicas: int
    reason: str

    @classmethod
    def of(cls, row: AutoscalerDecision) -> AutoscalerDecisionPublic:
        return cls(
            id=row.id,
            agent_id=row.agent_id,
            at=row.at,
            last_at=row.last_at,
            repeats=row.repeats,
            outcome=Outcome(row.outcome),
            cpu_percent=row.cpu_percent,
            replicas=row.replicas,
            target_replicas=row.target_replicas,
            min_replicas=row.min_replicas,
            max_replicas=row.max_replicas,
            reason=row.reason,
        )

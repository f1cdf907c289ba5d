"""Audit log responses and query filters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

ActorType = Literal["user", "api_key", "system"]


class ActorPublic(BaseModel):
    type: ActorType = Field(description="user, api_key or system.")
    id: uuid.UUID | None = Field(description="The user's or API key's id; null for system.")
    name: str = Field(description="Username or API key name at the time of the change.")


class AuditEntryPublic(BaseModel):
    id: uuid.UUID
    actor: ActorPublic
    action: str = Field(description="What was done, e.g. agent.create.")
    resource_type: str = Field(description="Kind of the resource changed, e.g. agent.")
    resource_id: str | None = Field(description="Id of the resource changed.")
    changes: dict[str, Any] = Field(
        description="`before` and `after` of the fields that changed; secrets are redacted."
    )
    ip: str | None = Field(description="Client address of the request.")
    user_agent: str | None
    request_id: str | None = Field(description="X-Request-ID of the request that did it.")
    at: datetime = Field(description="When it happened (UTC).")


@dataclass(frozen=True, slots=True)
class AuditFilter:
    """Filters for listing audit entries; every field narrows the result."""

    actor: str | None = None
    actor_type: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
